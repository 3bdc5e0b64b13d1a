"""Test-time augmentation: accuracy and cost of each TTA mode, per run and for their average.

    python bench/tta_views.py                                  # the deployed and live runs
    python bench/tta_views.py vgg_gap-warm2-e60 vgg_gap-seed7-warm-e40 --modes flip,zoom,shifts
    python bench/tta_views.py A B C D --modes zoom --subsets      # every ensemble of 2+ of them

For each run, every mode of `emotion_core.inference.TTA_MODES` scores FER2013 validation
(`data/fer2013`) through `predict_probabilities`, the path evaluation and the app use; the table
gives accuracy, macro-F1, the gain over flip and faces per second in batches of 256, all in the
same process, so the cost column is a ratio against flip on the same busy or idle machine. With two
runs or more, a last block scores the average of their probabilities (what `runs ensemble` builds)
under each mode (with --subsets, every group of two runs or more, each run scored once).
Validation only: the test split is never used for a choice.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from emotion_core import registry  # noqa: E402
from emotion_core.ensemble import load_run_model  # noqa: E402
from emotion_core.inference import TTA_MODES, predict_probabilities, tta_mode  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "fer2013"


def validation_split(run: registry.Run) -> tuple[np.ndarray, np.ndarray]:
    from emotion_core.datasets import load_split, open_dataset

    dataset = open_dataset(str(DATA), require_train=False)
    return load_split(dataset, "validation", run.config.get("image_size", 48), run.color_mode)


def macro_f1(y: np.ndarray, predicted: np.ndarray, classes: int) -> float:
    scores = []
    for label in range(classes):
        hits = np.sum((predicted == label) & (y == label))
        guessed, actual = np.sum(predicted == label), np.sum(y == label)
        scores.append(2 * hits / (guessed + actual) if guessed + actual else 0.0)
    return float(np.mean(scores))


def scored(run_name: str, modes: list[str]) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, float]]:
    """Validation labels, each mode's probabilities and each mode's faces per second for one run."""
    run = registry.load_run(registry.resolve_run(run_name))
    model = load_run_model(run)
    x, y = validation_split(run)
    probabilities, rates = {}, {}
    predict_probabilities(model, x[:256], tta="shifts")  # warm-up: traces both batch sizes
    for mode in modes:
        started = time.perf_counter()
        probabilities[mode] = predict_probabilities(model, x, tta=mode)
        rates[mode] = len(x) / (time.perf_counter() - started)
    return y, probabilities, rates


def rows_for(label: str, y: np.ndarray, probabilities: dict, rates: dict | None) -> list[list[str]]:
    accuracy = {mode: float(np.mean(p.argmax(1) == y)) for mode, p in probabilities.items()}
    base = accuracy.get("flip")
    rows = []
    for mode, p in probabilities.items():
        gain = f"{(accuracy[mode] - base) * 100:+.2f}" if base is not None else ""
        cost = f"{rates['flip'] / rates[mode]:.1f}x" if rates and "flip" in rates else ""
        rows.append([label, mode, f"{accuracy[mode]:.2%}", f"{macro_f1(y, p.argmax(1), p.shape[1]):.3f}", gain,
                     f"{rates[mode]:.0f}" if rates else "", cost])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", default=None, help="run names (default: deployed and live)")
    parser.add_argument("--modes", default=",".join(TTA_MODES),
                        type=lambda text: [tta_mode(mode) for mode in text.split(",")])
    parser.add_argument("--subsets", action="store_true", help="also average every group of two runs or more")
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"error: {DATA} is missing: link FER2013 there (see the README)")
    names = args.runs or [registry.deployed_name(), registry.alias_target(registry.LIVE)]
    print(f"FER2013 validation, modes {', '.join(args.modes)}; load average {os.getloadavg()[0]:.1f}\n")
    rows, scores = [], {}
    for name in names:
        y, probabilities, rates = scored(name, args.modes)
        scores[name] = probabilities
        rows += rows_for(name, y, probabilities, rates)
    groups = ([list(group) for size in range(2, len(names) + 1) for group in itertools.combinations(names, size)]
              if args.subsets else [names] if len(names) > 1 else [])
    for group in groups:
        averaged = {mode: np.mean([scores[name][mode] for name in group], axis=0) for mode in args.modes}
        rows += rows_for("average of " + " + ".join(group), y, averaged, None)
    header = ["run", "TTA", "accuracy", "macro-F1", "points over flip", "faces/s", "cost against flip"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
