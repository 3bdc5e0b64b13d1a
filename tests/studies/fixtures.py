"""A finished ad study, made once per test session: two ads' generated reaction videos uploaded as a
.zip (with a manifest), analysed by the analysis job's own code in this process with the tiny run 'alpha'."""

from __future__ import annotations

import pytest

from tests.conftest import PHOTOS

MANIFEST = "file,offset,market\nanna.mp4,0,north\nben.mp4,0,south\ncarl.mp4,1,north\n"


@pytest.fixture(scope="session")
def ad_study_template(trained_run_template, tmp_path_factory):
    """(the study folder, the uploaded zip's bytes); the folder is shared: copy it to change it."""
    from emotion_core.jobs import analysis_job
    from emotion_core.studies import new_study
    from tests.jobs.helpers import write_ad_videos, zipped

    if not PHOTOS.is_dir():
        pytest.skip("../shared/photos is not here")
    root = tmp_path_factory.mktemp("ad-study")
    videos = write_ad_videos(root / "videos")
    (videos / "manifest.csv").write_text(MANIFEST)
    upload = zipped(videos, root / "spring.zip").read_bytes()
    source = new_study([("spring.zip", upload)], root / "analyses", name="spring")
    job = {"id": "1", "analysis": analysis_job.task(source, source.parents[1], trained_run_template / "models" / "alpha")}
    (root / "models" / "_jobs").mkdir(parents=True)
    status, reason = analysis_job.run(job, root / "models")
    assert (status, reason) == ("succeeded", "")
    return source.parents[1], upload
