"""Tests for emotion_core.comparison, on registry runs written by hand (no training needed)."""

import json
import math

import numpy as np
import pytest

from emotion_core import comparison, registry
from emotion_core.evaluation import classification_report
from emotion_core.labels import EMOTIONS
from emotion_core.storage import write_json_atomic

THREE = ("a", "b", "c")


def _history(val_accuracies):
    return [{"epoch": epoch, "loss": 1.5 - 0.1 * epoch, "accuracy": 0.3 + 0.05 * epoch,
             "val_loss": 1.6 - 0.1 * epoch, "val_accuracy": value}
            for epoch, value in enumerate(val_accuracies, start=1)]


def write_run(root, name, config, val_accuracies, started, weights=True, evaluation=None):
    """A run folder as training leaves it: config, status, history, info (and a model file)."""
    run_dir = root / name
    run_dir.mkdir(parents=True)
    write_json_atomic(run_dir / registry.CONFIG_FILE, {"name": name, **config})
    write_json_atomic(run_dir / registry.STATUS_FILE, {"state": "complete", "started": started,
                                                       "training_seconds": 120.0})
    write_json_atomic(run_dir / registry.HISTORY_FILE, _history(val_accuracies))
    write_json_atomic(run_dir / registry.INFO_FILE, {"parameters": 1000, "model_bytes": 2**20,
                                                     "description": "a test net"})
    if weights:
        import zipfile

        with zipfile.ZipFile(run_dir / registry.MODEL_FILE, "w") as archive:
            archive.writestr("config.json", "{}")
    if evaluation:
        registry.save_evaluation(run_dir, "validation", evaluation)
    return run_dir


@pytest.fixture
def three_runs(isolated_dirs):
    """sgd/64 (best 0.60 at epoch 2), adam/32 (best 0.70 at 3), adam/128 without weights (0.40)."""
    root = isolated_dirs["models"]
    base = {"arch": "vgg_gap", "epochs": 3, "learning_rate": 0.01, "seed": 1, "color_mode": "grayscale"}
    write_run(root, "sgd64", {**base, "optimizer": "sgd", "batch_size": 64}, [0.5, 0.6, 0.55], "2026-01-01")
    write_run(root, "adam32", {**base, "optimizer": "adam", "batch_size": 32, "learning_rate": 0.001},
              [0.5, 0.65, 0.7], "2026-01-02")
    write_run(root, "adam128", {**base, "optimizer": "adam", "batch_size": 128}, [0.3, 0.4], "2026-01-03",
              weights=False)
    (root / "broken").mkdir()  # no config.json
    return registry.list_runs(root)


def test_runs_frame_has_one_row_per_run_with_the_deployed_mark(three_runs):
    frame = comparison.runs_frame(three_runs, deployed="adam32").set_index("run")

    assert sorted(frame.index) == ["adam128", "adam32", "broken", "sgd64"]
    assert list(frame["deployed"][frame["deployed"]].index) == ["adam32"]
    assert frame.loc["adam32", "best_val_accuracy"] == pytest.approx(0.7)
    assert frame.loc["adam32", "best_epoch"] == 3
    assert frame.loc["sgd64", "best_epoch"] == 2
    assert frame.loc["broken", "state"] == "broken"
    assert "config.json" in frame.loc["broken", "problem"]
    assert frame.loc["sgd64", "model_mb"] == 1.0


def test_runs_frame_of_no_runs_is_empty_with_the_columns():
    frame = comparison.runs_frame([], None)

    assert frame.empty and list(frame.columns) == comparison.RUN_COLUMNS


def test_filter_matches_any_text_column_and_can_hide_broken_runs(three_runs):
    frame = comparison.runs_frame(three_runs)

    assert sorted(comparison.filter_runs(frame, "ADAM")["run"]) == ["adam128", "adam32"]
    assert sorted(comparison.filter_runs(frame, "", include_broken=False)["run"]) == ["adam128", "adam32", "sgd64"]


def test_default_selection_puts_the_deployed_run_first_then_the_best(three_runs):
    frame = comparison.runs_frame(three_runs)

    assert comparison.default_selection(frame, deployed="sgd64") == ["sgd64", "adam32"]
    assert comparison.default_selection(frame, deployed=None) == ["adam32", "sgd64"]


def test_only_complete_runs_with_weights_are_deployable(three_runs):
    assert sorted(comparison.deployable_runs(three_runs)) == ["adam32", "sgd64"]


def test_differing_config_keys_ignore_the_name_and_runs_without_config(three_runs):
    by_name = {run.name: run for run in three_runs}

    assert comparison.differing_config_keys(three_runs) == ["Batch size", "Optimizer", "Learning rate"]
    assert comparison.differing_config_keys([by_name["adam128"], by_name["broken"]]) == []
    assert comparison.differing_config_keys([by_name["sgd64"], by_name["adam128"]]) == ["Batch size", "Optimizer"]


def test_config_frame_has_a_column_per_run_and_a_row_per_option_by_its_human_name(three_runs):
    frame = comparison.config_frame(three_runs[:2])

    assert list(frame.columns) == [run.name for run in three_runs[:2]]
    assert frame.loc["Batch size"].tolist() == ["128", "32"]  # newest first: adam128, adam32
    assert frame.loc["Optimizer"].tolist() == ["Adam", "Adam"]
    assert "Run name" not in frame.index  # the columns name the runs


def test_old_and_new_spellings_of_a_recipe_compare_equal(isolated_dirs):
    """A run from before TTA modes and class sets (tta true, no classes, no distill_from) and one
    recorded today with the same choices read the same; only what really differs is flagged."""
    root = isolated_dirs["models"]
    base = {"arch": "vgg_gap", "epochs": 3, "optimizer": "sgd", "learning_rate": 0.01, "batch_size": 64,
            "color_mode": "", "augment": True}
    write_run(root, "old", {**base, "tta": True}, [0.5], "2026-01-01")
    write_run(root, "new", {**base, "tta": "flip", "classes": list(EMOTIONS), "distill_from": "",
                            "init_from": "", "color_mode": "grayscale", "data": "/somewhere/fer2013"},
              [0.5], "2026-01-02")
    write_run(root, "zoomed", {**base, "tta": "zoom", "augment": False}, [0.5], "2026-01-03")
    for name in ("old", "new", "zoomed"):  # what a real run records: a grayscale input
        write_json_atomic(root / name / registry.INFO_FILE, {"input_shape": [48, 48, 1]})
    old, new, zoomed = (registry.load_run(root / name) for name in ("old", "new", "zoomed"))

    assert comparison.differing_config_keys([old, new]) == []
    frame = comparison.config_frame([old, new])
    assert frame.loc["Test-time augmentation"].tolist() == ["flip (2 views)", "flip (2 views)"]
    assert frame.loc["Classes"].tolist() == ["all 7", "all 7"]
    assert frame.loc["Learn from (teacher)"].tolist() == ["none", "none"]
    assert frame.loc["Colour"].tolist() == ["Grayscale", "Grayscale"]
    assert comparison.differing_config_keys([old, zoomed]) == ["Augmentation", "Test-time augmentation"]
    assert comparison.config_frame([old, zoomed]).loc["Augmentation"].tolist() == ["on", "off"]


def test_learning_curves_are_long_with_train_and_validation_per_metric(three_runs):
    frame = comparison.learning_curves_frame(three_runs)

    sgd = frame[frame["run"] == "sgd64"]
    assert len(sgd) == 3 * 2 * 2  # epochs x metrics x splits
    point = sgd[(sgd["epoch"] == 2) & (sgd["metric"] == "accuracy") & (sgd["split"] == "validation")]
    assert point["value"].item() == pytest.approx(0.6)
    assert set(frame["run"]) == {"sgd64", "adam32", "adam128"}  # the broken run has no history


def test_val_accuracy_by_epoch_holds_every_epoch_of_every_run(three_runs):
    frame = comparison.val_accuracy_by_epoch(three_runs)

    assert len(frame) == 3 + 3 + 2
    assert frame.groupby("run")["val_accuracy"].max().to_dict() == pytest.approx(
        {"sgd64": 0.6, "adam32": 0.7, "adam128": 0.4})


def test_time_to_accuracy_sums_epoch_seconds_until_the_first_crossing():
    history = [{"epoch": 1, "val_accuracy": 0.45, "seconds": 100.0},
               {"epoch": 2, "val_accuracy": 0.61, "seconds": 90.5},
               {"epoch": 3, "val_accuracy": 0.58, "seconds": 80.0},  # a dip after the crossing
               {"epoch": 4, "val_accuracy": 0.66, "seconds": 85.0}]
    assert comparison.time_to_accuracy(history, 0.60) == pytest.approx(190.5)
    assert comparison.time_to_accuracy(history, 0.61) == pytest.approx(190.5)  # reaching counts
    assert comparison.time_to_accuracy(history, 0.65) == pytest.approx(355.5)
    assert comparison.time_to_accuracy(history, 0.70) is None
    assert comparison.time_to_accuracy([], 0.60) is None
    assert comparison.time_to_accuracy([{"epoch": 1, "val_accuracy": 0.7}], 0.60) is None  # not timed


def test_a_warm_started_runs_lineage_counts_the_epochs_behind_its_weights(isolated_dirs):
    root = isolated_dirs["models"]
    write_run(root, "first", {"arch": "vgg_gap"}, [0.4, 0.5], "2026-01-01")
    write_run(root, "second", {"arch": "vgg_gap", "init_from": "first"}, [0.55], "2026-01-02")
    third = write_run(root, "third", {"arch": "vgg_gap", "init_from": "second"}, [0.58, 0.61], "2026-01-03")
    orphan = write_run(root, "orphan", {"arch": "vgg_gap", "init_from": "kept-elsewhere"}, [0.3], "2026-01-04")

    chain = comparison.lineage(registry.load_run(third))
    assert [run.name for run in chain] == ["first", "second", "third"]
    history = comparison.lineage_history(registry.load_run(third))
    assert [(row["epoch"], row["val_accuracy"]) for row in history] == [
        (1, 0.4), (2, 0.5), (3, 0.55), (4, 0.58), (5, 0.61)]  # 60% first reached at epoch 5 from scratch
    assert [run.name for run in comparison.lineage(registry.load_run(orphan))] == ["orphan"]


def test_group_best_accuracy_orders_batch_sizes_as_numbers(three_runs):
    grouped = comparison.group_best_accuracy(comparison.runs_frame(three_runs), "batch_size")

    assert list(grouped["batch_size"]) == ["32", "64", "128"]
    assert grouped.set_index("run")["accuracy"].to_dict() == pytest.approx(
        {"adam32": 0.7, "sgd64": 0.6, "adam128": 0.4})
    with pytest.raises(ValueError, match="group by one of"):
        comparison.group_best_accuracy(comparison.runs_frame(three_runs), "seed")


@pytest.fixture
def choice_runs(isolated_dirs):
    """A base recipe and one run per changed choice, plus a longer run that compares with none."""
    root = isolated_dirs["models"]
    base = {"arch": "vgg_gap_small", "epochs": 10, "optimizer": "sgd", "learning_rate": 0.01, "batch_size": 64,
            "color_mode": "", "augment": True, "seed": 1}
    variants = {"base": ({}, 0.49), "adam": ({"optimizer": "adam", "learning_rate": 0.001}, 0.53),
                "batch256": ({"batch_size": 256, "learning_rate": 0.04}, 0.42),
                "rgb": ({"color_mode": "rgb"}, 0.47), "noaug": ({"augment": False}, 0.45),
                "long": ({"epochs": 36, "optimizer": "adam"}, 0.56)}
    for name, (change, best) in variants.items():
        run_dir = write_run(root, name, {**base, **change}, [best - 0.1, best], "2026-01-01")
        write_json_atomic(run_dir / registry.DATASET_FILE, {"fingerprint": "abc"})
    return registry.list_runs(root)


@pytest.mark.parametrize("by, expected", [
    ("optimizer", {"adam": 0.53, "sgd": 0.49}),  # not "long": it trained 36 epochs
    ("batch_size", {"64": 0.49, "256": 0.42}),  # its learning rate scaled with the batch
    ("augment", {"True": 0.49, "False": 0.45}),
])
def test_like_for_like_sets_runs_that_differ_only_in_one_choice(choice_runs, by, expected):
    like = comparison.like_for_like(choice_runs, by)

    assert list(like["set"].unique()) == [1]
    assert dict(zip(like[by], like["best_val_accuracy"])) == pytest.approx(expected)
    assert like["best_val_accuracy"].is_monotonic_decreasing  # best first


def test_like_for_like_reads_an_empty_colour_mode_as_the_architectures_own(choice_runs, isolated_dirs):
    # write_run's info has no input shape; a real run records it, and "" then reads as grayscale.
    for run in choice_runs:
        info = json.loads((run.path / registry.INFO_FILE).read_text())
        info["input_shape"] = [48, 48, 3 if run.name == "rgb" else 1]
        write_json_atomic(run.path / registry.INFO_FILE, info)
    like = comparison.like_for_like(registry.list_runs(isolated_dirs["models"]), "color_mode")

    assert dict(zip(like["run"], like["color_mode"])) == {"base": "grayscale", "rgb": "rgb"}


def test_like_for_like_is_empty_when_nothing_differs_in_that_choice_alone(three_runs):
    assert comparison.like_for_like(three_runs, "augment").empty
    with pytest.raises(ValueError, match="compare one of"):
        comparison.like_for_like(three_runs, "seed")


def test_best_and_worst_rank_by_accuracy(three_runs):
    best, worst = comparison.best_and_worst(comparison.runs_frame(three_runs), n=2)

    assert list(best["run"]) == ["adam32", "sgd64"]
    assert list(worst["run"]) == ["adam128", "sgd64"]


# --- An ensemble among the runs -------------------------------------------------------------------


def seven_class_report(correct: int, n: int = 70, tta="zoom", **extra) -> dict:
    """A validation report over the seven emotions, `correct` of `n` faces right (the first ones)."""
    y_true = np.arange(n) % 7
    predicted = np.where(np.arange(n) < correct, y_true, (y_true + 1) % 7)
    probabilities = np.full((n, 7), 0.05)
    probabilities[np.arange(n), predicted] = 0.7
    report = classification_report(y_true, probabilities)
    report.pop("reliability", None)  # as evaluated before calibration was measured, unless `extra` holds it
    return {**report, "split": "validation", "tta": tta, **extra}


@pytest.fixture
def with_ensemble(three_runs, isolated_dirs):
    """three_runs plus 'duo', an ensemble of sgd64 and adam32 as ensemble.py writes it (no epochs of
    its own, its first member's config), evaluated at 63 of 70 (90%)."""
    root = isolated_dirs["models"]
    duo = root / "duo"
    duo.mkdir()
    sgd = registry.load_run(root / "sgd64")
    write_json_atomic(duo / registry.CONFIG_FILE, {**sgd.config, "name": "duo", "init_from": ""})
    write_json_atomic(duo / registry.ENSEMBLE_FILE, {"members": ["sgd64", "adam32"], "multiply_adds": 2000})
    write_json_atomic(duo / registry.INFO_FILE, {"parameters": 2000, "model_bytes": 2**21, "multiply_adds": 2000})
    write_json_atomic(duo / registry.HISTORY_FILE, [])
    write_json_atomic(duo / registry.STATUS_FILE, {"state": "complete", "started": "2026-01-04"})
    registry.save_evaluation(duo, "validation", seven_class_report(63))
    return registry.list_runs(root)


def test_an_ensemble_shows_its_evaluated_accuracy_and_its_members_epochs_and_time(with_ensemble):
    frame = comparison.runs_frame(with_ensemble).set_index("run")

    assert frame.loc["duo", "accuracy"] == pytest.approx(0.9)
    assert frame.loc["duo", "epochs"] == "its members'" and frame.loc["sgd64", "epochs"] == "3/3"
    assert frame.loc["duo", "training_minutes"] == pytest.approx(4.0)  # two members of 2 minutes
    assert frame.loc["duo", "accuracy_from"] == "evaluation, TTA zoom; epochs and curves: its members'"
    assert frame.loc["adam32", "accuracy_from"] == "best epoch (3), no TTA"
    assert frame.loc["adam32", "accuracy"] == pytest.approx(0.7)


def test_every_ranking_ranks_an_ensemble_by_its_evaluated_accuracy(with_ensemble):
    frame = comparison.runs_frame(with_ensemble)

    assert comparison.default_selection(frame, deployed=None) == ["duo", "adam32"]
    best, _ = comparison.best_and_worst(frame, n=2)
    assert list(best["run"]) == ["duo", "adam32"]
    grouped = comparison.group_best_accuracy(frame, "architecture")
    assert grouped.set_index("run").loc["duo", "architecture"] == "ensemble of 2"
    assert "duo" not in set(comparison.group_best_accuracy(frame, "optimizer")["run"])  # its members' recipe
    assert frame.set_index("run").loc["duo", "optimizer"] == "its members'"


def test_the_heat_map_gives_an_ensemble_one_cell_at_its_members_last_epoch(with_ensemble):
    frame = comparison.val_accuracy_by_epoch(with_ensemble)

    duo = frame[frame["run"] == "duo"]
    assert duo[["epoch", "val_accuracy"]].values.tolist() == [[3, pytest.approx(0.9)]]
    assert "evaluation" in duo["source"].item()


def test_an_ensembles_learning_curves_are_its_members_labelled_so(with_ensemble):
    duo = next(run for run in with_ensemble if run.name == "duo")

    frame = comparison.learning_curves_frame([duo])

    assert sorted(frame["run"].unique()) == ["adam32 (member)", "sgd64 (member)"]
    (note,) = comparison.ensemble_notes([duo])
    assert note.startswith("duo is an ensemble: it trained no epochs itself, so its curves are its members' "
                           "(sgd64, adam32, marked \"member\")") and "its accuracy, 90.00%, comes from its own evaluation" in note


def test_an_ensembles_recipe_shows_its_members_training_choices_as_theirs(with_ensemble):
    by_name = {run.name: run for run in with_ensemble}

    frame = comparison.config_frame([by_name["duo"], by_name["sgd64"]])

    assert frame.loc["Architecture"].tolist() == ["ensemble of sgd64, adam32", "vgg_gap"]
    assert frame.loc["Optimizer"].tolist() == ["its members'", "SGD with momentum"]
    assert comparison.differing_config_keys([by_name["duo"], by_name["sgd64"]]) == ["Architecture"]


# --- Side by side ------------------------------------------------------------------------------


def test_the_pair_puts_the_deployed_run_first_else_the_first_chosen():
    assert comparison.pair_defaults(["a", "b", "c"], deployed="c") == ("c", "a")
    assert comparison.pair_defaults(["a", "b", "c"], deployed="x") == ("a", "b")
    assert comparison.pair_defaults(["a"], deployed=None) == ("a", None)


def test_tradeoffs_set_accuracy_recall_size_and_cost_side_by_side_and_name_the_run_ahead(with_ensemble):
    by_name = {run.name: run for run in with_ensemble}
    registry.save_evaluation(by_name["sgd64"].path, "validation", seven_class_report(49, tta=True))
    sgd = registry.load_run(by_name["sgd64"].path)

    table = comparison.tradeoffs_frame([by_name["duo"], sgd])

    assert table.loc["Accuracy (validation)"].tolist() == ["90.00%", "70.00%", "duo"]
    assert table.loc["Recall: angry", "duo"] == "90.00%" and table.loc["Recall: angry", "better"] == "duo"
    # smaller is better; the ensemble keeps only its members' names, so its size is theirs, named so
    assert table.loc["Model file"].tolist() == ["2.0 MB (members' files)", "1.0 MB", "sgd64"]
    assert table.loc["Parameters"].tolist() == ["2,000", "1,000", "sgd64"]
    assert table.loc["Time per face", "duo"].startswith("not recorded")
    assert table.loc["Time per face", "better"] == ""
    assert "Calibration error (ECE; lower: confidence closer to accuracy)" not in table.index
    assert table.loc["Figures from", "sgd64"] == "evaluation, TTA flip"  # tta true, recorded before the modes


def test_a_phones_tradeoffs_name_the_runs_a_and_b_and_mark_the_better_figure(with_ensemble):
    by_name = {run.name: run for run in with_ensemble}

    compact, legend = comparison.compact_tradeoffs(comparison.tradeoffs_frame([by_name["duo"], by_name["sgd64"]]))

    assert list(compact.columns) == ["A", "B"] and "Figures from" not in compact.index
    assert compact.loc["Model file"].tolist() == ["2.0 MB (members' files)", "1.0 MB ▲"]
    assert legend == "A: duo; B: sgd64; ▲ the better figure."


def test_tradeoffs_show_calibration_once_an_evaluation_holds_it(with_ensemble):
    by_name = {run.name: run for run in with_ensemble}
    registry.save_evaluation(by_name["sgd64"].path, "validation",
                             seven_class_report(49, reliability={"ece": 0.031}))

    table = comparison.tradeoffs_frame([by_name["duo"], registry.load_run(by_name["sgd64"].path)])

    assert table.loc["Calibration error (ECE; lower: confidence closer to accuracy)"].tolist() == [
        "not measured", "0.031", ""]


def test_evaluation_choices_name_data_set_and_split_and_skip_leftovers(with_ensemble):
    duo = next(run for run in with_ensemble if run.name == "duo")
    write_json_atomic(duo.path / registry.DATASET_FILE, {"name": "fer2013"})
    registry.save_evaluation(duo.path, "ckplus-test", seven_class_report(30, data="ckplus", split="test"))
    registry.save_evaluation(duo.path, "tmpq1w2e3-test", seven_class_report(30, data="tmpq1w2e3", split="test"))
    registry.save_evaluation(duo.path, "notes", {"accuracy": 0.5})  # no data set, no split
    duo = registry.load_run(duo.path)

    choices = comparison.evaluation_choices([duo], datasets=["fer2013", "ckplus"])

    assert [(choice.label, choice.key, choice.data) for choice in choices] == [
        ("fer2013 · validation", "validation", None), ("fer2013 · test", "test", None),
        ("ckplus · test", "ckplus-test", "ckplus")]


# y_true = [0, 0, 0, 1, 1, 2], predicted = [0, 0, 1, 1, 2, 2]: confusion [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
@pytest.fixture
def report():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    probabilities = np.full((6, 3), 0.1)
    probabilities[np.arange(6), [0, 0, 1, 1, 2, 2]] = 0.8
    return classification_report(y_true, probabilities, THREE)


def test_confusion_frame_counts_and_row_shares(report):
    counts = comparison.confusion_frame(report).set_index(["true", "predicted"])["value"]
    shares = comparison.confusion_frame(report, normalise=True)

    assert counts[("a", "a")] == 2 and counts[("a", "b")] == 1 and counts[("c", "c")] == 1
    assert shares.groupby("true")["value"].sum().tolist() == pytest.approx([1, 1, 1])
    assert shares.set_index(["true", "predicted"]).loc[("a", "a"), "value"] == pytest.approx(2 / 3)
    assert shares["count"].sum() == 6  # the counts ride along for tooltips


def test_per_class_frame_keeps_class_order_and_scores(report):
    frame = comparison.per_class_frame(report)

    assert list(frame.index) == list(THREE)
    assert frame.loc["a", "precision"] == pytest.approx(1.0)
    assert frame.loc["a", "recall"] == pytest.approx(2 / 3)
    assert frame["support"].tolist() == [3, 2, 1]


def test_roc_frame_has_a_curve_per_class_plus_micro_starting_at_the_origin(report):
    frame = comparison.roc_frame(report)

    assert set(frame["curve"]) == {"a", "b", "c", "micro"}
    for _, curve in frame.groupby("curve"):
        assert (curve["fpr"].iloc[0], curve["tpr"].iloc[0]) == (0.0, 0.0)
        assert (curve["fpr"].iloc[-1], curve["tpr"].iloc[-1]) == (1.0, 1.0)
    micro = frame[frame["curve"] == "micro"]
    assert micro["auc"].iloc[0] == pytest.approx(report["roc"]["micro"]["auc"])
    assert micro["label"].iloc[0].startswith("micro (AUC ")


def test_roc_frame_skips_a_class_absent_from_the_split():
    y_true = np.array([0, 0, 1, 1])
    probabilities = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.5, 0.4, 0.1]])
    frame = comparison.roc_frame(classification_report(y_true, probabilities, THREE))

    assert set(frame["curve"]) == {"a", "b", "micro"}


COUNTS = {"train": {"angry": 40, "disgust": 4, "fear": 40, "happy": 80, "sad": 40, "surprise": 30, "neutral": 50},
          "validation": {"angry": 5, "disgust": 0, "fear": 5, "happy": 10, "sad": 5, "surprise": 5, "neutral": 5}}


def test_counts_frame_is_long_with_shares_of_each_split():
    frame = comparison.counts_frame(COUNTS)

    assert len(frame) == 2 * 7
    assert frame.groupby("split")["share"].sum().to_dict() == pytest.approx({"train": 1.0, "validation": 1.0})
    happy = frame[(frame["split"] == "train") & (frame["class"] == "happy")]
    assert happy["count"].item() == 80 and happy["share"].item() == pytest.approx(80 / 284)


def test_imbalance_is_largest_over_smallest_and_infinite_for_an_empty_class():
    frame = comparison.imbalance_frame(COUNTS).set_index("split")

    assert frame.loc["train", "ratio"] == pytest.approx(20.0)
    assert (frame.loc["train", "largest"], frame.loc["train", "smallest"]) == ("happy", "disgust")
    assert math.isinf(frame.loc["validation", "ratio"])


def test_sizes_frame_keeps_the_most_common_and_sums_the_rest():
    frame = comparison.sizes_frame({"48x48": 100, "64x64": 5, "32x32": 3, "10x10": 1}, top=2)

    assert frame.values.tolist() == [["48x48", 100], ["64x64", 5], ["other", 4]]


def test_the_colour_bars_are_spelt_as_the_rest_of_the_app():
    frame = comparison.color_frame({"grayscale": 7, "color": 2})

    assert frame.values.tolist() == [["grayscale", 7], ["colour", 2]]


def test_a_training_time_estimate_comes_from_finished_runs_of_the_architecture_on_like_data_and_hardware(
        isolated_dirs):
    root = isolated_dirs["models"]
    for name, arch, seconds, data, hardware in (("here", "vgg_gap", 300.0, "fer2013", "x86 2 cores"),
                                                ("elsewhere", "vgg_gap", 30.0, "fer2013", "a GPU"),
                                                ("other-data", "vgg_gap", 90.0, "tiny", "x86 2 cores"),
                                                ("small", "vgg_gap_small", 60.0, "fer2013", "x86 2 cores")):
        run_dir = write_run(root, name, {"arch": arch, "epochs": 3}, [0.4, 0.5, 0.6], "2026-01-01")
        registry.update_status(run_dir, training_seconds=seconds)
        write_json_atomic(run_dir / registry.INFO_FILE, {"hardware": hardware})
        write_json_atomic(run_dir / registry.DATASET_FILE, {"name": data})
    runs = registry.list_runs(root)

    same = comparison.training_time_estimate(runs, "vgg_gap", 60, "/data/fer2013", "x86 2 cores")
    assert (same["per_epoch"], same["seconds"], same["runs"]) == (100.0, 6000.0, 1)
    assert same["same_data"] and same["same_hardware"]
    anywhere = comparison.training_time_estimate(runs, "vgg_gap", 10, "ckplus", "a laptop")
    assert anywhere["per_epoch"] == 30.0 and anywhere["runs"] == 3  # the median of 100, 10 and 30
    assert not anywhere["same_data"] and not anywhere["same_hardware"]
    assert comparison.training_time_estimate(runs, "vgg_gap_slim", 10) is None


def test_the_default_comparison_keeps_to_the_deployed_runs_class_set(with_ensemble, isolated_dirs):
    trio = write_run(isolated_dirs["models"], "trio", {"arch": "vgg_gap", "classes": ["angry", "sad", "neutral"]},
                     [0.95], "2026-01-05")
    frame = comparison.runs_frame(registry.list_runs(isolated_dirs["models"]))

    assert comparison.default_selection(frame, deployed="sgd64") == ["sgd64", "duo"]  # not trio's 95% of three
    assert comparison.default_selection(frame, deployed=None) == ["duo", "adam32"]
    assert comparison.default_selection(frame, deployed=trio.name) == ["trio"]



def test_per_class_frame_says_no_images_for_a_class_the_set_lacks():
    report = classification_report([0, 0, 1], [[0.8, 0.1, 0.1], [0.1, 0.1, 0.8], [0.2, 0.7, 0.1]], THREE)
    frame = comparison.per_class_frame(report)

    assert frame["note"].tolist() == ["", "", "no images"] and frame.loc["c", "support"] == 0


def test_test_sets_frame_puts_each_runs_figures_on_every_scored_set_beside_validation(three_runs, isolated_dirs):
    # adam32 and sgd64 have weights; adam128 has none, so no figures to show. sgd64 was scored on
    # posed's test split (42 of 70 right), adam32 only on its own validation split.
    registry.save_evaluation(isolated_dirs["models"] / "sgd64", "posed-test", seven_class_report(42, data="posed", split="test"))
    runs = registry.list_runs()

    frame = comparison.test_sets_frame(runs, ["posed"]).set_index("run")

    assert list(frame.index) == ["sgd64", "adam32"]  # scored on posed first
    assert frame.loc["sgd64", "posed · test accuracy"] == pytest.approx(0.6)
    assert math.isnan(frame.loc["adam32", "posed · test accuracy"])  # not scored on it yet
    assert (comparison.unscored_text(scoring=True), comparison.unscored_text(scoring=False)) == ("scoring…", "—")
    assert list(frame.columns[:3]) == ["classes", "validation accuracy", "validation macro-F1"]

    # A set of photos scored through the whole pipeline: photos without a face found count as wrong.
    photos = {**seven_class_report(42, data="posed", split="test"), "accuracy_all_photos": 0.55}
    registry.save_evaluation(isolated_dirs["models"] / "sgd64", "posed-test", photos)
    frame = comparison.test_sets_frame(registry.list_runs(), ["posed"]).set_index("run")
    assert frame.loc["sgd64", "posed · test accuracy"] == pytest.approx(0.55)
