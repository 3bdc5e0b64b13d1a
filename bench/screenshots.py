"""Full-page screenshots of every page at desktop and phone width, for a person to look at.

    python bench/screenshots.py                     # PNGs in /tmp/screens
    python bench/screenshots.py --out /tmp/s28 --pages predict analyze --widths 390
    python bench/screenshots.py --no-actions        # only each page as it opens

Starts `streamlit run app.py` headless on a free localhost port, with this checkout's registry and
data (or EMOTION_RUNS_DIR / EMOTION_DATA_DIR as set), and drives Debian's /usr/bin/chromium with
Playwright. Each page is shot as it opens (`<width>-<page>.png`); unless --no-actions, Dataset is
also shot on its Samples tab, Models on its Side by side tab, Predict with a real photo uploaded
(`<width>-predict-photo.png`) and Analyze after analysing a .zip of two folders, `ad_a` and `ad_b`,
of the photos in ../shared/photos (`<width>-analyze-results.png`).
Nothing is asserted: the tests do that (tests/test_browser.py); this is for eyes.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pylibsrtp  # noqa: F401  (before TensorFlow, as in app.py: see its comment)
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))
from ui.common import PAGES  # noqa: E402  (the app's own page list: one fact in one place)

CHROMIUM = "/usr/bin/chromium"
PHOTOS = PROJECT.parent / "shared" / "photos"
WIDTHS = (1440, 390)
HEIGHT = {1440: 900, 390: 844}  # a laptop, an iPhone 14
WAIT_MS = 300_000  # the first prediction imports TensorFlow and loads the deployed ensemble, on a busy machine
START_SECONDS = 120
MAX_HEIGHT = 16_000  # px: a page longer than this is cut at the bottom


def page_slug(path: str) -> str:
    """'views/dataset.py' -> 'dataset' (the page's URL path; the first page is served at '/')."""
    return Path(path).stem


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_app(port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=PROJECT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"streamlit exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return process
        except OSError:
            time.sleep(0.5)
    stop_app(process)
    sys.exit(f"streamlit did not answer within {START_SECONDS} s:\n{log.read_text()[-3000:]}")


def stop_app(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_idle(tab) -> None:
    """Until no script runs and the charts are drawn."""
    tab.wait_for_timeout(500)  # a rerun may start a moment after a click or an upload
    # The app's root says whether its script runs (the status icon is not drawn on a phone's header).
    tab.wait_for_function("['notRunning', 'compilationError'].includes("
                          "document.querySelector('[data-testid=stApp]')?.dataset.testScriptState)", timeout=WAIT_MS)
    tab.wait_for_timeout(1500)  # Vega draws its charts after the script ends


def two_ads_zip() -> bytes:
    """The shared photos split into two folders, as an analyst would upload two ads' photos."""
    photos = sorted(p for p in PHOTOS.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for index, photo in enumerate(photos):
            archive.write(photo, f"{'ad_a' if index % 2 else 'ad_b'}/{photo.name}")
    return buffer.getvalue()


def shoot(tab, out: Path, name: str) -> None:
    """The whole page: Streamlit scrolls inside its main block, not the document, so the window is
    stretched to the block's height for the shot (the app's width, hence its layout, stays)."""
    viewport = tab.viewport_size
    height = tab.evaluate("Math.max(...[...document.querySelectorAll('[data-testid=stMain], "
                          "[data-testid=stAppViewContainer], section')].map(e => e.scrollHeight))")
    tab.set_viewport_size({"width": viewport["width"], "height": min(max(height, viewport["height"]), MAX_HEIGHT)})
    tab.wait_for_timeout(1000)  # charts redraw to the new size
    path = out / f"{name}.png"
    tab.screenshot(path=str(path), full_page=True)
    tab.set_viewport_size(viewport)
    print(path)


def predict_with_photo(tab) -> None:
    tab.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(PHOTOS / "grace_hopper.jpg"))
    expect(tab.get_by_test_id("stImage").first).to_be_visible(timeout=WAIT_MS)


def analyze_two_ads(tab) -> None:
    tab.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(
        {"name": "ads.zip", "mimeType": "application/zip", "buffer": two_ads_zip()})
    wait_idle(tab)
    start = tab.get_by_role("button", name="Analyze")
    if start.count():
        start.first.click()
    expect(tab.get_by_text("Valence", exact=True).first).to_be_visible(timeout=WAIT_MS)


def dataset_samples(tab) -> None:
    tab.get_by_role("tab", name="Samples").click()
    expect(tab.get_by_test_id("stImage").first).to_be_visible()


def models_side_by_side(tab) -> None:
    tab.get_by_role("tab", name="Side by side").click()
    expect(tab.get_by_text("Trade-offs").first).to_be_visible()


ACTIONS = {"dataset": ("samples", dataset_samples), "models": ("side-by-side", models_side_by_side),
           "predict": ("photo", predict_with_photo), "analyze": ("results", analyze_two_ads)}


def warm_up(browser, port: int) -> None:
    """One visit before the shots: the app's first run (imports, the sidebar listing the data sets)
    can take minutes on a busy machine, and the first page's shot would show it still loading."""
    tab = browser.new_page()
    tab.goto(f"http://127.0.0.1:{port}/")
    expect(tab.locator("h1").first).to_be_visible(timeout=2 * WAIT_MS)
    tab.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/screens"), help="folder for the PNGs")
    parser.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS), help="viewport widths in px")
    slugs = [page_slug(page.path) for page in PAGES]
    parser.add_argument("--pages", nargs="+", choices=slugs, default=slugs, help="pages to visit")
    parser.add_argument("--no-actions", action="store_true", help="skip the upload on Predict and Analyze")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    port = free_port()
    app = start_app(port, args.out / "streamlit.log")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                                 args=["--no-sandbox", "--disable-gpu"])
            warm_up(browser, port)
            for width in args.widths:
                context = browser.new_context(viewport={"width": width, "height": HEIGHT.get(width, 900)})
                tab = context.new_page()
                tab.set_default_timeout(WAIT_MS)
                for slug in args.pages:
                    url_path = "" if slug == slugs[0] else slug
                    tab.goto(f"http://127.0.0.1:{port}/{url_path}")
                    try:
                        expect(tab.locator("h1").first).to_be_visible()
                        wait_idle(tab)
                    except AssertionError as error:  # shot all the same: the picture shows what went wrong
                        print(f"{slug} at {width} px: {str(error).splitlines()[0]}", file=sys.stderr)
                    shoot(tab, args.out, f"{width}-{slug}")
                    action = ACTIONS.get(slug)
                    if action and not args.no_actions and PHOTOS.is_dir():
                        suffix, act = action
                        try:
                            act(tab)
                            wait_idle(tab)
                        except (AssertionError, PlaywrightTimeout) as error:
                            print(f"{slug} at {width} px: {str(error).splitlines()[0]}", file=sys.stderr)
                        shoot(tab, args.out, f"{width}-{slug}-{suffix}")
                context.close()
            browser.close()
    finally:
        stop_app(app)


if __name__ == "__main__":
    main()
