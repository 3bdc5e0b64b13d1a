"""The "train" kind: a training run, new or resumed, in the worker; what its run folder says of it."""

from __future__ import annotations

import os
from pathlib import Path

from .. import registry
from ..config import TrainConfig, config_from_dict
from .process import lower_priority
from ..wording import accuracy
from .store import JobError, locked, read_job, write_job

NICE_ENV = "EMOTION_TRAIN_NICE"
# A training run takes every core for hours; at 10 the app, the API and an analysis beside it get
# the CPU first when they want it, and training still has it whenever they are idle.
DEFAULT_NICE = 10


def niceness() -> int:
    """The niceness a training worker runs at, at least (EMOTION_TRAIN_NICE, 0 keeps its priority)."""
    value = os.environ.get(NICE_ENV, str(DEFAULT_NICE))
    if not value.isdigit() or int(value) > 19:
        raise JobError(f"{NICE_ENV} must be a whole number from 0 (keep the priority) to 19, not '{value}'")
    return int(value)


def run(job: dict, root: Path) -> tuple[str, str]:
    """Train the job's run (new, or `resume`) at low CPU priority; (status, reason) from the state
    the run ended in."""
    lower_priority(niceness())  # the worker process is this training run alone
    run_dir = _train(job, root)
    status_now = registry.load_run(run_dir).status
    cancelled = status_now.get("state") == "interrupted" and status_now.get("reason") == "cancelled"
    return ("cancelled", "cancelled") if cancelled else ("succeeded", "")


def _train(job: dict, root: Path) -> Path:
    from .. import training

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


def describe(job: dict, root: Path) -> dict:
    """What the run folder says: epochs, latest metrics, and the time left from the median epoch."""
    view = dict(architecture=job["config"]["arch"], options=changed_options(job["config"]), run_dir=None,
                run_state=None, history=[], epoch=0, epochs=job["config"]["epochs"], latest=None)
    if job.get("run") and (root / job["run"]).is_dir():
        found = registry.load_run(root / job["run"])
        view.update(run_dir=str(found.path), history=found.history, epoch=len(found.history),
                    epochs=found.status.get("epochs", view["epochs"]),
                    latest=found.history[-1] if found.history else None, run_state=found.state)
    seconds = sorted(row["seconds"] for row in view["history"] if "seconds" in row)
    # The median epoch: the first one also pays for compiling.
    typical = seconds[len(seconds) // 2] if seconds else None
    view["eta_seconds"] = None if typical is None else typical * max(0, view["epochs"] - view["epoch"])
    view["progress"] = view["epoch"] / max(1, view["epochs"])
    return view


def changed_options(values: dict) -> dict:
    """The config values that differ from the defaults (what makes this job different); a class set
    reads as "angry,sad,neutral"."""
    defaults = TrainConfig().to_dict()
    return {key: ",".join(value) if isinstance(value, list) else value for key, value in values.items()
            if key not in ("arch", "data") and defaults.get(key) != value}


def table_row(job: dict) -> tuple[str, str, str, str]:
    """(what, how far, its figure, where) in `jobs list`: the architecture, epochs, val accuracy, the run."""
    latest = job["latest"] or {}
    figure = accuracy(latest.get("val_accuracy"))
    return job["architecture"], f"{job['epoch']:>5}/{job['epochs']:<3}", figure, job.get("run") or "-"


def table_details(job: dict) -> list[str]:
    return ["options: " + " ".join(f"{k}={v}" for k, v in job["options"].items())] if job["options"] else []
