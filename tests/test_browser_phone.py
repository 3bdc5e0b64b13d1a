"""The app on a phone (390 px wide) in a real browser: every bar labelled, the readings in view.

    python -m pytest tests/test_browser_phone.py -q

The app (tests/test_browser.py's `serve_app`) holds the tiny runs and data set, with twice as many
happy training images as any other class so one bar is the tallest, and 'alpha' deployed. Vega-Lite
draws Streamlit's charts as SVG, so the test reads the axis labels, the figures beside the bars and
the bars themselves from the page, where they are drawn.
"""

from __future__ import annotations

import shutil

import pytest

from emotion_core import registry
from emotion_core.labels import EMOTIONS
from emotion_core.valence import VALENCES
from tests.conftest import PHOTOS, needs_photos
from tests.test_browser import ARTIFACTS, CHROMIUM, WAIT_MS, app_root, serve_app, sync_api
from tests.test_browser import browser  # noqa: F401  (a fixture: one Chromium for the module)

PHONE = {"width": 390, "height": 844}  # an iPhone 14, upright
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture(scope="module")
def server(trained_run_template, tmp_path_factory):
    root = app_root(trained_run_template, tmp_path_factory, "browser-phone")
    happy = root / "data" / "tiny" / "train" / "happy"
    for image in sorted(happy.iterdir()):  # happy: 12 training images, the others 6
        shutil.copy(image, image.with_name(f"again_{image.name}"))
    registry.deploy("alpha", root / "models")
    with serve_app(root, log_name="streamlit-phone.log") as app:
        yield app


@pytest.fixture
def phone(browser, server, request):
    """A fresh tab at phone width; its screenshot goes to artifacts/ whatever the outcome."""
    context = browser.new_context(viewport=PHONE)
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    yield tab
    ARTIFACTS.mkdir(exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def settled(tab) -> None:
    """Until the script has finished (the app's root says so: a phone's header has no status icon)
    and Vega has drawn."""
    tab.wait_for_timeout(500)
    tab.wait_for_function("document.querySelector('[data-testid=stApp]')?.dataset.testScriptState === 'notRunning'",
                          timeout=WAIT_MS)
    tab.wait_for_timeout(1000)


def open_at(tab, server, path: str) -> None:
    tab.goto(f"{server.url}/{path}")
    settled(tab)
    sync_api.expect(tab.get_by_test_id("stException")).to_have_count(0)


# What a chart drew, in page pixels: its category labels, the figures by its bars, the bars, and
# where its value axis starts (the left edge of the plot).
DRAWN = """chart => {
    const box = element => { const r = element.getBoundingClientRect();
                             return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
    const svg = chart.querySelector('svg');
    const texts = selector => [...chart.querySelectorAll(selector)]
        .filter(t => getComputedStyle(t).opacity !== '0' && t.textContent)
        .map(t => ({text: t.textContent, ...box(t)}));
    return {svg: box(svg), labels: texts('.role-axis-label text'), figures: texts('.mark-text.role-mark text'),
            bars: [...chart.querySelectorAll('.mark-rect path')].map(box),
            plot: box(chart.querySelector('.role-axis-grid') || svg)};
}"""


def chart_titled(tab, title: str | None) -> dict:
    """What the chart titled `title` drew (the page's first chart for None)."""
    charts = tab.get_by_test_id("stVegaLiteChart")
    chart = (charts if title is None else charts.filter(has_text=title)).first
    chart.scroll_into_view_if_needed()
    return chart.evaluate(DRAWN)


def assert_every_bar_labelled(drawn: dict, categories, bars: int) -> None:
    shown = [label for label in drawn["labels"] if label["text"] in categories]
    assert [label["text"] for label in shown] == list(categories)  # every name, none skipped
    for upper, lower in zip(shown, shown[1:]):
        assert upper["bottom"] <= lower["top"] + 1  # on rows of their own: none overlaps the next
    assert len(drawn["bars"]) == bars and len(drawn["figures"]) == bars  # a figure by every bar
    for figure in drawn["figures"]:  # each drawn whole inside the chart, the longest bar's too
        assert drawn["svg"]["left"] <= figure["left"] and figure["right"] <= drawn["svg"]["right"] + 1


def test_class_balance_labels_every_bar_and_starts_the_bars_at_zero(phone, server):
    open_at(phone, server, "dataset")
    drawn = chart_titled(phone, None)  # the first chart: class balance

    assert_every_bar_labelled(drawn, EMOTIONS, bars=2 * len(EMOTIONS))  # train and validation per class
    figures = [figure["text"] for figure in drawn["figures"]]
    assert sorted(figures, key=int)[-1] == "12"  # the tallest bar, happy's in train, has its figure
    # Every bar grows from the same zero line, the plot's left edge, none from below or beside it.
    starts = {round(bar["left"]) for bar in drawn["bars"]}
    assert len(starts) == 1 and abs(starts.pop() - drawn["plot"]["left"]) <= 1
    # The colour and size counts too: 69 generated grayscale images (48 train, 21 validation), none in colour.
    colour = chart_titled(phone, "Grayscale vs colour")
    assert_every_bar_labelled(colour, ("grayscale", "colour"), bars=2)
    assert [figure["text"] for figure in colour["figures"]] == ["69", "0"]


@pytest.mark.skipif(not (PHOTOS / "grace_hopper.jpg").is_file(), reason="../shared/photos/grace_hopper.jpg is absent")
def test_predict_shows_the_emotion_column_without_scrolling_sideways(phone, server):
    open_at(phone, server, "predict")
    phone.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(PHOTOS / "grace_hopper.jpg"))
    table = phone.get_by_test_id("stDataFrame")
    sync_api.expect(table).to_be_visible()
    settled(phone)

    # The grid draws on a canvas; its accessible table lists the columns in view, in order.
    headers = table.locator("th, [role=columnheader]").all_text_contents()
    assert headers[:3] == ["face", "emotion", "confidence"]
    sync_api.expect(phone.get_by_test_id("stImageCaption").filter(has_text="1 face")).to_have_text("1 face")


@needs_photos
def test_analyze_labels_every_emotion_and_valence_bar(phone, server):
    open_at(phone, server, "analyze")
    phone.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
        [str(PHOTOS / name) for name in ("grace_hopper.jpg", "astronaut.png")])
    settled(phone)
    phone.get_by_role("button", name="Analyze 2 photos").click()
    sync_api.expect(phone.get_by_text("Valence of the faces")).to_have_count(1)
    settled(phone)

    assert_every_bar_labelled(chart_titled(phone, "Predicted emotions"), EMOTIONS, bars=len(EMOTIONS))
    assert_every_bar_labelled(chart_titled(phone, "Valence of the faces"), VALENCES, bars=len(VALENCES))
    # The results come first: the verdict sits above the upload box, and no start button is left.
    verdict = phone.get_by_test_id("stHeading").filter(has_text="faces").first
    assert verdict.bounding_box()["y"] < phone.get_by_test_id("stFileUploader").bounding_box()["y"]
    sync_api.expect(phone.get_by_role("button", name="Analyze 2 photos")).to_have_count(0)
