"""Tests for emotion_core.video.pipeline and tables: generated videos of real faces, analysed by a
tiny trained model, against what a user would read in video_frames.csv and video_seconds.csv."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from emotion_core.faces import FACE_SIZES
from emotion_core.labels import EMOTIONS
from emotion_core.video import (FINISHED_JSONL, FRAMES_CSV, SECONDS_CSV, analyze_videos, list_media, list_videos,
                                read_table)
from tests.video.videos import VFR_TIMES, decoded_frames

# Scene -> viewers it has.
VIEWERS = {"ad_a/leaving.mp4": 1, "ad_a/moving.mp4": 1, "ad_b/phone.mov": 1, "ad_b/two.webm": 2,
           "ad_b/vfr.mkv": 1}


def tables(out) -> tuple[pd.DataFrame, pd.DataFrame]:
    return read_table(out / FRAMES_CSV), read_table(out / SECONDS_CSV)


def test_every_scene_is_listed_with_its_group(scenes):
    listed = list_videos(scenes)
    assert [(source.name, source.group) for source in listed] == [(name, name.split("/")[0]) for name in VIEWERS]
    assert list_media(scenes)[0] == []  # no photos
    single = list_videos(scenes / "ad_a" / "moving.mp4")
    assert [(source.name, source.group) for source in single] == [("moving.mp4", "")]


@pytest.mark.parametrize("name", VIEWERS)
def test_each_scene_has_its_viewers_and_seconds_cover_its_duration(scene_analysis, name):
    out, summary = scene_analysis
    facts = summary["facts"][name]
    frames, seconds = tables(out)
    frames, seconds = frames[frames["file"] == name], seconds[seconds["file"] == name]
    assert facts["error"] == "" and facts["viewers"] == VIEWERS[name]
    assert sorted(frames["face"].dropna().unique()) == list(range(1, VIEWERS[name] + 1))
    assert facts["frames_analysed"] == frames["time"].nunique()
    # Every viewer has every second of the video, and each second counts the frames analysed in it.
    assert math.ceil(facts["duration"]) >= frames["time"].max()
    for _viewer, rows in seconds.groupby("face"):
        assert rows["second"].tolist() == list(range(math.ceil(facts["duration"])))
        assert rows["frames"].sum() == facts["frames_analysed"]
    assert ((seconds["face_share"] >= 0) & (seconds["face_share"] <= 1)).all()
    # The per-second probabilities are the means of that second's frames.
    first = frames[(frames["face"] == 1) & (frames["time"] < 1)]
    (row,) = seconds[(seconds["face"] == 1) & (seconds["second"] == 0)].itertuples()
    assert np.allclose([getattr(row, e) for e in EMOTIONS], first[list(EMOTIONS)].mean(), atol=2e-4)
    assert row.emotion == EMOTIONS[int(np.argmax([getattr(row, e) for e in EMOTIONS]))]
    assert row.face_share == pytest.approx(len(first) / row.frames, abs=1e-4)


def test_a_face_that_leaves_and_returns_keeps_its_number(scene_analysis):
    out, _ = scene_analysis
    frames, seconds = tables(out)
    frames = frames[frames["file"] == "ad_a/leaving.mp4"]
    away = frames[(frames["time"] >= 1.6) & (frames["time"] < 3.0)]
    back = frames[frames["time"] >= 3.0]
    assert away["status"].eq("no face found").all() and away["face"].isna().all() and len(away) >= 5
    assert back["face"].eq(1).all() and back["x"].min() > 150  # back, at the other side, as viewer 1
    second_2 = seconds[(seconds["file"] == "ad_a/leaving.mp4") & (seconds["second"] == 2)].iloc[0]
    assert second_2["face_share"] == 0 and second_2["emotion"] == "" and np.isnan(second_2["happy"])


def test_two_faces_are_two_viewers_in_every_frame(scene_analysis):
    out, _ = scene_analysis
    frames, _ = tables(out)
    frames = frames[frames["file"] == "ad_b/two.webm"]
    for _time, rows in frames.groupby("time"):
        assert rows["face"].tolist() == [1, 2]
        assert rows["x"].iloc[0] < 100 < rows["x"].iloc[1]  # 1 = Grace Hopper at the left, all the way


def test_a_phone_video_is_turned_upright(scene_analysis):
    out, summary = scene_analysis
    facts = summary["facts"]["ad_b/phone.mov"]
    assert (facts["rotation"], facts["width"], facts["height"]) == (90, 240, 320)
    frames, _ = tables(out)
    frames = frames[frames["file"] == "ad_b/phone.mov"]
    assert (frames["x"] + frames["width"] <= 240 + 2).all() and (frames["height"] > 40).all()
    # Upright: the eyes (first two landmarks) are above the mouth (the fourth).
    points = np.array([[float(v) for v in text.split()] for text in frames["landmarks"]])
    assert (points[:, 1] < points[:, 7]).all() and (points[:, 3] < points[:, 7]).all()


def test_a_variable_frame_rate_keeps_the_frames_times(scene_analysis):
    out, _ = scene_analysis
    frames, seconds = tables(out)
    times = frames[frames["file"] == "ad_b/vfr.mkv"]["time"].tolist()
    # The first frame at or after each fifth of a second, from the timestamps the file was written with.
    expected, step = [], 0.0
    for time in (round(float(t), 3) for t in VFR_TIMES):
        if time >= step - 1e-9:
            expected.append(time)
            step = (math.floor(time * 5 + 1e-6) + 1) / 5
    assert times == pytest.approx(expected, abs=0.002)
    per_second = seconds[seconds["file"] == "ad_b/vfr.mkv"]["frames"].tolist()
    assert per_second == [5, 4, 5, 3]  # 30 fps, 4 fps, then 4 and 15 fps, sampled at 5 a second


def test_labels_match_the_predictors_on_the_same_frames(scene_analysis, scenes, video_predictor):
    out, _ = scene_analysis
    frames, _ = tables(out)
    compared = 0
    for name in VIEWERS:
        decoded = decoded_frames(scenes / name)
        rows = frames[(frames["file"] == name) & (frames["status"] == "ok")]
        for index, faces in rows.groupby("frame"):
            predicted = video_predictor.predict(decoded[index], min_face_fraction=FACE_SIZES["large"])
            assert sorted((face.box.x, face.box.y) for face in predicted) == sorted(zip(faces["x"], faces["y"]))
            by_place = {(face.box.x, face.box.y): face for face in predicted}
            for row in faces.itertuples():
                face = by_place[(row.x, row.y)]
                assert row.emotion == face.label
                assert np.allclose([getattr(row, e) for e in EMOTIONS], [face.probabilities[e] for e in EMOTIONS],
                                   atol=1e-4)
                compared += 1
    assert compared >= 60


class Interrupt(KeyboardInterrupt):
    pass


def test_an_interrupted_analysis_continues_and_redoes_the_half_finished_video(scene_analysis, scenes,
                                                                            video_predictor, tmp_path):
    reference, _ = scene_analysis
    out = tmp_path / "out"

    calls = []

    def stop_in_the_third(done, total, videos_done, videos):
        calls.append(videos_done)
        if calls.count(2) == 2:  # the first: the second video finished; the next: the third's first frames written
            raise Interrupt

    with pytest.raises(Interrupt):
        analyze_videos(scenes, out, video_predictor, progress=stop_in_the_third)
    finished = (out / FINISHED_JSONL).read_text().splitlines()
    frames, _ = tables(out)
    assert len(finished) == 2 and frames["file"].nunique() == 3  # the third's first rows are written
    # A line cut short, as a kill mid-write leaves it: not a finished video.
    with open(out / FINISHED_JSONL, "a") as handle:
        handle.write('{"file": "ad_b/phone.mov", "mod')

    summary = analyze_videos(scenes, out, video_predictor)
    assert summary["skipped_as_done"] == 2 and summary["videos"] == len(VIEWERS)
    for table in (FRAMES_CSV, SECONDS_CSV):
        assert (out / table).read_bytes() == (reference / table).read_bytes()
    assert analyze_videos(scenes, out, video_predictor)["skipped_as_done"] == len(VIEWERS)


def test_tables_of_another_model_are_refused(scene_analysis, scenes, video_predictor, tmp_path):
    out, _ = scene_analysis
    other = tmp_path / "other"
    other.mkdir()
    (other / FINISHED_JSONL).write_text((out / FINISHED_JSONL).read_text().replace('"model": "alpha"',
                                                                                 '"model": "beta"'))
    with pytest.raises(ValueError, match="model beta"):
        analyze_videos(scenes, other, video_predictor)


def test_bad_inputs_each_get_one_line_and_the_rest_is_analysed(bad_inputs, video_predictor, tmp_path):
    summary = analyze_videos(bad_inputs, tmp_path / "out", video_predictor)
    facts = summary["facts"]
    errors = {name: entry["error"] for name, entry in facts.items()}
    assert errors["moving.mp4"] == "" and facts["moving.mp4"]["viewers"] == 1
    assert errors["empty.avi"] == "the file is empty (0 bytes)"
    assert errors["notes.mp4"].startswith("not a video PyAV can read")
    assert errors["audio.mp4"] == "no video stream (only audio)"
    assert "truncated" in errors["truncated.mkv"] or "decode" in errors["truncated.mkv"]
    assert all("\n" not in error for error in errors.values())
    frames, seconds = tables(tmp_path / "out")
    unreadable = frames[frames["status"].str.startswith("unreadable: ")]
    assert sorted(unreadable["file"]) == ["audio.mp4", "empty.avi", "notes.mp4"]
    # No face: every second has its row, with no emotion.
    no_face = seconds[seconds["file"] == "noface.mp4"]
    assert no_face["second"].tolist() == [0, 1] and no_face["emotion"].eq("").all()
    assert no_face["face_share"].eq(0).all() and no_face["face"].isna().all()
    # 8K: scaled to 1920 pixels for the analysis, not refused; the face is found.
    assert (facts["8k.avi"]["width"], facts["8k.avi"]["height"], facts["8k.avi"]["error"]) == (7680, 4320, "")
    eight_k = frames[frames["file"] == "8k.avi"]
    assert eight_k["face"].eq(1).all() and (eight_k["x"] + eight_k["width"] <= 1920).all() and len(eight_k) == 2
