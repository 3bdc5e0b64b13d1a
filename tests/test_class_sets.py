"""Class sets end to end: a one-epoch 3-class run trained on a generated 3-class data set, then
predicted, explained, evaluated, carded and compared beside the 7-class runs.

The run 'trio' (angry, sad, neutral) and its data set come from tests/factories.py; 'alpha' and
'beta' are the 7-class runs every other test uses, trained on the 7-class data set 'tiny'.
"""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from emotion_core import cli, comparison, registry, report
from emotion_core.config import config_from_dict
from emotion_core.datasets import DatasetError, open_dataset
from emotion_core.explain import Explainer, predict_and_explain
from emotion_core.labels import EMOTIONS
from emotion_core.predictor import Predictor, face_columns, results_frame
from emotion_core.scoring import evaluate_run
from tests.conftest import face_like_image, make_image_dataset
from tests.factories import THREE_CLASSES, train_tiny_run


def face_photo(label: str) -> np.ndarray:
    """One of the generated data set's faces, as an RGB photo that is already a face crop."""
    gray = face_like_image(EMOTIONS.index(label), np.random.default_rng(5))
    return np.asarray(gray.convert("RGB"))


# --- Training ---------------------------------------------------------------------------------------


def test_the_run_records_its_classes_and_the_counts_it_used(class_set_runs):
    run = registry.load_run(class_set_runs["trio"])

    assert run.config["classes"] == ["angry", "sad", "neutral"] and run.classes == THREE_CLASSES
    assert run.dataset["classes"] == ["angry", "sad", "neutral"]
    assert run.dataset["used_counts"] == {"train": {"angry": 6, "sad": 6, "neutral": 6},
                                          "validation": {"angry": 3, "sad": 3, "neutral": 3}}
    assert (run.dataset["train_images"], run.dataset["validation_images"]) == (18, 9)
    assert run.validation["class_names"] == list(THREE_CLASSES)
    assert np.asarray(run.validation["confusion_matrix"]).shape == (3, 3)
    assert run.summary_row()["classes"] == "angry, sad, neutral"


def test_a_run_from_before_class_sets_learned_all_seven(class_set_runs):
    alpha = registry.load_run(class_set_runs["alpha"])
    config = json.loads((alpha.path / registry.CONFIG_FILE).read_text())
    del config["classes"]
    (alpha.path / registry.CONFIG_FILE).write_text(json.dumps(config))

    assert registry.load_run(alpha.path).classes == EMOTIONS
    assert registry.load_run(alpha.path).summary_row()["classes"] == "all 7"


def test_a_three_class_run_on_the_seven_class_data_leaves_the_others_out(isolated_dirs):
    data = make_image_dataset(isolated_dirs["data"] / "seven", {"train": 4, "validation": 2})

    run_dir = train_tiny_run(isolated_dirs["models"], data, "subset", epochs=1, classes="angry,neutral,sad")

    recorded = json.loads((run_dir / registry.DATASET_FILE).read_text())
    assert recorded["counts"]["train"]["happy"] == 4  # what the data set holds
    assert recorded["used_counts"]["train"] == {"angry": 4, "sad": 4, "neutral": 4}  # what the run used
    assert recorded["validation_images"] == 6


def test_training_on_classes_the_data_set_lacks_is_refused_before_a_run_folder_exists(class_set_runs,
                                                                                     isolated_dirs):
    with pytest.raises(DatasetError, match=r"^trio has no train images of disgust, fear, happy, surprise; .*"
                                           r"--classes angry,sad,neutral"):
        train_tiny_run(isolated_dirs["models"], class_set_runs["trio_data"], "seven-on-three", epochs=1)
    assert not (isolated_dirs["models"] / "seven-on-three").exists()


def test_a_warm_start_from_a_run_lacking_some_of_the_classes_is_refused(class_set_runs, isolated_dirs):
    # The other way, three classes from a run of seven, keeps those classes' outputs
    # (tests/test_training.py); seven from a run of three has no outputs for four of them.
    with pytest.raises(ValueError, match="init_from run trio learned angry, sad, neutral classes, not all 7"):
        train_tiny_run(isolated_dirs["models"], class_set_runs["data"], "warm", epochs=1, init_from="trio")


# --- Prediction and explanation ----------------------------------------------------------------------


def test_it_predicts_three_probabilities_that_sum_to_one(class_set_runs):
    predictor = Predictor.load("trio")

    (face,) = predictor.predict(face_photo("sad"), whole_image_fallback=True)

    assert predictor.classes == THREE_CLASSES and list(face.probabilities) == list(THREE_CLASSES)
    assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert face.valence == {"angry": "negative", "sad": "negative", "neutral": "neutral"}[face.label]
    record = json.loads(json.dumps(face.as_dict()))
    assert set(record["probabilities"]) == set(THREE_CLASSES) and record["valence"] == face.valence
    table = results_frame([face], "sad.png", "trio", predictor.classes)
    assert list(table.columns) == ["file", *face_columns(THREE_CLASSES), "whole_image", "model"]
    assert "happy" not in table.columns and table["valence"].item() == face.valence


def test_its_grad_cam_explains_each_of_its_classes_and_refuses_another(class_set_runs):
    predictor = Predictor.load("trio")
    explainer = Explainer(predictor.model)
    photo = face_photo("angry")

    maps = {}
    for target in THREE_CLASSES:
        faces, (heatmap,) = predict_and_explain(predictor, photo, "gradcam", target, explainer=explainer,
                                                whole_image_fallback=True)
        assert heatmap.shape == (48, 48) and 0.0 <= heatmap.min() and heatmap.max() <= 1.0
        maps[target] = heatmap
    faces, (own,) = predict_and_explain(predictor, photo, "gradcam", explainer=explainer, whole_image_fallback=True)
    np.testing.assert_allclose(own, maps[faces[0].label], atol=1e-5)  # no target: the predicted class
    with pytest.raises(ValueError, match="trio did not learn 'happy'; it explains angry, sad, neutral"):
        predict_and_explain(predictor, photo, "gradcam", "happy", explainer=explainer, whole_image_fallback=True)


def test_predict_json_has_the_runs_classes_and_a_valence(class_set_runs, tmp_path, capsys):
    path = tmp_path / "face.png"
    Image.fromarray(face_photo("neutral")).save(path)

    assert cli.main(["predict", str(path), "--model", "trio", "--whole-image", "--json"]) == 0

    (face,) = json.loads(capsys.readouterr().out)[str(path)]
    assert set(face["probabilities"]) == set(THREE_CLASSES)
    assert face["valence"] in ("negative", "neutral")


def test_a_runs_valence_file_overrides_the_mapping(class_set_runs):
    (class_set_runs["trio"] / "valence.json").write_text(json.dumps({"neutral": "positive"}))

    predictor = Predictor.load("trio")

    assert predictor.valence["neutral"] == "positive" and predictor.valence["sad"] == "negative"


def test_a_data_sets_valence_file_is_recorded_by_the_run_and_used_by_its_predictor(class_set_runs, isolated_dirs):
    data = class_set_runs["trio_data"]
    (data / "valence.json").write_text(json.dumps({"surprise": "happy"}))
    with pytest.raises(DatasetError, match="valence.json: valence of surprise must be one of"):
        train_tiny_run(isolated_dirs["models"], data, "bad-valence", epochs=1, classes=list(THREE_CLASSES))
    assert not (isolated_dirs["models"] / "bad-valence").exists()

    (data / "valence.json").write_text(json.dumps({"Anger": "neutral"}))
    run_dir = train_tiny_run(isolated_dirs["models"], data, "calm-anger", epochs=1, classes=list(THREE_CLASSES))

    assert json.loads((run_dir / registry.DATASET_FILE).read_text())["valence"] == {"Anger": "neutral"}
    assert Predictor.load("calm-anger").valence["angry"] == "neutral"


def test_a_bad_valence_file_is_one_line_saying_so(class_set_runs):
    (class_set_runs["trio"] / "valence.json").write_text(json.dumps({"neutral": "meh"}))

    with pytest.raises(registry.RunError,
                       match="^Run trio: valence of neutral must be one of positive, neutral, negative"):
        Predictor.load("trio")


# --- Evaluation ---------------------------------------------------------------------------------------


def test_its_evaluation_on_its_own_data_has_three_classes(class_set_runs):
    report_ = evaluate_run("trio", save=False)

    assert report_["class_names"] == list(THREE_CLASSES) and report_["n"] == 9
    assert {name: scores["support"] for name, scores in report_["per_class"].items()} == {
        "angry": 3, "sad": 3, "neutral": 3}
    assert "note" not in report_


def test_on_a_seven_class_data_set_the_other_classes_are_left_out_and_a_line_says_so(class_set_runs, capsys):
    assert cli.main(["evaluate", "trio", "--data", str(class_set_runs["data"]), "--no-save", "--json"]) == 0

    captured = capsys.readouterr()
    [report_] = json.loads(captured.out)
    assert report_["n"] == 9 and report_["class_names"] == list(THREE_CLASSES)  # 3 validation images a class
    assert captured.err == ("mapped: scored on the run's classes (angry, sad, neutral); 12 images of disgust, "
                            "fear, happy, surprise left out, classes trio did not learn\n")


def test_a_seven_class_run_on_the_three_class_data_set_is_scored_on_its_images_and_a_line_says_so(class_set_runs,
                                                                                                 capsys):
    assert cli.main(["evaluate", "alpha", "--data", str(class_set_runs["trio_data"]), "--no-save"]) == 0

    captured = capsys.readouterr()
    assert captured.err == ("trio has no images of disgust, fear, happy, surprise: scored on the 9 images of the "
                            "other 3 classes, a prediction of one of them counts as wrong\n")
    assert [line.split()[0] for line in captured.out.splitlines() if "no images" in line] == [
        "disgust", "fear", "happy", "surprise"]


# --- Reading runs: the model card and the comparisons ---------------------------------------------------------


def test_the_model_card_names_its_three_classes(class_set_runs):
    card = (class_set_runs["trio"] / registry.MODEL_CARD_FILE).read_text()

    assert "into one of 3 emotions (angry, sad, neutral)" in card
    assert "trained without disgust, fear, happy, surprise" in card
    assert "Images per class used (train: angry 6, sad 6, neutral 6; validation: angry 3, sad 3, neutral 3)" in card
    assert "| happy |" not in card and "Disgust has about" not in card


def test_the_runs_tables_show_each_class_set(class_set_runs):
    runs = registry.list_runs()

    frame = comparison.runs_frame(runs)
    assert dict(zip(frame["run"], frame["classes"])) == {"alpha": "all 7", "beta": "all 7",
                                                          "trio": "angry, sad, neutral"}
    assert comparison.class_sets(frame) == ["all 7", "angry, sad, neutral"]
    assert list(comparison.filter_runs(frame, class_set="angry, sad, neutral")["run"]) == ["trio"]
    assert list(comparison.filter_runs(frame, "neutral")["run"]) == ["trio"]
    markdown = report.format_runs_markdown(runs, None).splitlines()
    assert markdown[0].endswith("| hardware | classes |")
    assert next(line for line in markdown if "`trio`" in line).endswith("| angry, sad, neutral |")


def test_like_for_like_never_sets_runs_of_two_class_sets_together(class_set_runs):
    # 'trio' and its 7-class twin get alpha's recipe and data but for the optimizer: only the twin
    # compares with alpha.
    alpha = registry.load_run(class_set_runs["alpha"])
    twin = class_set_runs["trio"].parent / "twin"
    shutil.copytree(class_set_runs["trio"], twin)
    for folder, classes in ((class_set_runs["trio"], THREE_CLASSES), (twin, EMOTIONS)):
        config = {**alpha.config, "optimizer": "adam", "classes": list(classes), "name": folder.name}
        (folder / registry.CONFIG_FILE).write_text(json.dumps(config))
        (folder / registry.DATASET_FILE).write_text(json.dumps(alpha.dataset))

    like = comparison.like_for_like(registry.list_runs(), "optimizer")

    assert sorted(like["run"]) == ["alpha", "twin"] and set(like["classes"]) == {"all 7"}


def test_config_from_dict_reads_a_class_list_in_any_order_and_alias():
    assert config_from_dict({"classes": ["Sadness", "anger", "neutral"]}).classes == THREE_CLASSES
    assert config_from_dict({"classes": "neutral,sad,angry"}).classes == THREE_CLASSES
    assert config_from_dict({}).to_dict()["classes"] == list(EMOTIONS)
    with pytest.raises(ValueError, match="^unknown class 'joyful'"):
        config_from_dict({"classes": ["joyful", "sad"]})
    with pytest.raises(ValueError, match="^a class set needs at least two"):
        config_from_dict({"classes": ["sad", "sadness"]})
    with pytest.raises(ValueError, match="^config key 'classes' must be a list of class names, not int$"):
        config_from_dict({"classes": 3})


def test_the_three_class_data_set_reports_its_classes(class_set_runs):
    assert open_dataset(class_set_runs["trio_data"]).classes == THREE_CLASSES
