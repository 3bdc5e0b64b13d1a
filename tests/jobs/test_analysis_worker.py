"""A real analysis job: `analyze` in a detached worker on generated reaction videos, cancelled, then
continued into the same folder, beside a training job that holds the training slot.

The videos come from ../shared/photos' faces (tests.video.videos); the model is the tiny run 'alpha'.
"""

import os

import pandas as pd
import pytest

from emotion_core import jobs
from emotion_core.adreport import COMPARE_OUT, HTML_OUT, SECONDS_OUT
from emotion_core.analysis.outputs import MANIFEST
from emotion_core.storage import read_json
from emotion_core.video import FRAMES_CSV, SECONDS_CSV
from tests.conftest import needs_photos
from tests.jobs.helpers import finished, wait_for, write_ad_videos
from tests.video.videos import moving, write_video

pytestmark = needs_photos


def long_enough_to_cancel(job: dict) -> bool:
    return finished(job) or (job["progress_text"].endswith("videos done)") and job["progress"] > 0)


@pytest.mark.slow
def test_an_analysis_runs_beside_training_is_cancelled_and_continues_into_its_folder(trained_runs, tmp_path):
    from tests.analysis.photos import face_tiles

    videos = write_ad_videos(tmp_path / "videos")
    write_video(videos / "ad_b" / "long.mp4", moving(face_tiles(), 12.0))  # 60 frames to analyse: time to cancel
    out = tmp_path / "analyses" / "spring"
    # A training job holding its slot: this test's own process stands in for its worker.
    jobs.store.jobs_dir().mkdir()
    jobs.store.write_job({"id": "1", "status": "running", "config": {"arch": "vgg_gap_small", "epochs": 2},
                          "resume": None, "run": None, "started": "2026-12-06T08:00:00+00:00", "ended": None,
                          "pid": os.getpid(), "pid_start": jobs.process_start(os.getpid())}, None)

    job = jobs.start_analysis(videos, out, "alpha")
    assert job["status"] == "running", job["reason"]
    job = wait_for(job["id"], long_enough_to_cancel)
    assert job["status"] == "running", f"finished before it could be cancelled: {job['reason']}"
    jobs.cancel_job(job["id"])
    job = wait_for(job["id"], finished, timeout=60)

    assert job["status"] == "cancelled", job["reason"]
    assert not (out / MANIFEST).exists()  # not mistaken for a finished analysis
    resumed = jobs.start_analysis(videos, out, "alpha")
    resumed = wait_for(resumed["id"], finished)

    assert resumed["status"] == "succeeded", resumed["reason"] + jobs.log_tail(resumed["id"], 30)
    assert (resumed["progress"], resumed["progress_text"]) == (1.0, "finished")
    facts = read_json(out / MANIFEST)
    # the tiny run's int8 file fails its check (near-uniform outputs): the float file classified, said in the log
    assert facts["classifier"] == {"file": "alpha.tflite", "precision": "float"}
    assert "note: classifying with the float LiteRT file: no int8 one" in jobs.log_tail(resumed["id"], 200)
    assert facts["model"] == "alpha" and sorted(facts["videos"]) == [
        "ad_a/anna.mp4", "ad_a/ben.mp4", "ad_b/carl.mp4", "ad_b/long.mp4"]
    seconds = pd.read_csv(out / SECONDS_CSV)
    assert seconds.groupby("file")["second"].max().to_dict() == {
        "ad_a/anna.mp4": 2, "ad_a/ben.mp4": 1, "ad_b/carl.mp4": 3, "ad_b/long.mp4": 11}
    assert (out / FRAMES_CSV).is_file()
    compare = pd.read_csv(out / COMPARE_OUT)
    assert compare[["ad", "viewers"]].values.tolist() == [["ad_a", 3], ["ad_b", 2]]
    assert set(pd.read_csv(out / SECONDS_OUT)["ad"]) == {"ad_a", "ad_b"}
    assert "ad_a" in (out / HTML_OUT).read_text() and "ad_b" in (out / HTML_OUT).read_text()
    assert jobs.get_job("1")["status"] == "running"  # the training was never held up or touched
