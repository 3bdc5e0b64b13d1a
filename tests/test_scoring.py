"""Tests for emotion_core.scoring.evaluate_run, checked against the model's own predictions."""

import json
import shutil

import keras
import numpy as np
import pytest

from emotion_core.cli import main
from emotion_core.datasets import DatasetError
from emotion_core.labels import EMOTIONS
from emotion_core.registry import RunError
from emotion_core.inference import predict_probabilities
from emotion_core.predictor import Predictor
from emotion_core.scoring import adopt_tta, evaluate_photos, evaluate_run
from tests.conftest import PHOTOS, make_image_dataset, needs_photos, read_split_images


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
    assert report["tta"] == "off"  # as the run recorded
    assert report["accuracy"] == pytest.approx(np.mean(predicted == y))
    assert report["confusion_matrix"] == _hand_confusion(y, predicted)
    assert sum(map(sum, report["confusion_matrix"])) == report["n"]
    assert [scores["support"] for scores in report["per_class"].values()] == [3] * 7


def test_flip_tta_averages_each_face_with_its_mirror_image(trained_runs, alpha_model):
    x, y = read_split_images(trained_runs["data"])
    mirrored = x[:, :, ::-1, :]  # flip along the width axis
    averaged = (np.asarray(alpha_model(x, training=False)) + np.asarray(alpha_model(mirrored, training=False))) / 2
    predicted = averaged.argmax(axis=1)

    report = evaluate_run("alpha", tta="flip", save=False)

    assert report["tta"] == "flip"
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

    report = evaluate_run("alpha", tta="flip")

    assert json.loads(saved.read_text()) == report
    assert (report["split"], report["data"]) == ("validation", "tiny")


def test_not_saving_leaves_the_run_folder_untouched(trained_runs):
    before = {p.name: p.read_bytes() for p in (trained_runs["alpha"] / "evaluation").iterdir()}
    evaluate_run("alpha", tta="flip", save=False)
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


# --- choosing a run's TTA ------------------------------------------------------------------------


def test_an_adopted_tta_is_what_the_run_then_predicts_and_reports_with(trained_runs, alpha_model):
    measured = evaluate_run("alpha", tta="shifts", save=False)

    result = adopt_tta("alpha", "shifts")

    assert (result["tta"], result["previous_tta"]) == ("shifts", "off")
    assert result["accuracy"] == measured["accuracy"]
    saved = json.loads((trained_runs["alpha"] / "evaluation" / "validation.json").read_text())
    assert (saved["tta"], saved["accuracy"]) == ("shifts", measured["accuracy"])
    assert json.loads((trained_runs["alpha"] / "config.json").read_text())["tta"] == "shifts"
    assert "test-time augmentation: shifts" in (trained_runs["alpha"] / "MODEL_CARD.md").read_text()
    faces = np.random.default_rng(5).uniform(0, 255, (2, 48, 48, 1)).astype(np.float32)
    np.testing.assert_allclose(Predictor.load("alpha").classify(faces),
                               predict_probabilities(alpha_model, faces, tta="shifts"), atol=1e-6)


def test_a_tta_is_not_adopted_on_another_data_set(trained_runs, isolated_dirs):
    before = {name: (trained_runs["alpha"] / name).read_bytes() for name in ("config.json", "evaluation/validation.json")}
    other = make_image_dataset(isolated_dirs["data"] / "other", {"train": 1, "validation": 2}, seed=3)

    with pytest.raises(DatasetError, match="other is not the data set alpha trained on"):
        adopt_tta("alpha", "shifts", data=str(other))

    assert {name: (trained_runs["alpha"] / name).read_bytes() for name in before} == before


def test_runs_tta_says_the_new_and_the_old_figure_in_one_line(trained_runs, capsys):
    code = main(["runs", "tta", "alpha", "flip"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("alpha predicts with flip TTA: validation ") and out.endswith("with off)\n")
    assert out.count("\n") == 1


# --- a user's own labelled folders: a hold-out with test/ only, and real photos ----------------


def test_a_folder_with_only_a_test_split_can_be_scored(trained_runs, tmp_path):
    holdout = make_image_dataset(tmp_path / "holdout", {"test": 2})
    report = evaluate_run("alpha", str(holdout), "test", save=False)
    assert report["split"] == "test" and sum(report["confusion_matrix"][0]) == 2
    assert 0 <= report["accuracy"] <= 1


def test_a_split_the_folder_lacks_is_refused_in_one_line(trained_runs, tmp_path):
    holdout = make_image_dataset(tmp_path / "holdout", {"test": 2})
    with pytest.raises(DatasetError, match="holdout has no validation split \\(it has test\\)"):
        evaluate_run("alpha", str(holdout), "validation", save=False)


@needs_photos
def test_labelled_photos_go_through_detection_and_count_the_ones_without_a_face(trained_runs, tmp_path, capsys):
    for label, names in {"happy": ["astronaut.png"], "neutral": ["grace_hopper.jpg", "coffee.png"]}.items():
        (tmp_path / "photos" / "test" / label).mkdir(parents=True)
        for name in names:
            shutil.copy(PHOTOS / name, tmp_path / "photos" / "test" / label / name)
    report = evaluate_photos("alpha", str(tmp_path / "photos"), "test")
    assert report["photos"] == 3 and report["no_face"] == 1  # the coffee cup has no face
    assert sum(map(sum, report["confusion_matrix"])) == 2
    assert report["accuracy_all_photos"] == pytest.approx(report["accuracy"] * 2 / 3)
    assert main(["evaluate", "alpha", "--data", str(tmp_path / "photos"), "--split", "test", "--faces", "detect"]) == 0
    assert "no face found on 1" in capsys.readouterr().err
    saved = json.loads((trained_runs["alpha"] / "evaluation" / "photos-test.json").read_text())  # as crops are saved
    assert (saved["faces"], saved["no_face"], saved["no_face_rate"]) == ("detect", 1, pytest.approx(1 / 3))


def test_a_seven_class_run_on_a_set_missing_two_classes_is_scored_on_the_images_present(trained_runs, alpha_model,
                                                                                          tmp_path):
    present = [name for name in EMOTIONS if name not in ("disgust", "neutral")]
    posed = make_image_dataset(tmp_path / "posed", {"test": 2}, class_names=present, seed=4)
    x, y = read_split_images(posed, "test")  # y: positions in EMOTIONS, alpha's classes
    predicted = alpha_model(x, training=False).numpy().argmax(axis=1)

    report = evaluate_run("alpha", str(posed), "test", save=False)

    assert report["n"] == 10 and report["accuracy"] == pytest.approx(np.mean(predicted == y))
    assert report["confusion_matrix"] == _hand_confusion(y, predicted)
    for name in ("disgust", "neutral"):  # no images: nothing to score, and a prediction of one is wrong
        assert report["per_class"][name] == {"precision": None, "recall": None, "f1": None, "support": 0}
    f1s = []
    for label in {EMOTIONS.index(name) for name in present}:
        hits = np.sum((predicted == label) & (y == label))
        precision = hits / max(1, np.sum(predicted == label))
        recall = hits / np.sum(y == label)
        f1s.append(0.0 if hits == 0 else 2 * precision * recall / (precision + recall))
    assert report["macro_f1"] == pytest.approx(np.mean(f1s))  # over the five classes with images
    assert report["note"] == ("posed has no images of disgust, neutral: scored on the 10 images of the other 5 "
                              "classes, a prediction of one of them counts as wrong")
