"""Face detectors side by side: speed, tilted heads, and what alignment buys the classifier.

    python bench/face_detection.py                     # ../shared/photos
    python bench/face_detection.py --photos DIR        # plus a folder of real photos
    python bench/face_detection.py --fer-faces 600     # tilted FER2013 faces through the whole pipeline
    OMP_NUM_THREADS=1 python bench/face_detection.py --first-pass   # only table 4, in CPU ms

Tables (markdown, ready for BENCHMARKS.md):
1. detection time per photo (median / p90 ms over interleaved rounds) and faces found, per
   detector and face size ("Faces to look for");
2. faces found on the photos turned by 0, 15, 25 and 35 degrees (both ways), per detector;
3. tilted FER2013: validation faces upscaled 3x, turned by +-20 degrees and pasted into a
   larger photo, then detected, cropped (aligned or not) and classified by the deployed model;
   validation accuracy against the upright faces classified directly;
4. (--first-pass) the default scan for faces of any size, a cheap first pass that skips the fine
   scan where every face it finds is large, against the fine scan on every photo ("all"), and
   other reaches of the first pass, and "large": CPU ms and faces found on the shared photos and
   on generated group photos (portraits' faces tiled at known sizes).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from bench.inference import CLOCK, PHOTOS, interleaved, ms, table  # noqa: E402
from emotion_core.faces import DETECTORS, FACE_SIZES, FaceDetector, crop_face  # noqa: E402
from emotion_core.images import IMAGE_SUFFIXES, load_rgb  # noqa: E402
from emotion_core.labels import EMOTIONS  # noqa: E402
from tests.faces.scenes import face_tiles, scene  # noqa: E402

TILTS = (0, 15, 25, 35)
FER_TILT = 20
FER_UPSCALE = 3


def real_photos(extra: Path | None) -> dict[str, np.ndarray]:
    paths = sorted(PHOTOS.glob("*")) + (sorted(extra.rglob("*")) if extra else [])
    return {p.name: load_rgb(p) for p in paths if p.suffix.lower() in IMAGE_SUFFIXES}


def turned(rgb: np.ndarray, degrees: float) -> np.ndarray:
    height, width = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(rgb, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


def speed_table(photos: dict[str, np.ndarray], repeats: int) -> None:
    detectors = {(name, size): FaceDetector(name, FACE_SIZES[size]) for name in DETECTORS for size in FACE_SIZES}
    rows = []
    for photo, rgb in photos.items():
        seconds = interleaved({key: (lambda d=d: d.detect(rgb)) for key, d in detectors.items()}, repeats)
        found = {key: len(d.detect(rgb)) for key, d in detectors.items()}
        rows.append([photo, f"{rgb.shape[1]}x{rgb.shape[0]}"]
                    + [f"{ms(seconds[key])} ({found[key]})" for key in detectors])
    table(["photo", "size"] + [f"{name}, {size} size" for name, size in detectors], rows)


def tilt_table(photos: dict[str, np.ndarray]) -> None:
    detectors = {name: FaceDetector(name) for name in DETECTORS}
    rows = []
    for degrees in TILTS:
        found = {name: 0 for name in detectors}
        for rgb in photos.values():
            for sign in ((1,) if degrees == 0 else (1, -1)):
                picture = turned(rgb, sign * degrees)
                for name, detector in detectors.items():
                    found[name] += len(detector.detect(picture))
        shots = len(photos) * (1 if degrees == 0 else 2)
        rows.append([f"{degrees}°", shots] + [found[name] for name in detectors])
    table(["tilt", "photos (both ways)"] + [f"faces found, {name}" for name in detectors], rows)


def fer_photo(face48: np.ndarray, degrees: float, rng: random.Random) -> np.ndarray:
    """A FER2013 face upscaled, turned and pasted at a random place in a 400x300 photo."""
    side = 48 * FER_UPSCALE
    face = cv2.resize(face48, (side, side), interpolation=cv2.INTER_CUBIC)
    face = turned(cv2.cvtColor(face, cv2.COLOR_GRAY2RGB), degrees)
    photo = np.full((300, 400, 3), 110, np.uint8)
    top, left = rng.randrange(0, 300 - side), rng.randrange(0, 400 - side)
    photo[top:top + side, left:left + side] = face
    return photo


def fer_table(data: Path, limit: int) -> None:
    from emotion_core.predictor import Predictor

    files = [(p, EMOTIONS.index(p.parent.name)) for p in sorted((data / "validation").rglob("*"))
             if p.suffix.lower() in IMAGE_SUFFIXES and p.parent.name in EMOTIONS]
    if not files:
        print(f"\n(no FER2013 validation folder under {data}: tilted-FER2013 table skipped)")
        return
    rng = random.Random(0)
    files = rng.sample(files, min(limit, len(files)))
    predictor = Predictor.load()
    upright_inputs = np.stack([predictor.prepare(load_rgb(p)) for p, _ in files])
    labels = np.array([label for _, label in files])
    upright = float((predictor.classify(upright_inputs).argmax(axis=1) == labels).mean())
    rows = [["upright 48x48 faces, classified directly", "-", f"{upright:.1%}"]]
    for detector_name in DETECTORS:
        detector = FaceDetector(detector_name)
        for align in ((True, False) if detector.backend.refines_landmarks else (False,)):
            correct = missed = 0
            for (path, label), index in zip(files, range(len(files))):
                degrees = FER_TILT if index % 2 else -FER_TILT
                photo = fer_photo(load_rgb(path)[..., 0], degrees, rng)
                boxes = detector.detect(photo)
                if not boxes:
                    missed += 1
                    continue
                box = max(boxes, key=lambda b: b.score)
                probabilities = predictor.classify(predictor.prepare(crop_face(photo, box, align=align))[None])[0]
                correct += int(probabilities.argmax() == label)
            rows.append([f"turned ±{FER_TILT}°, {detector_name}, {'aligned' if align else 'not aligned'}",
                         f"{missed} of {len(files)}", f"{correct / len(files):.1%}"])
    print(f"\nTilted FER2013 ({len(files)} validation faces, model {predictor.run_name}; a face not found counts as wrong)")
    table(["faces", "no face found", "validation accuracy"], rows)


# Generated group photos on a 1280x640 canvas (tests/faces/scenes.py): each face as (portrait,
# its size as a fraction of the shorter side). The first pass's rule is written for the selfie
# rows: a large face beside faces at 40-50% of its size keeps them; a face under half its
# neighbour's size and under the first pass's reach is the one it can lose (`--faces all`).
SCENES = {
    "pair, 18% + 18%": [("astronaut.png", 0.18), ("grace_hopper.jpg", 0.18)],
    "pair, 25% + 25%": [("astronaut.png", 0.25), ("grace_hopper.jpg", 0.25)],
    "selfie, 30% + 15% + 12%": [("astronaut.png", 0.30), ("grace_hopper.jpg", 0.15),
                                ("astronaut.png", 0.12)],
    "selfie, 40% + 16%": [("grace_hopper.jpg", 0.40), ("astronaut.png", 0.16)],
    "selfie, 22% + 9%": [("astronaut.png", 0.22), ("grace_hopper.jpg", 0.09)],
    "group of 6, 12-14%": [(name, size) for name in ("astronaut.png", "grace_hopper.jpg")
                           for size in (0.12, 0.13, 0.14)],
    "crowd of 20, 10%": [("astronaut.png", 0.10)] * 20,
    "crowd of 40, 7%": [("grace_hopper.jpg", 0.07)] * 40,
}
OTHER_FIRST_PASSES = ((0.10, 2.0), (0.15, 2.0), (0.08, 2.0))  # (reach, margin) beside the detector's own


def first_pass_table(photos: dict[str, np.ndarray], repeats: int) -> None:
    fine = FaceDetector()
    tiles = face_tiles()
    photos = {**photos, **{name: scene(faces, tiles) for name, faces in SCENES.items()}}
    expected = {name: len(faces) for name, faces in SCENES.items()}
    detectors = {}
    for reach, margin in ((fine.first_pass_reach, fine.first_pass_margin),) + OTHER_FIRST_PASSES:
        detector = FaceDetector()
        detector.first_pass_reach, detector.first_pass_margin = reach, margin
        detectors[f"first pass {reach:.0%}, x{margin:g}" + ("" if detectors else " (--faces any)")] = detector
    fine_name = "fine scan (--faces all)"
    runs = {fine_name: lambda rgb: fine.detect(rgb, FACE_SIZES["all"]),
            **{name: (lambda rgb, d=d: d.detect(rgb, FACE_SIZES["any"])) for name, d in detectors.items()},
            "large only (--faces large)": lambda rgb: fine.detect(rgb, FACE_SIZES["large"])}
    default = next(iter(detectors))
    rows, totals = [], {name: 0.0 for name in runs}
    for photo, rgb in photos.items():
        seconds = interleaved({name: (lambda run=run: run(rgb)) for name, run in runs.items()}, repeats)
        found = {name: len(run(rgb)) for name, run in runs.items()}
        for name in runs:
            totals[name] += float(np.median(seconds[name]))
        rows.append([photo, f"{rgb.shape[1]}x{rgb.shape[0]}", expected.get(photo, "")]
                    + [f"{ms(seconds[name])} ({found[name]})" for name in runs]
                    + [f"{np.median(seconds[fine_name]) / np.median(seconds[default]):.2f}x"])
    rows.append(["all photos, sum of medians", "", ""] + [f"{totals[name] * 1e3:.1f}" for name in runs]
                + [f"{totals[fine_name] / totals[default]:.2f}x"])
    table(["photo", "size", "faces in it"] + list(runs) + [f"fine / {default}"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, help="a folder of real photos to add")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--data", type=Path, default=Path("data/fer2013"))
    parser.add_argument("--fer-faces", type=int, default=600)
    parser.add_argument("--first-pass", action="store_true",
                        help="only the first-pass table, in CPU ms of this process")
    args = parser.parse_args()
    photos = real_photos(args.photos)
    if args.first_pass:
        CLOCK["now"] = time.process_time
        print(f"Faces of any size: first pass or fine scan, CPU ms median / p90 (faces found), {args.repeats} rounds")
        first_pass_table(photos, args.repeats)
        return
    print("Detection per photo, ms median / p90 (faces found)")
    speed_table(photos, args.repeats)
    print("\nTilted photos")
    tilt_table(photos)
    if args.fer_faces:
        fer_table(args.data, args.fer_faces)


if __name__ == "__main__":
    main()
