"""Tests for the local engine's face detection processes (analysis.pipeline): the file one process
writes, from a folder or a .zip, from the command line or a plain script, and a killed process."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from emotion_core.analysis import analyze, read_results
from emotion_core.analysis.pipeline import (FACES_PER_BATCH, LOOKAHEAD, MAX_PROCESSES, PROCESS_MIN_PHOTOS,
                                            default_processes)
from emotion_core.faces import FACE_SIZES
from emotion_core.cli import main
from emotion_core.predictor import Predictor
from tests.analysis.photos import FACES, LAYOUT, face_tiles, group_photo, zip_folder
from tests.conftest import needs_photos

ROOT = Path(__file__).resolve().parents[2]


@needs_photos
def test_detection_processes_write_the_file_one_process_writes(trained_runs, photo_folder, tmp_path):
    predictor = Predictor.load("alpha")
    archive = zip_folder(photo_folder, tmp_path / "photos.zip", prefix="campaign/")
    for source in (photo_folder, archive):
        one = analyze(source, tmp_path / f"{source.name}-one.csv", predictor, processes=1)
        two = analyze(source, tmp_path / f"{source.name}-two.csv", predictor, processes=2)
        assert one == two == {"images": len(LAYOUT), "skipped_as_done": 0, "faces": FACES, "no_face": 2,
                              "unreadable": 1}
        assert (tmp_path / f"{source.name}-two.csv").read_bytes() == (tmp_path / f"{source.name}-one.csv").read_bytes()


@needs_photos
def test_the_command_line_runs_the_processes_it_is_asked_for(trained_runs, photo_folder, tmp_path, capsys):
    assert main(["analyze", str(photo_folder), "--model", "alpha", "--csv", str(tmp_path / "cli.csv"),
                 "--workers", "2"]) == 0
    assert f"{len(LAYOUT)} images analysed" in capsys.readouterr().err
    assert (read_results(tmp_path / "cli.csv")["status"] == "ok").sum() == FACES


@needs_photos
def test_a_script_without_a_main_guard_can_start_detection_processes(trained_runs, photo_folder, tmp_path):
    # Spawned processes run the parent's main module again unless it is hidden from them: this
    # script would then start the analysis again inside each of them.
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from emotion_core.analysis import analyze\n"
        "from emotion_core.predictor import Predictor\n"
        f"counts = analyze({str(photo_folder)!r}, {str(tmp_path / 'script.csv')!r}, Predictor.load('alpha'), "
        "processes=2)\n"
        "print('faces', counts['faces'])\n")
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[-1] == f"faces {FACES}"


@needs_photos
def test_python_m_emotion_core_analyze_starts_its_processes_once(trained_runs, photo_folder, tmp_path):
    # emotion_core/__main__.py runs the command at import: a process that imported it again
    # would analyse the folder again, inside the analysis.
    done = subprocess.run([sys.executable, "-m", "emotion_core", "analyze", str(photo_folder), "--model", "alpha",
                           "--csv", str(tmp_path / "cli.csv"), "--workers", "2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.count("images analysed") == 1
    assert (read_results(tmp_path / "cli.csv")["status"] == "ok").sum() == FACES


@needs_photos
def test_a_killed_detection_process_stops_with_one_line_and_a_rerun_finishes(trained_runs, tmp_path):
    tiles = face_tiles()
    folder = tmp_path / "photos"
    folder.mkdir()
    # Enough photos that some are still to be handed out when a process is killed after the first
    # batch (the processes work this far ahead of the rows written).
    photos = FACES_PER_BATCH + LOOKAHEAD * 2 + 2 * FACES_PER_BATCH + 40
    for index in range(photos):
        group_photo(tiles, ["astronaut" if index % 2 else "grace"]).save(folder / f"{index:03d}.png")
    predictor = Predictor.load("alpha")
    clean = analyze(folder, tmp_path / "clean.csv", predictor, processes=1)

    def kill_a_process_after_the_first_batch(done, total):
        if done == FACES_PER_BATCH + 1:
            os.kill(multiprocessing.active_children()[0].pid, signal.SIGKILL)

    with pytest.raises(RuntimeError, match="face detection process stopped unexpectedly") as stopped:
        analyze(folder, tmp_path / "killed.csv", predictor, progress=kill_a_process_after_the_first_batch,
                processes=2)
    assert "\n" not in str(stopped.value)
    assert len(read_results(tmp_path / "killed.csv")) == FACES_PER_BATCH  # the first batch was kept
    rerun = analyze(folder, tmp_path / "killed.csv", predictor, processes=2)
    assert rerun["skipped_as_done"] == FACES_PER_BATCH and rerun["faces"] == photos - FACES_PER_BATCH
    assert (tmp_path / "killed.csv").read_bytes() == (tmp_path / "clean.csv").read_bytes()
    assert clean["faces"] == photos


def test_a_few_photos_or_large_faces_stay_in_this_process_and_many_small_faces_use_every_cpu():
    assert default_processes(PROCESS_MIN_PHOTOS - 1) == 1
    assert default_processes(10_000, FACE_SIZES["large"]) == 1
    assert default_processes(10_000, FACE_SIZES["any"]) == min(MAX_PROCESSES, len(os.sched_getaffinity(0)))


def test_a_bad_number_of_processes_is_refused_before_anything_runs(tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["analyze", str(tmp_path), "--csv", str(tmp_path / "out.csv"), "--workers", "0"])
    assert exited.value.code == 2
    assert "--workers: must be at least 1" in capsys.readouterr().err
