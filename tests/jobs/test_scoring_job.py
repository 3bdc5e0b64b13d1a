"""The "score" kind: queued when a test set or a run changed, never twice waiting, listed by `jobs list`.

No worker imports TensorFlow here (`stand_in_workers`); the Models page's test runs a real one
(tests/test_page_models_testsets.py).
"""

import os
import time
from datetime import datetime, timedelta, timezone

from emotion_core import jobs, registry
from emotion_core.datasets import data_root
from emotion_core.jobs.scoring_job import scoring_due
from emotion_core.storage import now_iso
from emotion_core.testsets import add_folder
from tests.conftest import make_image_dataset
from tests.jobs.test_kinds import stand_in_workers  # noqa: F401  (a fixture)


def began(seconds_ago: float) -> dict:
    when = datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)
    return {"status": "succeeded", "started": when.isoformat(timespec="seconds"), "created": None}


def test_scoring_is_due_for_new_sets_and_changed_runs_only(trained_runs):
    assert not scoring_due(None)  # no test sets: nothing to score
    make_image_dataset(data_root() / "posed", {"test": 1})
    add_folder("posed")
    assert scoring_due(None)
    assert scoring_due(began(3600))  # the set came after that scoring

    time.sleep(1.1)
    finished = {"status": "succeeded", "started": now_iso(), "created": None}
    assert not scoring_due(finished)
    assert not scoring_due({**finished, "status": "queued"})
    model = trained_runs["alpha"] / registry.MODEL_FILE
    later = time.time() + 5
    os.utime(model, (later, later))  # retrained
    assert scoring_due(finished)


def test_a_scoring_starts_beside_a_training_and_only_one_more_waits(trained_runs, stand_in_workers):  # noqa: F811
    make_image_dataset(data_root() / "posed", {"test": 1})
    add_folder("posed")
    from tests.jobs.helpers import tiny_config

    training = jobs.start_job(tiny_config(trained_runs["data"]))
    first = jobs.start_scoring()
    second = jobs.start_scoring()

    assert (training["status"], first["kind"], first["status"]) == ("running", "score", "running")
    assert (second["status"], second["queue_position"]) == ("queued", 1)
    assert jobs.start_scoring()["id"] == second["id"]  # one waiting is enough: it scores whatever is stale then
    assert first["score"]["data_root"] == str(data_root().resolve())
    assert "score test sets" in jobs.format_jobs_table(jobs.list_jobs(kind=None))
