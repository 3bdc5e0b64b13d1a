"""Tests for emotion_core.jobs.queue: the queue's bookkeeping on disk, with no worker started."""

import json
import os
import subprocess
import threading
from pathlib import Path

import pytest

from emotion_core import jobs, registry
from emotion_core.storage import write_json_atomic
from tests.factories import TINY_CONFIG
from tests.jobs.helpers import tiny_config, write_finished_run


def test_concurrent_starts_with_one_request_id_create_one_job(tiny_dataset, paused):
    config = tiny_config(tiny_dataset)
    barrier = threading.Barrier(8)
    started = []

    def press_start():
        barrier.wait()  # all eight read-modify-write the job folder at the same moment
        started.append(jobs.start_job(config, request_id="tab-1-press-1")["id"])

    threads = [threading.Thread(target=press_start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert started == ["1"] * 8
    assert [job["id"] for job in jobs.list_jobs()] == ["1"]
    assert jobs.start_job(config, request_id="tab-2-press-1")["id"] == "2"


def test_a_queued_job_is_cancelled_without_ever_starting(tiny_dataset, paused, monkeypatch):
    job = jobs.start_job(tiny_config(tiny_dataset))

    cancelled = jobs.cancel_job(job["id"])
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "1")  # a free slot must not revive it
    listed = jobs.list_jobs()

    assert cancelled["status"] == "cancelled"
    assert [(j["id"], j["status"], j["pid"]) for j in listed] == [("1", "cancelled", None)]
    with pytest.raises(jobs.JobError, match="already cancelled"):
        jobs.cancel_job(job["id"])


def test_a_pid_now_used_by_another_process_means_the_worker_is_dead(tiny_dataset, paused, isolated_dirs):
    run = isolated_dirs["models"] / "partial"
    write_json_atomic(run / registry.CONFIG_FILE, {**TINY_CONFIG, "data": "tiny", "name": "partial"})
    registry.update_status(run, state="running", epoch=1, epochs=2)
    job = jobs.start_job(tiny_config(tiny_dataset))
    record = json.loads((jobs.jobs_dir() / "1.json").read_text())
    # This test's own process is alive, but it started at another time than the recorded worker.
    record.update(status="running", pid=os.getpid(), pid_start="1", run="partial", started=record["created"])
    write_json_atomic(jobs.jobs_dir() / "1.json", record)

    job = jobs.get_job(job["id"])

    assert job["status"] == "failed"
    assert registry.load_run(run).status["state"] == "failed"


def test_start_refuses_a_missing_data_set_or_a_taken_run_name(tiny_dataset, paused, isolated_dirs):
    write_finished_run(isolated_dirs["models"], "taken")

    with pytest.raises(ValueError, match="No data set at 'nowhere'"):
        jobs.start_job(tiny_config(Path("nowhere")))
    with pytest.raises(jobs.JobError, match="already exists"):
        jobs.start_job(tiny_config(tiny_dataset, name="taken"))
    jobs.start_job(tiny_config(tiny_dataset, name="fresh"))
    with pytest.raises(jobs.JobError, match="already queued for run 'fresh'"):
        jobs.start_job(tiny_config(tiny_dataset, name="fresh"))
    assert len(jobs.list_jobs()) == 1


def test_a_resume_job_continues_the_named_run_with_more_epochs(paused, isolated_dirs):
    write_finished_run(isolated_dirs["models"], "short")

    job = jobs.start_job(resume="short", epochs=5)

    assert (job["resume"], job["run"], job["resume_epochs"]) == ("short", "short", 5)
    assert (job["epoch"], job["epochs"]) == (1, 1)  # what the run folder says until the worker starts
    assert job["config"]["epochs"] == 5


def test_retrain_values_are_the_runs_config_without_its_name(isolated_dirs):
    write_finished_run(isolated_dirs["models"], "alpha")

    values = jobs.retrain_values("alpha")

    assert values == {**TINY_CONFIG, "data": "tiny", "name": ""}


def test_a_dead_workers_job_does_not_block_resuming_its_run(paused, isolated_dirs, capsys):
    """After a machine restart a record still says 'running'; `jobs start --resume` must not refuse."""
    from emotion_core.cli import main

    run = write_finished_run(isolated_dirs["models"], "partial")
    registry.update_status(run, state="running", epoch=1, epochs=3)
    first = jobs.start_job(resume="partial")
    gone = subprocess.Popen(["true"])
    gone.wait()  # its pid is no longer a process (or, if reused, one started at another time)
    record = json.loads((jobs.jobs_dir() / "1.json").read_text())
    record.update(status="running", pid=gone.pid, pid_start="1", started=record["created"])
    write_json_atomic(jobs.jobs_dir() / "1.json", record)

    assert main(["jobs", "start", "--resume", "partial"]) == 0, capsys.readouterr().err

    statuses = {job["id"]: job["status"] for job in jobs.list_jobs()}
    assert statuses == {first["id"]: "failed", "2": "queued"}
    assert registry.load_run(run).status["state"] == "failed"  # marked resumable, then resumed by job 2


def test_a_bad_training_niceness_is_refused_before_a_job_is_queued(tiny_dataset, paused, monkeypatch):
    for value in ("-5", "low", "25"):
        monkeypatch.setenv("EMOTION_TRAIN_NICE", value)
        with pytest.raises(jobs.JobError, match=f"EMOTION_TRAIN_NICE must be a whole number from 0 .* not '{value}'"):
            jobs.start_job(tiny_config(tiny_dataset))
    monkeypatch.setenv("EMOTION_TRAIN_NICE", "0")  # keeps the priority
    assert jobs.start_job(tiny_config(tiny_dataset))["status"] == "queued"
    assert len(jobs.list_jobs()) == 1
