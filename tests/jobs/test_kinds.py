"""Tests for the job kinds: old records read as training, each kind its own slots, an analysis' progress.

No worker imports TensorFlow here: a started job is handed to a stand-in process (`sleep`).
"""

import json
import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from emotion_core import jobs
from emotion_core.jobs import analysis_job, queue
from emotion_core.storage import write_json_atomic
from tests.conftest import PROJECT
from tests.jobs.helpers import tiny_config


@pytest.fixture
def stand_in_workers(monkeypatch):
    """Started jobs run `sleep 60` in place of a worker; every one is killed after the test."""
    started = []

    def spawn(job_id, root, log):
        child = subprocess.Popen(["sleep", "60"], start_new_session=True)
        started.append(child)
        return child

    monkeypatch.setattr(queue, "spawn_worker", spawn)
    yield started
    for child in started:
        child.kill()
        child.wait()


@pytest.fixture
def videos(tmp_path) -> Path:
    """A folder holding one (unreadable) video: enough for `analyze` to accept it as a source."""
    (tmp_path / "videos" / "ad_a").mkdir(parents=True)
    (tmp_path / "videos" / "ad_a" / "anna.mp4").write_bytes(b"not really a video")
    return tmp_path / "videos"


def test_a_record_written_before_kinds_reads_as_a_training_job(isolated_dirs, monkeypatch):
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "0")
    folder = jobs.jobs_dir()
    folder.mkdir()
    # A record as the jobs code before kinds wrote it (models/_jobs/1.json of an earlier session).
    write_json_atomic(folder / "1.json", {
        "id": "1", "status": "succeeded", "request_id": None, "config": {**json.loads(json.dumps(
            tiny_config(Path("tiny")).to_dict())), "name": "old"}, "resume": None, "resume_epochs": None,
        "run": "old", "created": "2026-12-06T05:17:03+00:00", "started": "2026-12-06T05:17:03+00:00",
        "ended": "2026-12-06T05:54:39+00:00", "pid": 8660, "pid_start": "22828", "reason": "",
        "cancel_requested": False})

    (job,) = jobs.list_jobs()

    assert (job["kind"], job["status"], job["architecture"], job["elapsed_seconds"]) == (
        "train", "succeeded", "vgg_gap_small", 2256.0)
    assert jobs.list_jobs(kind="analyze") == []
    assert "vgg_gap_small" in jobs.format_jobs_table(jobs.list_jobs(kind=None))


def test_an_analysis_starts_beside_a_running_training_and_a_second_training_waits(
        trained_runs, videos, stand_in_workers, tmp_path):
    training = jobs.start_job(tiny_config(trained_runs["data"]))
    waiting = jobs.start_job(tiny_config(trained_runs["data"], optimizer="adam"))
    analysis = jobs.start_analysis(videos, tmp_path / "out", "alpha")

    assert (training["status"], waiting["status"], waiting["queue_position"]) == ("running", "queued", 1)
    assert (analysis["kind"], analysis["status"], analysis["queue_position"]) == ("analyze", "running", None)
    assert len(stand_in_workers) == 2
    second = jobs.start_analysis(videos, tmp_path / "out2", "alpha")
    assert (second["status"], second["queue_position"]) == ("queued", 1)  # first among analyses, not third
    assert [job["id"] for job in jobs.list_jobs(kind="analyze")] == [second["id"], analysis["id"]]
    assert [job["id"] for job in jobs.list_jobs()] == [waiting["id"], training["id"]]

    jobs.cancel_job(analysis["id"])  # the stand-in ends on SIGTERM without reporting: cancelled
    stand_in_workers[1].wait()
    assert jobs.get_job(analysis["id"])["status"] == "cancelled"
    assert jobs.get_job(second["id"])["status"] == "running"  # its slot went to the next analysis
    assert jobs.get_job(waiting["id"])["status"] == "queued"


def test_each_kind_pauses_on_its_own_setting(trained_runs, videos, stand_in_workers, tmp_path,
                                             monkeypatch):
    monkeypatch.setenv("EMOTION_MAX_ANALYSES", "0")
    training = jobs.start_job(tiny_config(trained_runs["data"]))
    analysis = jobs.start_analysis(videos, tmp_path / "out", "alpha")

    assert (training["status"], analysis["status"]) == ("running", "queued")
    assert jobs.max_jobs("analyze") == 0 and jobs.max_jobs() == 1
    monkeypatch.setenv("EMOTION_MAX_ANALYSES", "some")
    with pytest.raises(jobs.JobError, match="EMOTION_MAX_ANALYSES must be a whole number"):
        jobs.list_jobs()
    monkeypatch.setenv("EMOTION_MAX_ANALYSES", "1")
    assert jobs.get_job(analysis["id"])["status"] == "running"


def test_an_analysis_that_cannot_run_is_refused_in_one_line(trained_runs, videos, tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTION_MAX_ANALYSES", "0")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("no media")
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "analysis.json").write_text("{}")

    cases = [({"source": tmp_path / "nowhere"}, "nothing to analyse at"),
             ({"source": tmp_path / "notes"}, "No images .* or videos"),
             ({"out": tmp_path / "done"}, "already holds a finished analysis"),
             ({"model": "gamma"}, "gamma"),
             ({"faces": "huge"}, "faces must be one of any, .*large"),
             ({"fps": 0}, "fps must be above 0"),
             ({"quantize": "int4"}, "quantize must be int8 or None")]
    for change, message in cases:
        arguments = {"source": videos, "out": tmp_path / "out", "model": "alpha", **change}
        with pytest.raises(ValueError, match=message):
            jobs.start_analysis(**arguments)
    jobs.start_analysis(videos, tmp_path / "out", "alpha")
    with pytest.raises(jobs.JobError, match="job 1 is already queued writing to"):
        jobs.start_analysis(videos, tmp_path / "out", "alpha")
    assert [job["status"] for job in jobs.list_jobs(kind="analyze")] == ["queued"]
    # the classifier it will use: the int8 file unless asked for the float one (`analyze --float`)
    float_job = jobs.start_analysis(videos, tmp_path / "float", "alpha", quantize=None)
    assert [jobs.store.read_job(job_id)["analysis"]["quantize"] for job_id in ("1", float_job["id"])] == ["int8", None]


def test_an_analysis_reports_its_progress_and_time_left(isolated_dirs, monkeypatch, tmp_path, videos):
    monkeypatch.setenv("EMOTION_MAX_ANALYSES", "0")
    job = jobs.submit("analyze", {"analysis": {"source": str(videos), "out": str(tmp_path / "out"),
                                               "model": "alpha", "fps": 5.0, "faces": None, "detector": "yunet"}})
    assert (job["progress"], job["progress_text"]) == (None, "waiting to start")

    progress = analysis_job.Progress(jobs.store.progress_path(job["id"]))
    progress.update("videos", 30, 120, 1, 4)
    record = json.loads(jobs.store.progress_path(job["id"]).read_text())
    # A quarter done in 100 s: the rest takes about 300 s more.
    record["began"] = (datetime.now(timezone.utc) - timedelta(seconds=100)).isoformat(timespec="seconds")
    write_json_atomic(jobs.store.progress_path(job["id"]), record)
    job = jobs.get_job(job["id"])

    assert job["progress"] == 0.25
    assert job["progress_text"] == "30 of 120 s of video (1 of 4 videos done)"
    assert job["eta_seconds"] is None  # queued: no time left to tell
    assert analysis_job.describe(job, isolated_dirs["models"])["eta_seconds"] == pytest.approx(300, abs=15)
    line = [line for line in jobs.format_jobs_table(jobs.list_jobs(kind=None)).splitlines() if "analyze" in line]
    assert line[0].split()[:4] == ["1", "queued", "analyze", "videos"] and "25%" in line[0]


def test_jobs_list_on_the_command_line_shows_every_kind(trained_runs, videos, tmp_path, monkeypatch):
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "0")
    monkeypatch.setenv("EMOTION_MAX_ANALYSES", "0")
    jobs.start_job(tiny_config(trained_runs["data"]))
    jobs.start_analysis(videos, tmp_path / "out", "alpha")

    shown = subprocess.run([os.sys.executable, "-m", "emotion_core", "jobs", "list"], cwd=PROJECT, env=os.environ,
                           capture_output=True, text=True, check=True).stdout

    assert "vgg_gap_small" in shown and "analyze videos" in shown and str(tmp_path / "out") in shown
