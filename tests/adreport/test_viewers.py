"""Viewers on each ad's clock: the manifest's offsets and attributes, one unit per ad or segment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emotion_core.adreport import aligned_seconds, compare, read_manifest, timeline, viewer_units
from emotion_core.adreport.viewers import with_attention, yaw_ratios
from emotion_core.labels import EMOTIONS
from tests.adreport.hand import seconds_table

VIEWERS = {("ad_a/a1.mp4", 1): ["happy", "neutral", "happy"],
           ("ad_a/a2.mp4", 1): ["sad", "happy", "happy", "sad"],
           ("ad_a/a2.mp4", 2): [None, "angry", None, None],
           ("ad_b/b1.mp4", 1): ["neutral", "neutral"]}


def test_without_a_manifest_each_video_starts_with_the_ad(tmp_path):
    units = viewer_units(aligned_seconds(seconds_table(VIEWERS, tmp_path)), EMOTIONS)
    assert [(unit.ad, unit.segment, unit.viewers, unit.duration) for unit in units] == [
        ("ad_a", "all", ("ad_a/a1.mp4#1", "ad_a/a2.mp4#1", "ad_a/a2.mp4#2"), 4),
        ("ad_b", "all", ("ad_b/b1.mp4#1",), 2)]
    ad_a = units[0]
    assert ad_a.present.sum(axis=0).tolist() == [2, 3, 2, 1]  # viewer 2 of a2 only in second 1
    assert ad_a.emotions[1].tolist() == [EMOTIONS.index(name) for name in ("sad", "happy", "happy", "sad")]
    assert ad_a.valences[2].tolist() == ["", "negative", "", ""]
    assert np.isnan(ad_a.probabilities[2, 0]).all() and ad_a.probabilities[2, 1, EMOTIONS.index("angry")] == 0.6


def test_a_manifest_offset_moves_second_0_to_the_ads_first_frame(tmp_path):
    seconds = seconds_table(VIEWERS, tmp_path)
    (tmp_path / "manifest.csv").write_text("file,offset,market\na2.mp4,1,UK\nad_a/a1.mp4,0.4,FR\n")
    manifest = read_manifest(tmp_path / "manifest.csv", sorted(set(seconds["file"])))
    assert manifest.loc["ad_a/a2.mp4", "offset"] == 1.0  # named by its file name alone
    aligned = aligned_seconds(seconds, manifest)
    units = {unit.ad: unit for unit in viewer_units(aligned, EMOTIONS)}
    ad_a = units["ad_a"]
    assert ad_a.duration == 3  # a1's 3 seconds (0.4 s rounds to 0); a2's 4 less the 1 skipped
    assert ad_a.emotions[1].tolist() == [EMOTIONS.index(name) for name in ("happy", "happy", "sad")]
    assert ad_a.present.sum(axis=0).tolist() == [3, 2, 2]
    assert set(aligned.loc[aligned["file"] == "ad_b/b1.mp4", "market"]) == {"(not in manifest)"}
    split = viewer_units(aligned, EMOTIONS, by="market")
    assert [(unit.ad, unit.segment, len(unit.viewers)) for unit in split] == [
        ("ad_a", "FR", 1), ("ad_a", "UK", 2), ("ad_b", "(not in manifest)", 1)]
    with pytest.raises(ValueError, match="cannot split by 'age'"):
        viewer_units(aligned, EMOTIONS, by="age")


@pytest.mark.parametrize("text, message", [
    ("video,offset\na1.mp4,1\n", "needs a 'file' column"),
    ("file,offset\nzz.mp4,1\n", "line 2: 'zz.mp4' is not among the analysed videos"),
    ("file,offset\na1.mp4,1\nad_a/a1.mp4,2\n", "ad_a/a1.mp4 is listed twice"),
    ("file,offset\na1.mp4,-2\n", "line 2: offset '-2' is not a number of seconds from 0 up"),
    ("file,offset\na1.mp4,soon\n", "offset 'soon'"),
])
def test_a_bad_manifest_is_one_line(tmp_path, text, message):
    (tmp_path / "manifest.csv").write_text(text)
    with pytest.raises(ValueError, match=message) as error:
        read_manifest(tmp_path / "manifest.csv", ["ad_a/a1.mp4", "ad_a/a2.mp4"])
    assert "\n" not in str(error.value)


def frame_row(time: float, frame: int, face: int | None, nose_x: float = 50.0) -> dict:
    """A video_frames.csv row of ad/a.mp4: eyes at (40, 50) and (60, 50), the nose at (nose_x, 60);
    face None: a frame without a face."""
    row = {"file": "ad/a.mp4", "group": "ad", "time": time, "frame": frame}
    if face is None:
        return {**row, "face": np.nan, "landmarks": "", "status": "no face found"}
    return {**row, "face": face, "landmarks": f"40 50 60 50 {nose_x} 60 50 70", "status": "ok"}


def test_attention_is_the_share_of_frames_facing_the_camera(tmp_path):
    # nose at the eyes' midpoint: yaw ratio 0 (facing); 8 px off on a 20 px eye line: 0.4 (turned)
    assert yaw_ratios(pd.Series(["40 50 60 50 50 60 50 70", "40 50 60 50 58 60 50 70", ""])) == pytest.approx(
        [0.0, 0.4, np.nan], nan_ok=True)
    rows = []
    for index in range(5):  # second 0: viewer 1 facing in all 5 frames, viewer 2 turned in all
        rows += [frame_row(index / 5, index, 1), frame_row(index / 5, index, 2, nose_x=58)]
    # second 1: viewer 1 facing in 2 frames, turned in 2, gone in 1; viewer 2 gone
    for index, nose_x in enumerate([50, 50, 58, 58, None]):
        time = 1 + index / 5
        rows.append(frame_row(time, 5 + index, None) if nose_x is None else frame_row(time, 5 + index, 1, nose_x))
    seconds = seconds_table({("ad/a.mp4", 1): ["happy", "happy"], ("ad/a.mp4", 2): ["sad", None]}, tmp_path)
    attended = with_attention(seconds, pd.DataFrame(rows))
    assert attended["attention"].tolist() == [1.0, 0.4, 0.0, 0.0]
    (unit,) = viewer_units(aligned_seconds(attended), EMOTIONS)
    seconds_out = timeline(unit)
    # viewer 2 counts in second 1 though their face is gone: the share of the ad's viewers attending
    assert seconds_out["attention"].tolist() == pytest.approx([0.5, 0.2])
    assert compare([unit]).loc[0, "attention"] == pytest.approx(0.35)


def test_an_ad_in_whose_videos_no_face_was_found_has_no_face_present(tmp_path):
    """No face in any second (its columns come back empty, not integers): no second counts anyone."""
    units = viewer_units(aligned_seconds(seconds_table({("ad_c/c1.mp4", 1): [None, None, None]}, tmp_path)),
                         EMOTIONS)
    assert [(unit.ad, unit.duration, int(unit.present.sum())) for unit in units] == [("ad_c", 3, 0)]
