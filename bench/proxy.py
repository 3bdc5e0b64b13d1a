"""The real-face proxy beside FER2013 validation, for every run with weights (RESULTS.md's table).

Build the proxy once (`python -m emotion_core data proxy fer2013 --out data/fer2013-proxy`), then:

    python bench/proxy.py                       # every shipped run with weights
    python bench/proxy.py deployed live RUN ... # some runs
    python bench/proxy.py --json proxy.json     # also keep the reports
    python bench/proxy.py deployed RUN --modes off,flip,zoom,shifts --per-class 120   # TTA on the proxy
    python bench/proxy.py deployed live --ablation --modes zoom,zoom+autocontrast     # what costs most

Per run: validation accuracy with its recorded TTA (the run's own evaluation), the proxy's
accuracy through the whole pipeline (detect, align, crop, classify; photos without a face found
count as wrong; saved in the run as its `fer2013-proxy-validation` evaluation, which
`runs list --markdown` shows), the gap, and the failure measured on real photos: how often a face of another
emotion reads as neutral, on validation and on the proxy. Faces are found once for all runs.

--ablation rebuilds the proxy photos of the first --per-class validation faces of each class in
memory, each time with one of the camera's effects left out (or all of them: "geometry only"), and
scores every run under each of --modes (default: each run's own) on each variant: what the proxy's
loss is made of. Session 12 (100 a class): the deployed ensemble lost 3.5 points to placing the face
in a photo, 3 to exposure, contrast, gamma and colour cast, and under one point each to blur, noise,
JPEG or tilt; `+autocontrast` won back 2.2 of the 3.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import pylibsrtp  # noqa: E402,F401  (before TensorFlow: see app.py)

from emotion_core import registry, scoring  # noqa: E402


def to_neutral(report: dict, classes) -> float | None:
    """The share of faces of the other classes that the run read as neutral."""
    if "neutral" not in classes:
        return None
    matrix = report["confusion_matrix"]  # rows: true class, columns: predicted
    column = list(classes).index("neutral")
    others = [row for index, row in enumerate(matrix) if index != column]
    total = sum(sum(row) for row in others)
    return sum(row[column] for row in others) / total if total else None


def tta_table(runs, data: str, modes, per_class: int) -> None:
    """Accuracy (no face counts as wrong) and neutral drift per TTA mode, on the first `per_class`
    proxy photos of each class, faces found once; nothing saved."""
    import numpy as np

    from emotion_core.datasets import open_dataset
    from emotion_core.faces import FACE_SIZES, crop_face
    from emotion_core.images import load_rgb
    from emotion_core.labels import EMOTIONS
    from emotion_core.predictor import Predictor

    predictors = [Predictor.load(run) for run in runs]
    dataset = open_dataset(data, require_train=False)
    taken, items = {}, []
    for name, label in dataset.items["validation"]:
        if taken.get(label, 0) < per_class:
            taken[label] = taken.get(label, 0) + 1
            items.append((name, label))
    crops, labels = [], []
    for name, label in items:
        rgb = load_rgb(dataset.path / name)
        boxes = predictors[0].detector.detect(rgb, FACE_SIZES["any"])
        if boxes:
            crops.append(crop_face(rgb, max(boxes, key=lambda box: box.score)))
            labels.append(EMOTIONS[label])
    print(f"{len(items)} proxy photos, a face found in {len(crops)}\n")
    print("| run | TTA | accuracy (all photos) | read as neutral |\n|---|---|--:|--:|")
    for predictor in predictors:
        classes = list(predictor.classes)
        truth = np.array([classes.index(label) if label in classes else -1 for label in labels])
        faces = np.stack([predictor.prepare(crop) for crop in crops])
        for mode in modes:
            predictor.tta = mode  # the views this call averages; classify is what the app calls
            predicted = np.asarray(predictor.classify(faces)).argmax(axis=1)
            others = (truth >= 0) & (truth != classes.index("neutral")) if "neutral" in classes else truth < -1
            neutral = (predicted[others] == classes.index("neutral")).mean() if others.any() else None
            print(f"| {predictor.run_name} | {mode} | {(predicted == truth).sum() / len(items):.1%} "
                  f"| {percent(neutral)} |")


def ablation_table(runs, modes, per_class: int) -> None:
    """Accuracy (no face counts as wrong) on proxy photos rebuilt with one effect left out."""
    import io
    from dataclasses import replace

    import numpy as np
    from PIL import Image

    from emotion_core.datasets import iter_decoded, open_dataset
    from emotion_core.faces import FACE_SIZES, crop_face
    from emotion_core.labels import EMOTIONS
    from emotion_core.predictor import Predictor
    from emotion_core.proxy import ProxySettings, proxy_photo

    full = ProxySettings()
    still = dict(brightness=(1, 1), contrast=(1, 1), gamma=(1, 1), cast=0.0)
    variants = {  # the same draws in the same order each time (a degenerate range still draws), so
        "all effects": full,  # each photo differs from its full version by the one effect only
        "geometry only": replace(full, **still, blur_px=(0, 0), noise=(0, 0), jpeg_quality=(95, 96)),
        "no exposure, contrast, gamma, cast": replace(full, **still),
        "no blur": replace(full, blur_px=(0, 0)),
        "no noise": replace(full, noise=(0, 0)),
        "no JPEG": replace(full, jpeg_quality=(95, 96)),
        "no tilt": replace(full, tilt_deg=0.0),
    }
    predictors = [Predictor.load(run) for run in runs]
    dataset = open_dataset("data/fer2013", require_train=False)
    faces, taken = [], {}
    for index, (_name, label, image, _error) in enumerate(iter_decoded(dataset, "validation")):
        if image is not None and taken.get(label, 0) < per_class:
            taken[label] = taken.get(label, 0) + 1
            faces.append((index, np.asarray(image.convert("L")), EMOTIONS[label]))
    print(f"{len(faces)} validation faces, {per_class} a class at most\n")
    print("| variant | run | TTA | accuracy (all photos) | no face |\n|---|---|---|--:|--:|")
    for variant, settings in variants.items():
        crops, labels = [], []
        for index, face, label in faces:
            photo = proxy_photo(face, np.random.default_rng([0, index]), settings)  # build_proxy's seed
            rgb = np.asarray(Image.open(io.BytesIO(photo)).convert("RGB"))
            boxes = predictors[0].detector.detect(rgb, FACE_SIZES["any"])
            if boxes:
                crops.append(crop_face(rgb, max(boxes, key=lambda box: box.score)))
                labels.append(label)
        for predictor in predictors:
            classes = list(predictor.classes)
            truth = np.array([classes.index(label) if label in classes else -1 for label in labels])
            inputs = np.stack([predictor.prepare(crop) for crop in crops])
            for mode in modes or [predictor.tta]:
                predictor.tta = mode
                right = (np.asarray(predictor.classify(inputs)).argmax(axis=1) == truth).sum()
                print(f"| {variant} | {predictor.run_name} | {mode} | {right / len(faces):.1%} "
                      f"| {len(faces) - len(crops)} |", flush=True)


def percent(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", help="runs or aliases (default: every run with weights)")
    parser.add_argument("--data", default="data/fer2013-proxy", help="the proxy data set (data proxy --out)")
    parser.add_argument("--json", type=Path, help="also write the reports here")
    parser.add_argument("--no-save", action="store_true",
                        help="do not keep each report in its run folder (the runs table's proxy column reads it)")
    parser.add_argument("--modes", help="compare these TTA modes (comma-separated) on a subset instead")
    parser.add_argument("--per-class", type=int, default=120, help="with --modes or --ablation: photos a class")
    parser.add_argument("--ablation", action="store_true",
                        help="score photos rebuilt with each camera effect left out in turn (see above)")
    args = parser.parse_args()

    runs = args.runs or scoring.evaluable_runs()
    if args.ablation:
        ablation_table(runs, args.modes.split(",") if args.modes else None, args.per_class)
        return 0
    if args.modes:
        tta_table(runs, args.data, args.modes.split(","), args.per_class)
        return 0
    started = time.monotonic()
    reports = scoring.evaluate_photos_runs(runs, args.data, "validation", save=not args.no_save)
    photos = max(report["photos"] for report in reports)
    print(f"{len(runs)} runs, {photos:,} proxy photos, {time.monotonic() - started:.0f} s\n")
    print("| run | classes | TTA | validation | proxy (whole pipeline) | gap | no face | proxy macro-F1 "
          "| read as neutral: validation | proxy |")
    print("|---|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for name, report in zip(runs, reports):
        run = registry.load_run(registry.resolve_run(name))
        summary = run.summary_row()
        validation = run.validation or {}
        gap = (report["accuracy_all_photos"] - validation["accuracy"]) if validation.get("accuracy") else None
        gap_text = "-" if gap is None else f"{gap * 100:+.1f}"
        print(f"| {run.name} | {len(run.classes)} | {summary['tta']} | {percent(validation.get('accuracy'))} "
              f"| {percent(report['accuracy_all_photos'])} | {gap_text} "
              f"| {percent(report['no_face'] / max(1, report['photos']))} | {report['macro_f1']:.3f} "
              f"| {percent(to_neutral(validation, run.classes) if validation.get('confusion_matrix') else None)} "
              f"| {percent(to_neutral(report, run.classes))} |")
    if args.json:
        args.json.write_text(json.dumps(reports, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
