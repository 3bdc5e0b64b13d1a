"""What jobs can do, one Kind each, and how many of each kind may run at once.

A kind is a module with `run(job, root) -> (status, reason)` (the worker's part; raising fails the
job, a SIGTERM raises `worker.JobCancelled` in it), `describe(job, root) -> dict` (what a reader
adds to the record: at least `progress` 0-1 or None and `eta_seconds`), and `table_row`,
`table_details` for `jobs list`; plus its entry below. A record's own fields for its kind (a
training's `config`, an analysis' `analysis`) are the kind's business; `queue.submit` stores them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from types import ModuleType

from . import analysis_job, scoring_job, training_job
from .store import TRAIN, JobError


@dataclass(frozen=True)
class Kind:
    name: str
    noun: str  # how pages and `jobs list` name one: "training", "analysis"
    module: ModuleType  # run, describe, table_row, table_details
    slots_env: str  # the environment variable saying how many may run at once (0 pauses the kind)
    default_slots: int


# Each kind has slots of its own: an analysis someone waits for at the page (minutes) must not
# queue behind a training run (hours), and a second training beside the first would only halve
# both on a 2-core CPU. An analysis beside a training slows the training a little, for minutes.
# Scoring every run on the test sets starts by itself when a set or a run changes (the Models
# page): it must neither wait hours behind a training nor hold up an analysis someone waits for.
KINDS = {kind.name: kind for kind in (
    Kind(TRAIN, "training", training_job, "EMOTION_MAX_JOBS", 1),
    Kind("analyze", "analysis", analysis_job, "EMOTION_MAX_ANALYSES", 1),
    Kind("score", "scoring", scoring_job, "EMOTION_MAX_SCORES", 1),
)}


def kind(name: str) -> Kind:
    if name not in KINDS:
        raise JobError(f"no job kind '{name}'; the kinds are {', '.join(KINDS)}")
    return KINDS[name]


def slots(name: str) -> int:
    """How many jobs of kind `name` may run at once (its environment variable, else its default)."""
    found = kind(name)
    value = os.environ.get(found.slots_env, str(found.default_slots))
    if not value.isdigit():
        raise JobError(f"{found.slots_env} must be a whole number of jobs (0 pauses the queue), not '{value}'")
    return int(value)
