"""Where a face is: a box, the detector's confidence and, when the detector gives them, landmarks."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

# Landmark order. "Left" is the viewer's left (the person's right eye), as the pixels lie.
LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth")


@dataclass(frozen=True)
class FaceBox:
    """A face as a pixel rectangle in the original image.

    `score` is the detector's confidence in [0, 1]: the CNN detector's own face probability;
    for the Haar cascade its final-stage weight w mapped through w / (1 + w), which orders faces
    the same way but is not calibrated. 0.0 means "not detected" (the whole image as a face).
    `landmarks` are (x, y) pixels in LANDMARK_NAMES order, or () when the detector gives none.
    """

    x: int
    y: int
    width: int
    height: int
    score: float
    landmarks: tuple[tuple[float, float], ...] = ()

    @property
    def eyes(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """(left eye, right eye) in pixels, or None without landmarks."""
        return (self.landmarks[0], self.landmarks[1]) if len(self.landmarks) >= 2 else None

    def as_dict(self) -> dict:
        """Plain ints and floats, ready for JSON or a pandas row."""
        values = dataclasses.asdict(self)
        values["landmarks"] = [[round(x, 1), round(y, 1)] for x, y in self.landmarks]
        return values


def whole_image_box(rgb: np.ndarray) -> FaceBox:
    """The centred square of the whole image as one 'face' (score 0.0), for pre-cropped faces."""
    height, width = rgb.shape[:2]
    side = min(height, width)
    return FaceBox(x=(width - side) // 2, y=(height - side) // 2, width=side, height=side, score=0.0)


def non_max_suppression(candidates: list[tuple[tuple, float, tuple]], max_iou: float,
                        max_contained: float) -> list[tuple[tuple, float, tuple]]:
    """Keep the highest-scoring (rect, score, landmarks) of each group of overlapping boxes.

    IoU misses a tight box sitting inside a loose one twice its size (IoU 0.25), so a box lying
    mostly (`max_contained`) inside a stronger one counts as the same face too.
    """
    kept: list[tuple[tuple, float, tuple]] = []
    for candidate in sorted(candidates, key=lambda item: -item[1]):
        rect = candidate[0]
        if all(_iou(rect, other[0]) <= max_iou and _contained(rect, other[0]) <= max_contained
               for other in kept):
            kept.append(candidate)
    return kept


def scale_box_back(rect: tuple, score: float, landmarks: tuple, scale: float, width: int,
                   height: int) -> FaceBox:
    """A detection-image (x, y, w, h) and landmarks as a FaceBox in original pixels.

    The box is clipped to the image (a detector may reach past an edge); landmarks are not,
    since an eye just outside the frame still says which way the face is turned.
    """
    x, y, w, h = (v / scale for v in rect)
    left, top = min(max(0, round(x)), width - 1), min(max(0, round(y)), height - 1)
    right, bottom = min(width, round(x + w)), min(height, round(y + h))
    points = tuple((float(px) / scale, float(py) / scale) for px, py in landmarks)
    return FaceBox(x=left, y=top, width=max(1, right - left), height=max(1, bottom - top),
                   score=float(score), landmarks=points)


def _iou(a: tuple, b: tuple) -> float:
    intersection = _intersection(a, b)
    union = a[2] * a[3] + b[2] * b[3] - intersection
    return intersection / union if union > 0 else 0.0


def _contained(a: tuple, b: tuple) -> float:
    """Fraction of the smaller of two (x, y, w, h) boxes that lies inside the other."""
    smaller = min(a[2] * a[3], b[2] * b[3])
    return _intersection(a, b) / smaller if smaller > 0 else 0.0


def _intersection(a: tuple, b: tuple) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    overlap_w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    overlap_h = max(0, min(ay + ah, by + bh) - max(ay, by))
    return overlap_w * overlap_h
