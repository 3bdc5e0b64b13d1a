"""Training time to 60% and 65% FER2013 validation accuracy, read from runs' history.json.

    python bench/time_to_accuracy.py                               # every run in the registry
    python bench/time_to_accuracy.py models/vgg_gap-e35 /tmp/runs/vgg_gap_small-fast --thresholds 0.6 0.65

Nothing is trained here: each epoch's `seconds` (training and validation, written by the run
itself) are added up until val_accuracy first reaches the threshold (`comparison.time_to_accuracy`).
A warm-started run (`init_from`) counts the epochs and time of the runs its weights came from
first (`comparison.lineage_history`), so its figures are from scratch; "after" names them.
The figures are only as quiet as the machine was while the run trained; `status.json` says how
many epochs ran, and the table shows the best accuracy so a run that never got there is visible.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emotion_core import comparison, registry  # noqa: E402


def minutes(seconds: float | None) -> str:
    return "not reached" if seconds is None else f"{seconds / 60:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help="run names or folders (default: every run in the registry)")
    parser.add_argument("--thresholds", nargs="+", type=float, default=[0.60, 0.65])
    args = parser.parse_args()

    runs = ([registry.load_run(registry.resolve_run(name)) for name in args.runs] if args.runs
            else registry.list_runs())
    runs = [run for run in runs if run.history]
    if not runs:
        print(f"note: no run with a history in {registry.runs_root()}; name run folders on the command line")
        return
    header = ["run", "architecture", "precision", "epochs", "best val acc", "s / epoch",
              *(f"minutes to {threshold:.0%}" for threshold in args.thresholds), "epoch reached", "after"]
    print("| " + " | ".join(header) + " |")
    print("|---|---|---|" + "---:|" * (len(header) - 3))
    for run in runs:
        history = comparison.lineage_history(run)
        sources = [link.name for link in comparison.lineage(run)[:-1]]
        seconds = [entry.get("seconds") for entry in run.history if entry.get("seconds") is not None]
        reached = []
        for threshold in args.thresholds:
            epoch = next((entry["epoch"] for entry in history if entry.get("val_accuracy", 0) >= threshold), None)
            reached.append(f"{threshold:.0%}: {epoch or '-'}")
        row = [run.name, run.config.get("arch", "?"), run.config.get("precision", "?"),
               f"{len(run.history)}/{run.config.get('epochs', '?')}",
               f"{max(entry['val_accuracy'] for entry in run.history):.2%}",
               f"{sum(seconds) / len(seconds):.0f}" if seconds else "?",
               *(minutes(comparison.time_to_accuracy(history, threshold)) for threshold in args.thresholds),
               ", ".join(reached), ", ".join(sources) or "-"]
        print("| " + " | ".join(str(cell) for cell in row) + " |")


if __name__ == "__main__":
    main()
