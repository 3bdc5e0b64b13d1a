"""What a user sees on the app's first page: its text as a browser renders it (Streamlit draws
the page with JavaScript over a websocket, so the HTML alone is an empty shell).

    python deploy/first_page.py http://127.0.0.1:8501/ [--screenshot first_page.png]

Uses Playwright's Python package with Debian's chromium (/usr/bin/chromium); exits 1 when the
page shows no title or shows an exception.
"""

import argparse
import sys

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--screenshot")
    parser.add_argument("--chars", type=int, default=600, help="how much of the page's text to print")
    args = parser.parse_args()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(args.url)
        page.locator("h1").first.wait_for(timeout=180_000)  # a first run on two busy cores
        page.wait_for_timeout(2_000)  # the rest of the first run's elements
        text = " ".join(page.get_by_test_id("stMain").inner_text().split())
        failed = page.get_by_test_id("stException").count()
        if args.screenshot:
            page.screenshot(path=args.screenshot, full_page=True)
        browser.close()
    print(text[:args.chars])
    return 1 if failed or not text else 0


if __name__ == "__main__":
    sys.exit(main())
