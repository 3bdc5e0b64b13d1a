"""Tests for emotion_core.faceset.labelling: a finished analysis's faces, labelled one by one into a face set."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from emotion_core.analysis import write_manifest
from emotion_core.analysis.results import csv_columns, face_rows, status_row
from emotion_core.analysis.sources import ImageSource
from emotion_core.cli import main
from emotion_core.faces import FaceBox, crop_face
from emotion_core.faceset import MANIFEST_CSV, SUMMARY_JSON, read_manifest
from emotion_core.faceset.labelling import (NOT_A_FACE, SKIP, STATE_JSON, Labelling, LabellingError,
                                            faces_of_analysis, labelling_outputs)
from emotion_core.labels import EMOTIONS
from emotion_core.video.tables import FRAMES_CSV, frame_columns, frame_face_rows
from tests.video.videos import write_video

HAPPY = np.array([0.05, 0.02, 0.03, 0.70, 0.05, 0.05, 0.10])
SAD = np.array([0.05, 0.02, 0.03, 0.05, 0.70, 0.05, 0.10])
BOX = FaceBox(40, 30, 80, 80, 0.9, ((65.0, 60.0), (95.0, 60.0), (80.0, 75.0), (80.0, 92.0)))
VIDEO_TIMES = [index / 5 for index in range(10)]  # 2 s at 5 frames a second


def level_image(level: int, size=(200, 160)) -> np.ndarray:
    """A photo whose every pixel is `level` on a lighter border: a crop of it says which photo it is."""
    rgb = np.full((size[1], size[0], 3), 250, np.uint8)
    rgb[20:-20, 20:-20] = level
    return rgb


def write_analysis(root, with_video: bool = True):
    """A finished analysis as `analyze --out` leaves it: two photos (one with two faces), a photo
    without a face and, with `with_video`, a 2 s video of one viewer whose frames grow lighter."""
    media, out = root / "media", root / "analyses" / "campaign"
    (media / "ad_a").mkdir(parents=True)
    out.mkdir(parents=True)
    Image.fromarray(level_image(60)).save(media / "ad_a" / "one.png")
    Image.fromarray(level_image(120)).save(media / "ad_a" / "two.png")
    Image.fromarray(level_image(250)).save(media / "ad_a" / "wall.png")
    rows = [*face_rows(ImageSource("ad_a/one.png", media, "ad_a"), [BOX], [HAPPY], "stub"),
            *face_rows(ImageSource("ad_a/two.png", media, "ad_a"), [BOX, FaceBox(130, 20, 60, 60, 0.8)],
                       [SAD, HAPPY], "stub"),
            status_row(ImageSource("ad_a/wall.png", media, "ad_a"), "no face found", "stub", 0)]
    pd.DataFrame(rows, columns=csv_columns()).to_csv(out / "results.csv", index=False)
    if with_video:
        frames = [(time, level_image(40 + 20 * index, (208, 160))) for index, time in enumerate(VIDEO_TIMES)]
        write_video(media / "clip.mp4", frames)
        source = ImageSource("clip.mp4", media, "")
        table = [row for index, time in enumerate(VIDEO_TIMES)
                 for row in frame_face_rows(source, time, index, [(1, BOX, SAD if time < 1 else HAPPY)], EMOTIONS,
                                            None, "stub")]
        pd.DataFrame(table, columns=frame_columns()).to_csv(out / FRAMES_CSV, index=False)
    write_manifest(out, source=str(media), model="stub", engine="local", images=3, faces=3)
    return out, media


def test_the_queue_holds_every_photo_face_and_one_face_of_each_viewer_a_second(tmp_path):
    out, _media = write_analysis(tmp_path)

    faces = faces_of_analysis(out)

    assert [face.where for face in faces] == ["ad_a/one.png, face 1", "ad_a/two.png, face 1", "ad_a/two.png, face 2",
                                              "clip.mp4 at 0.0 s, viewer 1", "clip.mp4 at 1.0 s, viewer 1"]
    assert [face.guess for face in faces] == ["happy", "sad", "happy", "sad", "happy"]
    assert faces[0].confidence == pytest.approx(0.7) and faces[0].box == BOX
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
