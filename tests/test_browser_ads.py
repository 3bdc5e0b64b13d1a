"""The Ads page in Chromium: a .zip of two ads' reaction videos uploaded, analysed by a background
job, both ads' timelines and the comparison table seen, report.html downloaded and opened with the
network off, and the study read on a phone's width.

    python -m pytest tests/test_browser_ads.py -q

The app is tests/test_browser.py's (`server`: the tiny runs alpha and beta, its own analyses folder);
the videos are generated with PyAV from ../shared/photos' faces (tests/jobs/helpers.py), 2-4 s each.
"""

from __future__ import annotations

import re

import pytest

from tests.conftest import needs_photos
from tests.jobs.helpers import write_ad_videos, zipped
from tests.test_browser import ARTIFACTS, CHROMIUM, open_page, sync_api, wait_idle
from tests.test_browser import browser, page, server  # noqa: F401  (fixtures: Chromium, a tab, the app)

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)"),
              needs_photos]
ANALYSIS_MS = 300_000  # the worker imports TensorFlow, analyses 3 videos and writes the report, beside other work
PHONE = {"width": 390, "height": 844}


def show(tab, choice: str) -> None:
    """Press one of the "Show" buttons (Compare ads, or an ad)."""
    wait_idle(tab)
    tab.get_by_test_id("stButtonGroup").locator("button").filter(has_text=re.compile(f"^{choice}$")).click()
    wait_idle(tab)


def test_a_zip_of_two_ads_is_analysed_in_the_background_and_its_report_opens_offline(page, browser, server,
                                                                                    tmp_path):
    upload = zipped(write_ad_videos(tmp_path / "videos"), tmp_path / "spring.zip")
    open_page(page, server, "ads")
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(upload))
    page.get_by_role("button", name="Analyse 3 reaction videos in the background").click()

    sync_api.expect(page.get_by_text(re.compile(r"Analysis 1 (started|queued)"))).to_be_visible()
    # The job list follows it; once done the study opens with the ads compared.
    sync_api.expect(page.get_by_text("Each figure is averaged over viewers")).to_be_visible(timeout=ANALYSIS_MS)
    table = page.get_by_test_id("stTable")
    sync_api.expect(table.get_by_text("Net valence, whole ad")).to_be_visible()
    sync_api.expect(table.locator("th").filter(has_text="ad_a")).to_be_visible()
    sync_api.expect(table.locator("th").filter(has_text="ad_b")).to_be_visible()
    for ad in ("ad_a", "ad_b"):
        show(page, ad)
        title = f"{ad}: how viewers reacted, second by second"
        sync_api.expect(page.locator(".st-key-ads-timeline-wide").get_by_text(title)).to_be_visible()
        sync_api.expect(page.get_by_test_id("stImageCaption").filter(has_text=f"{ad}/")).not_to_have_count(0)
    sync_api.expect(page.get_by_test_id("stException")).to_have_count(0)

    wait_idle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="The report to share (report.html)").click()
    report = tmp_path / "report.html"
    download.value.save_as(report)

    offline = browser.new_context(offline=True)
    asked = []
    offline.route(re.compile(r"^https?://"), lambda route: (asked.append(route.request.url), route.abort()))
    tab = offline.new_page()
    tab.goto(report.as_uri())
    sync_api.expect(tab.locator("h1")).to_contain_text("ad_a vs ad_b")
    for ad in ("ad_a", "ad_b"):
        sync_api.expect(tab.locator("h2").filter(has_text=re.compile(f"^{ad}$"))).to_be_visible()
    charts = tab.locator(".chart svg")
    assert charts.count() >= 5  # the ads compared, and each ad's timeline and viewers' strips
    sync_api.expect(charts.first).to_be_visible()
    assert tab.locator(".chart svg text").filter(has_text="second of the ad").count() >= 1
    assert asked == []  # nothing was fetched from a network: the file holds all it shows
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "ads-report-offline.png"), full_page=True)
    offline.close()


def test_the_study_reads_on_a_phone_without_scrolling_sideways(browser, server):
    context = browser.new_context(viewport=PHONE)
    tab = context.new_page()
    tab.set_default_timeout(90_000)
    open_page(tab, server, "ads")
    sync_api.expect(tab.get_by_test_id("stTable").get_by_text("Net valence, whole ad")).to_be_visible()
    show(tab, "ad_a")

    sync_api.expect(tab.locator(".st-key-ads-timeline-narrow").get_by_text(
        "ad_a: how viewers reacted, second by second")).to_be_visible()
    sync_api.expect(tab.locator(".st-key-ads-timeline-wide")).to_be_hidden()
    overflow = tab.evaluate("document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth")
    tab.screenshot(path=str(ARTIFACTS / "ads-390.png"), full_page=True)
    context.close()
    assert overflow <= 0
