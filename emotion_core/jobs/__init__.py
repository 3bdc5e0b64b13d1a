"""Background jobs: training or an analysis in a detached process that outlives the app.

    python -m emotion_core jobs start --arch vgg_gap --data fer2013 --epochs 60   # prints the job id
    python -m emotion_core jobs start --from-run vgg_gap-20261121-140000 --optimizer adam   # retrain
    python -m emotion_core jobs start --resume vgg_gap-20261121-140000 [--epochs 80]
    python -m emotion_core jobs list [--json]
    python -m emotion_core jobs cancel 3
    python -m emotion_core jobs log 3 [--tail 40]
    python -m emotion_core jobs worker 3        # what `start` runs in the background

    jobs.start_analysis("videos.zip", "analyses/spring", "deployed")   # `analyze videos.zip --out ...`
    jobs.start_scoring()                         # every run on the test sets, where stale (`testsets score`)
    jobs.list_jobs(kind="analyze")               # each with progress (0-1), progress_text, eta_seconds

Job state lives on disk and is the truth (`store`): `<registry>/_jobs/<id>.json` per job, `<id>.log`
for the worker's output, and a lock held around every read-modify-write, so two app sessions
pressing Start at once cannot start the same job twice. Any reader first reconciles (`queue`):
a running job whose worker is gone (`process`) becomes failed and its partial run is marked so it
can be resumed; then queued jobs start, oldest first, while their kind has a free slot: each kind
(`kinds.KINDS`: train, analyze, score) has slots of its own. `worker` runs one job by its kind's module
(`training_job`, `analysis_job`, `scoring_job`); `view` adds what the kind says of its progress and time left, and
formats the table of `jobs list`. A record without a kind (written before kinds) is training.
"""

from .process import process_start
from .kinds import KINDS
from .queue import (MAX_JOBS_ENV, cancel_job, get_job, list_jobs, max_jobs, retrain_values, start_analysis, start_job,
                    start_scoring, submit)
from .store import ACTIVE, TRAIN, JobError, jobs_dir, kind_of, log_tail, read_job
from .view import format_duration, format_jobs_table
from .worker import run_worker

__all__ = ["ACTIVE", "KINDS", "MAX_JOBS_ENV", "TRAIN", "JobError", "cancel_job", "format_duration", "format_jobs_table",
           "get_job", "jobs_dir", "kind_of", "list_jobs", "log_tail", "max_jobs", "process_start", "read_job",
           "retrain_values", "run_worker", "start_analysis", "start_job", "start_scoring", "submit"]
