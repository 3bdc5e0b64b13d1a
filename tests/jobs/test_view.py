"""Tests for emotion_core.jobs.view: durations, changed options and the `jobs list` table."""

import pytest

from emotion_core.jobs import training_job, view
from tests.factories import TINY_CONFIG


@pytest.mark.parametrize("seconds, text", [(None, "-"), (0, "0s"), (59.9, "59s"), (65, "1m 05s"),
                                           (3600, "1h 00m"), (7380, "2h 03m")])
def test_durations_read_as_hours_minutes_or_seconds(seconds, text):
    assert view.format_duration(seconds) == text


def test_a_failed_job_in_the_table_shows_its_options_reason_and_log():
    job = {"id": "3", "kind": "train", "status": "failed", "architecture": "vgg_gap_small", "epoch": 2, "epochs": 5,
           "latest": {"val_accuracy": 0.41234}, "elapsed_seconds": 65, "eta_seconds": None, "run": "r1",
           "options": training_job.changed_options({**TINY_CONFIG, "data": "tiny"}), "reason": "out of memory",
           "log_tail": "line 1\nline 2"}

    header, row, options, failed, *log = view.format_jobs_table([job]).splitlines()

    assert header.split() == ["id", "status", "what", "done", "figure", "elapsed", "left", "where"]
    assert row.split() == ["3", "failed", "vgg_gap_small", "2/5", "41.23%", "1m", "05s", "-", "r1"]
    assert "epochs=2" in options and "arch=" not in options and "data=" not in options
    assert failed.strip() == "failed: out of memory"
    assert log == ["      | line 1", "      | line 2"]
