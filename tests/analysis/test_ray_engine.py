"""Tests for `analyze --engine ray` (emotion_core.analysis.ray_engine): Ray Data in local mode on the
generated photo folder, row for row against the local engine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emotion_core.analysis import (STATUS_NO_FACE, analyze, emotion_summary, finished_outputs, read_results,
                                   valence_summary)
from emotion_core.analysis.ray_engine import RunFiles, analyze_on_ray, complete_rows
from emotion_core.cli import main
from emotion_core.labels import EMOTIONS
from emotion_core.predictor import Predictor
from tests.analysis.photos import FACES, LAYOUT, zip_folder
from tests.conftest import needs_photos

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -r requirements-scale.txt)")


@pytest.fixture(scope="module")
def local_ray():
    """Ray on this machine, as the issue asks: two CPUs, no dashboard."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def local_engine(path: Path, csv_path: Path, run: str = "alpha") -> pd.DataFrame:
    analyze(path, csv_path, Predictor.load(run))
    return read_results(csv_path)


def assert_same_rows(ray_frame: pd.DataFrame, local_frame: pd.DataFrame) -> None:
    assert ray_frame["file"].tolist() == local_frame["file"].tolist()
    assert ray_frame["face"].fillna(0).tolist() == local_frame["face"].fillna(0).tolist()
    assert ray_frame["emotion"].tolist() == local_frame["emotion"].tolist()
    assert ray_frame["status"].tolist() == local_frame["status"].tolist()
    assert np.allclose(ray_frame[list(EMOTIONS)].fillna(-1), local_frame[list(EMOTIONS)].fillna(-1), atol=1e-5)


@needs_photos
def test_ray_gives_the_local_engines_rows_csv_and_summaries(local_ray, trained_runs, photo_folder, tmp_path):
    local = local_engine(photo_folder, tmp_path / "local.csv")
    counts = analyze_on_ray(photo_folder, tmp_path / "out", RunFiles.of("alpha"))

    assert counts == {"images": len(LAYOUT), "faces": FACES, "no_face": 2, "unreadable": 1}
    on_ray = read_results(tmp_path / "out" / "results.csv")
    assert_same_rows(on_ray, local)
    # Byte for byte, so anything that reads the local engine's CSV reads this one.
    assert (tmp_path / "out" / "results.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert_same_rows(pd.read_parquet(tmp_path / "out" / "results.parquet").sort_values(["file", "face"]).reset_index(),
                     local)
    pd.testing.assert_frame_equal(emotion_summary(on_ray, by="group"), emotion_summary(local, by="group"))
    pd.testing.assert_frame_equal(valence_summary(on_ray, by="group"), valence_summary(local, by="group"))
    # The corrupt file is a row saying so, not a failed job.
    (unreadable,) = on_ray[on_ray["file"] == "ad_b/b3.jpg"].itertuples()
    assert unreadable.status.startswith("unreadable: ") and unreadable.emotion == ""
    assert on_ray[on_ray["file"] == "ad_a/a3.png"]["status"].tolist() == [STATUS_NO_FACE]


@needs_photos
def test_ray_reads_a_zip_as_the_local_engine_does(local_ray, trained_runs, photo_folder, tmp_path):
    archive = zip_folder(photo_folder, tmp_path / "photos.zip")
    local = local_engine(archive, tmp_path / "local.csv")
    analyze_on_ray(archive, tmp_path / "out", RunFiles.of("alpha"), workers=1)
    assert (tmp_path / "out" / "results.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert set(local["group"]) == {"ad_a", "ad_b", ""}


@needs_photos
def test_ray_reads_a_file_uri(local_ray, trained_runs, photo_folder, tmp_path):
    local = local_engine(photo_folder, tmp_path / "local.csv")
    analyze_on_ray(photo_folder.resolve().as_uri(), tmp_path / "out", RunFiles.of("alpha"), workers=1)
    assert_same_rows(read_results(tmp_path / "out" / "results.csv"), local)


class CrashOnce:
    """Loads the run, but the worker process dies in its first model call (once: a marker file)."""

    def __init__(self, run_files: RunFiles, marker: Path):
        self.run_files, self.marker = run_files, marker

    def __call__(self):
        predictor = self.run_files.load()
        classify, marker = predictor.classify, self.marker

        def classify_or_die(faces):
            if not marker.exists():
                marker.write_text(str(os.getpid()))
                os._exit(1)  # as a machine lost mid-batch: no exception, no cleanup
            return classify(faces)

        predictor.classify = classify_or_die
        return predictor


@needs_photos
def test_a_worker_killed_mid_run_is_retried_with_no_duplicate_or_missing_row(local_ray, trained_runs, photo_folder,
                                                                             tmp_path):
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers cannot import tests/
    local = local_engine(photo_folder, tmp_path / "local.csv")
    marker = tmp_path / "crashed"
    analyze_on_ray(photo_folder, tmp_path / "out", RunFiles.of("alpha"), workers=1,
                   load_predictor=CrashOnce(RunFiles.of("alpha"), marker))
    assert marker.exists()  # a worker did die
    assert_same_rows(read_results(tmp_path / "out" / "results.csv"), local)


class DeleteOnLoad:
    """Loads the run after deleting a file the driver has listed: a file gone before a worker reads it."""

    def __init__(self, run_files: RunFiles, doomed: Path):
        self.run_files, self.doomed = run_files, doomed

    def __call__(self):
        self.doomed.unlink(missing_ok=True)
        return self.run_files.load()


@needs_photos
def test_a_file_that_cannot_be_read_on_a_worker_is_a_row_not_a_failed_job(local_ray, trained_runs, photo_folder,
                                                                           tmp_path):
    import shutil

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    folder = shutil.copytree(photo_folder, tmp_path / "photos")
    analyze_on_ray(folder, tmp_path / "out", RunFiles.of("alpha"), workers=1,
                   load_predictor=DeleteOnLoad(RunFiles.of("alpha"), folder / "ad_a" / "a1.png"))
    frame = read_results(tmp_path / "out" / "results.csv")
    (gone,) = frame[frame["file"] == "ad_a/a1.png"].itertuples()
    assert gone.status.startswith("unreadable: ") and "No such file" in gone.status
    assert len(frame) == FACES - 1 + 4  # a1.png's one face is now its unreadable row


@needs_photos
def test_cli_engine_ray_writes_an_output_folder_the_app_lists(local_ray, trained_runs, photo_folder, tmp_path, capsys,
                                                                monkeypatch):
    monkeypatch.setenv("EMOTION_ANALYSES_DIR", str(tmp_path))
    code = main(["analyze", str(photo_folder), "--engine", "ray", "--out", str(tmp_path / "campaign"),
                 "--model", "alpha"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith(f"{len(LAYOUT)} images: 6 with faces ({FACES} faces), 2 without a face, 1 unreadable")
    (listed,) = finished_outputs(tmp_path)
    assert listed.path == tmp_path / "campaign"
    assert listed.manifest["engine"] == "ray" and listed.manifest["model"] == "alpha"
    # the tiny run's int8 file fails its check (near-uniform outputs): its float file classified, as recorded
    assert listed.manifest["classifier"] == {"file": "alpha.tflite", "precision": "float"}
    assert f"{len(LAYOUT)} images" in listed.label

    code = main(["analyze", str(photo_folder), "--engine", "ray", "--out", str(tmp_path / "campaign"),
                 "--model", "alpha"])
    assert code == 2 and "already holds an analysis" in capsys.readouterr().err


def test_cli_engine_ray_without_ray_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError, as when not installed
    code = main(["analyze", str(tmp_path), "--engine", "ray", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().count("\n") == 0 and "pip install -r requirements-scale.txt" in err


def test_cli_engine_ray_takes_an_output_folder_not_a_csv(tmp_path, capsys):
    code = main(["analyze", str(tmp_path), "--engine", "ray", "--csv", str(tmp_path / "x.csv")])
    assert code == 2 and "--out FOLDER" in capsys.readouterr().err


def test_cli_local_engine_with_out_writes_the_same_folder(trained_runs, tmp_path, capsys):
    from PIL import Image

    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (64, 48), "gray").save(photos / "plain.png")
    code = main(["analyze", str(photos), "--out", str(tmp_path / "out"), "--model", "alpha"])
    assert code == 0, capsys.readouterr().err
    (listed,) = finished_outputs(tmp_path)
    assert listed.manifest["engine"] == "local" and listed.manifest["no_face"] == 1
    assert read_results(listed.csv_path)["status"].tolist() == [STATUS_NO_FACE]


def face_frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["file", "face", "faces_in_image", "status"]).astype(
        {"face": "Int64", "faces_in_image": "Int64"})


def test_complete_rows_drops_a_batch_written_twice_and_orders_as_listed():
    written = face_frame([("b.jpg", 1, 2, "ok"), ("a.jpg", None, 0, STATUS_NO_FACE), ("b.jpg", 2, 2, "ok"),
                          ("a.jpg", None, 0, STATUS_NO_FACE), ("b.jpg", 1, 2, "ok")])
    kept = complete_rows(written, ["a.jpg", "b.jpg"])
    assert kept["file"].tolist() == ["a.jpg", "b.jpg", "b.jpg"] and kept["face"].tolist()[1:] == [1, 2]


def test_complete_rows_fails_loudly_on_a_missing_file_or_face():
    with pytest.raises(RuntimeError, match="1 files without rows"):
        complete_rows(face_frame([("a.jpg", None, 0, STATUS_NO_FACE)]), ["a.jpg", "b.jpg"])
    with pytest.raises(RuntimeError, match="1 with incomplete rows"):
        complete_rows(face_frame([("b.jpg", 2, 2, "ok")]), ["b.jpg"])
