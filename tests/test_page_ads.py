"""The Ads page driven by AppTest: a finished study opened (ads compared, an ad's timeline, each
reaction video's frame at a second, Grad-CAM on a face, a split by market), and an upload that
starts a background analysis, listed with its progress and cancelled.

The study is `ad_study_template` (tests/studies/fixtures.py): two ads' reaction videos generated from
../shared/photos, analysed with the tiny run 'alpha'. No worker process is started here.
"""

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from emotion_core import jobs, storage
from emotion_core.analysis import sources
from emotion_core.storage import write_json_atomic
from tests.conftest import PROJECT, needs_photos
from tests.studies.test_folders import free_disk, zip_bomb

PAGE = str(PROJECT / "views" / "ads.py")
TIMEOUT = 120  # the first report draws its resamples; the first Grad-CAM loads TensorFlow and the model

pytestmark = needs_photos


@pytest.fixture
def app(trained_runs, ad_study_template, isolated_dirs, monkeypatch):
    monkeypatch.setenv("EMOTION_MAX_ANALYSES", "0")  # an analysis started here stays queued: no worker
    shutil.copytree(ad_study_template[0], isolated_dirs["analyses"] / "spring")
    st.cache_resource.clear()
    st.cache_data.clear()
    return AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def test_a_finished_study_compares_its_ads_and_shows_each_viewer_at_a_second(app, ad_study_template):
    from emotion_core.adreport import build_report

    assert not app.exception
    study = app.selectbox(key="ads.study")
    assert study.format_func(study.value).startswith("spring: 3 reaction videos, model alpha")
    assert texts(app.subheader)[0] == build_report(ad_study_template[0]).verdicts["all"]
    compare = app.table[0].value
    assert list(compare.columns) == ["ad_a", "ad_b"]
    assert compare.loc["Viewers"].tolist() == ["3", "1"]
    assert "only 1 viewer" in compare.loc["Note", "ad_b"]

    app.get("button_group")[0].set_value("ad_a").run()
    next(slider for slider in app.slider if slider.label == "Second of the ad").set_value(1).run()

    assert not app.exception
    assert app.image[0].captions == ["ad_a/anna.mp4 at 1.0 s", "ad_a/ben.mp4 at 1.0 s"]
    explain = next(box for box in app.selectbox if box.label == "Explain a face (Grad-CAM)")
    assert [label.split(":")[0] for label in explain.options] == [
        "none", "ad_a/anna.mp4, viewer 1", "ad_a/ben.mp4, viewer 1", "ad_a/ben.mp4, viewer 2"]
    explain.select_index(3).run()

    assert not app.exception
    captions = [caption for image in app.image for caption in image.captions]
    assert any(caption.startswith("Grad-CAM: where alpha looked to read") for caption in captions)
    assert "Grad-CAM" in captions[-1] or "As the model saw it" in captions
    downloads = [button.label for button in app.get("download_button")]
    assert {"ad_timeline.csv", "ad_compare.csv", "ad_moments.csv", "video_seconds.csv",
            "The report to share (report.html)"} <= set(downloads)

    # The ad itself, given once, plays from the chosen second.
    with zipfile.ZipFile(io.BytesIO(ad_study_template[1])) as archive:
        spot = archive.read("ad_a/anna.mp4")
    given = next(box for box in app.file_uploader if box.label.startswith("The ad itself (optional): ad_a"))
    given.set_value(("spot.mp4", spot, "video/mp4")).run()
    assert not app.exception
    (video,) = app.get("video")
    assert video.proto.start_time == 1
    assert (Path(app.selectbox(key="ads.study").value) / "ads" / "ad_a.mp4").read_bytes() == spot


def test_the_viewers_split_by_a_manifest_column(app):
    split = next(box for box in app.selectbox if box.label == "Split the viewers by")
    assert split.options == ["everyone", "market"]
    split.set_value("market").run()

    assert not app.exception
    market = next(box for box in app.selectbox if box.label == "Market")
    assert market.options == ["north", "south"]
    north = app.table[0].value
    assert north.loc["Viewers"].to_dict() == {"ad_a": "1", "ad_b": "1"}  # anna and carl
    market.set_value("south").run()
    app.get("button_group")[0].set_value("Compare ads").run()  # one ad alone opens on its timeline
    assert app.table[0].value.loc["Viewers"].to_dict() == {"ad_a": "2"}  # ben's two faces


def test_an_upload_starts_a_background_analysis_that_can_be_cancelled(app, ad_study_template, isolated_dirs):
    _folder, upload = ad_study_template
    app.file_uploader(key="ads.upload").set_value(("summer.zip", upload, "application/zip")).run()
    start = next(button for button in app.button if button.label.startswith("Analyse"))
    assert start.label == "Analyse 3 reaction videos in the background"

    start.click().run()

    assert not app.exception
    assert "Analysis 1 queued (position 1)" in texts(app.success)[0]
    (job,) = jobs.list_jobs(kind="analyze")
    study = isolated_dirs["analyses"] / job["out"].rsplit("/", 1)[1]
    assert study.name.startswith("summer-") and (study / "upload" / "upload.zip").read_bytes() == upload
    assert (study / "upload" / "manifest.csv").is_file()
    app.run()  # as the list's next refresh does
    assert any(text.startswith("**Analysis 1** · queued · `summer-") for text in texts(app.markdown))

    next(button for button in app.button if button.label == "Cancel").click().run()
    assert not app.exception
    assert jobs.get_job("1")["status"] == "cancelled"

    app.run()  # as the list's next refresh does
    next(button for button in app.button if button.label == "Continue").click().run()  # into the same study
    assert not app.exception
    (again, cancelled) = jobs.list_jobs(kind="analyze")
    assert (again["status"], again["out"], again["source"]) == ("queued", cancelled["out"], cancelled["source"])


def test_a_broken_zip_is_one_error_and_starts_nothing(app):
    app.file_uploader(key="ads.upload").set_value(("notes.zip", b"not a zip", "application/zip")).run()

    assert texts(app.error) == ["notes.zip is not a valid .zip file."]
    assert jobs.list_jobs(kind="analyze") == []


def test_a_zip_bomb_or_a_study_the_disk_cannot_hold_is_one_error_and_keeps_nothing(app, ad_study_template,
                                                                                    isolated_dirs, monkeypatch):
    monkeypatch.setattr(sources, "ZIP_BOMB_FLOOR", 2**20)
    app.file_uploader(key="ads.upload").set_value(("bomb.zip", zip_bomb(2), "application/zip")).run()
    (error,) = texts(app.error)
    assert error.startswith("bomb.zip claims to unpack to 2 MB") and error.endswith("refused as a zip bomb.")
    assert not any(button.label.startswith("Analyse") for button in app.button)

    free_disk(monkeypatch, storage.MIN_FREE_BYTES)  # the study is 0.1 MB: it does not fit
    app.file_uploader(key="ads.upload").set_value(("summer.zip", ad_study_template[1], "application/zip")).run()
    next(button for button in app.button if button.label.startswith("Analyse")).click().run()

    (error,) = texts(app.error)
    assert error.startswith("The upload needs 0 MB on this server's disk") and error.endswith("nothing was written.")
    assert jobs.list_jobs(kind="analyze") == []
    assert sorted(path.name for path in isolated_dirs["analyses"].iterdir()) == ["spring"]  # no half a study


def test_a_finished_analysis_in_the_list_opens_its_study(app, ad_study_template, isolated_dirs):
    older = isolated_dirs["analyses"] / "autumn"
    shutil.copytree(ad_study_template[0], older)
    manifest = json.loads((older / "analysis.json").read_text())
    (older / "analysis.json").write_text(json.dumps({**manifest, "finished": "2026-01-01T00:00:00+00:00"}))
    jobs.jobs_dir().mkdir(exist_ok=True)
    write_json_atomic(jobs.jobs_dir() / "1.json", {
        "id": "1", "kind": "analyze", "status": "succeeded", "request_id": None,
        "analysis": {"source": str(older / "upload" / "upload.zip"), "out": str(older), "model": "alpha", "fps": 5.0,
                     "faces": None, "detector": "yunet"},
        "created": "2026-01-01T00:00:00+00:00", "started": "2026-01-01T00:00:00+00:00",
        "ended": "2026-01-01T00:01:05+00:00", "pid": None, "pid_start": None, "reason": "", "cancel_requested": False})
    app.run()
    assert app.selectbox(key="ads.study").value.endswith("spring")  # the newest opens first
    assert "Done in 1m 05s." in texts(app.caption)

    next(button for button in app.button if button.label == "Open").click().run()

    assert not app.exception
    assert app.selectbox(key="ads.study").value == str(older)


def test_without_a_model_the_studies_still_open(ad_study_template, isolated_dirs):
    shutil.copytree(ad_study_template[0], isolated_dirs["analyses"] / "spring")
    st.cache_data.clear()

    app = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()

    assert not app.exception
    assert "No trained model yet" in texts(app.info)[0]
    assert app.selectbox(key="ads.study").value.endswith("spring")
    assert list(app.table[0].value.columns) == ["ad_a", "ad_b"]
