"""Job records on disk, and the lock held around every read-modify-write of them.

`<registry>/_jobs/<id>.json` per job (the registry skips folders starting with '_'), `<id>.log`
for its worker's output, and `.lock`, an exclusive `flock`.
"""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path

from .. import registry
from ..storage import read_json, write_json_atomic

JOBS_DIR = "_jobs"
ACTIVE = ("queued", "running")  # then one of succeeded, failed, cancelled
TRAIN = "train"  # the kind of a record written before jobs had kinds: they were all training


class JobError(ValueError):
    """A job that cannot be found or acted on, with the reason in one line."""


def jobs_dir(root: Path | None = None) -> Path:
    return registry.runs_root(root) / JOBS_DIR


def log_path(job_id: str, root: Path | None = None) -> Path:
    return jobs_dir(root) / f"{job_id}.log"


def progress_path(job_id: str, root: Path | None = None) -> Path:
    """Where a worker writes how far it got, as JSON, when its kind has no folder of its own to
    follow (an analysis). Not `.json`: every `<id>.json` here is a job record."""
    return jobs_dir(root) / f"{job_id}.progress"


def _job_file(job_id: str, root: Path | None) -> Path:
    return jobs_dir(root) / f"{job_id}.json"


@contextlib.contextmanager
def locked(root: Path | None):
    """Hold the jobs lock; every change to job state happens inside one."""
    folder = jobs_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, even on a crash
        yield


def read_records(root: Path | None) -> list[dict]:
    """Every job record, oldest first (which is queue order)."""
    folder = jobs_dir(root)
    if not folder.is_dir():
        return []
    records = [read_json(path) for path in folder.glob("*.json")]
    return sorted(records, key=lambda job: int(job["id"]))


def kind_of(job: dict) -> str:
    """A job's kind (a key of `kinds.KINDS`)."""
    return job.get("kind", TRAIN)


def read_job(job_id: str, root: Path | None = None) -> dict:
    """One job's record; an unknown id is a JobError."""
    path = _job_file(str(job_id), root)
    if not str(job_id).isdigit() or not path.is_file():
        raise JobError(f"No job '{job_id}' in {jobs_dir(root)}; `jobs list` shows them.")
    return read_json(path)


def write_job(job: dict, root: Path | None) -> None:
    write_json_atomic(_job_file(job["id"], root), job)


def log_tail(job_id: str, lines: int = 20, root: Path | None = None) -> str:
    """The last `lines` lines of the job's log (all of it when `lines` is 0); '' before it exists."""
    path = log_path(str(job_id), root)
    if not path.is_file():
        return ""
    text = path.read_text(errors="replace")
    return "\n".join(text.splitlines()[-lines:]) if lines else text
