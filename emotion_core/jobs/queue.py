"""The queue: start, list and cancel jobs, each kind with its own slots (`kinds.KINDS`).

Every public function holds the lock and reconciles first: a running job whose worker is gone
(killed, out of memory, machine restart) becomes failed and its partial run is marked so it can be
resumed; then queued jobs start, oldest first, while fewer jobs of their kind run than its slots
(EMOTION_MAX_JOBS for training, EMOTION_MAX_ANALYSES for analyses).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections import Counter
from pathlib import Path

from .. import registry
from ..config import TrainConfig
from ..storage import now_iso, read_json
from .kinds import KINDS, kind, slots
from .process import process_start, reap_finished, spawn_worker, worker_alive
from .store import ACTIVE, TRAIN, JobError, kind_of, locked, log_path, read_job, read_records, write_job
from .training_job import niceness
from .view import describe

MAX_JOBS_ENV = KINDS[TRAIN].slots_env


def max_jobs(name: str = TRAIN) -> int:
    """How many jobs of kind `name` may run at once."""
    return slots(name)


# --- Reconcile and schedule (always under the lock) -------------------------------------------------


def reconcile(root: Path | None) -> None:
    """Fail running jobs whose worker is gone, then start queued jobs while their kind has a free slot."""
    reap_finished()
    records = read_records(root)
    for job in records:
        if job["status"] == "running" and not worker_alive(job):
            _mark_dead(job, root)
    running = Counter(kind_of(job) for job in records if job["status"] == "running")
    free = {name: slots(name) - running[name] for name in KINDS}
    for job in records:
        if job["status"] == "queued" and free.get(kind_of(job), 0) > 0:
            _launch(job, root)
            free[kind_of(job)] -= 1


def _mark_dead(job: dict, root: Path | None) -> None:
    if job.get("cancel_requested"):
        status, reason = "cancelled", "cancelled"
    else:
        status = "failed"
        reason = (f"worker process {job.get('pid')} ended without reporting "
                  "(killed, out of memory, or the machine restarted)")
    job.update(status=status, reason=reason, ended=now_iso())
    write_job(job, root)
    close_run(job, root, "interrupted" if status == "cancelled" else "failed", reason)
    if job.get("run"):  # a worker killed mid-write leaves its temporary file; nobody else writes there
        registry.remove_partial_files(registry.runs_root(root) / job["run"])


def close_run(job: dict, root: Path | None, state: str, reason: str) -> None:
    """A run left 'starting' or 'running' by a dead worker gets a final state; other runs are untouched."""
    if not job.get("run"):
        return
    run_dir = registry.runs_root(root) / job["run"]
    status_file = run_dir / registry.STATUS_FILE
    if not status_file.is_file() or read_json(status_file).get("state") not in ("starting", "running"):
        return
    if state == "failed":
        reason += f"; continue it with `python -m emotion_core jobs start --resume {job['run']}`"
    registry.update_status(run_dir, state=state, reason=reason, ended=now_iso())


def _launch(job: dict, root: Path | None) -> None:
    root = registry.runs_root(root)
    try:
        child = spawn_worker(job["id"], root, log_path(job["id"], root))
    except OSError as error:
        job.update(status="failed", reason=f"could not start the worker: {error}", ended=now_iso())
        write_job(job, root)
        return
    job.update(status="running", started=now_iso(), pid=child.pid, pid_start=process_start(child.pid))
    write_job(job, root)


# --- Starting, listing, cancelling -----------------------------------------------------------------


def start_job(config: TrainConfig | None = None, *, resume: str | None = None, epochs: int | None = None,
              request_id: str | None = None, root: Path | None = None) -> dict:
    """Queue a training job (a new run from `config`, or `resume` a run) and start it if a slot is free.

    A second call with the same `request_id` returns the first call's job instead of a new one.
    """
    niceness()  # a bad EMOTION_TRAIN_NICE is one line now, not a failed job later
    root = registry.runs_root(root)
    if resume:
        run_dir = registry.resolve_run(resume, root)
        values = read_json(run_dir / registry.CONFIG_FILE)
        if epochs:
            values["epochs"] = epochs
        resume = run_dir.name
    elif config is not None:
        values = _checked_new_run(config, root)
    else:
        raise JobError("start_job needs a config or a run to resume")
    return submit(TRAIN, {"config": values, "resume": resume, "resume_epochs": epochs if resume else None,
                          "run": resume}, request_id=request_id, root=root,
                  check=lambda records: _check_run_not_taken(values["name"] if not resume else resume, records))


def start_analysis(source: Path, out: Path, model: str = registry.DEPLOYED, *, fps: float | None = None,
                   faces: str | None = None, detector: str | None = None, quantize: str | None = "int8",
                   request_id: str | None = None, root: Path | None = None) -> dict:
    """Queue `analyze SOURCE --out OUT` with `model` (see `analysis_job.task`; `quantize` None: the
    float LiteRT file, `analyze --float`) and start it if a slot is free."""
    from .analysis_job import task

    options = {"detector": detector} if detector else {}
    values = task(source, out, model, fps=fps, faces=faces, quantize=quantize, **options)
    return submit("analyze", {"analysis": values}, request_id=request_id, root=root,
                  check=lambda records: _check_out_not_taken(values["out"], records))


def start_scoring(request_id: str | None = None, root: Path | None = None) -> dict:
    """Queue a scoring of every run on every test set (`scoring_job`), started if a slot is free;
    one already waiting to start is returned instead of a second."""
    from .scoring_job import KIND, task

    queued = [job for job in read_records(registry.runs_root(root)) if kind_of(job) == KIND and job["status"] == "queued"]
    if queued:
        return _describe_one(queued[-1]["id"], registry.runs_root(root))
    return submit(KIND, {"score": task()}, request_id=request_id, root=root)


def submit(name: str, fields: dict, *, request_id: str | None = None, root: Path | None = None,
           check=None) -> dict:
    """Queue a job of kind `name` whose record holds `fields` and start it if a slot is free.

    `check(records)` may refuse it (JobError) under the lock. A second call with the same
    `request_id` returns the first call's job instead of a new one.
    """
    kind(name)
    root = registry.runs_root(root)
    with locked(root):
        # A job whose worker died (a machine restart) must not keep its run or folder taken.
        reconcile(root)
        records = read_records(root)
        if request_id:
            for job in records:
                if job.get("request_id") == request_id:
                    return _describe_one(job["id"], root)
        if check:
            check(records)
        job = {
            "id": str(max((int(job["id"]) for job in records), default=0) + 1), "kind": name,
            "status": "queued", "request_id": request_id, **fields, "created": now_iso(), "started": None,
            "ended": None, "pid": None, "pid_start": None, "reason": "", "cancel_requested": False,
        }
        write_job(job, root)
        reconcile(root)
        return _describe_one(job["id"], root)


def _checked_new_run(config: TrainConfig, root: Path) -> dict:
    """Fail now, in one line, for what would otherwise fail in the background a minute later."""
    from ..datasets import resolve_dataset_path

    config.validate()
    # Absolute, so the worker finds the same data set whatever its folder and EMOTION_DATA_DIR
    # (a queued job may be started later by another process: the app, the CLI, a finishing worker).
    values = {**config.to_dict(), "data": str(resolve_dataset_path(config.data).resolve())}
    if config.name and (root / config.name).exists():
        raise JobError(f"run folder {root / config.name} already exists; pick another name")
    return values


def _check_run_not_taken(name: str, records: list[dict]) -> None:
    for job in records:
        if kind_of(job) != TRAIN:
            continue
        taken = job.get("run") or job["config"].get("name")
        if name and job["status"] in ACTIVE and taken == name:
            raise JobError(f"job {job['id']} is already {job['status']} for run '{name}'")


def _check_out_not_taken(out: str, records: list[dict]) -> None:
    for job in records:
        if kind_of(job) == "analyze" and job["status"] in ACTIVE and job["analysis"]["out"] == out:
            raise JobError(f"job {job['id']} is already {job['status']} writing to {out}")


def list_jobs(root: Path | None = None, kind: str | None = TRAIN) -> list[dict]:
    """The jobs of `kind` (every kind when None), newest first, with progress; reconciles and starts
    queued jobs first. Training by default: what callers from before kinds existed expect."""
    with locked(root):
        reconcile(root)
        records = read_records(root)
    positions = _queue_positions(records)
    return [describe(job, root, positions.get(job["id"])) for job in reversed(records)
            if kind is None or kind_of(job) == kind]


def get_job(job_id: str, root: Path | None = None) -> dict:
    with locked(root):
        reconcile(root)
        return _describe_one(str(job_id), root)


def _describe_one(job_id: str, root: Path | None) -> dict:
    return describe(read_job(job_id, root), root, _queue_positions(read_records(root)).get(job_id))


def _queue_positions(records: list[dict]) -> dict[str, int]:
    """Each queued job's place among the queued jobs of its kind (other kinds do not hold it up)."""
    positions, counted = {}, Counter()
    for job in records:
        if job["status"] == "queued":
            counted[kind_of(job)] += 1
            positions[job["id"]] = counted[kind_of(job)]
    return positions


def cancel_job(job_id: str, root: Path | None = None) -> dict:
    """Cancel a queued job at once, or ask a running worker to stop (SIGTERM): training after its
    current batch, an analysis at once (its finished files stay)."""
    with locked(root):
        reconcile(root)
        job = read_job(str(job_id), root)
        if job["status"] == "queued":
            job.update(status="cancelled", reason="cancelled before it started", ended=now_iso())
        elif job["status"] == "running":
            job["cancel_requested"] = True
            with contextlib.suppress(ProcessLookupError):  # it ended just now: the next look records it
                os.kill(job["pid"], signal.SIGTERM)  # reconcile just checked it is still our worker
        else:
            raise JobError(f"job {job['id']} is already {job['status']}")
        write_job(job, root)
        return describe(job, root)


def retrain_values(run: str | Path, root: Path | None = None) -> dict:
    """A run's config, ready to train again as a new run (its name cleared)."""
    values = read_json(registry.resolve_run(run, root) / registry.CONFIG_FILE)
    return {**values, "name": ""}
