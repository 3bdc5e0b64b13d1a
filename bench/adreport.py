"""Ad report speed: the report of synthetic studies of growing size, and of real reaction videos, in one run.

    python bench/adreport.py                           # 2 ads x 20 viewers x 60 s (the issue's study), 2 x 100 x 120 s
    python bench/adreport.py --videos 2 --model live   # also 2 ads x 2 videos of 60 s: the whole `analyze` command
    python bench/adreport.py --videos 20               # the issue's study itself, 40 videos (10 min here)

Synthetic studies: each viewer's seconds are random readings (tests/adreport/hand.py's
probabilities; a second without the face one time in ten) written as video_seconds.csv, with a
video_frames.csv of 5 frames a second carrying landmarks, so attention is computed too. Timed
apart: `build_report` (read the tables, bootstrap, moments, compare), `write_report` (the CSVs and
ad_summary.json) and `write_html` (report.html, its charts rendered to SVG; no faces: there are
no videos).

`--videos N`: one 60-second 720p video of a face (bench/video.py's `make_video`) copied as N
reaction videos of each of 2 ads, then `python -m emotion_core analyze VIDEOS --out DIR` timed
in a fresh process (model load included; it writes the ad report and report.html at the end,
thumbnails cut from the videos), with the command's own counts of its video work and of the ad
report. The copies read alike, so every viewer's curve is the same (the report's cost does not
depend on that). With fewer than 20 a side, the issue's 2 x 20 x 60 s study is estimated from
it: 40 times the per-video analysis plus the synthetic 2 x 20 x 60 s report, labelled as such. The machine's load average is printed:
the machine is shared, so figures are upper bounds.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emotion_core.adreport import build_report, write_html, write_report  # noqa: E402
from emotion_core.video.tables import FRAMES_CSV  # noqa: E402
from tests.adreport.hand import write_analysis  # noqa: E402

READINGS = ["happy", "neutral", "sad", "surprise", "angry"]
STUDIES = ((2, 20, 60), (2, 100, 120))
VIDEO_SECONDS = 60


def study(folder: Path, ads: int, viewers: int, seconds: int) -> Path:
    rng = random.Random(0)
    readings = {(f"ad_{ad}/v{index}.mp4", 1): [rng.choice(READINGS) if rng.random() > 0.1 else None
                                               for _ in range(seconds)]
                for ad in range(ads) for index in range(viewers)}
    write_analysis(folder, readings)
    with open(folder / FRAMES_CSV, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file", "group", "time", "frame", "face", "landmarks", "status"])
        writer.writeheader()
        for (file, face), per_second in readings.items():
            for second, reading in enumerate(per_second):
                for step in range(5):
                    where = {"file": file, "group": file.split("/")[0], "time": second + step / 5,
                             "frame": second * 5 + step}
                    writer.writerow({**where, "face": face, "status": "ok",
                                     "landmarks": f"40 50 60 50 {rng.choice([50, 52, 58])} 60 50 70"}
                                    if reading else {**where, "status": "no face found"})
    return folder


def timed(step, *args):
    started = time.perf_counter()
    result = step(*args)
    return result, time.perf_counter() - started


def synthetic(root: Path) -> dict[tuple, float]:
    """Prints a row per study; returns {study: seconds of the whole report}."""
    print("| ads x viewers x seconds | build_report | write_report (CSVs, JSON) | write_html (report.html) | all |")
    print("|---|---:|---:|---:|---:|")
    totals = {}
    for ads, viewers, seconds in STUDIES:
        folder = study(root / f"{ads}-{viewers}-{seconds}", ads, viewers, seconds)
        report, built = timed(build_report, folder)
        _, tables = timed(write_report, report, folder)
        page, html = timed(write_html, report, folder)
        totals[(ads, viewers, seconds)] = built + tables + html
        print(f"| {ads} x {viewers} x {seconds} s | {built:.2f} s | {tables:.2f} s | {html:.2f} s "
              f"({page.stat().st_size / 1e6:.1f} MB) | {built + tables + html:.2f} s |")
    return totals


def videos(root: Path, per_ad: int, model: str, report_seconds: float) -> None:
    """The whole analyze command on 2 ads x `per_ad` copies of a 60 s video, and the issue's study estimated."""
    spec = importlib.util.spec_from_file_location("bench_video", ROOT / "bench" / "video.py")
    bench_video = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_video)
    one = bench_video.make_video(root / "one.mp4", VIDEO_SECONDS)
    folder = root / "ads"
    for ad in ("ad_a", "ad_b"):
        (folder / ad).mkdir(parents=True)
        for index in range(per_ad):
            shutil.copy(one, folder / ad / f"viewer{index}.mp4")
    out = root / "out"
    wall, peak, cpu, stderr = bench_video.timed_process(
        [sys.executable, "-m", "emotion_core", "analyze", str(folder), "--out", str(out), "--model", model])
    analysing = float(re.search(r"videos analysed in ([0-9.]+) s", stderr).group(1))
    reporting = float(re.search(r"ad report in ([0-9.]+) s", stderr).group(1))
    count = 2 * per_ad
    print(f"\n| 2 ads x {per_ad} videos x {VIDEO_SECONDS} s, `analyze --out` ({model}) | seconds |\n|---|---:|")
    print(f"| whole command (model load, {count} videos, ad report, report.html) | {wall:.1f} |")
    print(f"| of which the videos' analysis (the command's count) | {analysing:.1f} "
          f"({count * VIDEO_SECONDS / analysing:.2f}x real time) |")
    print(f"| of which the ad report (tables, report.html, faces cut from the videos) | {reporting:.1f} |")
    print(f"| the rest: start-up, model load | {wall - analysing - reporting:.1f} |")
    print(f"| peak memory | {peak:.0f} MB |")
    if per_ad != 20:
        estimate = 40 * analysing / count + report_seconds
        print(f"\nEstimate for 2 ads x 20 viewers x 60 s on this machine: 40 x {analysing / count:.1f} s of analysis "
              f"+ {report_seconds:.1f} s of report = {estimate / 60:.1f} min (plus {wall - analysing - reporting:.0f} s "
              "of start-up and model load once).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=0, metavar="PER_AD",
                        help="also analyse 2 ads x PER_AD copies of a 60 s 720p video (whole command)")
    parser.add_argument("--model", default="live", help="the run analysing the videos (default: live)")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)\n")
    with tempfile.TemporaryDirectory() as root:
        totals = synthetic(Path(root))
        if args.videos:
            videos(Path(root), args.videos, args.model, totals[STUDIES[0]])
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
