"""Tests for emotion_core.evaluation, on cases small enough to work out by hand."""

import json

import numpy as np
import pytest

from emotion_core.evaluation import (auc, classification_report, confusion_matrix, format_report,
                                     roc_curve, row_normalised)

THREE = ("a", "b", "c")


def _probabilities_predicting(predictions, num_classes, confidence=0.8):
    """Rows whose argmax is the given class, the rest of the mass spread evenly."""
    rest = (1 - confidence) / (num_classes - 1)
    rows = np.full((len(predictions), num_classes), rest)
    rows[np.arange(len(predictions)), predictions] = confidence
    return rows


# y_true = [0, 0, 0, 1, 1, 2], predicted = [0, 0, 1, 1, 2, 2]
# confusion (rows true, cols predicted):  [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
# precision: a 2/2 = 1,   b 1/2,  c 1/2
# recall:    a 2/3,       b 1/2,  c 1/1
# f1:        a 2*1*(2/3)/(5/3) = 4/5,  b 1/2,  c 2*(1/2)/(3/2) = 2/3
# macro F1 = (4/5 + 1/2 + 2/3) / 3 = 59/90;  weighted = (3*4/5 + 2*1/2 + 1*2/3) / 6 = 61/90
# accuracy = 4/6;  balanced accuracy = (2/3 + 1/2 + 1) / 3 = 13/18
Y_TRUE = np.array([0, 0, 0, 1, 1, 2])
PREDICTED = np.array([0, 0, 1, 1, 2, 2])


def test_three_class_report_matches_hand_computation():
    report = classification_report(Y_TRUE, _probabilities_predicting(PREDICTED, 3), THREE)

    assert report["n"] == 6
    assert report["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["macro_f1"] == pytest.approx(59 / 90)
    assert report["weighted_f1"] == pytest.approx(61 / 90)
    assert report["balanced_accuracy"] == pytest.approx(13 / 18)
    assert report["per_class"]["a"] == pytest.approx(
        {"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert report["per_class"]["b"] == pytest.approx(
        {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert report["per_class"]["c"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert report["class_names"] == ["a", "b", "c"]


def test_never_predicted_class_scores_zero_not_nan():
    # Everything predicted as class 0: classes 1 and 2 have no predictions, so precision is 0.
    report = classification_report([0, 1, 2], _probabilities_predicting([0, 0, 0], 3), THREE)
    assert report["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["per_class"]["a"]["precision"] == pytest.approx(1 / 3)


def test_confusion_matrix_and_row_normalised():
    counts = confusion_matrix(Y_TRUE, PREDICTED, 4)
    assert counts.tolist() == [[2, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0]]

    rates = row_normalised(counts)
    assert rates[0].tolist() == pytest.approx([2 / 3, 1 / 3, 0, 0])
    assert rates.sum(axis=1).tolist() == pytest.approx([1, 1, 1, 0])  # empty class stays zero


def test_auc_of_perfect_and_reversed_ranking():
    labels = [0, 0, 1, 1]
    assert auc(*roc_curve(labels, [0.1, 0.2, 0.8, 0.9])) == 1.0
    assert auc(*roc_curve(labels, [0.9, 0.8, 0.2, 0.1])) == 0.0


def test_auc_counts_a_tie_as_half():
    # One positive (0.5) against negatives 0.5 (tie, 1/2) and 0.2 (win, 1): AUC = 1.5 / 2.
    fpr, tpr = roc_curve([1, 0, 0], [0.5, 0.5, 0.2])
    assert fpr.tolist() == [0.0, 0.5, 1.0]  # the tie is one diagonal step, not two
    assert tpr.tolist() == [0.0, 1.0, 1.0]
    assert auc(fpr, tpr) == pytest.approx(0.75)


def test_micro_and_macro_auc_differ_when_column_scales_differ():
    # Each column ranks its own class first, so every per-class AUC (and macro) is 1.
    # Micro pools positives [0.4, 0.5, 0.5] against negatives [0.3, 0.3, 0.1, 0.4, 0.05, 0.45]:
    # 0.4 wins 4, ties 1 (0.5), loses 1 -> 4.5; each 0.5 wins 6 -> micro = 16.5 / 18 = 11/12.
    probabilities = [[0.4, 0.3, 0.3], [0.1, 0.5, 0.4], [0.05, 0.45, 0.5]]
    roc = classification_report([0, 1, 2], probabilities, THREE)["roc"]

    assert [roc["per_class"][name]["auc"] for name in THREE] == [1.0, 1.0, 1.0]
    assert roc["macro_auc"] == 1.0
    assert roc["micro"]["auc"] == pytest.approx(11 / 12)


def test_class_without_positives_gets_no_auc_and_is_left_out_of_macro():
    probabilities = [[0.7, 0.2, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]]
    roc = classification_report([0, 0, 1, 1], probabilities, THREE)["roc"]

    assert roc["per_class"]["c"]["auc"] is None
    assert roc["per_class"]["a"]["auc"] == 1.0
    assert roc["macro_auc"] == 1.0


def test_stored_curves_are_small_monotone_and_span_the_square():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 7, size=500)
    probabilities = rng.dirichlet(np.ones(7), size=500)
    report = classification_report(y_true, probabilities, roc_points=21)

    curves = list(report["roc"]["per_class"].values()) + [report["roc"]["micro"]]
    for curve in curves:
        fpr, tpr = np.array(curve["fpr"]), np.array(curve["tpr"])
        assert len(fpr) == len(tpr) <= 21
        assert (fpr[0], tpr[0]) == (0.0, 0.0)
        assert (fpr[-1], tpr[-1]) == (1.0, 1.0)
        assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
        # Resampling only shrinks the stored curve; the area is still close to the exact AUC.
        assert auc(fpr, tpr) == pytest.approx(curve["auc"], abs=0.03)


def test_exact_auc_is_not_affected_by_resampling():
    rng = np.random.default_rng(1)
    y_true = rng.integers(0, 3, size=300)
    probabilities = rng.dirichlet(np.ones(3), size=300)
    coarse = classification_report(y_true, probabilities, THREE, roc_points=5)
    fine = classification_report(y_true, probabilities, THREE, roc_points=1000)
    assert coarse["roc"]["micro"]["auc"] == fine["roc"]["micro"]["auc"]
    assert coarse["roc"]["macro_auc"] == fine["roc"]["macro_auc"]


def test_report_round_trips_through_json():
    report = classification_report(Y_TRUE, _probabilities_predicting(PREDICTED, 3), THREE)
    assert json.loads(json.dumps(report)) == report


def test_format_report_lists_every_class_and_the_headline_numbers():
    report = classification_report(Y_TRUE, _probabilities_predicting(PREDICTED, 3), THREE)
    lines = format_report(report).splitlines()
    assert [line.split()[0] for line in lines[1:4]] == ["a", "b", "c"]
    text = "\n".join(lines)
    assert "0.667" in text  # accuracy 4/6
    assert "0.656" in text  # macro F1 59/90
    assert "micro AUC" in text and "macro AUC" in text


@pytest.mark.parametrize("y_true, probabilities, message", [
    ([0, 1], [[0.5, 0.3, 0.2]], "2 labels but 1 rows"),
    ([], np.zeros((0, 3)), "empty"),
    ([0, 3], [[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]], "labels must lie in"),
    ([0, -1], [[0.5, 0.3, 0.2], [0.5, 0.3, 0.2]], "labels must lie in"),
    ([0, 1], [[0.5, 0.5], [0.5, 0.5]], "2 probability columns but 3 class names"),
    ([0, 1], [0.5, 0.5], "expected y_true"),
])
def test_bad_input_raises_a_clear_error(y_true, probabilities, message):
    with pytest.raises(ValueError, match=message):
        classification_report(y_true, probabilities, THREE)


def test_too_few_roc_points_is_rejected():
    with pytest.raises(ValueError, match="roc_points"):
        classification_report([0, 1], [[0.9, 0.1, 0.0], [0.2, 0.8, 0.0]], THREE, roc_points=2)


# --- a set without some of the model's classes ---------------------------------------------------
# Four classes, "c" has no images; one "a" is predicted as "c".
# y_true = [a, a, a, b, b, d], predicted = [a, c, a, b, b, d]
# a: precision 2/2, recall 2/3, F1 0.8;  b: 1, 1, 1;  d: 1, 1, 1;  c: no images (predicted once)
# accuracy 5/6; macro-F1 over the classes with images (0.8 + 1 + 1) / 3 = 14/15 (counting c's F1
# of 0 would give 0.7 for one stray prediction); balanced accuracy (2/3 + 1 + 1) / 3 = 8/9;
# weighted F1 (3 x 0.8 + 2 + 1) / 6 = 0.9.
FOUR = ("a", "b", "c", "d")


def test_a_class_without_images_is_shown_as_such_and_its_predictions_count_as_wrong():
    report = classification_report([0, 0, 0, 1, 1, 3], _probabilities_predicting([0, 2, 0, 1, 1, 3], 4), FOUR)

    assert report["accuracy"] == pytest.approx(5 / 6)
    assert report["macro_f1"] == pytest.approx(14 / 15)
    assert report["balanced_accuracy"] == pytest.approx(8 / 9)
    assert report["weighted_f1"] == pytest.approx(0.9)
    assert report["per_class"]["c"] == {"precision": None, "recall": None, "f1": None, "support": 0}
    assert report["per_class"]["a"] == pytest.approx({"precision": 1.0, "recall": 2 / 3, "f1": 0.8, "support": 3})
    assert [row[2] for row in report["confusion_matrix"]] == [1, 0, 0, 0]  # the stray prediction of c
    line = next(line for line in format_report(report).splitlines() if line.startswith("c "))
    assert line.split() == ["c", "no", "images", "0", "(predicted", "1", "times,", "all", "wrong)"]
    assert json.loads(json.dumps(report)) == report


# --- calibration: the reliability diagram's data and ECE ----------------------------------------
# Top probabilities 0.9 (right), 0.9 (wrong), 0.5 (right), 0.7 (right) fall in bins 13, 13, 7, 10
# of 15: |0.5 - 0.9| x 2 + |1 - 0.5| + |1 - 0.7| = 1.6 over 4 faces: ECE 0.4.


def test_ece_and_reliability_bins_match_hand_computation():
    probabilities = [[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.5, 0.3, 0.2], [0.2, 0.7, 0.1]]
    calibration = classification_report([0, 1, 0, 1], probabilities, THREE)["reliability"]

    assert calibration["ece"] == pytest.approx(0.4)
    assert (calibration["mean_confidence"], calibration["accuracy"]) == pytest.approx((0.75, 0.75))
    filled = {index: bin_ for index, bin_ in enumerate(calibration["bins"]) if bin_["count"]}
    assert {index: bin_["count"] for index, bin_ in filled.items()} == {7: 1, 10: 1, 13: 2}
    assert (filled[13]["confidence"], filled[13]["accuracy"]) == pytest.approx((0.9, 0.5))
    assert len(calibration["bins"]) == 15 and calibration["bins"][0]["accuracy"] is None
    assert "ECE (15 bins)" in format_report(classification_report([0, 1, 0, 1], probabilities, THREE))
