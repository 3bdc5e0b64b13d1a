"""The Label page in a real browser: three faces of a finished analysis labelled, by click and by key.

    python -m pytest tests/test_browser_label.py -q

The app (tests/test_browser.py's `serve_app`) holds the tiny runs and data set, and one finished
analysis under its analyses folder (tests/faceset/analyses.py: photos and a video, with the
results and frame tables `analyze --out` writes). Labelling three of its faces must leave a face
set under the data root that the page lists, with the labels given.
"""

from __future__ import annotations

import re

import pytest

from emotion_core.faceset import read_manifest
from tests.faceset.analyses import write_analysis
from tests.test_browser import (ARTIFACTS, CHROMIUM, WAIT_MS, app_root, no_exception, serve_app, sync_api,
                                wait_idle)
from tests.test_browser import browser  # noqa: F401  (a fixture: one Chromium for the module)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def server(trained_run_template, tmp_path_factory):
    root = app_root(trained_run_template, tmp_path_factory, "browser-label")
    write_analysis(root)  # root/analyses/campaign, of root/media
    with serve_app(root, log_name="streamlit-label.log", EMOTION_ANALYSES_DIR=str(root / "analyses")) as app:
        app.data = root / "data"
        yield app


def shown_face(tab) -> str:
    """The caption under the face shown: where it comes from."""
    return tab.get_by_text(re.compile(r"^(ad_a/|clip\.mp4)")).inner_text()


def test_three_faces_labelled_by_click_and_key_become_a_listed_data_set(browser, server):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    try:
        tab.goto(f"{server.url}/label")
        sync_api.expect(tab.locator("h1").filter(has_text="Label your faces")).to_be_visible()
        sync_api.expect(tab.get_by_text("None yet: the first label makes one.")).to_be_visible()
        sync_api.expect(tab.get_by_text("The model says")).to_contain_text("happy (70%)")
        wait_idle(tab)
        assert shown_face(tab) == "ad_a/one.png, face 1"
        sync_api.expect(tab.get_by_test_id("stImage")).to_have_count(1)  # the crop, drawn

        tab.get_by_role("button", name=re.compile(r"^happy")).click()  # the model's guess, confirmed
        sync_api.expect(tab.get_by_text("ad_a/two.png, face 1")).to_be_visible()
        wait_idle(tab)
        tab.locator("body").press("1")  # angry, by key
        sync_api.expect(tab.get_by_text("ad_a/two.png, face 2")).to_be_visible()
        wait_idle(tab)
        tab.get_by_role("button", name=re.compile(r"^Not a face")).click()
        sync_api.expect(tab.get_by_text("clip.mp4 at 0.0 s, viewer 1")).to_be_visible()  # a video's frame
        wait_idle(tab)
        tab.get_by_role("button", name=re.compile(r"^surprise")).click()

        sync_api.expect(tab.get_by_text("clip.mp4 at 1.0 s, viewer 1")).to_be_visible()
        sync_api.expect(tab.get_by_text("4 of 5 faces answered · 3 labelled · 1 not a face · 0 skipped")).to_be_visible()
        listed = tab.get_by_text(re.compile(r"^campaign-faces: 3 faces"))
        sync_api.expect(listed).to_have_text("campaign-faces: 3 faces (angry 1, happy 1, surprise 1), from campaign")
        no_exception(tab)
        manifest = read_manifest(server.data / "campaign-faces")
        assert list(manifest["emotion"]) == ["happy", "angry", "surprise"]
        assert list(manifest["guess"]) == ["happy", "sad", "sad"]
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / "label-three-faces.png"), full_page=True)
        context.close()
