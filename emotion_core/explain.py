"""Why did the model say that? Class activation maps per face, and the pictures that show them.

    explainer = Explainer(predictor.model)                     # once per model: copies it
    faces = predictor.predict(rgb)
    maps = explainer.heatmaps(np.stack([f.model_input for f in faces]),
                              [EMOTIONS.index(f.label) for f in faces], "gradcam")
    crop = overlay(faces[0].model_input, maps[0], opacity=0.5)  # (48, 48, 3) uint8
    photo = annotate(place_on_image(rgb, maps[0], faces[0].box, 0.5), faces)
    results_frame(faces, "photo.jpg").to_csv("results.csv", index=False)

Heat maps come from the layer every architecture names `last_conv` (see architectures.py):
Grad-CAM++ and Score-CAM through tf-keras-vis, Grad-CAM through the same sums as one traced graph. Computing them is kept apart from drawing them (as in keras-io's Grad-CAM
example): `heatmaps` returns arrays in [0, 1], `overlay` / `place_on_image` colour them.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence

import cv2
import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from .architectures import LAST_CONV, OUTPUT
from .faces import FaceBox
from .labels import EMOTIONS

# Method key -> the name the app shows. All three run with tf-keras-vis 0.8.7 on Keras 3
# functional models (tests/test_explain.py checks each one on a real photo).
METHODS = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "scorecam": "Score-CAM"}

# Score-CAM scores one masked copy of the face per feature map; the 256 maps of a 48x48 net cost
# about 1.5 s a face on two cores. Keeping the 16 maps that vary most over the face (the
# "Faster Score-CAM" of tf-keras-vis) costs 16 forward passes and keeps the same hot regions.
SCORECAM_MAPS = 16

# One colour per emotion, shared by the boxes drawn on photos and the app's bar charts
# (Tableau 10: distinct hues, readable on light and dark backgrounds).
EMOTION_COLORS = {
    "angry": "#e15759", "disgust": "#59a14f", "fear": "#b07aa1", "happy": "#edc948",
    "sad": "#4e79a7", "surprise": "#f28e2b", "neutral": "#9c9c9c",
}


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


# --- Drawing ------------------------------------------------------------------------------


def to_rgb_uint8(image) -> np.ndarray:
    """HxW, HxWx1 or HxWx3 pixels (uint8, or float 0..255 such as a model input) as HxWx3 uint8.

    This is how a FacePrediction's `model_input` is shown: the face as the model saw it.
    """
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8:
        pixels = np.clip(np.rint(np.nan_to_num(pixels.astype(np.float32))), 0, 255).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    if pixels.ndim != 3 or pixels.shape[-1] != 3:
        raise ValueError(f"Expected an HxW, HxWx1 or HxWx3 image, got shape {pixels.shape}.")
    return pixels


def overlay(image, heatmap: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """`image` (HxW, HxWx1 or HxWx3, uint8 or float 0..255) with `heatmap` coloured on top.

    The heat map is resized to the image; opacity 0 gives the image, 1 the colour map alone.
    Returns HxWx3 uint8 RGB.
    """
    rgb = to_rgb_uint8(image)
    colours = _colour_map(heatmap, rgb.shape[:2])
    return _blend(rgb, colours, opacity)


def place_on_image(image_rgb: np.ndarray, heatmap: np.ndarray, box: FaceBox, opacity: float = 0.5) -> np.ndarray:
    """A copy of the photo with one face's heat map blended over the square the model saw.

    `crop_face(rgb, box)` (margin 0) cut a square of side max(width, height) centred on the
    box, possibly reaching past the image edge; the map is stretched over that same square
    and clipped to the image.
    """
    out = to_rgb_uint8(image_rgb).copy()
    image_h, image_w = out.shape[:2]
    side = max(1, round(max(box.width, box.height)))
    left = int(np.floor(box.x + box.width / 2 - side / 2))
    top = int(np.floor(box.y + box.height / 2 - side / 2))
    colours = _colour_map(heatmap, (side, side))
    # The part of the square that lies inside the image, in image and in square coordinates.
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + side, image_w), min(top + side, image_h)
    if x1 <= x0 or y1 <= y0:
        return out
    region = out[y0:y1, x0:x1]
    out[y0:y1, x0:x1] = _blend(region, colours[y0 - top:y1 - top, x0 - left:x1 - left], opacity)
    return out


def annotate(image_rgb: np.ndarray, faces) -> np.ndarray:
    """A copy of the photo with each face's box and "number emotion confidence" label drawn on it.

    Line width and font grow with the image, so labels stay readable on a phone photo and on
    a thumbnail; the font is also kept below a face's width so a crowd's labels do not pile up.
    """
    image = Image.fromarray(to_rgb_uint8(image_rgb))
    if not faces:
        return np.asarray(image)
    draw = ImageDraw.Draw(image)
    short_side = min(image.size)
    line = max(2, round(short_side / 250))
    smallest_face = min(face.box.width for face in faces)
    font_px = max(11, min(round(short_side / 28), round(smallest_face * 0.3)))
    font = ImageFont.load_default(size=font_px)  # FreeType font bundled with Pillow: no download
    for number, face in enumerate(faces, start=1):
        box = face.box
        colour = EMOTION_COLORS[face.label]
        draw.rectangle([box.x, box.y, box.x + box.width - 1, box.y + box.height - 1], outline=colour, width=line)
        prefix = "whole image: " if face.whole_image else f"{number} "
        text = f"{prefix}{face.label} {face.confidence:.0%}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        pad = max(1, font_px // 6)
        label_w, label_h = right - left + 2 * pad, bottom - top + 2 * pad
        # Above the box when there is room, else just inside its top edge.
        label_y = box.y - label_h if box.y - label_h >= 0 else box.y
        label_x = min(max(0, box.x), max(0, image.width - label_w))
        draw.rectangle([label_x, label_y, label_x + label_w, label_y + label_h], fill=colour)
        draw.text((label_x + pad - left, label_y + pad - top), text, font=font, fill=_text_colour(colour))
    return np.asarray(image)


def png_bytes(image_rgb: np.ndarray) -> bytes:
    """The image encoded as PNG, for a download button."""
    buffer = io.BytesIO()
    Image.fromarray(to_rgb_uint8(image_rgb)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- Tables -------------------------------------------------------------------------------


def results_frame(faces, file_name: str, model: str = "") -> pd.DataFrame:
    """One row per face: file, face number, box, emotion, confidence, the 7 probabilities.

    Column names follow the CSV of `batch.analyze` (python -m emotion_core analyze), so the
    app's export and the command line's read alike; `face` counts from 1, as drawn on the photo.
    """
    columns = ["file", "face", "x", "y", "width", "height", "detection_score", "emotion", "confidence",
               *EMOTIONS, "whole_image", "model"]
    rows = [
        {"file": file_name, "face": number, "x": face.box.x, "y": face.box.y, "width": face.box.width,
         "height": face.box.height, "detection_score": round(face.box.score, 3), "emotion": face.label,
         "confidence": round(face.confidence, 4),
         **{emotion: round(face.probabilities[emotion], 4) for emotion in EMOTIONS},
         "whole_image": face.whole_image, "model": model}
        for number, face in enumerate(faces, start=1)
    ]
    return pd.DataFrame(rows, columns=columns)


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


def _colour_map(heatmap: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A [0, 1] heat map resized to `size` (h, w) and coloured with the jet map: (h, w, 3) uint8 RGB."""
    heat = np.clip(np.nan_to_num(np.asarray(heatmap, dtype=np.float32)), 0.0, 1.0)
    if heat.ndim != 2:
        raise ValueError(f"Expected a 2-D heat map, got shape {heat.shape}.")
    heat = cv2.resize(heat, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    coloured = cv2.applyColorMap(np.rint(heat * 255).astype(np.uint8), cv2.COLORMAP_JET)
    return cv2.cvtColor(coloured, cv2.COLOR_BGR2RGB)


def _blend(rgb: np.ndarray, colours: np.ndarray, opacity: float) -> np.ndarray:
    opacity = float(np.clip(opacity, 0.0, 1.0))
    mixed = rgb.astype(np.float32) * (1 - opacity) + colours.astype(np.float32) * opacity
    return np.rint(mixed).astype(np.uint8)


def _text_colour(hex_colour: str) -> str:
    """Black or white, whichever reads better on the label's background."""
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 150 else "white"
