"""Tests for emotion_core.jobs: real tiny training jobs in detached worker processes.

Workers inherit this test's data root and registry (conftest's `isolated_dirs` sets EMOTION_*
in the environment). Each worker pays for importing TensorFlow, so only three tests start one;
the rest hold the queue with EMOTION_MAX_JOBS=0 and check the bookkeeping on disk.
"""

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from emotion_core import jobs, registry
from emotion_core.cli import main
from emotion_core.config import config_from_dict
from emotion_core.storage import write_json_atomic
from tests.factories import TINY_CONFIG

WAIT = 300  # seconds: a worker imports TensorFlow and compiles its model on a busy 2-core machine


def tiny_config(data: Path, **overrides):
    return config_from_dict({**TINY_CONFIG, "data": str(data), **overrides})


def wait_for(job_id: str, condition, timeout: float = WAIT) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = jobs.get_job(job_id)
        if condition(job):
            return job
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} is still {job['status']} at epoch {job['epoch']}; its log:\n"
                        + jobs.log_tail(job_id, 30))
        time.sleep(0.5)


def finished(job: dict) -> bool:
    return job["status"] not in jobs.ACTIVE


def trained_an_epoch(job: dict) -> bool:
    return job["epoch"] >= 1 or finished(job)


@pytest.fixture
def paused(monkeypatch):
    """No job starts: they stay queued, so no worker (and no TensorFlow import) is paid for."""
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "0")


@pytest.fixture(autouse=True)
def no_worker_left_behind(monkeypatch):
    """A failing test must not leave a training process running on the machine."""
    yield
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "0")  # so listing does not start what is queued
    for job in jobs.list_jobs():
        if job["status"] == "running" and job["pid"] != os.getpid():
            os.kill(job["pid"], signal.SIGKILL)


def write_finished_run(models: Path, name: str) -> Path:
    """A complete run without weights (a comparison-only run): cheap, and enough to watch for damage."""
    run = models / name
    write_json_atomic(run / registry.CONFIG_FILE, {**TINY_CONFIG, "data": "tiny", "name": name})
    write_json_atomic(run / registry.HISTORY_FILE, [{"epoch": 1, "loss": 1.9, "accuracy": 0.3, "val_loss": 1.9,
                                                     "val_accuracy": 0.25, "lr": 0.01, "seconds": 1.0}])
    write_json_atomic(run / registry.STATUS_FILE, {"state": "complete", "epoch": 1, "epochs": 1})
    return run


def snapshot(folder: Path) -> dict:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


# --- Real workers -------------------------------------------------------------------------------------


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


# --- The queue's bookkeeping, with no worker started -------------------------------------------------------


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


def test_a_worker_only_runs_the_job_handed_to_it(tiny_dataset, paused):
    job = jobs.start_job(tiny_config(tiny_dataset))

    with pytest.raises(jobs.JobError, match="was not handed to this process"):
        jobs.run_worker(job["id"])


# --- Command line and options ---------------------------------------------------------------------------


def test_cli_starts_lists_cancels_and_shows_the_log_of_jobs(tiny_dataset, paused, isolated_dirs, capsys):
    write_finished_run(isolated_dirs["models"], "alpha")
    start = ["jobs", "start", "--arch", "vgg_gap_small", "--data", "tiny", "--epochs", "3", "--request-id", "r1"]

    assert main(start) == 0
    assert main(start) == 0  # the same request id: the same job
    assert main(["jobs", "start", "--from-run", "alpha", "--optimizer", "adam"]) == 0
    ids = capsys.readouterr().out.split()
    assert main(["jobs", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)

    assert ids == ["1", "1", "2"]
    assert [(job["id"], job["status"]) for job in listed] == [("2", "queued"), ("1", "queued")]
    assert listed[1]["options"]["epochs"] == 3
    retrained = listed[0]["config"]
    assert (retrained["optimizer"], retrained["batch_size"], retrained["name"]) == ("adam", 16, "")

    assert main(["jobs", "cancel", "1"]) == 0
    assert "job 1 cancelled" in capsys.readouterr().out
    assert main(["jobs", "list"]) == 0
    table = capsys.readouterr().out
    assert "cancelled" in table and "optimizer=adam" in table
    assert main(["jobs", "log", "9"]) == 2
    assert "No job '9'" in capsys.readouterr().err


def test_training_options_carry_each_default_and_its_reason():
    options = {option["name"]: option for option in jobs.training_options()}

    assert options["epochs"]["default"] == 60
    assert "FER2013" in options["epochs"]["reason"]
    assert "weights stay float32" in options["precision"]["reason"]  # a reason continued on the next line
    assert "vgg_gap_small" in options["arch"]["choices"]
    assert options["augment"]["choices"] is None and options["augment"]["default"] is True
