"""The real-face proxy beside FER2013 validation, for every run with weights (RESULTS.md's table).

Build the proxy once (`python -m emotion_core data proxy fer2013 --out data/fer2013-proxy`), then:

    python bench/proxy.py                       # every shipped run with weights
    python bench/proxy.py deployed live RUN ... # some runs
    python bench/proxy.py --json proxy.json     # also keep the reports

Per run: validation accuracy with its recorded TTA (the run's own evaluation), the proxy's
accuracy through the whole pipeline (detect, align, crop, classify; photos without a face found
count as wrong; saved in the run as its `fer2013-proxy-validation` evaluation, which
`runs list --markdown` shows), the gap, and the failure measured on real photos: how often a face of another
emotion reads as neutral, on validation and on the proxy. Faces are found once for all runs.
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


def percent(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", help="runs or aliases (default: every run with weights)")
    parser.add_argument("--data", default="data/fer2013-proxy", help="the proxy data set (data proxy --out)")
    parser.add_argument("--json", type=Path, help="also write the reports here")
    parser.add_argument("--no-save", action="store_true",
                        help="do not keep each report in its run folder (the runs table's proxy column reads it)")
    args = parser.parse_args()

    runs = args.runs or scoring.evaluable_runs()
    started = time.monotonic()
    reports = scoring.evaluate_photos_runs(runs, args.data, "validation", save=not args.no_save)
    print(f"{len(runs)} runs, {reports[0]['photos']:,} proxy photos, {time.monotonic() - started:.0f} s\n")
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
