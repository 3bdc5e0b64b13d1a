"""`python -m emotion_core analyze` with videos beside photos: the tables, the lines printed, resuming."""

from __future__ import annotations

import json
import shutil

import numpy as np

from emotion_core.labels import EMOTIONS
from emotion_core.video import FRAMES_CSV, SECONDS_CSV, read_table
from tests.analysis.photos import face_tiles, group_photo, zip_folder
from tests.analysis.test_cli_analyze import run_cli


def mixed_folder(scenes, root):
    """An ad's folder as marketing hands it over: a video, a photo and a file that is no video."""
    for ad in ("ad_a", "ad_b"):
        (root / ad).mkdir(parents=True)
    shutil.copy(scenes / "ad_a" / "moving.mp4", root / "ad_a" / "moving.mp4")
    shutil.copy(scenes / "ad_b" / "two.webm", root / "ad_b" / "two.webm")
    group_photo(face_tiles(), ["astronaut"]).save(root / "ad_a" / "photo.png")
    (root / "ad_a" / "notes.mp4").write_text("not a video")
    return root


def test_analyze_writes_photo_and_video_tables_and_continues(trained_runs, scenes, scene_analysis, tmp_path, capsys):
    folder = mixed_folder(scenes, tmp_path / "ads")
    out = tmp_path / "out"
    code, printed, err = run_cli(capsys, "analyze", folder, "--out", out, "--model", "alpha", "--float")
    assert code == 0, err
    assert "1 images analysed" in err and "s of video" in err  # both progress bars
    assert err.count("error: ") == 1 and "error: ad_a/notes.mp4: not a video PyAV can read" in err
    assert "3 videos analysed" in err and f"video tables in {out / FRAMES_CSV}" in err
    assert "ad_a/moving.mp4: 3.0 s, 1 viewer, 15 frames analysed" in printed
    assert "ad_b/two.webm: 1.9 s, 2 viewers, 10 frames analysed" in printed
    manifest = json.loads((out / "analysis.json").read_text())
    assert manifest["images"] == 1 and manifest["faces"] == 1
    assert sorted(manifest["videos"]) == ["ad_a/moving.mp4", "ad_a/notes.mp4", "ad_b/two.webm"]
    assert manifest["videos"]["ad_a/moving.mp4"]["viewers"] == 1 and manifest["videos"]["ad_a/moving.mp4"]["fps"] == 5
    frames = read_table(out / FRAMES_CSV)
    assert set(frames["file"]) == {"ad_a/moving.mp4", "ad_b/two.webm", "ad_a/notes.mp4"}
    assert set(frames["group"]) == {"ad_a", "ad_b"} and set(frames["model"]) == {"alpha"}
    seconds = read_table(out / SECONDS_CSV)
    assert len(seconds) == 3 + 2 * 2  # moving: 3 s x 1 viewer; two: 2 s x 2 viewers
    # With --float the command classifies with the run's float LiteRT file (exported on first use, where
    # the Models page lists exports), and its rows are the Keras Predictor's (analyze_videos in this process).
    assert (trained_runs["alpha"] / "exports" / "alpha.tflite").is_file()
    assert manifest["classifier"] == {"file": "alpha.tflite", "precision": "float"}
    keras_frames = read_table(scene_analysis[0] / FRAMES_CSV)
    for name in ("ad_a/moving.mp4", "ad_b/two.webm"):
        ours, keras = frames[frames["file"] == name], keras_frames[keras_frames["file"] == name]
        assert list(ours["emotion"]) == list(keras["emotion"]) and list(ours["face"]) == list(keras["face"])
        assert np.allclose(ours[list(EMOTIONS)].to_numpy(float), keras[list(EMOTIONS)].to_numpy(float), atol=2e-4)

    code, _, err = run_cli(capsys, "analyze", folder, "--out", out, "--model", "alpha", "--float")
    assert code == 0 and "0 videos analysed" in err and "(3 done earlier)" in err
    assert read_table(out / FRAMES_CSV).equals(frames)


def test_analyze_reads_a_single_video_and_a_zip(trained_runs, scenes, tmp_path, capsys):
    code, _, err = run_cli(capsys, "analyze", scenes / "ad_a" / "moving.mp4", "--csv", tmp_path / "one" / "results.csv",
                           "--model", "alpha", "--fps", "2")
    assert code == 0, err
    single = read_table(tmp_path / "one" / FRAMES_CSV)
    assert set(single["file"]) == {"moving.mp4"} and len(single) == 6  # 3 s at 2 frames a second
    assert not (tmp_path / "one" / "results.csv").exists()  # no photos, no photo table

    archive = zip_folder(scenes, tmp_path / "ads.zip")
    code, _, err = run_cli(capsys, "analyze", archive, "--out", tmp_path / "zip", "--model", "alpha")
    assert code == 0, err
    assert sorted(set(read_table(tmp_path / "zip" / SECONDS_CSV)["file"])) == sorted(
        path.relative_to(scenes).as_posix() for path in scenes.rglob("*.*"))


def test_analyze_of_a_folder_without_photos_or_videos_is_one_line(trained_runs, tmp_path, capsys):
    (tmp_path / "ads").mkdir()
    (tmp_path / "ads" / "notes.txt").write_text("nothing to see")
    code, out, err = run_cli(capsys, "analyze", tmp_path / "ads", "--out", tmp_path / "out", "--model", "alpha")
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert "No images (" in err and ".mp4" in err
