"""Tables the explorer pages chart: runs side by side, one run's evaluation, class counts.

Every function takes registry runs, an evaluation report or a counts dict and returns a pandas
DataFrame (long format where a chart needs one), so the pages only pick columns and draw.

    from emotion_core import comparison, registry
    runs = registry.list_runs()
    comparison.runs_frame(runs, registry.deployed_name()).sort_values("best_val_accuracy")
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from . import registry
from .evaluation import row_normalised
from .labels import EMOTIONS, class_set_name

# The runs table's columns, in the order a reader scans them: identity, recipe, results, cost,
# why a run is broken; then the details few people sort by.
RUN_COLUMNS = [
    "deployed", "run", "state", "architecture", "classes", "optimizer", "batch_size", "color_mode",
    "best_val_accuracy", "best_epoch", "best_val_loss", "val_macro_f1", "val_accuracy", "epochs",
    "parameters", "model_mb", "training_minutes", "problem",
    "augment", "epochs_planned", "warm_start_from", "members", "tta", "multiply_adds", "weights", "started",
]
INTEGER_COLUMNS = ["batch_size", "epochs", "epochs_planned", "best_epoch", "parameters", "multiply_adds"]
# Keys that differ between any two runs by construction, so highlighting them says nothing.
UNINFORMATIVE_CONFIG_KEYS = {"name"}
# What the box plots may group runs by: the recipe choices people actually compare.
GROUPINGS = ("optimizer", "batch_size", "color_mode", "architecture", "augment")
# A choice's config key where it differs from its column name.
_CONFIG_KEYS = {"architecture": "arch"}
# Keys that change with a choice by necessity: another optimizer or batch size needs its own
# learning rate, so runs differing in both still compare that choice.
_COMPANION_KEYS = {"optimizer": ("learning_rate",), "batch_size": ("learning_rate",)}


# --- Runs side by side -------------------------------------------------------------------------


def runs_frame(runs, deployed: str | None = None) -> pd.DataFrame:
    """One row per run (the registry's summary row), with a deployed mark and the start time."""
    rows = [{**run.summary_row(), "deployed": run.name == deployed, "started": run.status.get("started")}
            for run in runs]
    # Nullable integers: a broken run's blanks must not turn batch size 64 into 64.0.
    return pd.DataFrame(rows, columns=RUN_COLUMNS).astype({column: "Int64" for column in INTEGER_COLUMNS})


def filter_runs(frame: pd.DataFrame, text: str = "", include_broken: bool = True,
                class_set: str | None = None) -> pd.DataFrame:
    """Rows whose run name, architecture, class set, optimizer or colour mode contains `text` (any
    case), of the class set named `class_set` (as `class_sets` names it) when given."""
    keep = pd.Series(True, index=frame.index)
    if class_set is not None:
        keep &= frame["classes"] == class_set
    if text.strip():
        searched = frame[["run", "architecture", "classes", "optimizer", "color_mode"]].astype(str)
        needle = text.strip().lower()
        keep &= searched.apply(lambda column: column.str.lower().str.contains(needle, regex=False)).any(axis=1)
    if not include_broken:
        keep &= frame["state"] != "broken"
    return frame[keep]


def class_sets(frame: pd.DataFrame) -> list[str]:
    """The class sets of the runs in `frame` (`labels.class_set_name`), all seven first, then the
    larger sets; accuracies of runs on different class sets are not comparable."""
    names = [name for name in frame["classes"].dropna().unique()]
    return sorted(names, key=lambda name: (name != class_set_name(EMOTIONS), -len(name.split(", ")), name))


def default_selection(frame: pd.DataFrame, deployed: str | None, n: int = 2) -> list[str]:
    """The runs to compare before the user picks: the deployed one, then the best others."""
    ranked = frame.dropna(subset=["best_val_accuracy"]).sort_values("best_val_accuracy", ascending=False)
    names = list(ranked["run"])
    if deployed in names:
        names.remove(deployed)
        names.insert(0, deployed)
    return names[:n]


def deployable_runs(runs) -> list[str]:
    """Names of the runs `registry.deploy` accepts: complete, not broken, with a model file."""
    return [run.name for run in runs if run.state == "complete" and run.has_weights and not run.problem]


def _config_value(config: dict, key: str) -> str:
    # JSON text compares 1 and 1.0 as different on purpose: the config file records what was asked.
    return json.dumps(config[key], sort_keys=True) if key in config else "(absent)"


def differing_config_keys(runs) -> list[str]:
    """Config keys whose value is not the same in every run (runs without a config are skipped)."""
    configs = [run.config for run in runs if run.config]
    keys = sorted(set().union(*configs)) if configs else []
    return [key for key in keys if key not in UNINFORMATIVE_CONFIG_KEYS
            and len({_config_value(config, key) for config in configs}) > 1]


def config_frame(runs) -> pd.DataFrame:
    """The configs as text, one row per key and one column per run; blank where a run lacks it."""
    keys = sorted(set().union(*(run.config for run in runs))) if runs else []
    return pd.DataFrame({run.name: [str(run.config[key]) if key in run.config else "" for key in keys]
                         for run in runs}, index=pd.Index(keys, name="key"))


def learning_curves_frame(runs) -> pd.DataFrame:
    """Long format (run, epoch, metric, split, value): accuracy and loss, train and validation."""
    rows = []
    for run in runs:
        for entry in run.history:
            for metric in ("accuracy", "loss"):
                rows.append((run.name, entry["epoch"], metric, "train", entry.get(metric)))
                rows.append((run.name, entry["epoch"], metric, "validation", entry.get(f"val_{metric}")))
    return pd.DataFrame(rows, columns=["run", "epoch", "metric", "split", "value"]).dropna(subset=["value"])


def val_accuracy_by_epoch(runs) -> pd.DataFrame:
    """Long format (run, epoch, val_accuracy) of every run with history, for the heat map."""
    rows = [(run.name, entry["epoch"], entry["val_accuracy"]) for run in runs for entry in run.history]
    return pd.DataFrame(rows, columns=["run", "epoch", "val_accuracy"])


def lineage(run) -> list:
    """The runs whose weights led to `run`, oldest first, ending with `run` itself: a warm start's
    `init_from` source, its own source, and so on, as far as they are in the same registry."""
    chain, current = [run], run
    while current.config.get("init_from"):
        try:
            current = registry.load_run(registry.resolve_run(current.config["init_from"], current.path.parent))
        except registry.RunError:
            break  # a source kept elsewhere: count what is here
        if any(current.path == seen.path for seen in chain):
            break
        chain.insert(0, current)
    return chain


def lineage_history(run) -> list[dict]:
    """Every epoch behind `run`'s weights (see `lineage`), numbered on from the first run's."""
    epochs = [entry for link in lineage(run) for entry in link.history]
    return [{**entry, "epoch": number} for number, entry in enumerate(epochs, start=1)]


def time_to_accuracy(history: list[dict], threshold: float) -> float | None:
    """Training seconds until val_accuracy first reaches `threshold`: the `seconds` of every epoch
    up to and including that one. None when no epoch reaches it or an epoch on the way was not timed."""
    total = 0.0
    for entry in history:
        if entry.get("seconds") is None:
            return None
        total += float(entry["seconds"])
        if entry.get("val_accuracy") is not None and entry["val_accuracy"] >= threshold:
            return total
    return None


def group_best_accuracy(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """(run, `by` as text, best_val_accuracy) for the runs that have both, groups in natural order.

    The group becomes text so batch sizes 32 and 64 are categories on an axis, not a scale;
    rows are sorted by the original value so 128 follows 64 rather than 16.
    """
    if by not in GROUPINGS:
        raise ValueError(f"group by one of {', '.join(GROUPINGS)}, not '{by}'")
    usable = frame.dropna(subset=["best_val_accuracy", by])
    rank = {value: index for index, value in enumerate(sorted(usable[by].unique()))}
    usable = usable.iloc[np.lexsort((usable["run"], usable[by].map(rank)))]
    return pd.DataFrame({"run": usable["run"], by: usable[by].astype(str),
                         "best_val_accuracy": usable["best_val_accuracy"].astype(float)})


def like_for_like(runs, by: str) -> pd.DataFrame:
    """Runs that differ in `by` alone, in sets: (set, run, `by` as text, best_val_accuracy,
    val_macro_f1, learning_rate), sets numbered from 1, best run first within a set.

    Box plots over all runs mix budgets and architectures; a set here holds runs whose recipes
    are the same but for `by` (and the learning rate, for optimizer and batch size) on the same
    data and class set, so the difference in accuracy is that choice's effect. Sets need two
    values of `by`; the `classes` column names each set's class set.
    """
    if by not in GROUPINGS:
        raise ValueError(f"compare one of {', '.join(GROUPINGS)}, not '{by}'")
    key = _CONFIG_KEYS.get(by, by)
    ignored = {key, "name", "data", *_COMPANION_KEYS.get(by, ())}
    sets: dict[str, list] = {}
    for run in runs:
        if run.problem or not run.history:
            continue
        recipe = {k: v for k, v in run.config.items() if k not in ignored}
        recipe["data"] = run.dataset.get("fingerprint")
        recipe["classes"] = list(run.classes)  # a run from before class sets has none recorded: all seven
        if by != "color_mode":  # "" and "grayscale" are the same input for a grayscale architecture
            recipe["color_mode"] = run.color_mode
        sets.setdefault(json.dumps(recipe, sort_keys=True, default=str), []).append(run)
    rows = []
    for members in sets.values():
        values = [run.color_mode if by == "color_mode" else run.config.get(key) for run in members]
        if len(set(map(str, values))) < 2:
            continue
        number = len({row["set"] for row in rows}) + 1
        for run, value in zip(members, values):
            summary = run.summary_row()
            rows.append({"set": number, "run": run.name, "classes": class_set_name(run.classes), by: str(value),
                         "best_val_accuracy": summary["best_val_accuracy"], "val_macro_f1": summary["val_macro_f1"],
                         "learning_rate": run.config.get("learning_rate")})
    frame = pd.DataFrame(rows, columns=["set", "run", "classes", by, "best_val_accuracy", "val_macro_f1",
                                        "learning_rate"])
    return frame.sort_values(["set", "best_val_accuracy"], ascending=[True, False]).reset_index(drop=True)


def best_and_worst(frame: pd.DataFrame, n: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The n runs with the highest best-epoch val accuracy (best first) and the n lowest (worst first)."""
    columns = ["run", "best_val_accuracy", "val_macro_f1", "architecture", "optimizer", "batch_size"]
    ranked = frame.dropna(subset=["best_val_accuracy"]).sort_values("best_val_accuracy", ascending=False)
    return (ranked[columns].head(n).reset_index(drop=True),
            ranked[columns].iloc[::-1].head(n).reset_index(drop=True))


# --- One run's evaluation -----------------------------------------------------------------------


def confusion_frame(report: dict, normalise: bool = False) -> pd.DataFrame:
    """Long format (true, predicted, count, value): value is the count, or the share of the true
    class's row when `normalise` (rows then sum to 1)."""
    names = report["class_names"]
    counts = np.asarray(report["confusion_matrix"])
    values = row_normalised(counts) if normalise else counts
    rows = [(names[i], names[j], int(counts[i, j]), float(values[i, j]))
            for i in range(len(names)) for j in range(len(names))]
    return pd.DataFrame(rows, columns=["true", "predicted", "count", "value"])


def per_class_frame(report: dict) -> pd.DataFrame:
    """Precision, recall, F1 and support per class, indexed by class in the model's order."""
    frame = pd.DataFrame.from_dict(report["per_class"], orient="index")
    frame.index.name = "class"
    return frame.reindex(report["class_names"])[["precision", "recall", "f1", "support"]]


def roc_frame(report: dict) -> pd.DataFrame:
    """Long format (curve, fpr, tpr, auc, label): one curve per class with a defined AUC, plus micro."""
    roc = report["roc"]
    curves = {**roc["per_class"], "micro": roc["micro"]}
    rows = []
    for curve, entry in curves.items():
        if entry["auc"] is None:
            continue  # a class absent from the split has no curve
        label = f"{curve} (AUC {entry['auc']:.3f})"
        rows.extend((curve, fpr, tpr, entry["auc"], label) for fpr, tpr in zip(entry["fpr"], entry["tpr"]))
    return pd.DataFrame(rows, columns=["curve", "fpr", "tpr", "auc", "label"])


# --- Class counts -------------------------------------------------------------------------------


def _classes_of(per_class: dict) -> list[str]:
    """The classes a counts dict holds, in canonical order (a 3-class run records three)."""
    return [name for name in EMOTIONS if name in per_class]


def counts_frame(counts: dict) -> pd.DataFrame:
    """Long format (split, class, count, share) from {split: {class: count}}; share is of the split."""
    rows = []
    for split, per_class in counts.items():
        total = sum(per_class.values())
        for name in _classes_of(per_class):
            count = int(per_class.get(name, 0))
            rows.append((split, name, count, count / total if total else 0.0))
    return pd.DataFrame(rows, columns=["split", "class", "count", "share"])


def imbalance_frame(counts: dict) -> pd.DataFrame:
    """Per split: the largest and smallest class and their ratio (infinite if a class is empty)."""
    rows = []
    for split, per_class in counts.items():
        present = {name: int(per_class[name]) for name in _classes_of(per_class)}
        largest = max(present, key=present.get)
        smallest = min(present, key=present.get)
        ratio = present[largest] / present[smallest] if present[smallest] else math.inf
        rows.append((split, largest, present[largest], smallest, present[smallest], ratio))
    return pd.DataFrame(rows, columns=["split", "largest", "largest_count", "smallest", "smallest_count",
                                       "ratio"])


def sizes_frame(sizes: dict, top: int = 12) -> pd.DataFrame:
    """(size, count) for the `top` most common image sizes, the rest summed as 'other'."""
    ranked = sorted(sizes.items(), key=lambda item: item[1], reverse=True)
    rows = ranked[:top]
    rest = sum(count for _, count in ranked[top:])
    if rest:
        rows.append(("other", rest))
    return pd.DataFrame(rows, columns=["size", "count"])


def color_frame(color: dict) -> pd.DataFrame:
    """(kind, count) rows for grayscale and colour images (the summary's key is 'color'; readers see 'colour')."""
    return pd.DataFrame([("grayscale", int(color.get("grayscale", 0))), ("colour", int(color.get("color", 0)))],
                        columns=["kind", "count"])
