"""Worker processes: start one detached from this process, tell whether one still runs, lower one's priority."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]

# Workers this process started: polled on every reconcile so finished ones are reaped, not zombies.
_children: list[subprocess.Popen] = []


def spawn_worker(job_id: str, root: Path, log: Path) -> subprocess.Popen:
    """`python -m emotion_core jobs worker ID` in its own session (it survives the app), output to `log`."""
    # The worker must see the same registry even when `root` was passed rather than set in the env.
    env = {**os.environ, "EMOTION_RUNS_DIR": str(root.resolve()), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "emotion_core", "jobs", "worker", job_id]
    with open(log, "ab") as output:
        child = subprocess.Popen(command, cwd=PROJECT, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    _children.append(child)
    return child


def reap_finished() -> None:
    _children[:] = [child for child in _children if child.poll() is None]


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


def worker_alive(job: dict) -> bool:
    """Whether the process recorded in the job (`pid`, `pid_start`) is still that process."""
    if not job.get("pid"):
        return False
    start = process_start(job["pid"])
    return start is not None and start == job.get("pid_start", start)


def lower_priority(to: int) -> None:
    """Raise this process's niceness to at least `to` (0-19; one already nicer keeps its own, so a worker
    started by a niced worker is not pushed further): on Linux each thread has its own, so every
    thread running now (numpy's BLAS threads, started at import) too; threads started later inherit it."""
    tasks = Path("/proc/self/task")
    threads = [int(task.name) for task in tasks.iterdir()] if tasks.is_dir() else [0]  # 0: this process
    for thread in threads:
        with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
            os.setpriority(os.PRIO_PROCESS, thread, max(to, os.getpriority(os.PRIO_PROCESS, thread)))
