"""Tests for emotion_core.jobs.worker: real tiny training jobs in detached worker processes.

Workers inherit this test's data root and registry (conftest's `isolated_dirs` sets EMOTION_*
in the environment). Each worker pays for importing TensorFlow, so only these two tests start one.
"""

import os
import signal
from pathlib import Path

import pytest

from emotion_core import jobs, registry
from emotion_core.storage import write_json_atomic
from tests.jobs.helpers import finished, snapshot, tiny_config, trained_an_epoch, wait_for, write_finished_run


@pytest.mark.slow
def test_queued_jobs_run_one_at_a_time_in_order_and_a_cancel_stops_the_running_one(tiny_dataset):
    first = jobs.start_job(tiny_config(tiny_dataset, epochs=1))
    second = jobs.start_job(tiny_config(tiny_dataset, epochs=200, optimizer="adam", learning_rate=0.001))

    assert (first["status"], second["status"], second["queue_position"]) == ("running", "queued", 1)
    assert second["options"]["optimizer"] == "adam" and second["options"]["epochs"] == 200

    # The first finishes and its worker starts the second: nobody has to look for that to happen.
    second = wait_for(second["id"], lambda job: job["status"] != "queued" and trained_an_epoch(job))
    first = jobs.get_job(first["id"])
    assert first["status"] == "succeeded", first["reason"]
    assert (first["epoch"], first["epochs"]) == (1, 1)
    assert 0 <= first["latest"]["val_accuracy"] <= 1
    assert registry.load_run(Path(first["run_dir"])).state == "complete"
    assert second["status"] == "running"
    assert second["started"] >= first["ended"]
    assert second["eta_seconds"] > 0 and second["elapsed_seconds"] > 0

    jobs.cancel_job(second["id"])
    second = wait_for(second["id"], finished, timeout=60)

    assert second["status"] == "cancelled", second["reason"]
    run = registry.load_run(Path(second["run_dir"]))
    assert (run.status["state"], run.status["reason"]) == ("interrupted", "cancelled")
    assert 1 <= len(run.history) < 200
    assert "job 2: cancelled" in jobs.log_tail(second["id"])

    # Resumed to the end, the cancelled run is a success, not "cancelled" again.
    resumed = jobs.start_job(resume=run.name, epochs=len(run.history) + 1)
    resumed = wait_for(resumed["id"], finished, timeout=120)
    assert resumed["status"] == "succeeded", resumed["reason"]
    run = registry.load_run(Path(second["run_dir"]))
    assert (run.status["state"], run.status["reason"]) == ("complete", "")


@pytest.mark.slow
def test_a_killed_worker_is_reported_failed_and_its_run_can_be_resumed(tiny_dataset, isolated_dirs):
    from emotion_core import training

    models = isolated_dirs["models"]
    write_finished_run(models, "keeper")
    write_json_atomic(models / registry.DEPLOYED_FILE, {"run": "keeper", "deployed_at": None, "history": []})
    before = snapshot(models / "keeper"), (models / registry.DEPLOYED_FILE).read_bytes()
    job = jobs.start_job(tiny_config(tiny_dataset, epochs=200, name="doomed"))
    job = wait_for(job["id"], trained_an_epoch)
    assert job["status"] == "running", job["reason"]
    # The training worker runs at niceness 10 at least (EMOTION_TRAIN_NICE unless set), in every thread.
    threads = [int(task.name) for task in Path(f"/proc/{job['pid']}/task").iterdir()]
    assert {os.getpriority(os.PRIO_PROCESS, thread) for thread in threads} == {
        max(os.nice(0), jobs.training_job.DEFAULT_NICE)}

    os.kill(job["pid"], signal.SIGKILL)  # what the OOM killer or a power cut does: no goodbye
    job = wait_for(job["id"], finished, timeout=10)

    assert job["status"] == "failed"
    assert "ended without reporting" in job["reason"]
    run = registry.load_run(models / "doomed")
    assert run.status["state"] == "failed"
    assert "--resume doomed" in run.status["reason"]
    assert (snapshot(models / "keeper"), (models / registry.DEPLOYED_FILE).read_bytes()) == before
    assert sorted(run.name for run in registry.list_runs()) == ["doomed", "keeper"]

    trained = len(run.history)
    training.resume("doomed", epochs=trained + 1, verbose=0)

    resumed = registry.load_run(models / "doomed")
    assert resumed.state == "complete"
    assert [row["epoch"] for row in resumed.history] == list(range(1, trained + 2))


def test_a_worker_only_runs_the_job_handed_to_it(tiny_dataset, paused):
    job = jobs.start_job(tiny_config(tiny_dataset))

    with pytest.raises(jobs.JobError, match="was not handed to this process"):
        jobs.run_worker(job["id"])


def test_a_cancel_arriving_after_the_work_ended_does_not_lose_how_it_ended(paused, isolated_dirs):
    """A SIGTERM between the end of the job's work and its record (a late cancel) leaves it succeeded."""
    import subprocess
    import sys

    job = jobs.start_scoring()
    # The worker process: a job whose work ends at once, then a cancel just before the record is written.
    script = f"""
import os, signal
from emotion_core.jobs import process, scoring_job, store, worker

scoring_job.run = lambda job, root: ("succeeded", "")
with store.locked(None):
    record = store.read_job("{job['id']}")
    record.update(status="running", pid=os.getpid(), pid_start=process.process_start(os.getpid()))
    store.write_job(record, None)
real_locked, calls = worker.locked, []

def cancelled_on_the_way_in(root):
    calls.append(root)
    if len(calls) == 2:  # the worker's second lock: recording the outcome
        os.kill(os.getpid(), signal.SIGTERM)
    return real_locked(root)

worker.locked = cancelled_on_the_way_in
raise SystemExit(worker.run_worker("{job['id']}"))
"""
    ended = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)

    assert ended.returncode == 0, ended.stderr[-2000:]
    assert jobs.get_job(job["id"])["status"] == "succeeded"
