"""Fixtures of the jobs tests: a held queue, and no worker left running after a test."""

import os
import signal

import pytest

from emotion_core import jobs


@pytest.fixture
def paused(monkeypatch):
    """No job starts: they stay queued, so no worker (and no TensorFlow import) is paid for."""
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "0")


@pytest.fixture(autouse=True)
def no_worker_left_behind(monkeypatch):
    """A failing test must not leave a training process running on the machine."""
    yield
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "0")  # so listing does not start what is queued
    for job in jobs.list_jobs():
        if job["status"] == "running" and job["pid"] != os.getpid():
            os.kill(job["pid"], signal.SIGKILL)
