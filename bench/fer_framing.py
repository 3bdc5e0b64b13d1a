"""Measure how FER2013 frames its faces, so aligned crops of photos can be framed the same way.

    python bench/fer_framing.py [--data data/fer2013] [--images 600]

Each validation image is upscaled 3x and set in a border of repeated edge pixels (so the detector
sees a face in a photo), the default detector finds it, and the landmarks are read back in the
48x48 frame. It prints the medians that faces.FER_FRAMING holds.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from emotion_core.faces import FER_FRAMING, FaceDetector  # noqa: E402
from emotion_core.images import IMAGE_SUFFIXES, load_rgb  # noqa: E402

UPSCALE = 3
BORDER = 0.5  # of the upscaled side, on each side


def landmarks_in_frame(detector: FaceDetector, rgb: np.ndarray) -> np.ndarray | None:
    """The face's landmarks as fractions of the 48x48 frame, or None unless exactly one face is found."""
    side = rgb.shape[0] * UPSCALE
    big = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_CUBIC)
    pad = round(side * BORDER)
    photo = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    boxes = detector.detect(photo)
    if len(boxes) != 1 or len(boxes[0].landmarks) < 4:
        return None
    return (np.array(boxes[0].landmarks[:4]) - pad) / side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/fer2013"))
    parser.add_argument("--images", type=int, default=600)
    args = parser.parse_args()
    files = sorted(p for p in (args.data / "validation").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        sys.exit(f"No validation images under {args.data}.")
    files = random.Random(0).sample(files, min(args.images, len(files)))
    detector = FaceDetector()
    found = [points for points in (landmarks_in_frame(detector, load_rgb(f)) for f in files) if points is not None]
    points = np.array(found)  # (faces, 4 landmarks, xy)
    left, right, mouth = points[:, 0], points[:, 1], points[:, 3]
    eyes = (left + right) / 2
    measured = {
        "eye_centre_x": np.median(eyes[:, 0]), "eye_centre_y": np.median(eyes[:, 1]),
        "eye_distance": np.median(np.linalg.norm(right - left, axis=1)),
        "eye_to_mouth": np.median(np.linalg.norm(mouth - eyes, axis=1)),
    }
    print(f"one face found on {len(found)} of {len(files)} validation images ({detector.name})")
    print(f"{'measure':<14} {'median':>7} {'FER_FRAMING':>12}")
    for key, value in measured.items():
        print(f"{key:<14} {value:>7.3f} {FER_FRAMING[key]:>12.3f}")


if __name__ == "__main__":
    main()
