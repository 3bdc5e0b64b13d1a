"""Tests for emotion_core.faceset.labelling: a finished analysis's faces, labelled one by one into a face set."""

import json

import numpy as np
import pytest
from PIL import Image

from emotion_core.cli import main
from emotion_core.faces import crop_face
from emotion_core.faceset import MANIFEST_CSV, SUMMARY_JSON, read_manifest
from emotion_core.faceset.labelling import (NOT_A_FACE, SKIP, STATE_JSON, Labelling, LabellingError, face_sets,
                                            faces_of_analysis, labelling_outputs)
from tests.conftest import needs_photos
from tests.faceset.analyses import BOX, write_analysis


def test_the_queue_holds_every_photo_face_and_one_face_of_each_viewer_a_second(tmp_path):
    out, _media = write_analysis(tmp_path)

    faces = faces_of_analysis(out)

    assert [face.where for face in faces] == ["ad_a/one.png, face 1", "ad_a/two.png, face 1", "ad_a/two.png, face 2",
                                              "clip.mp4 at 0.0 s, viewer 1", "clip.mp4 at 1.0 s, viewer 1"]
    assert [face.guess for face in faces] == ["happy", "sad", "happy", "sad", "happy"]
    assert faces[0].confidence == pytest.approx(0.7) and faces[0].box == BOX
    assert labelling_outputs(tmp_path / "analyses")[0].path == out
    (out / "results.csv").unlink()  # an analysis of videos only has no results.csv, and is listed too
    assert [face.file for face in faces_of_analysis(out)] == ["clip.mp4", "clip.mp4"]
    assert labelling_outputs(tmp_path / "analyses")[0].path == out


def test_labels_become_class_folders_and_a_manifest_that_data_summary_reads(tmp_path, capsys):
    analysis, media = write_analysis(tmp_path)
    out = tmp_path / "data" / "my-faces"
    session = Labelling.open(analysis, out)
    first = session.next_face()

    path = session.answer(first, "happy")  # the model's guess, confirmed
    crop = np.asarray(Image.open(path))
    expected = crop_face(np.asarray(Image.open(media / "ad_a" / "one.png")), BOX)
    assert np.array_equal(crop, expected)  # the aligned crop the model saw, in colour
    session.answer(session.next_face(), "angry")  # the model said sad: corrected
    session.answer(session.next_face(), NOT_A_FACE)
    video_face = session.next_face()
    assert video_face.time_s == 0.0
    video_crop = np.asarray(Image.open(session.answer(video_face, "sad")))
    late = session.crop(session.next_face())  # the frame at 1.0 s, lighter than the one at 0 s
    assert late.mean() > video_crop.mean() + 60  # 40 + 20 x 5 grey levels against 40 (codec noise aside)

    manifest = read_manifest(out)
    assert list(manifest["emotion"]) == ["happy", "angry", "sad"]
    assert list(manifest["guess"]) == ["happy", "sad", "sad"]
    assert list(manifest["source"]) == ["ad_a/one.png", "ad_a/two.png", "clip.mp4"]
    assert list(manifest["time_s"]) == ["", "", "0.0"]  # empty for a photo
    assert (manifest.loc[0, ["x", "y", "width", "height"]].tolist() == [40, 30, 80, 80]) and manifest.loc[0, "labelled"]
    summary = json.loads((out / SUMMARY_JSON).read_text())
    assert summary["counts"] == {"test": {"happy": 1, "angry": 1, "sad": 1}} and summary["not_a_face"] == 1
    assert session.progress() == {"faces": 5, "labelled": 3, "not_a_face": 1, "skipped": 0, "left": 1,
                                  "labels": {"angry": 1, "sad": 1, "happy": 1}}

    [listed] = face_sets(tmp_path / "data")
    assert (listed["name"], listed["faces"], listed["happy"], listed["fear"], listed["from"]) == ("my-faces", 3, 1, 0,
                                                                                                  "campaign")
    assert main(["data", "summary", str(out), "--json", "--no-cache"]) == 0
    counts = json.loads(capsys.readouterr().out)["splits"]["test"]["counts"]
    assert (counts["happy"], counts["angry"], counts["sad"], counts["fear"]) == (1, 1, 1, 0)


def test_reopening_continues_where_the_user_left_off_and_skipped_faces_come_last(tmp_path):
    analysis, _media = write_analysis(tmp_path, with_video=False)
    out = tmp_path / "data" / "mine"
    session = Labelling.open(analysis, out)
    first = session.next_face()
    session.answer(first, SKIP)
    session.answer(session.next_face(), "sad")

    again = Labelling.open(analysis, out)

    assert [face.where for face in again.pending()] == ["ad_a/two.png, face 2", "ad_a/one.png, face 1"]
    with pytest.raises(LabellingError, match="already has an answer"):
        again.answer(again.faces[1], "happy")  # labelled in the first session: never twice
    again.answer(again.next_face(), "happy")
    again.answer(again.next_face(), "happy")  # the skipped one, after all
    assert again.next_face() is None
    assert list(read_manifest(out)["emotion"]) == ["sad", "happy", "happy"]
    assert json.loads((out / STATE_JSON).read_text())["answers"][first.key] == "happy"


def test_a_folder_that_holds_something_else_is_refused_in_one_line(tmp_path):
    analysis, _media = write_analysis(tmp_path, with_video=False)
    other = tmp_path / "data" / "fer"
    other.mkdir(parents=True)
    (other / "notes.txt").write_text("mine")
    with pytest.raises(LabellingError, match="already exists and holds other files"):
        Labelling.open(analysis, other)
    Labelling.open(analysis, tmp_path / "data" / "mine")
    second, _ = write_analysis(tmp_path / "second", with_video=False)
    with pytest.raises(LabellingError, match="holds the labels of another analysis"):
        Labelling.open(second, tmp_path / "data" / "mine")
    with pytest.raises(LabellingError, match="not a finished analysis"):
        Labelling.open(tmp_path / "media", tmp_path / "data" / "new")
    assert (other / "notes.txt").read_text() == "mine" and not (other / MANIFEST_CSV).exists()
    (second / "results.csv").write_text((second / "results.csv").read_text().splitlines()[0] + "\n")
    with pytest.raises(LabellingError, match="found no face to label"):
        Labelling.open(second, tmp_path / "data" / "none")
    assert not (tmp_path / "data" / "none").exists()  # nothing left behind to refuse the name later


@needs_photos
def test_the_real_faces_of_an_analysed_zip_are_labelled_as_aligned_crops_a_detector_finds_again(tmp_path):
    from emotion_core.analysis import analyze, write_manifest
    from emotion_core.faces import FaceDetector
    from tests.analysis.photos import FACES, BrightnessPredictor, write_folder, zip_folder

    photos = zip_folder(write_folder(tmp_path / "campaign"), tmp_path / "campaign.zip")
    out = tmp_path / "analyses" / "campaign"
    counts = analyze(photos, out / "results.csv", BrightnessPredictor())
    write_manifest(out, source=str(photos), model="stub", engine="local", **counts)

    session = Labelling.open(out, tmp_path / "data" / "campaign-faces")
    assert len(session.faces) == FACES
    while (face := session.next_face()) is not None:
        session.answer(face, face.guess)  # the stand-in model is right: the astronaut happy, Grace Hopper neutral

    manifest = read_manifest(tmp_path / "data" / "campaign-faces")
    assert sorted(manifest["emotion"].value_counts().items()) == [("happy", 5), ("neutral", 4)]
    detector = FaceDetector()
    for file in manifest["file"]:
        crop = np.asarray(Image.open(tmp_path / "data" / "campaign-faces" / file))
        assert len(detector.detect(crop)) == 1  # one face, upright and framed, in every crop


def test_undo_takes_the_latest_answer_back_with_its_crop_and_row(tmp_path):
    analysis, _media = write_analysis(tmp_path, with_video=False)
    out = tmp_path / "data" / "mine"
    session = Labelling.open(analysis, out)
    assert session.undo() is None  # nothing to take back yet
    first = session.next_face()
    session.answer(first, SKIP)
    session.answer(session.next_face(), "sad")
    mistaken = session.next_face()
    crop = session.answer(mistaken, "fear")

    assert session.undo() == mistaken and not crop.exists()
    assert list(read_manifest(out)["emotion"]) == ["sad"]
    assert json.loads((out / SUMMARY_JSON).read_text())["counts"] == {"test": {"sad": 1}}
    assert session.next_face() == mistaken  # shown again, then answered again
    session.answer(mistaken, "happy")
    session.answer(session.next_face(), "angry")  # the skipped face, answered last
    assert session.undo() == first and session.pending() == [first]
    assert list(read_manifest(out)["emotion"]) == ["sad", "happy"]
    assert Labelling.open(analysis, out).next_face() == first  # on disk, not only in this session
