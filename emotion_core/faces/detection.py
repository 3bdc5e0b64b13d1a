"""Find the faces in a photo with the detector of one's choice, at the sizes one looks for.

    detector = FaceDetector()                   # YuNet, faces down to 6% of the photo
    boxes = detector.detect(rgb)                # rgb from images.load_rgb; sorted left to right
    FaceDetector("haar").detect(rgb, FACE_SIZES["large"])
    detector.detect(rgb, FACE_SIZES["all"])     # every face down to 6%: the fine scan, always

A scan shrinks a copy of the photo until the smallest face sought is the detector's smallest
(YuNet: 20 px) and finds boxes on it; BlazeFace then places each face's landmarks on the photo
itself. YuNet finds faces of any size in up to two scans: a cheap first pass for faces of 9% and
up, and the fine scan for 6% only where the first pass leaves a doubt (FIRST_PASS_MARGIN).
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


class FaceSize(float):
    """The smallest face to look for, as a fraction of the shorter side (a float wherever one is
    expected), that can also ask for the fine scan on every photo: `exhaustive`, no first pass."""

    def __new__(cls, fraction: float, exhaustive: bool = False):
        size = super().__new__(cls, fraction)
        size.exhaustive = exhaustive
        return size

    def __reduce__(self):  # keeps the flag on its way to detection processes and Ray workers
        return FaceSize, (float(self), self.exhaustive)


# Smallest face searched for, as a fraction of the photo's shorter side (the CLI's --faces, the
# API's `faces`, the pages' "Faces to look for"). "any" is photos' default: a portrait or a selfie
# is settled by the first pass at about half the cost, and a group photo still gets the fine scan;
# "all" is for group photos where every small face counts; "large" for portraits, selfies and
# webcam shots, where scanning a small copy makes detection several times cheaper.
FACE_SIZES = {"any": FaceSize(0.06), "all": FaceSize(0.06, exhaustive=True), "large": FaceSize(0.15)}

# The first pass (FaceDetector._first_pass): a request for faces under the detector's
# `first_pass_reach` (YuNet: 9%; the cascade has none) first scans the copy on which a face of
# the reach is the detector's smallest. If every face it finds is FIRST_PASS_MARGIN times the
# reach or more, any neighbour down to half their size was within its reach: its faces are the
# answer and the fine scan is skipped. A neighbour under half the smallest face's size and under
# the reach (a face of 8% beside one of 20%) is lost; "all" scans finely always. The figures
# that chose the reach are in yunet.py.
FIRST_PASS_MARGIN = 2.0

# What each face size does, for the help of the CLI's --faces, the API's `faces` and the pages' choice.
_SETTLED = FIRST_PASS_MARGIN * YuNetDetector.first_pass_reach
FACE_SIZE_DESCRIPTIONS = {
    "any": (f"faces down to {FACE_SIZES['any']:.0%} of the shorter side; a photo whose faces are all {_SETTLED:.0%} "
            "or more (a portrait, a selfie) is settled by a cheap first pass, which misses a face under "
            f"{YuNetDetector.first_pass_reach:.0%} beside them"),
    "all": (f"every face down to {FACE_SIZES['all']:.0%}, with the fine scan on every photo: group photos where "
            "each small face counts (portraits take twice as long as with any)"),
    "large": f"faces of {FACE_SIZES['large']:.0%} and up (portraits, selfies, webcams): several times faster",
}
FACE_SIZE_HELP = "; ".join(f"{name} = {text}" for name, text in FACE_SIZE_DESCRIPTIONS.items())


class FaceDetector:
    """A face detector by name; one instance can serve many images and threads."""

    first_pass_margin = FIRST_PASS_MARGIN

    def __init__(self, name: str = DEFAULT_DETECTOR, min_face_fraction: float = FACE_SIZES["any"],
                 detect_max_side: int = 640):
        """min_face_fraction: smallest face side as a fraction of the image's shorter side
        (FACE_SIZES["all"]: with the fine scan on every photo, see FIRST_PASS_MARGIN).
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
        self.first_pass_reach = self.backend.first_pass_reach

    def detect(self, rgb: np.ndarray, min_face_fraction: float | None = None) -> list[FaceBox]:
        """Faces in an HxWx3 uint8 RGB image, sorted left to right (then top to bottom).

        `min_face_fraction` overrides the detector's own for this call (see FACE_SIZES).
        """
        fraction = self.min_face_fraction if min_face_fraction is None else min_face_fraction
        _check_min_face_fraction(fraction)
        if rgb.ndim != 3 or rgb.shape[-1] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"Expected an HxWx3 uint8 RGB image, got {rgb.dtype} {rgb.shape}.")
        first = None
        if fraction < self.first_pass_reach and not getattr(fraction, "exhaustive", False):
            first = self._first_pass(rgb, fraction)
        scale, faces = first or self._scan(rgb, fraction)
        height, width = rgb.shape[:2]
        boxes = []
        for rect, score, landmarks in faces:
            box = scale_box_back(rect, score, landmarks, scale, width, height)
            if self.backend.refines_landmarks:
                box = _with_refined_landmarks(rgb, box, tuple(v / scale for v in rect))
            boxes.append(box)
        return sorted(boxes, key=lambda box: (box.x, box.y))

    def _first_pass(self, rgb: np.ndarray, fraction: float) -> tuple[float, list] | None:
        """(scale, faces) of a scan for faces of `first_pass_reach` and up where that scan settles
        the photo: it found faces, and the smallest is `first_pass_margin` times the reach, so
        any neighbour down to 1 / margin of its size was within reach too. None: scan finely."""
        if self._scale(rgb, self.first_pass_reach) >= self._scale(rgb, fraction):
            return None  # a small photo: the fine scan's copy is no larger
        scale, faces = self._scan(rgb, self.first_pass_reach)
        settled = self.first_pass_margin * self.first_pass_reach * min(rgb.shape[:2]) * scale
        if faces and min((w * h) ** 0.5 for (_, _, w, h), _, _ in faces) >= settled:
            return scale, faces
        return None

    def _scan(self, rgb: np.ndarray, fraction: float) -> tuple[float, list]:
        """(scale, faces on the copy shrunk by it) for faces of `fraction` of the shorter side and up."""
        scale = self._scale(rgb, fraction)
        small = _shrunk(rgb, scale)
        return scale, self.backend.find(small, round(fraction * min(small.shape[:2])))

    def _scale(self, rgb: np.ndarray, fraction: float) -> float:
        return detection_scale(rgb.shape[:2], self.detect_max_side, fraction, self.backend.smallest_face_pixels)


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
