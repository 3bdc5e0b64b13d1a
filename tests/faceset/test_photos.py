"""Tests for emotion_core.faceset: labelled photos in, a data set of aligned face crops with a manifest out."""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from emotion_core.cli import main
from emotion_core.faces import LANDMARK_NAMES, FaceDetector
from emotion_core.faceset import MANIFEST_CSV, SUMMARY_JSON, faces_from_photos, read_manifest
from emotion_core.images import load_rgb
from tests.conftest import PHOTOS, needs_photos


def _labelled_photos(root, folders: dict[str, list[str]]):
    for folder, names in folders.items():
        (root / folder).mkdir(parents=True)
        for name in names:
            shutil.copy(PHOTOS / name, root / folder / name)
    return root


@needs_photos
def test_labelled_photos_become_aligned_crops_in_class_folders_that_data_summary_and_evaluate_read(
        trained_runs, tmp_path, capsys):
    photos = _labelled_photos(tmp_path / "photos", {"happy": ["astronaut.png"],
                                                    "Neutral": ["grace_hopper.jpg", "coffee.png"]})
    (photos / "happy" / "notes.jpg").write_text("not an image")
    out = tmp_path / "data" / "mine"

    assert main(["data", "faces", str(photos), "--out", str(out)]) == 0

    assert "2 faces from 4 photos" in capsys.readouterr().out
    record = json.loads((out / SUMMARY_JSON).read_text())
    assert (record["photos"], record["no_face"], record["unreadable"]) == (4, 1, 1)  # the coffee cup, the text
    assert record["counts"] == {"test": {"neutral": 1, "happy": 1}}
    manifest = read_manifest(out).set_index("source")
    assert sorted(manifest.index) == ["Neutral/grace_hopper.jpg", "happy/astronaut.png"]
    row = manifest.loc["happy/astronaut.png"]
    assert (row["split"], row["emotion"], row["file"]) == ("test", "happy", "test/happy/happy_astronaut-1.png")
    best = max(FaceDetector().detect(load_rgb(PHOTOS / "astronaut.png")), key=lambda box: box.score)
    assert (row["x"], row["y"], row["width"], row["height"]) == (best.x, best.y, best.width, best.height)
    assert len(row["landmarks"].split()) == 2 * len(LANDMARK_NAMES) and row["labelled"]  # x y each; when
    crop = np.asarray(Image.open(out / row["file"]))
    assert crop.shape[0] == crop.shape[1] and crop.shape[2] == 3  # square, colour kept

    assert main(["data", "summary", str(out), "--json", "--no-cache"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["splits"]["test"]["counts"]["happy"] == 1 and summary["splits"]["test"]["total"] == 2
    assert main(["evaluate", "alpha", "--data", str(out), "--split", "test", "--json", "--no-save"]) == 0
    [report] = json.loads(capsys.readouterr().out)
    assert report["n"] == 2 and report["per_class"]["sad"]["support"] == 0


def test_a_data_sets_splits_are_kept_and_photos_without_faces_are_counted(tmp_path):
    for split in ("train", "test"):
        (tmp_path / "set" / split / "sad").mkdir(parents=True)
        Image.new("RGB", (120, 90), (200, 180, 40)).save(tmp_path / "set" / split / "sad" / "wall.png")

    record = faces_from_photos(tmp_path / "set", tmp_path / "out")

    assert (record["photos"], record["no_face"], record["faces"]) == (2, 2, 0)
    assert read_manifest(tmp_path / "out").empty and (tmp_path / "out" / MANIFEST_CSV).is_file()


def test_a_folder_that_holds_files_or_photos_without_class_folders_are_refused_in_one_line(tmp_path, capsys):
    (tmp_path / "photos" / "happy").mkdir(parents=True)
    Image.new("RGB", (64, 64)).save(tmp_path / "photos" / "happy" / "a.png")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")

    assert main(["data", "faces", str(tmp_path / "photos"), "--out", str(tmp_path / "taken")]) == 2
    assert capsys.readouterr().err == (f"error: {tmp_path / 'taken'} already exists and is not an empty folder; "
                                       "choose a new --out folder\n")
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]  # nothing lost, nothing added
    assert main(["data", "faces", str(tmp_path / "photos" / "happy"), "--out", str(tmp_path / "new")]) == 2
    assert "has no class folders of photos" in capsys.readouterr().err
