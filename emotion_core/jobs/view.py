"""What a job looks like to a reader: its record plus what its kind adds (progress, time left), a table."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from .. import registry
from .kinds import kind
from .store import kind_of, log_tail


def describe(job: dict, root: Path | None = None, queue_position: int | None = None) -> dict:
    """The job record plus its kind's view (for training: epochs, latest metrics; for an analysis: its
    progress), the time elapsed and left, and its log's tail when it failed."""
    root = registry.runs_root(root)
    view = dict(job, kind=kind_of(job), queue_position=queue_position, **kind(kind_of(job)).module.describe(job, root))
    view["elapsed_seconds"] = _seconds_between(job.get("started"), job.get("ended"))
    if job["status"] != "running":
        view["eta_seconds"] = None
    view["log_tail"] = log_tail(job["id"], 20, root) if job["status"] == "failed" else ""
    return view


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start:
        return None
    finish = datetime.fromisoformat(end) if end else datetime.now(timezone.utc)
    return max(0.0, (finish - datetime.fromisoformat(start)).total_seconds())


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds}s"


def format_jobs_table(jobs: list[dict]) -> str:
    """The plain-text table of `jobs list`: each kind fills the columns what, done and figure its way
    (training: the architecture, epochs, val accuracy)."""
    lines = [f"{'id':>4}  {'status':<10}{'what':<22}{'done':>9}{'figure':>9}{'elapsed':>10}{'left':>10}  where"]
    for job in jobs:
        module = kind(job["kind"]).module
        what, done, figure, where = module.table_row(job)
        lines.append(f"{job['id']:>4}  {job['status']:<10}{what:<22}{done:>9}{figure:>9}"
                     f"{format_duration(job['elapsed_seconds']):>10}{format_duration(job['eta_seconds']):>10}  {where}")
        lines += [f"      {line}" for line in module.table_details(job)]
        if job["status"] == "failed":
            lines.append(f"      failed: {job['reason']}")
            lines += [f"      | {line}" for line in job["log_tail"].splitlines()[-5:]]
    return "\n".join(lines)
