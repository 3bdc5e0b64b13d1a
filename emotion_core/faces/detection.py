"""Find the faces in a photo with the detector of one's choice, at the sizes one looks for.

    detector = FaceDetector()                   # YuNet, faces down to 6% of the photo
    boxes = detector.detect(rgb)                # rgb from images.load_rgb; sorted left to right
    FaceDetector("haar").detect(rgb, FACE_SIZES["large"])
"""

from __future__ import annotations

import cv2
import numpy as np

import dataclasses

from .boxes import FaceBox, scale_box_back
from .haar import HaarDetector
from .landmarks import LANDMARK_MIN_SCORE, LandmarkModel
from .yunet import YuNetDetector

# The detectors a user can choose ("--detector" on the CLI, a select box in the app).
DETECTORS = {"yunet": YuNetDetector, "haar": HaarDetector}
DEFAULT_DETECTOR = "yunet"
DETECTOR_DESCRIPTIONS = {
    "yunet": "YuNet CNN + BlazeFace landmarks (default): aligned crops, tilted heads",
    "haar": "Haar cascade: the first versions' detector, no landmarks",
}

# Smallest face searched for, as a fraction of the photo's shorter side. "any" finds the faces
# of a group photo down to 6%; "large" is for portraits, selfies and webcam shots (faces of 15%
# or more), where scanning a small copy makes detection several times cheaper.
FACE_SIZES = {"any": 0.06, "large": 0.15}


class FaceDetector:
    """A face detector by name; one instance can serve many images and threads."""

    def __init__(self, name: str = DEFAULT_DETECTOR, min_face_fraction: float = FACE_SIZES["any"],
                 detect_max_side: int = 640):
        """min_face_fraction: smallest face side as a fraction of the image's shorter side.
        detect_max_side: detection runs on a copy no larger than this, for speed."""
        if name not in DETECTORS:
            raise ValueError(f"Unknown face detector '{name}': choose one of {', '.join(DETECTORS)}.")
        self.backend = DETECTORS[name]()
        _check_min_face_fraction(min_face_fraction)
        if detect_max_side < self.backend.smallest_face_pixels:
            raise ValueError(f"detect_max_side must be at least {self.backend.smallest_face_pixels}, "
                             f"got {detect_max_side}.")
        self.name = name
        self.min_face_fraction = min_face_fraction
        self.detect_max_side = detect_max_side

    def detect(self, rgb: np.ndarray, min_face_fraction: float | None = None) -> list[FaceBox]:
        """Faces in an HxWx3 uint8 RGB image, sorted left to right (then top to bottom).

        `min_face_fraction` overrides the detector's own for this call (see FACE_SIZES).
        """
        fraction = self.min_face_fraction if min_face_fraction is None else min_face_fraction
        _check_min_face_fraction(fraction)
        if rgb.ndim != 3 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"Expected an HxWx3 uint8 RGB image, got {rgb.dtype} {rgb.shape}.")
        scale = detection_scale(rgb.shape[:2], self.detect_max_side, fraction, self.backend.smallest_face_pixels)
        small = _shrunk(rgb, scale)
        min_side = round(fraction * min(small.shape[:2]))
        height, width = rgb.shape[:2]
        boxes = []
        for rect, score, landmarks in self.backend.find(small, min_side):
            box = scale_box_back(rect, score, landmarks, scale, width, height)
            if self.backend.refines_landmarks:
                box = _with_refined_landmarks(rgb, box, tuple(v / scale for v in rect))
            boxes.append(box)
        return sorted(boxes, key=lambda box: (box.x, box.y))


def _with_refined_landmarks(rgb: np.ndarray, box: FaceBox, rect: tuple) -> FaceBox:
    """`box` with BlazeFace's landmarks, placed on the full-size photo around the unclipped `rect`."""
    points, score = LandmarkModel.shared().locate(rgb, rect)
    return dataclasses.replace(box, landmarks=points) if score >= LANDMARK_MIN_SCORE else box


def detection_scale(shape: tuple, max_side: int, min_face_fraction: float, smallest_face_pixels: int) -> float:
    """How much to shrink an image of `shape` for detection: to max_side at most, and further
    until the smallest face sought is the detector's `smallest_face_pixels`.

    A detector's cost grows with the pixels it scans, and a face any larger than that is
    found as well on the small copy.
    """
    scale = min(1.0, max_side / max(shape))
    smallest_face = min_face_fraction * min(shape)
    if smallest_face > 0:
        scale = min(scale, smallest_face_pixels / smallest_face)
    return scale


def _shrunk(rgb: np.ndarray, scale: float) -> np.ndarray:
    rgb = np.ascontiguousarray(rgb)
    if scale >= 1.0:
        return rgb
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _check_min_face_fraction(fraction: float) -> None:
    if not 0 <= fraction < 1:
        raise ValueError(f"min_face_fraction must be in [0, 1), got {fraction}.")
