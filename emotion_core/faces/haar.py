"""OpenCV's frontal-face Haar cascade: the detector of the first versions, kept for comparison.

It ships inside opencv-python (4.x), needs no download, gives no landmarks (so its crops are
never aligned) and misses tilted heads and profiles.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from .boxes import non_max_suppression

_CASCADE_FILE = "haarcascade_frontalface_default.xml"

# The cascade was trained on 24x24 windows; it cannot see anything smaller.
_HAAR_WINDOW = 24

# Each pyramid level is 10% smaller than the last: the usual trade between speed and
# missing faces whose size falls between two levels.
_SCALE_FACTOR = 1.1

# A face must be found by at least this many overlapping windows. Tuned on shared/photos
# rescaled, rotated and tiled: 1-2 find the cat and the coffee cup, 3 adds boxes on
# Grace Hopper's cap and on the cat at 1.5x, 5 misses about 1 in 3 faces ~40 px tall.
_MIN_NEIGHBORS = 4

# The cascade's final-stage weight for a detection. The weak boxes that survive grouping
# (e.g. beside the astronaut, photo at 1.5x) scored below 0; real faces 3 to 10.
_MIN_WEIGHT = 0.5

# Two boxes overlapping more than this are the same face seen at two scales; a box lying
# mostly inside a stronger one too (the cascade reports a tight and a loose box per face).
_NMS_IOU = 0.3
_NMS_CONTAINED = 0.7


class HaarDetector:
    """Finds faces on an already shrunk RGB copy; FaceDetector handles scale and clipping."""

    name = "haar"
    refines_landmarks = False  # the cascade's crops stay square, as in the first versions
    # Faces shrunk to exactly the 24 px window are missed more often (33 of an 8x5 crowd's 40
    # faces, against 38 at 30 px and at full size), so the scan copy keeps faces at 30 px.
    smallest_face_pixels = 30
    # No first pass (faces.detection.FIRST_PASS_MARGIN): on a coarser copy the cascade finds faces
    # the fine scan does not (the astronaut upscaled 3x: a second "face" at 0.43), and it is kept
    # to compare with as it was.
    first_pass_reach = 0.0

    # Parsing the cascade XML costs ~10 ms and ~1 MB, so it is loaded once per process.
    # OpenCV does not promise detectMultiScale is thread-safe on one classifier (it keeps
    # per-call image buffers inside it), and Streamlit runs sessions on threads: hence the lock.
    _classifier: cv2.CascadeClassifier | None = None
    _lock = threading.Lock()

    def find(self, rgb: np.ndarray, min_side: int) -> list[tuple[tuple, float, tuple]]:
        """(rect, confidence in [0, 1], no landmarks) for faces at least `min_side` pixels."""
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        # Equalising makes dim or washed-out photos look like the cascade's training faces.
        gray = cv2.equalizeHist(gray)
        min_side = max(_HAAR_WINDOW, min_side)
        if min(gray.shape) < min_side:
            return []
        with HaarDetector._lock:
            rects, _levels, weights = self._load_classifier().detectMultiScale3(
                gray, scaleFactor=_SCALE_FACTOR, minNeighbors=_MIN_NEIGHBORS,
                minSize=(min_side, min_side), outputRejectLevels=True)
        candidates = [(tuple(int(v) for v in rect), float(weight) / (1.0 + float(weight)), ())
                      for rect, weight in zip(rects, np.ravel(weights)) if weight >= _MIN_WEIGHT]
        return non_max_suppression(candidates, _NMS_IOU, _NMS_CONTAINED)

    @classmethod
    def _load_classifier(cls) -> cv2.CascadeClassifier:
        if cls._classifier is None:
            path = cv2.data.haarcascades + _CASCADE_FILE
            classifier = cv2.CascadeClassifier(path)
            if classifier.empty():
                raise RuntimeError(f"OpenCV could not load its face cascade from {path}.")
            cls._classifier = classifier
        return cls._classifier
