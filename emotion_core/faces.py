"""Find faces in an RGB photo and turn each into the 48x48 input an FER2013 model expects.

    detector = FaceDetector()
    for box in detector.detect(rgb):                       # rgb from images.load_rgb
        face = prepare_face(crop_face(rgb, box))           # (48, 48, 1) float32 in 0..255

Detection uses OpenCV's frontal-face Haar cascade: it ships inside opencv-python, needs no
download and takes about a tenth of a second per photo on a CPU, which suits an explorer app. It misses
profiles and very small faces; `whole_image_box` is the fallback for images that are
already a face crop.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

import cv2
import numpy as np

_CASCADE_FILE = "haarcascade_frontalface_default.xml"

# The cascade was trained on 24x24 windows; it cannot see anything smaller.
_HAAR_WINDOW = 24

# Detection runs on a copy shrunk until the smallest face sought is this many pixels: the
# cascade's cost grows with the pixels it scans, and a face any larger than the window is
# found as well on the small copy. Not the window itself: faces shrunk to exactly 24 px are
# missed more often (33 of an 8x5 crowd's 40 faces, against 38 at 30 px and at full size).
_SMALLEST_FACE_PIXELS = 30

# Smallest face searched for, as a fraction of the photo's shorter side. "any" finds the faces
# of a group photo down to 6%; "large" is for portraits, selfies and webcam shots (faces of 15%
# or more), where scanning a small copy makes detection about 5x cheaper.
FACE_SIZES = {"any": 0.06, "large": 0.15}

# Each pyramid level is 10% smaller than the last: the usual trade between speed and
# missing faces whose size falls between two levels.
_SCALE_FACTOR = 1.1

# A face must be found by at least this many overlapping windows. Tuned on shared/photos
# rescaled, rotated and tiled: 1-2 find the cat and the coffee cup, 3 adds boxes on
# Grace Hopper's cap and on the cat at 1.5x, 5 misses about 1 in 3 faces ~40 px tall.
_MIN_NEIGHBORS = 4

# The cascade's final-stage weight for a detection. The weak boxes that survive grouping
# (e.g. beside the astronaut, photo at 1.5x) scored below 0; real faces 3 to 10.
_MIN_SCORE = 0.5

# Two boxes overlapping more than this are the same face seen at two scales.
_NMS_IOU = 0.3

# IoU misses a tight face box sitting inside a loose one twice its size (IoU 0.25), which
# the cascade also reports; a box lying mostly inside a stronger one is the same face.
_NMS_CONTAINED = 0.7


@dataclass(frozen=True)
class FaceBox:
    """A face as a pixel rectangle in the original image, with the detector's confidence.

    `score` is the Haar cascade's final-stage weight: higher is more face-like, but it is
    not a probability (real faces score about 2 to 10; 0.0 means "not detected").
    """

    x: int
    y: int
    width: int
    height: int
    score: float

    def as_dict(self) -> dict:
        """Plain ints and a float, ready for JSON or a pandas row."""
        return dataclasses.asdict(self)


class FaceDetector:
    """Frontal-face detector; one instance can serve many images and threads."""

    # Parsing the cascade XML costs ~10 ms and ~1 MB, so it is loaded once per process.
    # OpenCV does not promise detectMultiScale is thread-safe on one classifier (it keeps
    # per-call image buffers inside it), and Streamlit runs sessions on threads: hence the lock.
    _classifier: cv2.CascadeClassifier | None = None
    _lock = threading.Lock()

    def __init__(self, min_face_fraction: float = FACE_SIZES["any"], detect_max_side: int = 640):
        """min_face_fraction: smallest face side as a fraction of the image's shorter side.
        detect_max_side: detection runs on a copy no larger than this, for speed."""
        _check_min_face_fraction(min_face_fraction)
        if detect_max_side < _HAAR_WINDOW:
            raise ValueError(f"detect_max_side must be at least {_HAAR_WINDOW}, got {detect_max_side}.")
        self.min_face_fraction = min_face_fraction
        self.detect_max_side = detect_max_side

    def detect(self, rgb: np.ndarray, min_face_fraction: float | None = None) -> list[FaceBox]:
        """Faces in an HxWx3 uint8 RGB image, sorted left to right (then top to bottom).

        `min_face_fraction` overrides the detector's own for this call (see FACE_SIZES).
        """
        fraction = self.min_face_fraction if min_face_fraction is None else min_face_fraction
        _check_min_face_fraction(fraction)
        gray, scale = _detection_gray(rgb, self.detect_max_side, fraction)
        min_side = max(_HAAR_WINDOW, round(fraction * min(gray.shape)))
        if min(gray.shape) < min_side:
            return []
        with FaceDetector._lock:
            rects, _levels, weights = self._load_classifier().detectMultiScale3(
                gray, scaleFactor=_SCALE_FACTOR, minNeighbors=_MIN_NEIGHBORS,
                minSize=(min_side, min_side), outputRejectLevels=True)
        candidates = [(tuple(int(v) for v in rect), float(weight))
                      for rect, weight in zip(rects, np.ravel(weights)) if weight >= _MIN_SCORE]
        kept = _non_max_suppression(candidates, _NMS_IOU)
        height, width = rgb.shape[:2]
        boxes = [_scale_box_back(rect, score, scale, width, height) for rect, score in kept]
        return sorted(boxes, key=lambda box: (box.x, box.y))

    @classmethod
    def _load_classifier(cls) -> cv2.CascadeClassifier:
        if cls._classifier is None:
            path = cv2.data.haarcascades + _CASCADE_FILE
            classifier = cv2.CascadeClassifier(path)
            if classifier.empty():
                raise RuntimeError(f"OpenCV could not load its face cascade from {path}.")
            cls._classifier = classifier
        return cls._classifier


def crop_face(rgb: np.ndarray, box: FaceBox, margin: float = 0.0) -> np.ndarray:
    """Square HxWx3 uint8 crop centred on `box`, widened by `margin` x its side on each side.

    Where the square leaves the image, the edge pixels are repeated, so the face stays
    centred (as in FER2013) rather than being shifted or squashed.
    """
    side = max(1, round(max(box.width, box.height) * (1 + 2 * margin)))
    centre_x = box.x + box.width / 2
    centre_y = box.y + box.height / 2
    left = int(np.floor(centre_x - side / 2))
    top = int(np.floor(centre_y - side / 2))
    # Clipping the index ranges repeats the nearest edge pixel: edge padding that also
    # works when the box lies wholly outside the image.
    rows = np.clip(np.arange(top, top + side), 0, rgb.shape[0] - 1)
    cols = np.clip(np.arange(left, left + side), 0, rgb.shape[1] - 1)
    return np.ascontiguousarray(rgb[np.ix_(rows, cols)])


def prepare_face(crop_rgb: np.ndarray, size: int = 48, color_mode: str = "grayscale") -> np.ndarray:
    """A face crop as model input: (size, size, 1) gray or (size, size, 3) RGB, float32 in 0..255.

    Gray uses ITU-R 601 luma exactly as PIL's "L" mode (how FER2013-style folders are read);
    shrinking uses area interpolation, which averages pixels so hair and glasses don't alias.
    Values stay in 0..255 like FER2013's pixel column; any rescaling belongs to the model.
    """
    if color_mode not in ("grayscale", "rgb"):
        raise ValueError(f"color_mode must be 'grayscale' or 'rgb', got {color_mode!r}.")
    if crop_rgb.dtype != np.uint8 or crop_rgb.ndim not in (2, 3):
        raise ValueError(f"Expected an HxWx3 uint8 crop, got {crop_rgb.dtype} {crop_rgb.shape}.")
    if crop_rgb.ndim == 2:
        crop_rgb = np.stack([crop_rgb] * 3, axis=-1)
    pixels = _pil_luma(crop_rgb)[..., None] if color_mode == "grayscale" else crop_rgb
    resized = _resize_uint8(np.ascontiguousarray(pixels), size)
    return resized.reshape(size, size, -1).astype(np.float32)


def whole_image_box(rgb: np.ndarray) -> FaceBox:
    """The centred square of the whole image as one 'face' (score 0.0), for pre-cropped faces."""
    height, width = rgb.shape[:2]
    side = min(height, width)
    return FaceBox(x=(width - side) // 2, y=(height - side) // 2, width=side, height=side, score=0.0)


# --- helpers -------------------------------------------------------------------------


def _check_min_face_fraction(fraction: float) -> None:
    if not 0 <= fraction < 1:
        raise ValueError(f"min_face_fraction must be in [0, 1), got {fraction}.")


def _detection_scale(shape: tuple, max_side: int, min_face_fraction: float) -> float:
    """How much to shrink an image of `shape` for detection: to max_side at most, and further
    until the smallest face sought is _SMALLEST_FACE_PIXELS."""
    scale = min(1.0, max_side / max(shape))
    smallest_face = min_face_fraction * min(shape)
    if smallest_face > 0:
        scale = min(scale, _SMALLEST_FACE_PIXELS / smallest_face)
    return scale


def _detection_gray(rgb: np.ndarray, max_side: int, min_face_fraction: float) -> tuple[np.ndarray, float]:
    """Equalised gray copy for detection (see `_detection_scale`) and its scale relative to `rgb`."""
    if rgb.ndim != 3 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"Expected an HxWx3 uint8 RGB image, got {rgb.dtype} {rgb.shape}.")
    gray = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    scale = _detection_scale(gray.shape, max_side, min_face_fraction)
    if scale < 1.0:
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    # Equalising makes dim or washed-out photos look like the cascade's training faces.
    return cv2.equalizeHist(gray), scale


def _non_max_suppression(candidates: list[tuple[tuple, float]], max_iou: float) -> list[tuple[tuple, float]]:
    """Keep the highest-scoring box of each group overlapping by more than max_iou."""
    kept: list[tuple[tuple, float]] = []
    for rect, score in sorted(candidates, key=lambda item: -item[1]):
        if all(_iou(rect, other) <= max_iou and _contained(rect, other) <= _NMS_CONTAINED
               for other, _ in kept):
            kept.append((rect, score))
    return kept


def _iou(a: tuple, b: tuple) -> float:
    intersection = _intersection(a, b)
    union = a[2] * a[3] + b[2] * b[3] - intersection
    return intersection / union if union > 0 else 0.0


def _contained(a: tuple, b: tuple) -> float:
    """Fraction of the smaller of two (x, y, w, h) boxes that lies inside the other."""
    smaller = min(a[2] * a[3], b[2] * b[3])
    return _intersection(a, b) / smaller if smaller > 0 else 0.0


def _intersection(a: tuple, b: tuple) -> int:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    overlap_w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    overlap_h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return overlap_w * overlap_h


def _scale_box_back(rect: tuple, score: float, scale: float, width: int, height: int) -> FaceBox:
    """A detection-image rectangle as a FaceBox in original pixels, clipped to the image."""
    x, y, w, h = (v / scale for v in rect)
    left, top = min(max(0, round(x)), width - 1), min(max(0, round(y)), height - 1)
    right, bottom = min(width, round(x + w)), min(height, round(y + h))
    return FaceBox(x=left, y=top, width=max(1, right - left), height=max(1, bottom - top), score=score)


def _pil_luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma with PIL's fixed-point weights and rounding, so gray matches Image.convert('L')."""
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


def _resize_uint8(pixels: np.ndarray, size: int) -> np.ndarray:
    """Resize to size x size: area averaging when any side shrinks, bilinear when enlarging."""
    height, width = pixels.shape[:2]
    if (height, width) == (size, size):
        return pixels
    shrinking = height > size or width > size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    # Resizing uint8 keeps the result in 0..255 (OpenCV saturates instead of overshooting).
    return cv2.resize(pixels, (size, size), interpolation=interpolation)
