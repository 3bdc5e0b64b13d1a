"""Tests for emotion_core.analysis.media: a folder's photos and videos, the ad report and analysis.json
(last), as `analyze --out` and an analysis job both write them; an interruption at any step resumes."""

from __future__ import annotations

import pytest

from emotion_core import adreport
from emotion_core.adreport import HTML_OUT
from emotion_core.analysis import OUTPUT_CSV, read_results
from emotion_core.analysis.media import analyze_media
from emotion_core.analysis.outputs import MANIFEST
from emotion_core.storage import read_json
from emotion_core.video import SECONDS_CSV, read_table
from tests.analysis.photos import face_tiles, group_photo
from tests.conftest import needs_photos
from tests.video.videos import moving, scene, write_video

pytestmark = needs_photos


@pytest.fixture
def ads(tmp_path):
    """One ad: a photo of the astronaut and a 2 s video of the astronaut crossing the frame."""
    tiles = face_tiles()
    (tmp_path / "ads" / "ad_a").mkdir(parents=True)
    group_photo(tiles, ["astronaut"]).save(tmp_path / "ads" / "ad_a" / "photo.png")
    write_video(tmp_path / "ads" / "ad_a" / "anna.mp4", moving(tiles, 2.0))
    return tmp_path / "ads"


@pytest.fixture
def predictor(trained_runs):
    from emotion_core.predictor import Predictor

    return Predictor.load(trained_runs["alpha"])


def test_photos_videos_the_ad_report_and_the_manifest_in_one_folder(ads, predictor, tmp_path):
    seen = {"photos": [], "videos": []}
    out = tmp_path / "out"

    done = analyze_media(ads, out, predictor, photo_progress=lambda *step: seen["photos"].append(step),
                         video_progress=lambda *step: seen["videos"].append(step))

    assert (done.counts["images"], done.counts["faces"]) == (1, 1)
    assert set(read_results(out / OUTPUT_CSV)["file"]) == {"ad_a/photo.png"}
    assert done.videos["facts"]["ad_a/anna.mp4"]["viewers"] == 1
    assert set(read_table(out / SECONDS_CSV)["second"]) == {0, 1}
    assert (out / HTML_OUT) in done.report and done.no_report == ""
    facts = read_json(out / MANIFEST)
    assert (facts["images"], facts["faces"], facts["model"], facts["engine"]) == (1, 1, "alpha", "local")
    assert list(facts["videos"]) == ["ad_a/anna.mp4"] and facts["source"] == str(ads.resolve())
    assert facts["classifier"] == predictor.classifier
    assert seen["photos"][-1] == (1, 1) and seen["videos"][-1][2:] == (1, 1)  # both steps followed to the end
    assert set(done.seconds) == {"photos", "videos", "report"}


def test_an_interrupted_report_leaves_no_manifest_and_the_same_call_finishes(ads, predictor, tmp_path, monkeypatch):
    """A cancel while the report is written (the longest step after the videos) must not leave a folder
    that looks finished without its report: analysis.json is written last."""
    out = tmp_path / "out"
    real_write_html = adreport.write_html

    def cancelled(report, folder):
        raise KeyboardInterrupt  # what a cancelled job's SIGTERM or Ctrl+C raises

    monkeypatch.setattr(adreport, "write_html", cancelled)
    with pytest.raises(KeyboardInterrupt):
        analyze_media(ads, out, predictor)
    assert not (out / MANIFEST).exists() and not (out / HTML_OUT).exists()

    monkeypatch.setattr(adreport, "write_html", real_write_html)
    done = analyze_media(ads, out, predictor)

    assert done.videos["skipped_as_done"] == 1 and done.counts["skipped_as_done"] == 1  # nothing analysed twice
    assert (out / HTML_OUT).is_file() and list(read_json(out / MANIFEST)["videos"]) == ["ad_a/anna.mp4"]


def test_no_face_in_any_video_says_why_there_is_no_report_and_the_analysis_stands(predictor, tmp_path):
    (tmp_path / "ads").mkdir()
    write_video(tmp_path / "ads" / "empty.mp4", scene(face_tiles(), lambda time: [])(1.0))  # a gray frame, no one

    done = analyze_media(tmp_path / "ads", tmp_path / "out", predictor, manifest=False)

    assert done.report == [] and "no viewer" in done.no_report
    assert done.videos["facts"]["empty.mp4"]["viewers"] == 0
    assert not (tmp_path / "out" / MANIFEST).exists()  # manifest=False: `analyze --csv`
