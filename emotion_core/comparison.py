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
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from . import registry
from .config import choice_label, option_label, training_options, value_text
from .evaluation import row_normalised
from .inference import tta_mode, tta_view_count
from .labels import EMOTIONS, class_set_name
from .wording import accuracy

# The runs table's columns, in the order a reader scans them: identity, recipe, results, cost,
# why a run is broken; then the details few people sort by.
RUN_COLUMNS = [
    "deployed", "run", "state", "accuracy", "val_macro_f1", "accuracy_from", "architecture", "classes",
    "model_mb", "parameters", "epochs", "training_minutes", "optimizer", "batch_size", "color_mode",
    "best_val_accuracy", "best_epoch", "best_val_loss", "problem",
    "augment", "epochs_planned", "warm_start_from", "members", "tta", "multiply_adds", "weights", "started",
]
# What a phone shows of the runs table: which run, whether it is served, how good, how big.
COMPACT_COLUMNS = ["run", "deployed", "accuracy", "model_mb"]
INTEGER_COLUMNS = ["batch_size", "epochs_planned", "best_epoch", "parameters", "multiply_adds"]
MEMBERS = "its members'"  # an ensemble's epochs and curves: it trained none of its own
# A test-set table's blank cell: a figure on its way (a scoring queued or running), or none yet.
SCORING, NOT_SCORED = "scoring…", "—"
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
    """One row per run (the registry's summary row), with a deployed mark and the start time.

    `accuracy` is each run's headline figure (`registry.Run.accuracy`) and `accuracy_from` says
    where it comes from. `epochs` is text ("35/60"): an ensemble's are "its members'", and its
    training minutes are its members' together.
    """
    rows = [{**run.summary_row(), "deployed": run.name == deployed, "started": run.status.get("started"),
             "epochs": _epochs_text(run)} for run in runs]
    for row, run in zip(rows, runs):
        if run.members:
            members = [registry.load_run(run.path.parent / member) for member in run.members]
            row["training_minutes"] = sum(member.summary_row()["training_minutes"] for member in members)
            # Its config is its first member's; the training recipe is its members' (config_text says so too).
            row.update(optimizer=MEMBERS, batch_size=None, augment=None, epochs_planned=None)
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


def _epochs_text(run) -> str:
    planned = run.config.get("epochs")
    return MEMBERS if run.members else f"{len(run.history)}/{planned if planned is not None else '?'}"


def default_selection(frame: pd.DataFrame, deployed: str | None, n: int = 2) -> list[str]:
    """The runs to compare before the user picks: the deployed one, then the most accurate others of
    its class set (all seven without a deployed run): accuracy over three classes is not comparable."""
    ranked = frame.dropna(subset=["accuracy"]).sort_values("accuracy", ascending=False)
    own = ranked.loc[ranked["run"] == deployed, "classes"]
    same_set = ranked[ranked["classes"] == (own.iloc[0] if len(own) else class_set_name(EMOTIONS))]
    ranked = same_set if len(same_set) else ranked
    names = list(ranked["run"])
    if deployed in names:
        names.remove(deployed)
        names.insert(0, deployed)
    return names[:n]


def deployable_runs(runs) -> list[str]:
    """Names of the runs `registry.deploy` accepts: complete, not broken, with a model file."""
    return [run.name for run in runs if run.state == "complete" and run.has_weights and not run.problem]


# What an ensemble decides itself; the rest of its config is its first member's recipe, not its own.
ENSEMBLE_OWN_KEYS = {"arch", "data", "classes", "color_mode", "image_size", "tta", "name"}


def config_text(run, key: str) -> str:
    """One config value as people compare it: under its human name's meaning, old and new spellings
    alike. A key a run's config lacks is an option added later, whose default is what the run did;
    `tta` true is flip and false off; the classes of a run from before class sets are all seven."""
    if run.members and key not in ENSEMBLE_OWN_KEYS:
        return MEMBERS
    if key == "arch" and run.members:
        return f"ensemble of {', '.join(run.members)}"
    defaults = {option["name"]: option["default"] for option in training_options()}
    value = run.config.get(key, defaults.get(key, ""))
    if key == "classes":
        return class_set_name(run.classes)
    if key == "color_mode":
        return choice_label(key, run.color_mode or value)
    return value_text(key, value)


def _config_keys(runs) -> list[str]:
    """The keys of the runs' configs in the order the Train page lists them, unknown ones last."""
    order = [option["name"] for option in training_options()]
    found = set().union(*(run.config for run in runs if run.config)) if runs else set()
    return [key for key in order if key in found] + sorted(found - set(order))


def differing_config_keys(runs) -> list[str]:
    """The human names (config.option_label) of the config keys whose value, as `config_text` reads
    it, is not the same in every run; runs without a config are skipped, and so is an ensemble on the
    training options it took from its members."""
    runs = [run for run in runs if run.config]
    return [option_label(key) for key in _config_keys(runs) if key not in UNINFORMATIVE_CONFIG_KEYS
            and len({config_text(run, key) for run in runs} - {MEMBERS}) > 1]


def config_frame(runs) -> pd.DataFrame:
    """The recipes as `config_text` reads them: one row per option (its human name), one column per run;
    blank for a run without a config."""
    keys = [key for key in _config_keys([run for run in runs if run.config]) if key not in UNINFORMATIVE_CONFIG_KEYS]
    return pd.DataFrame({run.name: [config_text(run, key) if run.config else "" for key in keys] for run in runs},
                        index=pd.Index([option_label(key) for key in keys], name="option"))


def pair_defaults(names: list[str], deployed: str | None) -> tuple[str, str | None]:
    """The two of the chosen runs to set side by side before the user picks: the deployed one first
    when chosen, else the first; then the first other."""
    first = deployed if deployed in names else names[0]
    return first, next((name for name in names if name != first), None)


def _recall(report: dict, name: str) -> float | None:
    return ((report.get("per_class") or {}).get(name) or {}).get("recall")


def tradeoffs_frame(runs) -> pd.DataFrame:
    """What a picker weighs, one row per figure and one column per run, as text, with `better`
    naming the run ahead on that row (blank on a tie or when a run lacks the figure).

    Rows: accuracy and where it comes from, macro-F1, each class's recall, file size, parameters,
    multiply-adds per face and the model passes its TTA costs, time per face where recorded, and
    calibration (expected calibration error) once an evaluation holds it.
    """
    rows = []  # (figure, [(text, number) per run], higher is better)

    def add(figure, values, higher=True):
        rows.append((figure, values, higher))

    add("Accuracy (validation)", [(_fraction(run.accuracy, accuracy), run.accuracy) for run in runs])
    add("Figures from", [(run.accuracy_source, None) for run in runs])
    add("Macro-F1", [(_fraction(run.validation.get("macro_f1"), "{:.3f}".format), run.validation.get("macro_f1"))
                     for run in runs])
    for name in EMOTIONS:
        if any(name in run.classes for run in runs):
            add(f"Recall: {name}", [(_fraction(_recall(run.validation, name), accuracy), _recall(run.validation, name))
                                    if name in run.classes else ("not learned", None) for run in runs])
    add("Model file", [(_model_size(run), run.model_mb) if run.model_mb else ("unknown", None) for run in runs],
        higher=False)
    add("Parameters", [(f"{run.info['parameters']:,}", run.info["parameters"]) if run.info.get("parameters")
                       else ("unknown", None) for run in runs], higher=False)
    add("Multiply-adds per face", [_cost(run) for run in runs], higher=False)
    timed = [run.info.get("ms_per_face") for run in runs]
    add("Time per face", [(f"{ms:.1f} ms", ms) if ms else ("not recorded (bench/inference.py measures it)", None)
                          for ms in timed], higher=False)
    eces = [(run.validation.get("reliability") or {}).get("ece") for run in runs]
    if any(ece is not None for ece in eces):
        add("Calibration error (ECE; lower: confidence closer to accuracy)",
            [(f"{ece:.3f}", ece) if ece is not None else ("not measured", None) for ece in eces], higher=False)
    frame = pd.DataFrame({run.name: [values[i][0] for _, values, _ in rows] for i, run in enumerate(runs)},
                         index=pd.Index([figure for figure, _, _ in rows], name="figure"))
    frame["better"] = [_ahead([number for _, number in values], [run.name for run in runs], higher)
                       for _, values, higher in rows]
    return frame


def compact_tradeoffs(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """`tradeoffs_frame` for a phone: the runs as columns A and B, the better figure marked ▲ in
    place of the `better` column, the long source row left out; and the line saying which run is which."""
    runs = [column for column in table.columns if column != "better"]
    letters = dict(zip(runs, "ABCDEFGH"))
    rows = table.drop(index=["Figures from"], errors="ignore")
    compact = pd.DataFrame({letters[run]: [f"{value} ▲" if better == run else value
                                           for value, better in zip(rows[run], rows["better"])] for run in runs},
                           index=rows.index)
    return compact, "; ".join(f"{letter}: {run}" for run, letter in letters.items()) + "; ▲ the better figure."


def _fraction(value, text) -> str:
    return "not evaluated" if value is None else text(value)


def _model_size(run) -> str:
    """"1.0 MB", or for an ensemble kept as its members' names "9.7 MB (members' files)"."""
    size = f"{run.model_mb:.1f} MB"
    return size if run.model_files == "Model file" else f"{size} ({run.model_files.lower()})"


def _cost(run) -> tuple[str, float | None]:
    """Multiply-adds of one pass and the passes the run's TTA makes of each face."""
    adds = run.info.get("multiply_adds")
    if not adds:
        return "unknown", None
    mode = tta_mode(run.validation.get("tta", run.config.get("tta")))
    views = tta_view_count(mode)
    return f"{adds / 1e6:.0f} M x {views} (TTA {mode}) = {adds * views / 1e6:.0f} M", adds * views


def _ahead(numbers, names, higher: bool) -> str:
    """The name of the run with the best number, "" on a tie, with one run, or when one lacks it."""
    if len(numbers) < 2 or any(number is None for number in numbers):
        return ""
    best = max(numbers) if higher else min(numbers)
    winners = [name for name, number in zip(names, numbers) if number == best]
    return winners[0] if len(winners) == 1 else ""


class EvaluationChoice(NamedTuple):
    key: str  # the report's name in the run's evaluation folder
    label: str  # "fer2013 · validation"
    data: str | None  # the data set to evaluate on; None: each run's own
    split: str


def evaluation_choices(runs, datasets) -> list[EvaluationChoice]:
    """The evaluations the Models page offers: validation and test of each run's own data set (its
    evaluation may be computed on the spot), then saved ones on another data set found under the data
    root (`datasets`, their names). A saved report without its data set and split recorded, or on a
    data set no longer here (a test's temporary folder), is left out."""
    own = sorted({run.dataset.get("name") for run in runs if run.dataset.get("name")})
    own_name = own[0] if len(own) == 1 else "own data set"
    choices = [EvaluationChoice(split, f"{own_name} · {split}", None, split) for split in ("validation", "test")]
    others = {}
    for run in runs:
        for key, report in run.evaluations.items():
            data, split = report.get("data"), report.get("split")
            if key not in ("validation", "test") and data in datasets and split and key == f"{data}-{split}":
                others[key] = EvaluationChoice(key, f"{data} · {split}", data, split)
    return choices + [others[key] for key in sorted(others)]


def test_sets_frame(runs, datasets, sets=()) -> pd.DataFrame:
    """Runs x labelled sets: each run's accuracy and macro-F1 on its own validation split and on every
    other set it was scored on (`evaluation_choices`' saved ones: the background scoring of the test
    sets, `evaluate --all --data NAME --split test`), one row per run with weights. `sets` are the
    test sets (testsets.TestSet), shown even before any run is scored on them. A photo set also has
    its share of photos where no face was found, and its accuracy counts those photos as wrong. A
    blank (NaN): not scored on that set yet, shown as `unscored_text` says. `classes` names each
    run's class set: accuracy over three classes is not comparable with accuracy over seven. Ranked
    by the first test set's accuracy."""
    others = {choice.key: choice for choice in evaluation_choices(runs, datasets)[2:]}
    for testset in sets:
        key = f"{testset.name}-{testset.split}"
        others.setdefault(key, EvaluationChoice(key, f"{testset.name} · {testset.split}", testset.name, testset.split))
    photo_keys = {f"{testset.name}-{testset.split}" for testset in sets if testset.kind == "photos"} | {
        key for run in runs for key, report in run.evaluations.items() if report.get("faces") == "detect"}
    columns = ["run", "classes", "validation accuracy", "validation macro-F1"]
    for choice in others.values():
        columns += [f"{choice.label} accuracy", f"{choice.label} macro-F1"]
        columns += [f"{choice.label} no face"] if choice.key in photo_keys else []
    rows = []
    for run in runs:
        if not run.has_weights or run.problem:
            continue
        row = {"run": run.name, "classes": class_set_name(run.classes), "validation accuracy": run.validation.get("accuracy"),
               "validation macro-F1": run.validation.get("macro_f1")}
        for choice in others.values():
            report = run.evaluations.get(choice.key, {})
            # photos through the whole pipeline: a photo whose face was not found counts as wrong
            row[f"{choice.label} accuracy"] = report.get("accuracy_all_photos", report.get("accuracy"))
            row[f"{choice.label} macro-F1"] = report.get("macro_f1")
            if choice.key in photo_keys:
                row[f"{choice.label} no face"] = _no_face_rate(report)
        rows.append(row)
    frame = pd.DataFrame(rows, columns=columns)
    return rank_test_sets(frame, test_set_rankings(frame)[0])


def unscored_text(scoring: bool) -> str:
    """What a blank cell of `test_sets_frame` reads as: SCORING while a background scoring is queued
    or running (the figure is on its way), else NOT_SCORED (none yet: scoring is locked here, it
    stopped, or the run could not be scored on that set)."""
    return SCORING if scoring else NOT_SCORED


def test_set_rankings(frame: pd.DataFrame) -> list[str]:
    """The columns `test_sets_frame` may rank its rows by: every accuracy, the test sets' first."""
    accuracies = [column for column in frame.columns if column.endswith(" accuracy")]
    return accuracies[1:] + accuracies[:1]


def rank_test_sets(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """The rows best first on `column`, runs not scored on it last."""
    return frame.sort_values(column, ascending=False, na_position="last", kind="stable").reset_index(drop=True)


def _no_face_rate(report: dict) -> float | None:
    """The share of a photo set's readable photos where no face was found (older reports: from counts)."""
    if "no_face_rate" in report:
        return report["no_face_rate"]
    counted = report.get("photos", 0) - report.get("unreadable", 0)
    return report["no_face"] / counted if report.get("no_face") is not None and counted else None


def _members(run) -> list:
    """An ensemble's member runs, from the same registry (a member moved away reads as broken)."""
    return [registry.load_run(run.path.parent / member) for member in getattr(run, "members", [])]


def learning_curves_frame(runs) -> pd.DataFrame:
    """Long format (run, epoch, metric, split, value): accuracy and loss, train and validation.

    An ensemble trained no epochs: its members' curves stand for it, each labelled
    "<member> (member)" (short enough for a phone's legend; `ensemble_notes` names the ensemble).
    """
    rows = []
    for run in runs:
        curves = [(f"{member.name} (member)", member) for member in _members(run)] or [(run.name, run)]
        for label, source in curves:
            for entry in source.history:
                for metric in ("accuracy", "loss"):
                    rows.append((label, entry["epoch"], metric, "train", entry.get(metric)))
                    rows.append((label, entry["epoch"], metric, "validation", entry.get(f"val_{metric}")))
    return pd.DataFrame(rows, columns=["run", "epoch", "metric", "split", "value"]).dropna(subset=["value"])


def ensemble_notes(runs) -> list[str]:
    """One sentence per ensemble among `runs`: where its figures come from."""
    notes = []
    for run in runs:
        if run.members:
            figure = accuracy(run.accuracy) if run.accuracy is not None else "not measured yet"
            notes.append(f"{run.name} is an ensemble: it trained no epochs itself, so its curves are its members' "
                         f"({', '.join(run.members)}, marked \"member\"); its accuracy, {figure}, comes from its own "
                         "evaluation.")
    return notes


def val_accuracy_by_epoch(runs) -> pd.DataFrame:
    """Long format (run, epoch, val_accuracy, source) of every run with history, for the heat map.

    An ensemble has one cell: its evaluated accuracy at its members' last epoch.
    """
    rows = [(run.name, entry["epoch"], entry["val_accuracy"], "while training, no TTA")
            for run in runs for entry in run.history]
    for run in runs:
        if run.members and run.accuracy is not None:
            last = max((len(member.history) for member in _members(run)), default=0) or 1
            rows.append((run.name, last, run.accuracy, run.accuracy_source))
    return pd.DataFrame(rows, columns=["run", "epoch", "val_accuracy", "source"])


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


def training_time_estimate(runs, arch: str, epochs: int, data: str | None = None,
                           hardware: str | None = None) -> dict | None:
    """How long `epochs` epochs of `arch` should take, from the finished runs of that architecture:
    {"seconds", "per_epoch", "runs", "same_data", "same_hardware"}, None without such a run.

    Seconds an epoch are the median over the runs (training time over epochs trained); runs on the
    same data set (by name) and on the same hardware (`registry.hardware()`) are preferred when any
    exist, as data size and cores set the pace.
    """
    finished = [run for run in runs if run.state == "complete" and not run.members and run.config.get("arch") == arch
                and run.history and run.status.get("training_seconds")]
    same_hardware = [run for run in finished if hardware and run.info.get("hardware") == hardware]
    finished = same_hardware or finished
    same_data = [run for run in finished if data and run.dataset.get("name") == Path(str(data)).name]
    finished = same_data or finished
    if not finished:
        return None
    per_epoch = float(np.median([run.status["training_seconds"] / len(run.history) for run in finished]))
    return {"seconds": per_epoch * epochs, "per_epoch": per_epoch, "runs": len(finished),
            "same_data": bool(same_data), "same_hardware": bool(same_hardware)}


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
    """(run, `by` as text, accuracy) for the runs that have both, groups in natural order.

    The group becomes text so batch sizes 32 and 64 are categories on an axis, not a scale;
    rows are sorted by the original value so 128 follows 64 rather than 16.
    """
    if by not in GROUPINGS:
        raise ValueError(f"group by one of {', '.join(GROUPINGS)}, not '{by}'")
    usable = frame.dropna(subset=["accuracy", by])
    if by != "architecture":  # an ensemble has no recipe of its own: it is one of the architectures
        usable = usable[usable["members"].fillna("") == ""]
    rank = {value: index for index, value in enumerate(sorted(usable[by].unique()))}
    usable = usable.iloc[np.lexsort((usable["run"], usable[by].map(rank)))]
    return pd.DataFrame({"run": usable["run"], by: usable[by].astype(str),
                         "accuracy": usable["accuracy"].astype(float)})


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
    """The n most accurate runs (best first) and the n least (worst first), by `accuracy`."""
    columns = ["run", "accuracy", "val_macro_f1", "accuracy_from", "architecture"]
    ranked = frame.dropna(subset=["accuracy"]).sort_values("accuracy", ascending=False)
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
    """Precision, recall, F1 and support per class, indexed by class in the model's order; a set
    without images of some of the run's classes adds a `note` column saying "no images" on theirs."""
    frame = pd.DataFrame.from_dict(report["per_class"], orient="index")
    frame.index.name = "class"
    frame = frame.reindex(report["class_names"])[["precision", "recall", "f1", "support"]]
    if (frame["support"] == 0).any():
        frame["note"] = np.where(frame["support"] == 0, "no images", "")
    return frame


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


def reliability_frame(report: dict) -> pd.DataFrame:
    """The reliability diagram's bins that hold faces (lower, upper, confidence, accuracy, faces);
    empty for a report saved before calibration was measured."""
    bins = (report.get("reliability") or {}).get("bins", [])
    rows = [(b["lower"], b["upper"], b["confidence"], b["accuracy"], b["count"]) for b in bins if b["count"]]
    return pd.DataFrame(rows, columns=["lower", "upper", "confidence", "accuracy", "faces"])


def calibration_caption(report: dict) -> str:
    """One line under the reliability diagram: ECE, which way the model errs, its temperature; "" for
    a report saved before calibration was measured."""
    figures = report.get("reliability")
    if not figures:
        return ""
    gap = figures["mean_confidence"] - figures["accuracy"]
    leaning = "over-confident" if gap > 0 else "under-confident"
    text = (f"ECE {figures['ece']:.3f} (15 bins): mean confidence {accuracy(figures['mean_confidence'])} at accuracy "
            f"{accuracy(figures['accuracy'])}, {leaning} by {accuracy(abs(gap))}.")
    if report.get("temperature", 1.0) != 1.0:
        text += (f" Temperature {report['temperature']:.3f} applied (`runs calibrate`); "
                 f"ECE {report['uncalibrated_ece']:.3f} without it.")
    else:
        text += " Not calibrated: `python -m emotion_core runs calibrate RUN` fits a temperature."
    return text


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
