"""Fixtures of the jobs tests: a held queue, and no worker left running after a test."""

import os
import signal

import pytest

from emotion_core import jobs


@pytest.fixture
def paused(monkeypatch):
    """No job starts: they stay queued, so no worker (and no TensorFlow import) is paid for."""
    for kind in jobs.KINDS.values():
        monkeypatch.setenv(kind.slots_env, "0")


@pytest.fixture(autouse=True)
def no_worker_left_behind(monkeypatch):
    """A failing test must not leave a training or analysis process running on the machine."""
    yield
    for kind in jobs.KINDS.values():  # so listing does not start what is queued
        monkeypatch.setenv(kind.slots_env, "0")
    for job in jobs.list_jobs(kind=None):
        if job["status"] == "running" and job["pid"] != os.getpid():
            os.kill(job["pid"], signal.SIGKILL)
