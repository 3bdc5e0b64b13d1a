"""The "score" kind: every run with weights scored on the test sets (`testsets score`) in the worker.

    jobs.start_scoring()                 # queued, or the one already waiting to start
    latest = jobs.list_jobs(kind="score")[0]   # the newest, with its progress or its results
    scoring_due(latest)                  # whether a set, the list or a run changed since it began

What is stale is decided by `testsets.score` (content and weights fingerprints), so a job started
when nothing changed scores nothing. The worker writes how far it got to `<id>.progress`
(`analysis_job.Progress`: the set being scored is its phase) and, at the end, each set's result
(`testsets.score_set`: scored, unchanged, failed) into the job record.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from ..datasets import data_root
from ..storage import read_json
from .analysis_job import Progress
from .store import ACTIVE, locked, progress_path, read_job, write_job

KIND = "score"


def task() -> dict:
    """The job's `score` field: the data root whose test sets it scores (the caller's)."""
    return {"data_root": str(data_root().resolve())}


def scoring_due(latest: dict | None) -> bool:
    """Whether the test sets need scoring: there are some, and none was ever scored, or a set, the
    list or a run with weights changed since the newest score job began (unless one is waiting)."""
    from ..testsets import last_change, list_sets

    if not list_sets():
        return False
    if latest is None:
        return True
    if latest["status"] == "queued":
        return False
    began = datetime.fromisoformat(latest["started"] or latest["created"]).timestamp()
    # Job times are whole seconds; a change within the second a job began came before its worker
    # (which takes seconds to start) looked at the files.
    return int(last_change()) > began


def run(job: dict, root: Path) -> tuple[str, str]:
    """Score the runs whose figures on the test sets are missing or stale; (status, one line)."""
    from ..testsets import score_sets

    os.environ["EMOTION_DATA_DIR"] = job["score"]["data_root"]  # the sets of the page that started it
    report = Progress(progress_path(job["id"], root))
    report.update("checking", 0, 1)
    results = score_sets(progress=lambda name, done, total: report.update(name, done, total))
    with locked(root):
        current = read_job(job["id"], root)
        current["results"] = results  # who was scored, and who could not be and why: the page lists them
        write_job(current, root)
    report.update("done", 1, 1, force=True)
    return "succeeded", summary(results)


def summary(results: list[dict]) -> str:
    """One line: runs scored on each set, and how many could not be."""
    if not results:
        return "no test sets"
    return "; ".join(f"{result['set']}: {len(result['scored'])} scored, {len(result['unchanged'])} unchanged"
                     + (f", {len(result['failed'])} not scorable" if result["failed"] else "") for result in results)


def describe(job: dict, root: Path) -> dict:
    """`progress` (0-1 or None), `progress_text`, `eta_seconds` (None), `results` (once finished)."""
    view = {"progress": None, "progress_text": "waiting to start" if job["status"] == "queued" else "starting",
            "eta_seconds": None, "results": job.get("results", [])}
    path = progress_path(job["id"], root)
    if job["status"] not in ACTIVE:
        view.update(progress=1.0 if job["status"] == "succeeded" else None, progress_text=job["status"])
    elif path.is_file():
        state = read_json(path)
        view["progress"] = min(1.0, state["done"] / state["total"]) if state["total"] else 0.0
        view["progress_text"] = ("checking what changed" if state["phase"] in ("checking", "done")
                                 else f"scoring on {state['phase']}")
    return view


def table_row(job: dict) -> tuple[str, str, str, str]:
    """(what, how far, its figure, where) in `jobs list`: the test sets, the share done, -, the data root."""
    done = "-" if job["progress"] is None else f"{job['progress']:.0%}"
    return "score test sets", f"{done:>9}", "-", job["score"]["data_root"]


def table_details(job: dict) -> list[str]:
    return [summary(job["results"])] if job["results"] else [job["progress_text"]]
