"""`analyze --engine ray` with videos (emotion_core.video.ray_engine): Ray in local mode, one task per
video, against the local engine's tables byte for byte; a worker killed mid-video."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emotion_core.analysis.ray_engine import RunFiles
from emotion_core.cli import main
from emotion_core.video import FINISHED_JSONL, FRAMES_CSV, SECONDS_CSV, read_table
from emotion_core.video.ray_engine import analyze_videos_on_ray
from tests.analysis import test_ray_engine as ray_tests
from tests.analysis.photos import face_tiles, group_photo, zip_folder
from tests.analysis.test_ray_engine import CrashOnce

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -r requirements-scale.txt)")
TABLES = (FRAMES_CSV, SECONDS_CSV, FINISHED_JSONL)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def assert_same_tables(out: Path, reference: Path) -> None:
    for table in TABLES:
        assert (out / table).read_bytes() == (reference / table).read_bytes(), table


def test_ray_writes_the_local_engines_tables(local_ray, trained_runs, scenes, scene_analysis, tmp_path):
    reference, local = scene_analysis  # the local engine, the same run ('alpha')
    summary = analyze_videos_on_ray(scenes, tmp_path / "out", RunFiles.of("alpha"))
    assert summary["facts"] == local["facts"]
    assert_same_tables(tmp_path / "out", reference)
    with pytest.raises(ValueError, match="already holds video tables"):
        analyze_videos_on_ray(scenes, tmp_path / "out", RunFiles.of("alpha"))


def test_a_worker_killed_mid_video_of_a_zip_has_the_video_redone(local_ray, trained_runs, scenes, scene_analysis,
                                                                  tmp_path):
    ray.cloudpickle.register_pickle_by_value(ray_tests)  # the workers cannot import tests/
    reference, _ = scene_analysis
    marker = tmp_path / "crashed"
    archive = zip_folder(scenes, tmp_path / "ads.zip")
    analyze_videos_on_ray(archive, tmp_path / "out", RunFiles.of("alpha"), workers=1,
                          load_predictor=CrashOnce(RunFiles.of("alpha"), marker))
    assert marker.exists()  # a worker did die
    assert_same_tables(tmp_path / "out", reference)


def test_cli_engine_ray_writes_photos_and_videos(local_ray, trained_runs, scenes, tmp_path, capsys):
    folder = tmp_path / "ads"
    (folder / "ad_a").mkdir(parents=True)
    (folder / "ad_a" / "moving.mp4").write_bytes((scenes / "ad_a" / "moving.mp4").read_bytes())
    group_photo(face_tiles(), ["astronaut"]).save(folder / "ad_a" / "photo.png")
    (folder / "ad_b").mkdir()
    (folder / "ad_b" / "notes.mov").write_text("not a video")
    code = main(["analyze", str(folder), "--engine", "ray", "--out", str(tmp_path / "out"), "--model", "alpha"])
    printed, err = capsys.readouterr()
    assert code == 0, err
    assert "error: ad_b/notes.mov: not a video PyAV can read" in err and "1 images analysed on Ray" in err
    assert "ad_a/moving.mp4: 3.0 s, 1 viewer, 15 frames analysed" in printed
    manifest = json.loads((tmp_path / "out" / "analysis.json").read_text())
    assert manifest["engine"] == "ray" and manifest["images"] == 1 and sorted(manifest["videos"]) == [
        "ad_a/moving.mp4", "ad_b/notes.mov"]
    assert manifest["classifier"] == {"file": "alpha.tflite", "precision": "float"}  # the tiny run fails int8's check
    assert set(read_table(tmp_path / "out" / SECONDS_CSV)["file"]) == {"ad_a/moving.mp4"}
