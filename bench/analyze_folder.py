"""Batch analysis speed: photos and faces a second of `python -m emotion_core analyze`.

    python bench/analyze_folder.py                          # 1,000 photos, the deployed model
    python bench/analyze_folder.py --photos 100 --model RUN # a run name or a run folder
    python bench/analyze_folder.py --processes 1,2,3        # detection processes (1: all in this one)
    python bench/analyze_folder.py --photos 100 --workers 1 # in one process, without decoding ahead
    python bench/analyze_folder.py --photos 100 --size 4032x3024   # full-size 12 MP phone photos
    python bench/analyze_folder.py --tile 0.4-0.8           # close-ups: webcam shots and selfies

Generates N photos of 1-2 faces (the two portraits of ../shared/photos, cut out, rescaled and
placed at random on a blurred background from its other photos), saved as 1280x960 JPEGs like
photos exported for sharing (or any --size), then times `analysis.analyze` on the folder as the CLI runs it, with each number of detection
processes asked for (1, the baseline, runs everything in this process; the default is one per CPU).
Both face sizes are timed on the same folder: "any" (faces down to 6% of the photo's height) and
"large" (from 15%). The pasted cut-outs are 1/6 to 1/3 of the photo's height by default (--tile);
the face inside one is about 1/1.6 of it (10-21% of the height): people a few metres from the camera.
Model loading is timed apart: it happens once however many photos there are.
The machine's load average is printed too, since the figure is only comparable on a quiet one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

from emotion_core import analysis  # noqa: E402
from emotion_core.faces import FACE_SIZES, FaceDetector, crop_face  # noqa: E402
from emotion_core.images import load_rgb  # noqa: E402
from emotion_core.predictor import Predictor  # noqa: E402

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "photos"


def source_images(size: tuple[int, int]) -> tuple[list[Image.Image], list[Image.Image]]:
    """(face cut-outs with some margin, backgrounds) from the shared photos."""
    detector = FaceDetector()
    faces = []
    for name in ("astronaut.png", "grace_hopper.jpg"):
        rgb = load_rgb(PHOTOS / name)
        (box,) = detector.detect(rgb)
        faces.append(Image.fromarray(crop_face(rgb, box, margin=0.3)))
    # Blurred enough that the cat's and the cup's details do not become extra faces.
    backgrounds = [Image.open(PHOTOS / name).convert("RGB").resize(size).filter(ImageFilter.GaussianBlur(6))
                   for name in ("coffee.png", "chelsea.png")]
    return faces, backgrounds


def make_photos(folder: Path, count: int, size=(1280, 960), seed: int = 0, tile=(1 / 6, 1 / 3)) -> int:
    """`count` JPEGs with one or two faces, each in its own half; returns the faces placed.

    Each face cut-out is tile[0] to tile[1] of the photo's height (by default 160-320 pixels at 960:
    people in front of a screen), and no wider than half the photo.
    """
    rng = np.random.default_rng(seed)
    faces, backgrounds = source_images(size)
    width, height = size
    folder.mkdir(parents=True, exist_ok=True)
    placed = 0
    for index in range(count):
        photo = backgrounds[index % len(backgrounds)].copy()
        for half in range(int(rng.integers(1, 3))):
            side = min(width // 2 - 1, int(rng.integers(round(height * tile[0]), round(height * tile[1]) + 1)))
            left = half * width // 2 + int(rng.integers(0, width // 2 - side))
            top = int(rng.integers(0, height - side))
            photo.paste(faces[int(rng.integers(len(faces)))].resize((side, side)), (left, top))
            placed += 1
        photo.save(folder / f"{index:05d}.jpg", quality=90)
    return placed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--model", default="deployed", help="deployed, a run name or a run folder")
    parser.add_argument("--processes", default=f"1,{analysis.pipeline.default_processes(analysis.pipeline.PROCESS_MIN_PHOTOS)}",
                        help="comma-separated numbers of detection processes to time (1: all in this process)")
    parser.add_argument("--workers", type=int, default=analysis.pipeline.WORKERS,
                        help="threads decoding and detecting when everything runs in this process")
    parser.add_argument("--size", default="1280x960", help="photo width x height in pixels")
    parser.add_argument("--tile", default="0.167-0.333", help="face cut-out side as a fraction of the photo's height, LOW-HIGH")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    tile = tuple(float(v) for v in args.tile.split("-"))
    process_counts = sorted({int(v) for v in args.processes.split(",")})
    analysis.pipeline.WORKERS = args.workers

    started = time.perf_counter()
    predictor = Predictor.load(args.model)
    load_seconds = time.perf_counter() - started
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "photos"
        placed = make_photos(folder, args.photos, size, tile=tile)
        for face_size, fraction in FACE_SIZES.items():
            for processes in process_counts:
                started = time.perf_counter()
                counts = analysis.analyze(folder, Path(scratch) / f"results-{face_size}-{processes}.csv", predictor,
                                          min_face_fraction=fraction, processes=processes)
                seconds = time.perf_counter() - started
                rows.append((face_size, processes, counts, seconds))
        # Byte for byte: the rows carry no time stamps, so the same analysis writes the same file.
        identical = all((Path(scratch) / f"results-{face_size}-{process_counts[0]}.csv").read_bytes()
                        == (Path(scratch) / f"results-{face_size}-{processes}.csv").read_bytes()
                        for face_size in FACE_SIZES for processes in process_counts)

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"model {predictor.run_name} loaded in {load_seconds:.1f} s; {os.cpu_count()} CPUs, "
          f"load average {load}; {args.photos} photos ({size[0]}x{size[1]} JPEG), "
          f"{placed} faces placed, cut-outs {tile[0]:.0%}-{tile[1]:.0%} of the height; "
          f"results {'identical' if identical else 'DIFFERENT'} for every number of processes\n")
    print("| faces to look for | processes | faces found | photos without one | seconds | photos/s | faces/s "
          "| 1,000 photos | speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    baseline = {face_size: seconds for face_size, processes, _, seconds in rows if processes == process_counts[0]}
    for face_size, processes, counts, seconds in rows:
        print(f"| {face_size} ({FACE_SIZES[face_size]:.0%} and up) | {processes} | {counts['faces']} | "
              f"{counts['no_face']} | {seconds:.1f} | {args.photos / seconds:.1f} | {counts['faces'] / seconds:.1f} | "
              f"{1000 * seconds / args.photos:.0f} s | {baseline[face_size] / seconds:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
