"""The worker: one job's training in this process (`python -m emotion_core jobs worker ID`)."""

from __future__ import annotations

import os
import signal
import traceback
from pathlib import Path

from .. import registry
from ..config import config_from_dict
from ..storage import now_iso
from .queue import close_run, reconcile
from .store import JobError, locked, read_job, write_job


class JobCancelled(KeyboardInterrupt):
    """SIGTERM outside training's own stop-after-the-batch handler (loading data, evaluating).

    A KeyboardInterrupt, so a run it interrupts records itself as 'interrupted', not 'failed'.
    """


def run_worker(job_id: str, root: Path | None = None) -> int:
    """Run one job's training in this process and record how it ended; then start the next queued job."""
    # Until training installs its own SIGTERM handler (a clean stop after the batch), a cancel
    # interrupts whatever is under way, such as loading the data set.
    signal.signal(signal.SIGTERM, _raise_cancelled)
    with locked(root):
        job = read_job(str(job_id), root)
        if job["status"] != "running" or job.get("pid") != os.getpid():
            raise JobError(f"job {job_id} is {job['status']} and was not handed to this process")
    status, reason = "failed", "the worker stopped without a Python error"
    try:
        run_dir = _train(job, root)
        status_now = registry.load_run(run_dir).status
        cancelled = status_now.get("state") == "interrupted" and status_now.get("reason") == "cancelled"
        status, reason = ("cancelled", "cancelled") if cancelled else ("succeeded", "")
    except JobCancelled:
        status, reason = "cancelled", "cancelled"
    except Exception as error:
        traceback.print_exc()  # the whole story goes to the job's log; the record keeps the last line
        reason = traceback.format_exception_only(error)[-1].strip()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with locked(root):
            job = read_job(str(job_id), root)
            if job["status"] == "running" and job.get("pid") == os.getpid():
                job.update(status=status, reason=reason, ended=now_iso())
                write_job(job, root)
                close_run(job, root, "interrupted" if status == "cancelled" else "failed", reason or status)
            reconcile(root)
    print(f"job {job_id}: {status}{': ' + reason if reason and reason != status else ''}", flush=True)
    return 0 if status != "failed" else 1


def _raise_cancelled(*_):
    raise JobCancelled()


def _train(job: dict, root: Path | None) -> Path:
    from .. import training

    root = registry.runs_root(root)
    if job["resume"]:
        return training.resume(root / job["resume"], epochs=job.get("resume_epochs"))
    config = config_from_dict(job["config"])
    if not config.name:
        config.name = training.new_run_name(config)
        if (root / config.name).exists():  # two jobs started within the same second
            config.name += f"-job{job['id']}"
    with locked(root):
        current = read_job(job["id"], root)
        current["run"] = config.name  # known before the folder exists, so a reader can follow it
        write_job(current, root)
    job["run"] = config.name
    return training.train(config, runs_dir=root)
