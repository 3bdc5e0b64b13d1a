"""What a job looks like to a reader: its record plus its run's progress, the time left, a table."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from .. import registry
from ..config import TrainConfig
from .store import log_tail


def describe(job: dict, root: Path | None = None, queue_position: int | None = None) -> dict:
    """The job record plus what its run folder says: epochs, latest metrics, times, log tail."""
    root = registry.runs_root(root)
    view = dict(job, architecture=job["config"]["arch"], options=changed_options(job["config"]),
                queue_position=queue_position, run_dir=None, run_state=None, history=[], epoch=0,
                epochs=job["config"]["epochs"], latest=None)
    if job.get("run") and (root / job["run"]).is_dir():
        run = registry.load_run(root / job["run"])
        view.update(run_dir=str(run.path), history=run.history, epoch=len(run.history),
                    epochs=run.status.get("epochs", view["epochs"]),
                    latest=run.history[-1] if run.history else None, run_state=run.state)
    view["elapsed_seconds"] = _seconds_between(job.get("started"), job.get("ended"))
    view["eta_seconds"] = _eta_seconds(view) if job["status"] == "running" else None
    view["log_tail"] = log_tail(job["id"], 20, root) if job["status"] == "failed" else ""
    return view


def changed_options(values: dict) -> dict:
    """The config values that differ from the defaults (what makes this job different); a class set
    reads as "angry,sad,neutral"."""
    defaults = TrainConfig().to_dict()
    return {key: ",".join(value) if isinstance(value, list) else value for key, value in values.items()
            if key not in ("arch", "data") and defaults.get(key) != value}


def _seconds_between(start: str | None, end: str | None) -> float | None:
    if not start:
        return None
    finish = datetime.fromisoformat(end) if end else datetime.now(timezone.utc)
    return max(0.0, (finish - datetime.fromisoformat(start)).total_seconds())


def _eta_seconds(view: dict) -> float | None:
    seconds = sorted(row["seconds"] for row in view["history"] if "seconds" in row)
    if not seconds:
        return None
    typical = seconds[len(seconds) // 2]  # the median: the first epoch also pays for compiling
    return typical * max(0, view["epochs"] - view["epoch"])


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
    """The plain-text table of `jobs list`."""
    lines = [f"{'id':>4}  {'status':<10}{'arch':<22}{'epoch':>9}{'val acc':>9}{'elapsed':>10}{'left':>10}  run"]
    for job in jobs:
        latest = job["latest"] or {}
        accuracy = f"{latest['val_accuracy']:.4f}" if "val_accuracy" in latest else "-"
        lines.append(f"{job['id']:>4}  {job['status']:<10}{job['architecture']:<22}"
                     f"{job['epoch']:>5}/{job['epochs']:<3}{accuracy:>9}{format_duration(job['elapsed_seconds']):>10}"
                     f"{format_duration(job['eta_seconds']):>10}  {job.get('run') or '-'}")
        if job["options"]:
            lines.append("      options: " + " ".join(f"{k}={v}" for k, v in job["options"].items()))
        if job["status"] == "failed":
            lines.append(f"      failed: {job['reason']}")
            lines += [f"      | {line}" for line in job["log_tail"].splitlines()[-5:]]
    return "\n".join(lines)
