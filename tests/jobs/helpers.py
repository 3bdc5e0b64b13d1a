"""Helpers for the jobs tests: tiny configs, waiting on a job, run folders written by hand."""

import time
from pathlib import Path

import pytest

from emotion_core import jobs, registry
from emotion_core.config import config_from_dict
from emotion_core.storage import write_json_atomic
from tests.factories import TINY_CONFIG

WAIT = 300  # seconds: a worker imports TensorFlow and compiles its model on a busy 2-core machine


def tiny_config(data: Path, **overrides):
    return config_from_dict({**TINY_CONFIG, "data": str(data), **overrides})


def wait_for(job_id: str, condition, timeout: float = WAIT) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = jobs.get_job(job_id)
        if condition(job):
            return job
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} is still {job['status']} at epoch {job['epoch']}; its log:\n"
                        + jobs.log_tail(job_id, 30))
        time.sleep(0.5)


def finished(job: dict) -> bool:
    return job["status"] not in jobs.ACTIVE


def trained_an_epoch(job: dict) -> bool:
    return job["epoch"] >= 1 or finished(job)


def write_finished_run(models: Path, name: str) -> Path:
    """A complete run without weights (a comparison-only run): cheap, and enough to watch for damage."""
    run = models / name
    write_json_atomic(run / registry.CONFIG_FILE, {**TINY_CONFIG, "data": "tiny", "name": name})
    write_json_atomic(run / registry.HISTORY_FILE, [{"epoch": 1, "loss": 1.9, "accuracy": 0.3, "val_loss": 1.9,
                                                     "val_accuracy": 0.25, "lr": 0.01, "seconds": 1.0}])
    write_json_atomic(run / registry.STATUS_FILE, {"state": "complete", "epoch": 1, "epochs": 1})
    return run


def snapshot(folder: Path) -> dict:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def write_ad_videos(folder: Path, seconds: float = 3.0) -> Path:
    """Two ads' reaction videos, written with PyAV from ../shared/photos' faces (tests.video.videos):
    ad_a: the astronaut crossing the frame, and Grace Hopper beside the astronaut (2 viewers);
    ad_b: the astronaut leaving and coming back. Small (320x240) and short, a few dozen frames each."""
    from tests.analysis.photos import face_tiles
    from tests.video.videos import leaving, moving, two_faces, write_video

    tiles = face_tiles()
    for name, frames in {"ad_a/anna.mp4": moving(tiles, seconds), "ad_a/ben.mp4": two_faces(tiles),
                         "ad_b/carl.mp4": leaving(tiles)}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        write_video(folder / name, frames)
    return folder


def zipped(folder: Path, target: Path) -> Path:
    """`folder`'s files in a .zip, by their paths under it."""
    import zipfile

    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target
