"""Batched class probabilities from a model, shared by evaluation, prediction and analysis."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

INFERENCE_BATCH = 256  # large enough to amortise per-call overhead, small enough for any RAM

# What `bfloat16_copy` computes in; the softmax layer stays float32 as in mixed-precision training.
PRECISIONS = ("float32", "bfloat16")


# Test-time augmentation: each mode's views of a face, whose probabilities are averaged.
# "zoom" and "shifts" add what training's random zoom and translation taught the net to see: the
# face a little closer, or a little off centre. FER2013 validation, flip -> zoom -> shifts:
# vgg_gap-warm2-e60 66.7 -> 67.0 -> 67.6%, vgg_gap-seed7-warm-e40 64.3 -> 65.2 -> 64.9%,
# vgg_gap_small-warm2-e60 62.8 -> 64.2 -> 63.8% (bench/tta_views.py).
VIEWS = {
    "off": "the face alone (1 view)",
    "flip": "the face and its mirror image (2 views)",
    "zoom": "flip of the face and of it zoomed in 2 and 3 pixels (6 views)",
    "shifts": "flip of the face, of it shifted 2 pixels four ways and of it zoomed in 2 pixels (12 views)",
}
# "+autocontrast" stretches each face's levels before its views are made: the darkest 1% of its
# pixels go to black, the brightest 1% to white. A camera's exposure, contrast and gamma cost more
# on the real-face proxy than blur, noise or JPEG do, and FER2013's own faces are mostly well
# exposed: deployed ensemble, zoom -> zoom+autocontrast, validation 68.35 -> 68.54%, proxy 62.5 ->
# 64.9% (`python bench/tta_views.py deployed --modes zoom,zoom+autocontrast`; `python
# bench/proxy.py deployed --modes zoom,zoom+autocontrast --per-class 1000`). For the same
# ensemble, 0.5%, 2% or the minimum and maximum moved validation by -0.1 to -0.2 and the proxy by
# -0.1 to +0.2 against 1%.
AUTOCONTRAST = "+autocontrast"
AUTOCONTRAST_PERCENTILES = (1.0, 99.0)
TTA_MODES = {**VIEWS, **{mode + AUTOCONTRAST: f"{views[:-1]}, each face's contrast stretched first)"
                         for mode, views in VIEWS.items()}}
SHIFT_PIXELS = 2


def tta_mode(value) -> str:
    """A TTA setting as a mode name; runs recorded before the modes hold a bool (True = flip)."""
    if isinstance(value, bool) or value is None:
        return "flip" if value else "off"
    if value not in TTA_MODES:
        raise ValueError(f"tta must be one of {', '.join(TTA_MODES)}, not {value!r}")
    return value


def tta_view_count(value) -> int:
    """How many passes of the model one face costs under this TTA setting."""
    return len(tta_views(np.zeros((1, 8, 8, 1), np.float32), value))  # what tta_views makes, not a copy


def tta_views(images: np.ndarray, value) -> np.ndarray:
    """The views of `images` (n, h, w, c) for TTA mode `value`, as (views, n, h, w, c)."""
    images, mode = as_seen(images, value), tta_mode(value).removesuffix(AUTOCONTRAST)
    if mode == "off":
        return images[None]
    upright = [images]
    if mode == "zoom":
        upright += [_zoomed(images, 2), _zoomed(images, 3)]
    if mode == "shifts":
        upright += [_shifted(images, dx, dy) for dx, dy in _shift_offsets()] + [_zoomed(images, SHIFT_PIXELS)]
    return np.stack(upright + [view[:, :, ::-1, :] for view in upright])


def as_seen(images: np.ndarray, value) -> np.ndarray:
    """Faces (n, h, w, c) as the views of TTA mode `value` start from: with their levels stretched
    under a `+autocontrast` mode, else as they are. The app shows and explains (Grad-CAM) these."""
    if tta_mode(value).endswith(AUTOCONTRAST):
        return autocontrast(images)
    return np.asarray(images, dtype=np.float32)


def autocontrast(images: np.ndarray) -> np.ndarray:
    """Each image (n, h, w, c) in 0..255 with its levels stretched: its AUTOCONTRAST_PERCENTILES
    map to 0 and 255 (all channels together, so colours keep their balance); a flat image is left as is."""
    flat = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    if not len(flat):
        return np.asarray(images, dtype=np.float32)
    low, high = np.percentile(flat, AUTOCONTRAST_PERCENTILES, axis=1)
    spread = high - low
    gain = np.where(spread >= 1.0, 255.0 / np.maximum(spread, 1.0), 1.0)
    offset = np.where(spread >= 1.0, low, 0.0)
    stretched = (flat - offset[:, None]) * gain[:, None]
    return np.clip(stretched, 0.0, 255.0).reshape(images.shape).astype(np.float32)


def _shift_offsets() -> list[tuple[int, int]]:
    d = SHIFT_PIXELS
    return [(d, 0), (-d, 0), (0, d), (0, -d)]


def _shifted(images: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """The images moved by (dx, dy) pixels, the edge reflected in, as training's translation fills."""
    d = SHIFT_PIXELS
    padded = np.pad(images, ((0, 0), (d, d), (d, d), (0, 0)), mode="reflect")
    height, width = images.shape[1:3]
    return padded[:, d + dy:d + dy + height, d + dx:d + dx + width]


def _zoomed(images: np.ndarray, pixels: int) -> np.ndarray:
    """The images with `pixels` cut from each edge and scaled back up (a zoom in)."""
    import cv2

    height, width = images.shape[1:3]
    zoomed = [cv2.resize(image[pixels:height - pixels, pixels:width - pixels], (width, height),
                         interpolation=cv2.INTER_LINEAR)
              for image in images]
    return np.stack(zoomed).reshape(images.shape)  # cv2 drops a single channel's axis


def calibrated(probabilities, temperature: float = 1.0) -> np.ndarray:
    """Probabilities (n, classes) with a run's temperature applied: softmax(log(p) / temperature).

    `probabilities` are what the model gives averaged over a face's TTA views (an ensemble's model
    has already averaged its members): the temperature scales the log of that average. This is
    the one place it is applied; every path (evaluation, Predictor, an exported file's consumer,
    the live stream) goes through it. 1.0 leaves them as they are, below 1 sharpens an
    under-confident run, above 1 softens; the top class never changes.
    """
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if temperature == 1.0 or len(probabilities) == 0:
        return probabilities
    if not temperature > 0:
        raise ValueError(f"a temperature must be positive, not {temperature}")
    # A probability that underflowed to 0 gets a tiny floor, so its log stays finite.
    logits = np.log(np.maximum(probabilities.astype(np.float64), 1e-12)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    scaled = np.exp(logits)
    return (scaled / scaled.sum(axis=1, keepdims=True)).astype(np.float32)


def predict_probabilities(model, images: np.ndarray, tta=False, batch_size: int = INFERENCE_BATCH,
                          progress=None, temperature: float = 1.0) -> np.ndarray:
    """Softmax outputs (n, classes) for images (n, h, w, c) in 0..255.

    `tta` is a mode of TTA_MODES (or a run's recorded bool: True = flip); each face's views are
    scored and averaged. Faces are near-symmetric, so the mirror is a free second opinion.
    `temperature` (a run's, registry.Run.temperature) is then applied to the average (`calibrated`).
    `model` needs only `predict_on_batch` and `output_shape`: an exported file's runner will do.
    """
    images = np.asarray(images, dtype=np.float32)
    if len(images) == 0:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    outputs = []
    # A batch of faces at a time, all its views in one call: memory stays at `views` batches
    # whatever the number of faces, and every call but the last has the same size (no retracing).
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        views = tta_views(chunk, tta)
        scored = _batched_predict(model, views.reshape(-1, *images.shape[1:]), batch_size)
        outputs.append(scored.reshape(len(views), len(chunk), -1).mean(axis=0))
        if progress:
            progress(min(1.0, (start + batch_size) / len(images)))
    return calibrated(np.concatenate(outputs), temperature)


def bfloat16_copy(model):
    """A copy of `model` that computes in bfloat16 (weights float32, softmax float32).

    About 1.5x faster on CPUs with AVX512-BF16 or AMX, much slower where bfloat16 is emulated.
    On FER2013 validation (vgg_gap) it agrees with float32 on 99.4% of top-1 labels and moves
    probabilities by 0.001 on average, 0.02 at most: fine to show, not for evaluation figures.
    """
    import keras

    from .architectures import OUTPUT

    def bfloat16_layer(layer):
        config = layer.get_config()
        if layer.name != OUTPUT and not isinstance(layer, keras.layers.InputLayer):
            config["dtype"] = "mixed_bfloat16"
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=bfloat16_layer)
    copy.set_weights(model.get_weights())
    return copy


def _batched_predict(model, images: np.ndarray, batch_size: int) -> np.ndarray:
    outputs = []
    for start in range(0, len(images), batch_size):
        # predict_on_batch runs a traced graph: 3x faster than an eager `model(x)` for a face or
        # two, the same numbers. Keras traces again for a second batch size, then never again.
        outputs.append(np.asarray(model.predict_on_batch(images[start:start + batch_size])))
    return np.concatenate(outputs)


def float32_copy(model):
    """`model` itself when it computes in float32, else a float32 twin with the same weights
    (a model saved mid-training under a bfloat16 policy: runtimes without bfloat16 kernels
    would refuse or emulate it, and timings of it would mislead)."""
    import keras

    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model

    def float32_layer(layer):
        config = layer.get_config()
        config["dtype"] = "float32"
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=float32_layer)
    copy.set_weights(model.get_weights())
    return copy


class LiteRTModel:
    """A LiteRT (TFLite) file of a classifier, called the way `predict_probabilities` calls a Keras
    model: `predict_on_batch(x)` -> (n, classes), with `input_shape` and `output_shape`.

    It runs on ai_edge_litert's interpreter, which shares no state with TensorFlow or Keras:
    `keras.backend.clear_session()` (Streamlit calls it after every script run) clears TensorFlow's
    kernel cache, and leaves this alone. One call at a time (`Predictor.classify` holds a lock).
    """

    def __init__(self, path: str | Path):
        from ai_edge_litert.interpreter import Interpreter  # requirements.txt (the landmarks run on it too)

        self.path = Path(path)
        self._interpreter = Interpreter(model_path=str(self.path))
        self._input = self._interpreter.get_input_details()[0]
        self._output = self._interpreter.get_output_details()[0]
        self.input_shape = (None, *map(int, self._input["shape"][1:]))
        self.output_shape = (None, int(self._output["shape"][-1]))
        # "int8": a file quantized to integers (`export --quantize int8`; float32 in and out); else "float"
        self.precision = ("int8" if any(np.dtype(tensor["dtype"]) == np.int8
                                        for tensor in self._interpreter.get_tensor_details()) else "float")
        self._batch = None  # the batch size the tensors are allocated for

    def predict_on_batch(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images, np.float32)
        if self._batch != len(images):  # a face more or less: the tensors are sized again (~0.1 ms)
            self._interpreter.resize_tensor_input(self._input["index"], list(images.shape))
            with _quiet():  # "Created TensorFlow Lite XNNPACK delegate", printed natively
                self._interpreter.allocate_tensors()
            self._batch = len(images)
        self._interpreter.set_tensor(self._input["index"], images)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output["index"]).copy()


def classifier_facts(litert: LiteRTModel | None) -> dict:
    """What classifies an analysis's faces, as its analysis.json records it: the LiteRT file's name
    and precision ("int8" or "float"), or {"file": None, "precision": "float"} for Keras."""
    return {"file": litert.path.name, "precision": litert.precision} if litert else {"file": None, "precision": "float"}


def _quiet():
    from .quiet import native_stderr_silenced, wants_quiet

    return native_stderr_silenced() if wants_quiet() else contextlib.nullcontext()
