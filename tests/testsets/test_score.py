"""Every run with weights scored on each test set, again only when the set's content or the run's weights change."""

import json
import shutil

import pytest

from emotion_core import comparison, registry
from emotion_core.datasets import data_root
from emotion_core.scoring import evaluate_runs
from emotion_core.testsets import add_folder, add_zip, list_sets, score_set, score_sets, stale_runs, status_rows
from tests.conftest import PHOTOS, make_image_dataset, needs_photos
from tests.testsets.test_catalog import zipped


def saved(run_dir, key):
    return json.loads((run_dir / registry.EVALUATION_DIR / f"{key}.json").read_text())


def test_runs_are_scored_once_and_again_only_when_the_sets_content_or_a_runs_weights_change(trained_runs):
    # BMP files: an image's size depends only on its pixels' count, so swapping two images' content
    # keeps every name and size (Dataset.fingerprint) and changes only what the images show.
    posed = make_image_dataset(data_root() / "posed", {"test": 2}, suffix=".bmp", seed=3)
    add_folder("posed")

    first = score_set("posed")
    assert (sorted(first["scored"]), first["unchanged"], first["failed"]) == (["alpha", "beta"], [], {})
    expected = {report["run"]: report for report in evaluate_runs(["alpha", "beta"], "posed", "test", save=False)}
    alpha = saved(trained_runs["alpha"], "posed-test")
    assert alpha["accuracy"] == expected["alpha"]["accuracy"] and alpha["confusion_matrix"] == expected["alpha"]["confusion_matrix"]
    assert "`posed` test: accuracy" in (trained_runs["alpha"] / "MODEL_CARD.md").read_text()

    again = score_set("posed")
    assert (again["scored"], sorted(again["unchanged"])) == ([], ["alpha", "beta"])
    assert saved(trained_runs["alpha"], "posed-test")["evaluated"] == alpha["evaluated"]  # not rewritten

    happy, sad = posed / "test" / "happy" / "test_0.bmp", posed / "test" / "sad" / "test_0.bmp"
    happy_bytes, sad_bytes = happy.read_bytes(), sad.read_bytes()
    happy.write_bytes(sad_bytes), sad.write_bytes(happy_bytes)
    assert sorted(score_set("posed")["scored"]) == ["alpha", "beta"]  # the set changed: every run again

    shutil.copy(trained_runs["beta"] / registry.MODEL_FILE, trained_runs["alpha"] / registry.MODEL_FILE)  # "retrained"
    assert stale_runs(list_sets()[0])[0] == ["alpha"]
    assert score_set("posed")["scored"] == ["alpha"]
    assert status_rows(list_sets()) == [{"name": "posed", "split": "test", "kind": "crops", "images": 14, "runs": 2,
                                         "current": 2, "problem": ""}]


def test_a_run_that_cannot_be_scored_on_a_set_is_listed_and_the_others_are_scored(class_set_runs):
    make_image_dataset(data_root() / "smiles", {"test": 2}, class_names=("happy", "surprise"))
    add_folder("smiles")

    [result] = score_sets()

    assert sorted(result["scored"]) == ["alpha", "beta"]
    assert result["failed"] == {"trio": "smiles test has no images of trio's classes (angry, sad, neutral)"}


def test_a_run_still_training_is_scored_once_it_completes(trained_runs):
    make_image_dataset(data_root() / "posed", {"test": 1})
    add_folder("posed")
    registry.update_status(trained_runs["beta"], state="running")

    assert score_set("posed")["scored"] == ["alpha"]

    registry.update_status(trained_runs["beta"], state="complete")
    assert stale_runs(list_sets()[0])[0] == ["beta"]


def test_a_set_whose_folder_is_gone_is_reported_not_fatal(trained_runs):
    make_image_dataset(data_root() / "gone", {"test": 1})
    add_folder("gone")
    shutil.rmtree(data_root() / "gone")

    [result] = score_sets()

    assert result["scored"] == [] and result["failed"]["*"].startswith("No data set at")
    assert status_rows(list_sets())[0]["problem"].startswith("No data set at")


@needs_photos
def test_a_zip_of_photos_is_scored_through_detection_with_its_no_face_rate_in_the_table(trained_runs):
    photos = {"happy/astronaut.png": "astronaut.png", "neutral/grace.jpg": "grace_hopper.jpg",
              "neutral/coffee.png": "coffee.png"}  # the coffee cup has no face
    testset = add_zip("real.zip", zipped({name: (PHOTOS / source).read_bytes() for name, source in photos.items()}))
    assert testset.kind == "photos"

    result = score_set("real")

    assert sorted(result["scored"]) == ["alpha", "beta"]
    report = saved(trained_runs["alpha"], "real-test")
    assert (report["faces"], report["photos"], report["no_face"]) == ("detect", 3, 1)
    assert report["no_face_rate"] == pytest.approx(1 / 3)
    frame = comparison.test_sets_frame(registry.list_runs(), ["real"], list_sets()).set_index("run")
    assert frame.loc["alpha", "real · test no face"] == pytest.approx(1 / 3)
    assert frame.loc["alpha", "real · test accuracy"] == report["accuracy_all_photos"]
    assert "no face found on 1 (33.3%) counted as wrong" in (trained_runs["alpha"] / "MODEL_CARD.md").read_text()
    assert score_set("real")["scored"] == []  # photos unchanged, runs unchanged
