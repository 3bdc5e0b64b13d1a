"""The ad report of real reaction videos: `analyze --out` writes it after the videos, and report.html
shows a viewer's face, cut from the video, beside each key moment (the videos of tests.video.videos)."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pandas as pd
from PIL import Image

from emotion_core.adreport import HTML_OUT, REPORT_JSON, SECONDS_OUT, build_report, render_html
from emotion_core.adreport.thumbnails import THUMBNAIL_PX, moment_faces
from tests.adreport.test_html import REMOTE
from tests.analysis.photos import face_tiles
from tests.analysis.test_cli_analyze import run_cli
from tests.conftest import needs_photos
from tests.video.videos import leaving, moving, two_faces, write_video


def two_ads(folder):
    tiles = face_tiles()
    for name, frames in {"ad_a/moving.mp4": moving(tiles), "ad_a/leaving.mp4": leaving(tiles),
                         "ad_b/two.webm": two_faces(tiles)}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        write_video(folder / name, frames, "libvpx-vp9" if name.endswith(".webm") else "libx264")
    return folder


@needs_photos
def test_analyze_writes_the_ad_report_and_its_faces_come_from_the_videos(trained_runs, tmp_path, capsys):
    videos, out = two_ads(tmp_path / "videos"), tmp_path / "out"
    code, _, err = run_cli(capsys, "analyze", videos, "--out", out, "--model", "alpha")
    assert code == 0, err
    for name in (SECONDS_OUT, REPORT_JSON, HTML_OUT):
        assert (out / name).is_file(), name
    (line,) = [line for line in err.splitlines() if line.startswith("ad report in ")]
    assert str(out) in line and HTML_OUT in line
    page = (out / HTML_OUT).read_text()
    assert not REMOTE.search(page) and "<h2>ad_a</h2>" in page and "<h2>ad_b</h2>" in page
    timeline = pd.read_csv(out / SECONDS_OUT)
    assert timeline.groupby("ad")["viewers"].max().to_dict() == {"ad_a": 2, "ad_b": 2}

    # Three viewers cannot make a moment beyond chance, so mark one as a page would: moving.mp4's
    # viewer's emotion at second 1 of ad_a, as the report read it.
    report = build_report(out)
    viewers = report.viewers.set_index(["viewer", "second"])
    emotion = viewers.loc[("ad_a/moving.mp4#1", 1), "emotion"]
    report.moments = pd.concat([report.moments, pd.DataFrame([{
        "ad": "ad_a", "segment": "all", "moment": f"peak {emotion}", "second": 1, "until": 2, "value": 0.5,
        "prominence": 0.5}])], ignore_index=True).astype({"second": "Int64", "until": "Int64"})
    faces = moment_faces(report)
    assert list(faces) == [("ad_a", "all", 1)]
    face = faces[("ad_a", "all", 1)]
    # the face of a viewer read that way in that second, from a frame the analysis saw in that second
    assert viewers.loc[(face.viewer, 1), "emotion"] == emotion and 1 <= face.time < 2
    picture = np.asarray(Image.open(io.BytesIO(face.png)).convert("RGB"))
    assert picture.shape == (THUMBNAIL_PX, THUMBNAIL_PX, 3)
    assert picture.std() > 20 and abs(picture.mean() - 128) > 3  # a face, not the plain gray canvas
    page = render_html(report, faces)
    assert page.count("src='data:image/png;base64,") == 1 and f"{face.viewer} at {face.time:.1f} s" in page

    shutil.rmtree(videos)  # the videos moved away: the page says so instead of a face
    assert moment_faces(report) == {}
    assert "the reaction videos were not found where the analysis read them" in render_html(report, {})
