"""The default detector: libfacedetection's YuNet CNN, through the `yuface` wheel.

The weights are compiled into the wheel (nothing is downloaded), and it finds faces tilted up
to 45 degrees, which the Haar cascade loses. Its own landmarks hardly follow a tilted head, so
FaceDetector places them again with BlazeFace (`landmarks.py`). BENCHMARKS.md "Face detection"
compares it with the cascade and with BlazeFace alone.
"""

from __future__ import annotations

import os
import threading

import numpy as np

from .boxes import non_max_suppression

# YuNet's face probability (yuface reports it as a percentage). At 0.5 it found every face of
# shared/photos up to 45 degrees of tilt and nothing on the cat or the coffee cup.
_MIN_CONFIDENCE = 0.5

# yuface runs its network on OpenMP threads; their default busy-waiting turns a 10 ms call into
# 360 ms when the cores are busy (a training job beside the app). Passive waiting costs nothing
# on an idle machine. Read once, when yuface's own libgomp loads, and only if the user left it unset.
_OPENMP_WAIT_POLICY = "PASSIVE"

# Boxes of one face the network reports twice; it rarely does, after its own suppression.
_NMS_IOU = 0.3
_NMS_CONTAINED = 0.7

# YuNet's box is taller and narrower than the cascade's square (92x114 against 97x97 on the
# astronaut), so its face size is the box's geometric mean. A face is kept from this share of the
# smallest face sought: the network also sees faces below the scan's target, which "large only"
# must skip (a crowd's faces of 11-12% against the 15% asked for).
_SIZE_TOLERANCE = 0.9


class YuNetDetector:
    """Finds faces on an already shrunk RGB copy; FaceDetector handles scale and clipping."""

    name = "yunet"
    refines_landmarks = True  # see the module docstring
    # YuNet found the portraits of shared/photos from 14 px faces up (12 px for one); the scan
    # copy keeps the smallest face sought at 20 px, with room to spare.
    smallest_face_pixels = 20
    # The first pass's reach (faces.detection.FIRST_PASS_MARGIN), measured in CPU ms with
    # bench/face_detection.py --first-pass (BENCHMARKS.md "Face detection"): the fine scan of a
    # 512 px portrait costs 15-19 ms, a first pass at 9% 6 ms. At 9% both portraits of
    # shared/photos skip the fine scan (the astronaut's face, 19% of the shorter side: 15.2 -> 7.6
    # ms; Grace Hopper's, 38%: 19.1 -> 9.9), and a photo it does not settle pays it on top (+6 to
    # +14 ms: no face, a small face, group photos). At 10% the astronaut falls under the bar (19%
    # < 20%: 21.2 ms); at 15% only faces of 30% and up skip; at 8% the first pass finds a face of
    # 63% at 0.67 in coffee.png that the fine scan does not.
    first_pass_reach = 0.09

    _lock = threading.Lock()  # the extension's thread-safety is undocumented: one call at a time

    def find(self, rgb: np.ndarray, min_side: int) -> list[tuple[tuple, float, tuple]]:
        """(rect, confidence in [0, 1], four (x, y) landmarks) for faces of at least `min_side`."""
        detect = _load_yuface()
        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        with YuNetDetector._lock:
            confidences, rects, landmarks = detect(bgr, _MIN_CONFIDENCE)
        candidates = []
        for confidence, rect, points in zip(confidences, rects, landmarks):
            x, y, w, h = (int(v) for v in rect)
            if (w * h) ** 0.5 < _SIZE_TOLERANCE * min_side:
                continue
            # eyes, nose, then the mouth's centre between its two corners (LANDMARK_NAMES)
            eyes_nose = [(float(points[2 * i]), float(points[2 * i + 1])) for i in range(3)]
            mouth = ((float(points[6]) + float(points[8])) / 2, (float(points[7]) + float(points[9])) / 2)
            candidates.append(((x, y, w, h), float(confidence) / 100.0, tuple(eyes_nose) + (mouth,)))
        return non_max_suppression(candidates, _NMS_IOU, _NMS_CONTAINED)


def _load_yuface():
    os.environ.setdefault("OMP_WAIT_POLICY", _OPENMP_WAIT_POLICY)
    try:
        from yuface import detect
    except ImportError as error:  # the wheel exists for CPython 3.11 on Linux and Windows only
        raise RuntimeError(f"The YuNet face detector needs the yuface package ({error}); "
                           "install requirements.txt, or choose the 'haar' detector.") from None
    return detect
