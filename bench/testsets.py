"""Test sets end to end on real data: a zip of face crops and a zip of photos added, every run scored,
then checked again with nothing changed, after one image changed, and after one run was "retrained".

    python bench/testsets.py                                  # deployed, live and two more, 40 images a class
    python bench/testsets.py vgg_gap-warm2-e60 vgg_gap_small-e36 --per-class 20

Works on copies: the runs are copied into a temporary registry and the sets unpacked into a
temporary data root (models/ and data/ are only read). The crops are FER2013 validation faces (so
each run's figure can be checked against its validation accuracy), the photos the real-face proxy's
(`data proxy`, so against its saved proxy figure). Each step is timed; the re-check with nothing
changed is the baseline the scorings compare with: what an unchanged run costs (fingerprints only).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import pylibsrtp  # noqa: E402,F401  (before TensorFlow: see app.py)

PROJECT = Path(__file__).resolve().parents[1]
# deployed, live, a small one, a 3-class one
DEFAULT_RUNS = ["vgg_gap-ens2-e60", "vgg_gap_slim-prune-warm-e60", "vgg_gap_small-e36", "vgg_gap_slim-3class-e30"]


def zip_of_split(folder: Path, per_class: int) -> bytes:
    """The first `per_class` images of each class folder of `folder` as a zip of class folders."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for class_folder in sorted(path for path in folder.iterdir() if path.is_dir()):
            for image in sorted(class_folder.iterdir())[:per_class]:
                archive.write(image, f"{class_folder.name}/{image.name}")
    return buffer.getvalue()


def timed(label: str, rows: list, work):
    started = time.monotonic()
    result = work()
    rows.append((label, time.monotonic() - started, result))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", default=DEFAULT_RUNS)
    parser.add_argument("--per-class", type=int, default=40)
    parser.add_argument("--models", type=Path, default=PROJECT / "models")
    parser.add_argument("--data", type=Path, default=PROJECT / "data")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-testsets-"))
    os.environ.update(EMOTION_RUNS_DIR=str(work / "models"), EMOTION_DATA_DIR=str(work / "data"),
                      EMOTION_CACHE_DIR=str(work / "cache"))
    from emotion_core import registry
    from emotion_core.testsets import add_zip, score_set

    for name in args.runs:  # an ensemble's members come along: its model is assembled from theirs
        run = registry.load_run(args.models / name)
        for needed in [name, *run.members]:
            if not (work / "models" / needed).exists():
                shutil.copytree(args.models / needed, work / "models" / needed, ignore=shutil.ignore_patterns("exports"))
    crops = zip_of_split(args.data / "fer2013" / "validation", args.per_class)
    photos = zip_of_split(args.data / "fer2013-proxy" / "validation", args.per_class)
    rows = []
    try:
        timed("add the crops zip", rows, lambda: add_zip("fer-crops.zip", crops))
        timed("score every run on the crops", rows, lambda: score_set("fer-crops"))
        timed("add the photos zip", rows, lambda: add_zip("proxy-photos.zip", photos))
        timed("score every run on the photos", rows, lambda: score_set("proxy-photos"))
        timed("again, nothing changed (crops)", rows, lambda: score_set("fer-crops"))
        timed("again, nothing changed (photos)", rows, lambda: score_set("proxy-photos"))
        image = sorted((work / "data" / "fer-crops" / "test" / "happy").iterdir())[0]
        image.write_bytes(sorted((work / "data" / "fer-crops" / "test" / "sad").iterdir())[0].read_bytes())
        timed("one crop replaced: rescored", rows, lambda: score_set("fer-crops"))
        own = [path for path in sorted((work / "models").iterdir()) if (path / registry.MODEL_FILE).is_file()]
        first = next(work / "models" / name for name in args.runs if work / "models" / name in own)
        donor = next(path for path in own if path != first
                      and registry.load_run(path).classes == registry.load_run(first).classes)
        shutil.copy(donor / registry.MODEL_FILE, first / registry.MODEL_FILE)
        timed(f"{first.name} retrained: rescored", rows, lambda: score_set("fer-crops"))

        print(f"{len(registry.list_runs())} runs with weights (copies), {args.per_class} images a class\n")
        print("| step | seconds | scored | unchanged | could not be scored |\n|---|--:|--:|--:|---|")
        for label, seconds, result in rows:
            if isinstance(result, dict):
                failed = "; ".join(f"{run}: {reason}" for run, reason in result["failed"].items()) or "-"
                print(f"| {label} | {seconds:.1f} | {len(result['scored'])} | {len(result['unchanged'])} | {failed} |")
            else:
                print(f"| {label} ({result.kind}, {result.split}) | {seconds:.1f} | | | |")
        print("\n| run | classes | validation | crops (validation faces) | proxy (saved) | photos | no face |")
        print("|---|--:|--:|--:|--:|--:|--:|")
        for run in registry.list_runs():
            own = registry.load_run(args.models / run.name)
            crop, photo = run.evaluations.get("fer-crops-test", {}), run.evaluations.get("proxy-photos-test", {})
            proxy = own.evaluations.get("fer2013-proxy-validation", {})
            print(f"| {run.name} | {len(run.classes)} | {percent(run.validation.get('accuracy'))} "
                  f"| {percent(crop.get('accuracy'))} | {percent(proxy.get('accuracy_all_photos'))} "
                  f"| {percent(photo.get('accuracy_all_photos'))} | {percent(photo.get('no_face_rate'))} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def percent(value) -> str:
    return "-" if value is None else f"{value:.1%}"


if __name__ == "__main__":
    raise SystemExit(main())
