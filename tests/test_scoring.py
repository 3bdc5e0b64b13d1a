"""Tests for emotion_core.scoring.evaluate_run, checked against the model's own predictions."""

import json

import keras
import numpy as np
import pytest

from emotion_core.labels import EMOTIONS
from emotion_core.registry import RunError
from emotion_core.scoring import evaluate_run
from tests.conftest import make_image_dataset, read_split_images


def _hand_confusion(y, predicted):
    confusion = np.zeros((len(EMOTIONS), len(EMOTIONS)), dtype=int)
    for true, guess in zip(y, predicted):
        confusion[true, guess] += 1
    return confusion.tolist()


@pytest.fixture
def alpha_model(trained_runs):
    return keras.models.load_model(trained_runs["alpha"] / "model.keras")


def test_figures_match_the_models_predictions(trained_runs, alpha_model):
    x, y = read_split_images(trained_runs["data"])
    predicted = np.asarray(alpha_model(x, training=False)).argmax(axis=1)

    report = evaluate_run("alpha")

    assert report["n"] == len(y) == 21
    assert report["tta"] is False  # as the run recorded
    assert report["accuracy"] == pytest.approx(np.mean(predicted == y))
    assert report["confusion_matrix"] == _hand_confusion(y, predicted)
    assert sum(map(sum, report["confusion_matrix"])) == report["n"]
    assert [scores["support"] for scores in report["per_class"].values()] == [3] * 7


def test_flip_tta_averages_each_face_with_its_mirror_image(trained_runs, alpha_model):
    x, y = read_split_images(trained_runs["data"])
    mirrored = x[:, :, ::-1, :]  # flip along the width axis
    averaged = (np.asarray(alpha_model(x, training=False)) + np.asarray(alpha_model(mirrored, training=False))) / 2
    predicted = averaged.argmax(axis=1)

    report = evaluate_run("alpha", tta=True, save=False)

    assert report["tta"] is True
    assert report["accuracy"] == pytest.approx(np.mean(predicted == y))
    assert report["confusion_matrix"] == _hand_confusion(y, predicted)
    # Per-class AUC depends on the averaged scores themselves, not only on their argmax.
    happy = EMOTIONS.index("happy")
    expected_auc = _auc(y == happy, averaged[:, happy])
    assert report["roc"]["per_class"]["happy"]["auc"] == pytest.approx(expected_auc, abs=1e-6)


def _auc(positive, scores):
    """The Mann-Whitney form of the ROC area: P(positive scores above negative), ties counting half."""
    pos, neg = scores[positive], scores[~positive]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return wins / (len(pos) * len(neg))


def test_evaluation_is_saved_in_the_run_folder(trained_runs):
    saved = trained_runs["alpha"] / "evaluation" / "validation.json"
    saved.unlink()

    report = evaluate_run("alpha", tta=True)

    assert json.loads(saved.read_text()) == report
    assert (report["split"], report["data"]) == ("validation", "tiny")


def test_not_saving_leaves_the_run_folder_untouched(trained_runs):
    before = {p.name: p.read_bytes() for p in (trained_runs["alpha"] / "evaluation").iterdir()}
    evaluate_run("alpha", tta=True, save=False)
    after = {p.name: p.read_bytes() for p in (trained_runs["alpha"] / "evaluation").iterdir()}
    assert after == before


def test_another_data_set_is_saved_beside_not_over_the_runs_own(trained_runs, isolated_dirs):
    evaluation = trained_runs["alpha"] / "evaluation"
    own = (evaluation / "validation.json").read_bytes()
    other = make_image_dataset(isolated_dirs["data"] / "other", {"train": 1, "validation": 2}, seed=3)

    report = evaluate_run("alpha", data=str(other))

    assert report["n"] == 14 and report["data"] == "other"
    assert json.loads((evaluation / "other-validation.json").read_text()) == report
    assert (evaluation / "validation.json").read_bytes() == own


def test_a_run_without_weights_cannot_be_evaluated(trained_runs):
    (trained_runs["beta"] / "model.keras").unlink()
    with pytest.raises(RunError, match="beta has no model file"):
        evaluate_run("beta")
