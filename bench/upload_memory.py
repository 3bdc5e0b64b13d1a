"""App memory: the Streamlit process's resident memory before and at its peak while a study .zip is
uploaded on the Ads page in Chromium and kept as a study folder (the Analyse button).

    python bench/upload_memory.py                      # a 60 MB study .zip
    python bench/upload_memory.py --mb 150 --project /tmp/baseline   # another checkout, same upload

The app runs from this checkout (or --project) with a temporary registry holding one small run of
models/ (copied, never written) and analyses paused (EMOTION_MAX_ANALYSES=0: the job is queued,
no worker reads the videos), so the figures are the upload's own. The zip holds three stored
(uncompressed) files of random bytes named as reaction videos: the page and studies/ never decode
them. Peak resident memory is /proc/PID/status VmHWM, reset (clear_refs) once the page is drawn.
Each row: resident memory after the page is drawn, the peak while uploading and drawing the page
with the upload, the peak once the study folder is written, resident memory 3 s later (what the
session still holds of the upload), and the peak's growth over the upload's size.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, serve_app, sync_api  # noqa: E402

RUN = "vgg_gap_small-e36"  # a small run of models/: the Ads page draws its upload only with a model


def status_mb(pid: int, field: str) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.M).group(1)) / 1024


def study_zip(path: Path, megabytes: int) -> Path:
    """Three reaction videos' worth of random bytes in two ads' folders, stored uncompressed."""
    sizes = [megabytes // 3] * 2 + [megabytes - 2 * (megabytes // 3)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, size in zip(("ad_a/anna.mp4", "ad_a/ben.mp4", "ad_b/carl.mp4"), sizes):
            with archive.open(name, "w", force_zip64=True) as member:
                for _ in range(size):
                    member.write(os.urandom(2**20))
    return path


def measure(project: Path, upload: Path, root: Path) -> dict:
    shutil.copytree(PROJECT / "models" / RUN, root / "models" / RUN)
    with serve_app(root, project=project, EMOTION_MAX_ANALYSES="0",
                   STREAMLIT_SERVER_MAX_UPLOAD_SIZE="1000") as app, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        tab = browser.new_page()
        tab.set_default_timeout(180_000)
        tab.goto(f"{app.url}/ads")
        sync_api.expect(tab.get_by_test_id("stFileUploaderDropzoneInput")).to_have_count(1, timeout=180_000)
        drawn = status_mb(app.pid, "VmRSS")
        Path(f"/proc/{app.pid}/clear_refs").write_text("5")  # VmHWM from here on
        tab.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(upload))
        button = tab.get_by_role("button", name=re.compile("Analyse 3 reaction videos"))
        sync_api.expect(button).to_be_visible(timeout=180_000)
        uploaded = status_mb(app.pid, "VmHWM")
        button.click()
        sync_api.expect(tab.get_by_text(re.compile(r"Analysis 1 (started|queued)"))).to_be_visible(timeout=180_000)
        kept = status_mb(app.pid, "VmHWM")
        tab.wait_for_timeout(3000)  # the uploader's files let go of (or not) by the run that follows
        held = status_mb(app.pid, "VmRSS")
        browser.close()
    return {"drawn": drawn, "uploaded": uploaded, "kept": kept, "held": held}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=60, help="size of the study .zip in MB")
    parser.add_argument("--project", type=Path, default=PROJECT, help="the checkout whose app runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="upload-memory-") as folder:
        upload = study_zip(Path(folder) / "study.zip", args.mb)
        size = upload.stat().st_size / 2**20
        found = measure(args.project.resolve(), upload, Path(folder) / "app")
    print(f"| app | upload MB | RSS drawn MB | peak uploaded MB | peak kept MB | RSS kept MB | "
          f"(peak - drawn) / upload |\n|---|---|---|---|---|---|---|\n"
          f"| {args.project.resolve()} | {size:.0f} | {found['drawn']:.0f} | {found['uploaded']:.0f} | "
          f"{found['kept']:.0f} | {found['held']:.0f} | {(found['kept'] - found['drawn']) / size:.2f} |")


if __name__ == "__main__":
    main()
