"""Tests for emotion_core.analysis.uploads: an app's upload analysed in memory, or kept and resumable."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from emotion_core.analysis import (CSV_COLUMNS, THUMBNAIL_PIXELS, analyze_in_memory, analyze_upload, count_images,
                                   discard_uploads, kept_files_done, list_images, pipeline, read_results, results_path,
                                   store_uploads, uploads)
from emotion_core.labels import EMOTIONS
from tests.analysis.photos import (FACES, BrightnessPredictor, Interrupt, encoded, face_tiles, group_photo,
                                   interrupt_after, no_face_photo, png, upload_of)
from tests.conftest import needs_photos


@needs_photos
def test_an_upload_analysed_in_memory_leaves_nothing_on_disk(photo_folder, reference, tmp_path, private_tmp,
                                                             isolated_dirs):
    files = upload_of(photo_folder, tmp_path)
    during = []
    predictor = BrightnessPredictor()
    analysis = analyze_in_memory(files, predictor, lambda done, total: during.append(any(private_tmp.iterdir())),
                                 per_emotion=24)

    assert during and all(during)  # the photos were in a temporary folder while being analysed...
    assert list(private_tmp.iterdir()) == [] and list(isolated_dirs["cache"].iterdir()) == []  # ...and only then
    assert analysis.csv == reference[0].read_bytes()
    pd.testing.assert_frame_equal(analysis.results, read_results(reference[0]))
    # Every face (24 per emotion is all of them here), as the grid and Grad-CAM need it.
    faces = analysis.results[analysis.results["status"] == "ok"]
    assert sorted(analysis.thumbnails) == sorted(analysis.model_inputs) == faces.index.tolist()
    assert {thumb.shape for thumb in analysis.thumbnails.values()} == {(THUMBNAIL_PIXELS,) * 2 + (3,)}
    inputs = np.stack([analysis.model_inputs[row] for row in faces.index])
    assert inputs.shape == (FACES, 48, 48, 1)
    assert np.allclose(predictor.classify(inputs), faces[list(EMOTIONS)].to_numpy(), atol=1e-4)


@needs_photos
def test_an_interrupted_analysis_in_memory_leaves_nothing_either(photo_folder, tmp_path, private_tmp):
    with pytest.raises(Interrupt):
        analyze_in_memory(upload_of(photo_folder, tmp_path), BrightnessPredictor(), interrupt_after(3),
                          per_emotion=24)
    assert list(private_tmp.iterdir()) == []


@needs_photos
def test_gif_uploads_are_analysed_from_their_first_frame(private_tmp):
    tiles = face_tiles()
    buffer = io.BytesIO()
    first, second = group_photo(tiles, ["astronaut", "grace"]), no_face_photo("gradient")
    first.save(buffer, format="GIF", save_all=True, append_images=[second])
    analysis = analyze_in_memory([("ad.gif", buffer.getvalue())], BrightnessPredictor(), per_emotion=24)
    assert analysis.results["file"].tolist() == ["ad.gif", "ad.gif"]
    assert analysis.results["emotion"].tolist() == ["happy", "neutral"]  # astronaut, then Grace Hopper
    assert count_images([("ad.gif", b"")]) == 1


@needs_photos
def test_tiff_uploads_are_analysed_like_any_photo(private_tmp):
    files = [("ad.tif", encoded(group_photo(face_tiles(), ["astronaut", "grace"]), "TIFF"))]
    assert count_images(files + [("ad.TIFF", b"")]) == 2
    analysis = analyze_upload(files, None, BrightnessPredictor(), per_emotion=24)
    assert analysis.results["status"].tolist() == ["ok", "ok"]
    assert analysis.results["emotion"].tolist() == ["happy", "neutral"]  # astronaut, then Grace Hopper


@needs_photos
def test_an_upload_not_kept_is_analysed_in_memory(photo_folder, reference, tmp_path, private_tmp, isolated_dirs):
    analysis = analyze_upload(upload_of(photo_folder, tmp_path), None, BrightnessPredictor(), per_emotion=24)
    assert analysis.csv == reference[0].read_bytes()
    assert list(private_tmp.iterdir()) == [] and list(isolated_dirs["cache"].iterdir()) == []
    assert kept_files_done(None, "stub") == 0


@needs_photos
def test_a_kept_upload_is_continued_then_read_as_it_is(tmp_path, monkeypatch):
    tiles = face_tiles()
    files = [("two.png", encoded(group_photo(tiles, ["astronaut", "astronaut"]))),
             ("one.png", encoded(group_photo(tiles, ["grace"]))), ("plain.png", png("gray"))]
    kept = store_uploads(files, tmp_path / "uploads")
    monkeypatch.setattr(pipeline, "FACES_PER_BATCH", 1)  # a row written per photo, so a cut keeps one
    with pytest.raises(Interrupt):
        analyze_upload(files, kept, BrightnessPredictor(), interrupt_after(1), per_emotion=24)
    assert kept_files_done(kept, "stub") == 1 and kept_files_done(kept, "stub", "large") == 0

    rerun = BrightnessPredictor()
    analysis = analyze_upload(files, kept, rerun, per_emotion=24)
    assert len(rerun.detector.calls) == 2  # the two photos left, not the one done
    assert kept_files_done(kept, "stub") == 3
    assert analysis.csv == results_path(kept, "stub").read_bytes()
    assert analysis.results["faces_in_image"].tolist() == [1, 0, 2, 2]  # one.png, plain.png, two.png
    assert sorted(analysis.thumbnails) == [0, 2, 3]  # the faces, not the photo without one

    finished = BrightnessPredictor()
    again = analyze_upload(files, kept, finished, per_emotion=24)
    assert finished.detector.calls == [] and finished.batches == []  # complete: only read back
    assert again.csv == analysis.csv

    large = analyze_upload(files, kept, BrightnessPredictor(), per_emotion=24, face_size="large")
    assert results_path(kept, "stub", "large").read_bytes() == large.csv  # a results file of its own
    assert kept_files_done(kept, "stub", "large") == 3


def test_results_kept_by_an_older_version_are_analysed_afresh(tmp_path):
    files = [("one.png", encoded(group_photo(face_tiles(), ["grace"])))]
    kept = store_uploads(files, tmp_path / "uploads")
    old_columns = [column for column in CSV_COLUMNS if column != "valence"]  # before valence was a column
    row = ["one.png", "", "1", "1"] + [""] * (len(old_columns) - 4)
    results_path(kept, "stub").write_text(",".join(old_columns) + "\n" + ",".join(row) + "\n")

    assert kept_files_done(kept, "stub") == 0 and not results_path(kept, "stub").exists()
    analysis = analyze_upload(files, kept, BrightnessPredictor(), per_emotion=24)
    assert analysis.results["valence"].tolist() == ["neutral"]  # Grace Hopper's face is the stub's neutral one


def test_count_images_reads_the_upload_in_memory(tmp_path):
    assert count_images([("a.png", b""), ("../b.GIF", b""), ("notes.txt", b"")]) == 2
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("ad/1.png", "ad/2.webp", "ad/.hidden.png", "__MACOSX/ad/1.png", "ad/readme.md"):
            archive.writestr(name, b"x")
    assert count_images([("photos.zip", buffer.getvalue())]) == 2
    with pytest.raises(ValueError, match="not a valid .zip"):
        count_images([("broken.zip", b"PK not really")])


def test_uploads_are_stored_once_by_content_with_safe_unique_names(tmp_path):
    files = [("a.png", png("red")), ("a.png", png("blue")), ("../../evil.png", png("green"))]
    folder = store_uploads(files, tmp_path / "uploads")
    assert sorted(p.name for p in folder.iterdir()) == ["a-2.png", "a.png", "evil.png"]
    assert store_uploads(list(reversed(files)), tmp_path / "uploads").parent == folder.parent
    assert results_path(folder, "alpha") == folder.parent / "results-alpha.csv"


def test_a_zip_upload_is_analysed_as_it_is_and_mixing_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ad/1.png", png("red"))
    stored = store_uploads([("photos.zip", buffer.getvalue())], tmp_path / "uploads")
    assert stored.suffix == ".zip" and [s.name for s in list_images(stored)] == ["ad/1.png"]
    with pytest.raises(ValueError, match="either one .zip or several images"):
        store_uploads([("photos.zip", buffer.getvalue()), ("a.png", png("red"))], tmp_path / "uploads")
    with pytest.raises(ValueError, match="not a valid .zip"):
        store_uploads([("broken.zip", b"PK not really")], tmp_path / "uploads")


def test_discarding_an_upload_deletes_its_folder_and_results_only(tmp_path):
    kept = [("a.png", png("red"))]
    other = store_uploads([("b.png", png("blue"))], tmp_path / "uploads")
    folder = store_uploads(kept, tmp_path / "uploads")
    results_path(folder, "alpha").write_text("file\n")
    assert discard_uploads(list(kept), tmp_path / "uploads")
    assert not folder.parent.exists() and other.exists()
    assert not discard_uploads(kept, tmp_path / "uploads")  # nothing left to delete


def test_only_the_latest_uploads_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(uploads, "KEEP_UPLOADS", 2)
    folders = [store_uploads([(f"{i}.png", png((i, i, i)))], tmp_path / "uploads").parent
               for i in range(4)]
    assert [folder.exists() for folder in folders] == [False, False, True, True]
