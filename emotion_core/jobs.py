"""Training jobs: training in a detached process that outlives the app, one job at a time.

    python -m emotion_core jobs start --arch vgg_gap --data fer2013 --epochs 60   # prints the job id
    python -m emotion_core jobs start --from-run vgg_gap-20261121-140000 --optimizer adam   # retrain
    python -m emotion_core jobs start --resume vgg_gap-20261121-140000 [--epochs 80]
    python -m emotion_core jobs list [--json]
    python -m emotion_core jobs cancel 3
    python -m emotion_core jobs log 3 [--tail 40]
    python -m emotion_core jobs worker 3        # what `start` runs in the background

Job state lives on disk and is the truth: `<registry>/_jobs/<id>.json` per job (the registry
skips folders starting with '_'), `<id>.log` for the worker's output, and `.lock`, an exclusive
`flock` held around every read-modify-write, so two app sessions pressing Start at once cannot
start the same job twice. Any reader first reconciles: a running job whose worker is gone (killed,
out of memory, machine restart) becomes failed and its partial run is marked so it can be resumed;
then queued jobs start, oldest first, while fewer than EMOTION_MAX_JOBS (default 1) run.
"""

from __future__ import annotations

import contextlib
import fcntl
import inspect
import os
import re
import signal
import subprocess
import sys
import traceback
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path

from . import registry
from .config import TrainConfig, field_choices
from .storage import read_json, write_json_atomic

PROJECT = Path(__file__).resolve().parents[1]
JOBS_DIR = "_jobs"
ACTIVE = ("queued", "running")  # then one of succeeded, failed, cancelled
MAX_JOBS_ENV = "EMOTION_MAX_JOBS"
# Two trainings on a 2-core CPU only halve each other's speed; 0 pauses the queue.
DEFAULT_MAX_JOBS = 1

# Workers this process started: polled on every reconcile so finished ones are reaped, not zombies.
_children: list[subprocess.Popen] = []


class JobError(ValueError):
    """A job that cannot be found or acted on, with the reason in one line."""


class JobCancelled(KeyboardInterrupt):
    """SIGTERM outside training's own stop-after-the-batch handler (loading data, evaluating).

    A KeyboardInterrupt, so a run it interrupts records itself as 'interrupted', not 'failed'.
    """


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def jobs_dir(root: Path | None = None) -> Path:
    return (Path(root) if root else registry.runs_root()) / JOBS_DIR


def max_jobs() -> int:
    value = os.environ.get(MAX_JOBS_ENV, str(DEFAULT_MAX_JOBS))
    if not value.isdigit():
        raise JobError(f"{MAX_JOBS_ENV} must be a whole number of jobs (0 pauses the queue), not '{value}'")
    return int(value)


def log_path(job_id: str, root: Path | None = None) -> Path:
    return jobs_dir(root) / f"{job_id}.log"


def _job_file(job_id: str, root: Path | None) -> Path:
    return jobs_dir(root) / f"{job_id}.json"


@contextlib.contextmanager
def _locked(root: Path | None):
    """Hold the jobs lock; every change to job state happens inside one."""
    folder = jobs_dir(root)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, even on a crash
        yield


def _records(root: Path | None) -> list[dict]:
    """Every job record, oldest first (which is queue order)."""
    folder = jobs_dir(root)
    if not folder.is_dir():
        return []
    records = [read_json(path) for path in folder.glob("*.json")]
    return sorted(records, key=lambda job: int(job["id"]))


def _read(job_id: str, root: Path | None) -> dict:
    path = _job_file(str(job_id), root)
    if not str(job_id).isdigit() or not path.is_file():
        raise JobError(f"No job '{job_id}' in {jobs_dir(root)}; `jobs list` shows them.")
    return read_json(path)


def _write(job: dict, root: Path | None) -> None:
    write_json_atomic(_job_file(job["id"], root), job)


# --- Is the worker alive? -------------------------------------------------------------------------


def process_start(pid: int) -> str | None:
    """A live process's start time (clock ticks since boot), None when it is gone or a zombie.

    Stored beside the pid, it tells our worker from a later process that reused the pid.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:  # no /proc (not Linux): existence is all we can check
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "?"
    after_name = stat[stat.rindex(")") + 2:].split()  # the name may hold spaces; fields follow ')'
    state, start = after_name[0], after_name[19]
    return None if state in ("Z", "X") else start


def _worker_alive(job: dict) -> bool:
    if not job.get("pid"):
        return False
    start = process_start(job["pid"])
    return start is not None and start == job.get("pid_start", start)


# --- Reconcile and schedule (always under the lock) -------------------------------------------------


def _reconcile(root: Path | None) -> None:
    """Fail running jobs whose worker is gone, then start queued jobs while there is a free slot."""
    _children[:] = [child for child in _children if child.poll() is None]
    records = _records(root)
    for job in records:
        if job["status"] == "running" and not _worker_alive(job):
            _mark_dead(job, root)
    running, slots = sum(job["status"] == "running" for job in records), max_jobs()
    for job in records:
        if running >= slots:
            break
        if job["status"] == "queued":
            _launch(job, root)
            running += 1


def _mark_dead(job: dict, root: Path | None) -> None:
    if job.get("cancel_requested"):
        status, reason = "cancelled", "cancelled"
    else:
        status = "failed"
        reason = (f"worker process {job.get('pid')} ended without reporting "
                  "(killed, out of memory, or the machine restarted)")
    job.update(status=status, reason=reason, ended=_now())
    _write(job, root)
    _close_run(job, root, "interrupted" if status == "cancelled" else "failed", reason)
    if job.get("run"):  # a worker killed mid-write leaves its temporary file; nobody else writes there
        registry.remove_partial_files((Path(root) if root else registry.runs_root()) / job["run"])


def _close_run(job: dict, root: Path | None, state: str, reason: str) -> None:
    """A run left 'starting' or 'running' by a dead worker gets a final state; other runs are untouched."""
    if not job.get("run"):
        return
    run_dir = (Path(root) if root else registry.runs_root()) / job["run"]
    status_file = run_dir / registry.STATUS_FILE
    if not status_file.is_file() or read_json(status_file).get("state") not in ("starting", "running"):
        return
    if state == "failed":
        reason += f"; continue it with `python -m emotion_core jobs start --resume {job['run']}`"
    registry.update_status(run_dir, state=state, reason=reason, ended=_now())


def _launch(job: dict, root: Path | None) -> None:
    """Start the job's worker in its own session (it survives the app), output to the job's log."""
    root = Path(root) if root else registry.runs_root()
    # The worker must see the same registry even when `root` was passed rather than set in the env.
    env = {**os.environ, "EMOTION_RUNS_DIR": str(root.resolve()), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "emotion_core", "jobs", "worker", job["id"]]
    try:
        with open(log_path(job["id"], root), "ab") as log:
            child = subprocess.Popen(command, cwd=PROJECT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
    except OSError as error:
        job.update(status="failed", reason=f"could not start the worker: {error}", ended=_now())
        _write(job, root)
        return
    _children.append(child)
    job.update(status="running", started=_now(), pid=child.pid, pid_start=process_start(child.pid))
    _write(job, root)


# --- Starting, listing, cancelling -----------------------------------------------------------------


def start_job(config: TrainConfig | None = None, *, resume: str | None = None, epochs: int | None = None,
              request_id: str | None = None, root: Path | None = None) -> dict:
    """Queue a training job (a new run from `config`, or `resume` a run) and start it if a slot is free.

    A second call with the same `request_id` returns the first call's job instead of a new one.
    """
    root = Path(root) if root else registry.runs_root()
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
    with _locked(root):
        records = _records(root)
        if request_id:
            for job in records:
                if job.get("request_id") == request_id:
                    return _describe_one(job["id"], root)
        _check_run_not_taken(values["name"] if not resume else resume, records)
        job = {
            "id": str(max((int(job["id"]) for job in records), default=0) + 1),
            "status": "queued", "request_id": request_id, "config": values, "resume": resume,
            "resume_epochs": epochs if resume else None, "run": resume, "created": _now(), "started": None,
            "ended": None, "pid": None, "pid_start": None, "reason": "", "cancel_requested": False,
        }
        _write(job, root)
        _reconcile(root)
        return _describe_one(job["id"], root)


def _checked_new_run(config: TrainConfig, root: Path) -> dict:
    """Fail now, in one line, for what would otherwise fail in the background a minute later."""
    from .datasets import resolve_dataset_path

    config.validate()
    # Absolute, so the worker finds the same data set whatever its folder and EMOTION_DATA_DIR
    # (a queued job may be started later by another process: the app, the CLI, a finishing worker).
    values = {**config.to_dict(), "data": str(resolve_dataset_path(config.data).resolve())}
    if config.name and (root / config.name).exists():
        raise JobError(f"run folder {root / config.name} already exists; pick another name")
    return values


def _check_run_not_taken(name: str, records: list[dict]) -> None:
    for job in records:
        taken = job.get("run") or job["config"].get("name")
        if name and job["status"] in ACTIVE and taken == name:
            raise JobError(f"job {job['id']} is already {job['status']} for run '{name}'")


def list_jobs(root: Path | None = None) -> list[dict]:
    """Every job, newest first, with progress; reconciles and starts queued jobs first."""
    with _locked(root):
        _reconcile(root)
        records = _records(root)
    positions = _queue_positions(records)
    return [describe(job, root, positions.get(job["id"])) for job in reversed(records)]


def get_job(job_id: str, root: Path | None = None) -> dict:
    with _locked(root):
        _reconcile(root)
        return _describe_one(str(job_id), root)


def _describe_one(job_id: str, root: Path | None) -> dict:
    return describe(_read(job_id, root), root, _queue_positions(_records(root)).get(job_id))


def _queue_positions(records: list[dict]) -> dict[str, int]:
    queued = [job["id"] for job in records if job["status"] == "queued"]
    return {job_id: position for position, job_id in enumerate(queued, start=1)}


def cancel_job(job_id: str, root: Path | None = None) -> dict:
    """Cancel a queued job at once, or ask a running worker to stop after its current batch (SIGTERM)."""
    with _locked(root):
        _reconcile(root)
        job = _read(str(job_id), root)
        if job["status"] == "queued":
            job.update(status="cancelled", reason="cancelled before it started", ended=_now())
        elif job["status"] == "running":
            job["cancel_requested"] = True
            with contextlib.suppress(ProcessLookupError):  # it ended just now: the next look records it
                os.kill(job["pid"], signal.SIGTERM)  # _reconcile just checked it is still our worker
        else:
            raise JobError(f"job {job['id']} is already {job['status']}")
        _write(job, root)
        return describe(job, root)


# --- What a job looks like to a reader ---------------------------------------------------------------


def describe(job: dict, root: Path | None = None, queue_position: int | None = None) -> dict:
    """The job record plus what its run folder says: epochs, latest metrics, times, log tail."""
    root = Path(root) if root else registry.runs_root()
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
    """The config values that differ from the defaults (what makes this job different)."""
    defaults = TrainConfig().to_dict()
    return {key: value for key, value in values.items()
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


def log_tail(job_id: str, lines: int = 20, root: Path | None = None) -> str:
    """The last `lines` lines of the job's log (all of it when `lines` is 0); '' before it exists."""
    path = log_path(str(job_id), root)
    if not path.is_file():
        return ""
    text = path.read_text(errors="replace")
    return "\n".join(text.splitlines()[-lines:]) if lines else text


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


# --- For a UI: the training options and a run to retrain ------------------------------------------


def training_options() -> list[dict]:
    """Every TrainConfig field as {name, default, choices, reason}, the reason from config.py's comments."""
    choices = field_choices()
    reasons = _field_comments()
    defaults = TrainConfig()
    return [{"name": field.name, "default": getattr(defaults, field.name), "choices": choices.get(field.name),
             "reason": reasons.get(field.name, "")} for field in fields(TrainConfig)]


def _field_comments() -> dict[str, str]:
    """`name: type = default  # reason`, plus any comment lines right below it, per field."""
    comments, current = {}, None
    for line in inspect.getsource(TrainConfig).splitlines():
        field_line = re.match(r"\s{4}(\w+): [\w|. ]+ = .*?  # (.+)$", line)
        comment_line = re.match(r"\s{4}# (.+)$", line)
        if field_line:
            current = field_line.group(1)
            comments[current] = field_line.group(2)
        elif comment_line and current:
            comments[current] += " " + comment_line.group(1)
        else:
            current = None
    return comments


def retrain_values(run: str | Path, root: Path | None = None) -> dict:
    """A run's config, ready to train again as a new run (its name cleared)."""
    values = read_json(registry.resolve_run(run, root) / registry.CONFIG_FILE)
    return {**values, "name": ""}


# --- The worker ---------------------------------------------------------------------------------------


def run_worker(job_id: str, root: Path | None = None) -> int:
    """Run one job's training in this process and record how it ended; then start the next queued job."""
    # Until training installs its own SIGTERM handler (a clean stop after the batch), a cancel
    # interrupts whatever is under way, such as loading the data set.
    signal.signal(signal.SIGTERM, _raise_cancelled)
    with _locked(root):
        job = _read(str(job_id), root)
        if job["status"] != "running" or job.get("pid") != os.getpid():
            raise JobError(f"job {job_id} is {job['status']} and was not handed to this process")
    status, reason = "failed", "the worker stopped without a Python error"
    try:
        run_dir = _train(job, root)
        cancelled = registry.load_run(run_dir).status.get("reason") == "cancelled"
        status, reason = ("cancelled", "cancelled") if cancelled else ("succeeded", "")
    except JobCancelled:
        status, reason = "cancelled", "cancelled"
    except Exception as error:
        traceback.print_exc()  # the whole story goes to the job's log; the record keeps the last line
        reason = traceback.format_exception_only(error)[-1].strip()
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with _locked(root):
            job = _read(str(job_id), root)
            if job["status"] == "running" and job.get("pid") == os.getpid():
                job.update(status=status, reason=reason, ended=_now())
                _write(job, root)
                _close_run(job, root, "interrupted" if status == "cancelled" else "failed", reason or status)
            _reconcile(root)
    print(f"job {job_id}: {status}{': ' + reason if reason and reason != status else ''}", flush=True)
    return 0 if status != "failed" else 1


def _raise_cancelled(*_):
    raise JobCancelled()


def _train(job: dict, root: Path | None) -> Path:
    from . import training
    from .config import config_from_dict

    root = Path(root) if root else registry.runs_root()
    if job["resume"]:
        return training.resume(root / job["resume"], epochs=job.get("resume_epochs"))
    config = config_from_dict(job["config"])
    if not config.name:
        config.name = training.new_run_name(config)
        if (root / config.name).exists():  # two jobs started within the same second
            config.name += f"-job{job['id']}"
    with _locked(root):
        current = _read(job["id"], root)
        current["run"] = config.name  # known before the folder exists, so a reader can follow it
        _write(current, root)
    job["run"] = config.name
    return training.train(config, runs_dir=root)


# --- Command line ------------------------------------------------------------------------------------


def add_jobs_commands(commands) -> None:
    """Add `jobs start|list|cancel|log|worker` to the CLI's subcommands."""
    import argparse

    from .cli import _add_train_options

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--runs-dir", type=Path, help="registry folder (default models/ or EMOTION_RUNS_DIR)")
    jobs = commands.add_parser("jobs", help="background training jobs").add_subparsers(dest="jobs_command",
                                                                                       required=True)
    start = jobs.add_parser("start", parents=[common], help="queue a training job; prints its id")
    start.add_argument("--config", type=Path, help="JSON file of config values (flags override it)")
    start.add_argument("--from-run", metavar="RUN", help="retrain: a run's config, as a new run (flags override it)")
    start.add_argument("--resume", metavar="RUN", help="continue an interrupted run (--epochs to extend it)")
    start.add_argument("--request-id", help="idempotency key: starting twice with it gives the first job")
    _add_train_options(start)
    start.set_defaults(func=cmd_jobs_start)
    listing = jobs.add_parser("list", parents=[common], help="every job with its progress")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_jobs_list)
    cancel = jobs.add_parser("cancel", parents=[common], help="cancel a queued or running job")
    cancel.add_argument("job")
    cancel.set_defaults(func=cmd_jobs_cancel)
    log = jobs.add_parser("log", parents=[common], help="a job's output")
    log.add_argument("job")
    log.add_argument("--tail", type=int, default=0, metavar="N", help="only the last N lines")
    log.set_defaults(func=cmd_jobs_log)
    worker = jobs.add_parser("worker", parents=[common], help="run a job here (what `start` runs)")
    worker.add_argument("job")
    worker.set_defaults(func=cmd_jobs_worker)


def cmd_jobs_start(args) -> int:
    if args.resume:
        job = start_job(resume=args.resume, epochs=args.epochs, request_id=args.request_id, root=args.runs_dir)
    else:
        if args.from_run:
            if args.config:
                raise JobError("use --config or --from-run, not both")
            # The run's config.json is a config file like any other; only its name must not carry over.
            args.config = registry.resolve_run(args.from_run, args.runs_dir) / registry.CONFIG_FILE
            args.name = args.name or ""
        from .cli import config_from_args

        job = start_job(config_from_args(args), request_id=args.request_id, root=args.runs_dir)
    ahead = f", position {job['queue_position']} in the queue" if job["status"] == "queued" else ""
    print(f"job {job['id']} {job['status']}{ahead}; follow it with `jobs list` or `jobs log {job['id']}`",
          file=sys.stderr)
    print(job["id"])
    return 0


def cmd_jobs_list(args) -> int:
    import json

    found = list_jobs(args.runs_dir)
    if args.json:
        print(json.dumps(found, indent=2, default=str))
    elif not found:
        print(f"No jobs in {jobs_dir(args.runs_dir)}; start one with `python -m emotion_core jobs start`.")
    else:
        print(format_jobs_table(found))
    return 0


def cmd_jobs_cancel(args) -> int:
    job = cancel_job(args.job, args.runs_dir)
    if job["status"] == "cancelled":
        print(f"job {job['id']} cancelled")
    else:
        print(f"job {job['id']}: asked worker {job['pid']} to stop after its current batch")
    return 0


def cmd_jobs_log(args) -> int:
    _read(args.job, args.runs_dir)  # an unknown id is an error, not an empty log
    print(log_tail(args.job, args.tail, args.runs_dir), end="")
    return 0


def cmd_jobs_worker(args) -> int:
    return run_worker(args.job, args.runs_dir)
