"""Why did the model say that? Class activation maps per face, as arrays.

    explainer = Explainer(predictor.model)                     # once per model: copies it
    faces, maps = predict_and_explain(predictor, rgb, "gradcam", explainer=explainer)
    # The second step alone, for faces already found: (n, 48, 48) float32 in [0, 1].
    maps = explainer.heatmaps(np.stack([f.model_input for f in faces]),
                              [predictor.classes.index(f.label) for f in faces], "gradcam")

Heat maps come from the layer every architecture names `last_conv` (see architectures.py):
Grad-CAM++ and Score-CAM through tf-keras-vis, Grad-CAM through the same sums as one traced graph.
Computing them is kept apart from drawing them (as in keras-io's Grad-CAM example): `heatmaps`
returns arrays in [0, 1], drawing.py's `overlay` and `place_on_image` colour them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import cv2
import numpy as np

from .architectures import LAST_CONV, OUTPUT
from .ensemble import MEMBER_PREFIX

# Method key -> the name the app shows. All three run with tf-keras-vis 0.8.7 on Keras 3
# functional models (tests/test_explain.py checks each one on a real photo).
METHODS = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "scorecam": "Score-CAM"}

# Score-CAM scores one masked copy of the face per feature map; the 256 maps of a 48x48 net cost
# about 1.5 s a face on two cores. Keeping the 16 maps that vary most over the face (the
# "Faster Score-CAM" of tf-keras-vis) costs 16 forward passes and keeps the same hot regions.
SCORECAM_MAPS = 16


class Explainer:
    """tf-keras-vis Grad-CAM, Grad-CAM++ and Score-CAM for one model, built once and reused.

    The visualisers share one float32 copy of the model whose softmax is replaced by the identity:
    Grad-CAM wants the class score before softmax (softmax gradients vanish for a confident class),
    Score-CAM applies softmax itself, and Grad-CAM++ fails on the bfloat16 activations of
    mixed-precision runs. The copy is made once here, so a request costs only forward and backward
    passes: traced once for Grad-CAM (`_traced_gradcam`, the same maps as tf-keras-vis's Gradcam),
    eager for the other two. Keep one Explainer per loaded model (the app caches it beside the
    model). A run with TTA labels a face by averaging it with its mirror image; the map explains
    the face as it is, which is what the user sees.
    """

    def __init__(self, model):
        from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
        from tf_keras_vis.scorecam import Scorecam

        self.input_shape = tuple(int(v) for v in model.input_shape[1:])  # (h, w, channels)
        # An ensemble (ensemble.py) has no last_conv of its own: its map is the average of its
        # members' maps, each computed on the same crop.
        self._members = [Explainer(layer) for layer in model.layers if layer.name.startswith(MEMBER_PREFIX)]
        if self._members:
            return
        self.model = _float32_logits_copy(model)
        self.feature_maps = int(self.model.get_layer(LAST_CONV).output.shape[-1])
        # clone=False: the copy above is already ours to modify, and cloning again costs 0.1 s.
        self._visualizers = {
            "gradcam++": GradcamPlusPlus(self.model, clone=False),
            "scorecam": Scorecam(_DirectPredict(self.model), clone=False),
        }
        # tf-keras-vis rebuilds a two-output model and runs it eagerly on every call (~45 ms a face on
        # two busy cores); Grad-CAM, the app's default, runs the same sums as one traced graph.
        self._gradcam = _traced_gradcam(self.model)
        # Streamlit serves sessions on threads and one Explainer is shared by all of them.
        self._lock = threading.Lock()

    def heatmaps(self, faces: np.ndarray, class_indices: Sequence[int] | int,
                 method: str = "gradcam") -> np.ndarray:
        """Heat maps (n, h, w) float32 in [0, 1] for faces (n, h, w, c) in 0..255, one class each.

        Each map is scaled to its own maximum (1 = where the evidence for that class is
        strongest); a face with no positive evidence gets a map of zeros.
        """
        from tf_keras_vis.utils.scores import CategoricalScore

        if method not in METHODS:
            raise ValueError(f"Unknown explanation method '{method}'; choose from {', '.join(METHODS)}.")
        if self._members:
            mean = np.mean([member.heatmaps(faces, class_indices, method) for member in self._members], axis=0)
            peaks = mean.reshape(len(mean), -1).max(axis=1, initial=0.0)[:, None, None]
            return np.divide(mean, peaks, out=np.zeros_like(mean), where=peaks > 0).astype(np.float32)
        faces = np.asarray(faces, dtype=np.float32)
        if faces.ndim == 3:
            faces = faces[None]  # a single face: add the batch dimension
        if faces.shape[1:] != self.input_shape:
            raise ValueError(f"Faces must be (n, {', '.join(map(str, self.input_shape))}), got {faces.shape}.")
        classes = _class_list(class_indices, len(faces), int(self.model.output_shape[-1]))
        height, width = self.input_shape[:2]
        if len(faces) == 0:
            return np.zeros((0, height, width), np.float32)
        options = {"penultimate_layer": LAST_CONV, "seek_penultimate_conv_layer": False,
                   "expand_cam": False, "normalize_cam": False}
        # (Our last_conv is often the ReLU after a conv: seeking a Conv layer would step back
        # to the pre-activation map, so the layer is named and seeking is off.)
        visualizer = self._visualizers.get(method)
        with self._lock:
            if method == "scorecam":
                # One face a call: tf-keras-vis takes the union of every face's top maps, so
                # a batch would cost (faces x union) passes instead of faces x SCORECAM_MAPS.
                maps = min(SCORECAM_MAPS, self.feature_maps)
                cams = np.concatenate([
                    np.asarray(visualizer(CategoricalScore([k]), face[None], max_N=maps, batch_size=maps,
                                          **options))
                    for face, k in zip(faces, classes)])
            elif method == "gradcam":
                cams = self._gradcam(faces, np.asarray(classes, np.int32)).numpy()
            else:
                cams = np.asarray(visualizer(CategoricalScore(classes), faces, **options))
        cams = cams.reshape(len(faces), *cams.shape[-2:])  # (n, map_h, map_w), e.g. 6x6 for vgg_gap
        return np.stack([_unit_map(cam, (height, width)) for cam in cams])


def heatmaps(model, faces: np.ndarray, class_indices: Sequence[int] | int, method: str = "gradcam") -> np.ndarray:
    """`Explainer.heatmaps` for a model or an Explainer; pass an Explainer to reuse it across calls."""
    explainer = model if isinstance(model, Explainer) else Explainer(model)
    return explainer.heatmaps(faces, class_indices, method)


def predict_and_explain(predictor, image, method: str | None = "gradcam", target: str | None = None, *,
                        explainer: Explainer | Callable[[], Explainer] | None = None,
                        whole_image_fallback: bool = False, min_face_fraction: float | None = None):
    """Every face `predictor` finds in `image`, and each face's heat map: (faces, maps or None).

    `maps` is (n, h, w) in [0, 1] as `Explainer.heatmaps` returns, None when `method` is None or
    no face was found. Each map explains `target` (one of the run's classes, `predictor.classes`),
    or when None the emotion predicted for that face; a target the run did not learn is a
    ValueError. `explainer` is an Explainer of the predictor's model, or a function returning
    one, called only when there are faces to explain; without it one is built.
    `whole_image_fallback` and `min_face_fraction` go to `Predictor.predict`.
    """
    if target is not None and target not in predictor.classes:
        raise ValueError(f"{predictor.run_name or 'this model'} did not learn '{target}'; it explains "
                         f"{', '.join(predictor.classes)}.")
    faces = predictor.predict(image, whole_image_fallback=whole_image_fallback, min_face_fraction=min_face_fraction)
    if not faces or method is None:
        return faces, None
    if explainer is None:
        explainer = Explainer(predictor.model)
    elif callable(explainer):
        explainer = explainer()
    classes = [predictor.classes.index(target or face.label) for face in faces]
    return faces, explainer.heatmaps(np.stack([face.model_input for face in faces]), classes, method)


# --- helpers ------------------------------------------------------------------------------


def _float32_logits_copy(model):
    """A float32 copy of `model` sharing nothing with it, with the softmax output made linear."""
    import keras

    def float32_layer(layer):
        config = layer.get_config()
        config["dtype"] = "float32"  # mixed-precision runs store a bfloat16 compute policy
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=float32_layer)
    copy.set_weights(model.get_weights())
    copy.get_layer(OUTPUT).activation = keras.activations.linear
    return copy


def _traced_gradcam(model):
    """tf-keras-vis's Grad-CAM (relu of the last_conv maps weighted by their mean gradient) as a
    tf.function: (faces (n, h, w, c), classes (n,)) -> raw CAMs (n, map_h, map_w)."""
    import keras
    import tensorflow as tf

    scores_and_maps = keras.Model(model.inputs, [model.output, model.get_layer(LAST_CONV).output])

    @tf.function(reduce_retracing=True)
    def gradcam(faces, classes):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(faces)
            scores, maps = scores_and_maps(faces, training=False)
            # Each face's own class score; faces do not interact, so one gradient serves them all.
            score = tf.gather(scores, classes, batch_dims=1)
        grads = tape.gradient(score, maps)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)  # one weight per feature map
        return tf.nn.relu(tf.reduce_sum(maps * weights, axis=-1))

    return gradcam


class _DirectPredict:
    """The model as Score-CAM sees it, with `predict` as a plain batched call.

    Score-CAM calls `model.predict` once a face on a handful of masked copies; Keras's
    predict would print a progress bar to the server log each time and set up a tf.data
    pipeline that costs more than the forward pass. Everything else is the model's.
    """

    def __init__(self, model):
        self._model = model

    def __getattr__(self, name):
        return getattr(self._model, name)

    def predict(self, inputs, batch_size=32, **_ignored):
        if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
            inputs = inputs[0]  # the model has one input; a list makes Keras warn on every call
        return np.concatenate([np.asarray(self._model(inputs[start:start + batch_size], training=False))
                               for start in range(0, len(inputs), batch_size)])


def _class_list(class_indices, count: int, num_classes: int) -> list[int]:
    classes = [int(class_indices)] * count if np.isscalar(class_indices) else [int(k) for k in class_indices]
    if len(classes) != count:
        raise ValueError(f"Got {len(classes)} class indices for {count} faces.")
    if any(not 0 <= k < num_classes for k in classes):
        raise ValueError(f"Class indices must lie in 0..{num_classes - 1}, got {classes}.")
    return classes


def _unit_map(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A raw CAM (map_h, map_w) as a (h, w) float32 map in [0, 1]; flat or non-finite maps become 0."""
    cam = np.nan_to_num(np.asarray(cam, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    # Resized first and scaled after, so the peak is exactly 1 at the face's own size.
    cam = cv2.resize(cam, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    low, high = float(cam.min()), float(cam.max())
    if not high - low > 1e-12 * max(1.0, abs(high)):
        return np.zeros(size, np.float32)
    return np.clip((cam - low) / (high - low), 0.0, 1.0).astype(np.float32)

