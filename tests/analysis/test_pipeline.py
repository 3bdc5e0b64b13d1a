"""Tests for emotion_core.analysis.pipeline: a folder or a .zip of photos analysed into a CSV, one row per face."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from emotion_core.analysis import STATUS_NO_FACE, analyze, read_results, results_path
from emotion_core.faces import FACE_SIZES
from emotion_core.labels import EMOTIONS
from tests.analysis.photos import FACES, LAYOUT, BrightnessPredictor, face_tiles, group_photo, rows, zip_folder
from tests.conftest import needs_photos
from tests.test_faces import face_grid


@needs_photos
def test_one_row_per_face_and_one_per_photo_without_a_readable_face(reference):
    csv_path, counts, _ = reference
    table = rows(csv_path)
    assert counts == {"images": 9, "skipped_as_done": 0, "faces": FACES, "no_face": 2, "unreadable": 1}
    assert len(table) == FACES + 3
    assert [row["file"] for row in table] == sorted(row["file"] for row in table)  # file order
    by_file = {}
    for row in table:
        by_file.setdefault(row["file"], []).append(row)
    for name, content in LAYOUT.items():
        if isinstance(content, list):
            assert [row["face"] for row in by_file[name]] == [str(i) for i in range(1, len(content) + 1)]
            assert {row["faces_in_image"] for row in by_file[name]} == {str(len(content))}
    assert [row["status"] for row in by_file["ad_a/a3.png"]] == [STATUS_NO_FACE]
    assert [row["status"] for row in by_file["ad_b/b4.png"]] == [STATUS_NO_FACE]
    (unreadable,) = by_file["ad_b/b3.jpg"]
    assert unreadable["status"].startswith("unreadable: ") and unreadable["emotion"] == ""


@needs_photos
def test_face_rows_hold_the_box_label_and_probabilities(reference):
    csv_path, _, _ = reference
    frame = read_results(csv_path)
    faces = frame[frame["status"] == "ok"]
    assert np.allclose(faces[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-3)
    assert (faces["emotion"] == faces[list(EMOTIONS)].idxmax(axis=1)).all()
    assert np.allclose(faces["confidence"], faces[list(EMOTIONS)].max(axis=1))
    assert ((faces["x"] >= 0) & (faces["x"] + faces["width"] <= 320)).all()
    assert (faces["detection_score"] > 0).all() and (faces["model"] == "stub").all()
    # Left to right in top.png: the astronaut (happy), then Grace Hopper (neutral).
    assert faces[faces["file"] == "top.png"]["emotion"].tolist() == ["happy", "neutral"]


@needs_photos
def test_faces_from_many_photos_are_classified_in_one_model_call(reference):
    _, _, predictor = reference
    assert predictor.batches == [FACES]  # six photos with faces, one batch
    assert len(predictor.detector.calls) == len(LAYOUT) - 1  # every readable photo, once


@needs_photos
def test_a_zip_gives_the_same_rows_as_the_folder(photo_folder, reference, tmp_path):
    archive = zip_folder(photo_folder, tmp_path / "photos.zip", prefix="campaign/")
    counts = analyze(archive, tmp_path / "zip.csv", BrightnessPredictor())
    assert counts == reference[1]
    from_zip = read_results(tmp_path / "zip.csv")
    from_folder = read_results(reference[0])
    assert (from_zip["file"] == "campaign/" + from_folder["file"]).all()
    pd.testing.assert_frame_equal(from_zip.drop(columns="file"), from_folder.drop(columns="file"))


def test_an_empty_folder_is_a_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No images"):
        analyze(tmp_path / "empty", tmp_path / "out.csv", BrightnessPredictor())


@needs_photos
def test_large_faces_only_reports_a_crowd_of_small_faces_as_no_face(tmp_path):
    tiles = face_tiles()
    group_photo(tiles, ["astronaut"]).save(tmp_path / "portrait.png")  # a face ~30% of the photo
    crowd, _ = face_grid(np.asarray(Image.fromarray(tiles["astronaut"]).resize((150, 150))), 20, 5, gap=37)
    Image.fromarray(crowd).save(tmp_path / "crowd.png")  # 5 x 4 faces, each ~12% of the photo's height
    results = {}
    for face_size in FACE_SIZES:
        csv_path = results_path(tmp_path / "upload", "stub", face_size)
        analyze(tmp_path, csv_path, BrightnessPredictor(), min_face_fraction=FACE_SIZES[face_size])
        results[face_size] = read_results(csv_path).groupby("file")["faces_in_image"].first().to_dict()
    assert results["any"] == {"crowd.png": 20, "portrait.png": 1}
    assert results["large"] == {"crowd.png": 0, "portrait.png": 1}
    assert results_path(tmp_path / "upload", "stub", "large").name == "results-stub-large-faces.csv"
