"""The worker: one job run in this process (`python -m emotion_core jobs worker ID`), by its kind."""

from __future__ import annotations

import os
import signal
import traceback
from pathlib import Path

from .. import registry
from ..storage import now_iso
from .kinds import kind
from .queue import close_run, reconcile
from .store import JobError, kind_of, locked, read_job, write_job


class JobCancelled(KeyboardInterrupt):
    """SIGTERM outside training's own stop-after-the-batch handler (loading data, evaluating, an analysis).

    A KeyboardInterrupt, so a run it interrupts records itself as 'interrupted', not 'failed'.
    """


def run_worker(job_id: str, root: Path | None = None) -> int:
    """Run one job in this process and record how it ended; then start the next queued jobs."""
    # Until training installs its own SIGTERM handler (a clean stop after the batch), a cancel
    # interrupts whatever is under way, such as loading the data set or analysing a video.
    signal.signal(signal.SIGTERM, _raise_cancelled)
    root = registry.runs_root(root)
    with locked(root):
        job = read_job(str(job_id), root)
        if job["status"] != "running" or job.get("pid") != os.getpid():
            raise JobError(f"job {job_id} is {job['status']} and was not handed to this process")
    status, reason = "failed", "the worker stopped without a Python error"
    try:
        status, reason = kind(kind_of(job)).module.run(job, root)
    except JobCancelled:
        status, reason = "cancelled", "cancelled"
    except Exception as error:
        traceback.print_exc()  # the whole story goes to the job's log; the record keeps the last line
        reason = traceback.format_exception_only(error)[-1].strip()
    finally:
        # The work is over: a cancel arriving now is too late, and must not kill the worker before it
        # records how the job ended (a finished analysis would read as cancelled, its folder whole).
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        with locked(root):
            job = read_job(str(job_id), root)
            if job["status"] == "running" and job.get("pid") == os.getpid():
                job.update(status=status, reason=reason, ended=now_iso())
                write_job(job, root)
                close_run(job, root, "interrupted" if status == "cancelled" else "failed", reason or status)
        # Workers started next inherit an ignored SIGTERM through exec: they must be cancellable at once.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with locked(root):
            reconcile(root)
    print(f"job {job_id}: {status}{': ' + reason if reason and reason != status else ''}", flush=True)
    return 0 if status != "failed" else 1


def _raise_cancelled(*_):
    raise JobCancelled()
