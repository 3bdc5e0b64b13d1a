"""Ad report speed: `build_report` + `write_report` on synthetic studies of growing size, in one run.

    python bench/adreport.py                 # 2 ads x 20 viewers x 60 s (the issue's study), then 2 x 100 x 120 s

Each viewer's seconds are random readings (tests/adreport/hand.py's probabilities; a second without
the face one time in ten) written as video_seconds.csv, with a video_frames.csv of 5 frames a
second carrying landmarks, so attention is computed too. The time is the report alone, the
tables read and written; the analysis of the videos (bench/video.py) dwarfs it.
"""

from __future__ import annotations

import csv
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emotion_core.adreport import build_report, write_report  # noqa: E402
from emotion_core.video.tables import FRAMES_CSV  # noqa: E402
from tests.adreport.hand import write_analysis  # noqa: E402

READINGS = ["happy", "neutral", "sad", "surprise", "angry"]


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


def main() -> None:
    print("| ads x viewers x seconds | report (read, compute, write) |\n|---|---:|")
    with tempfile.TemporaryDirectory() as root:
        for ads, viewers, seconds in ((2, 20, 60), (2, 100, 120)):
            folder = study(Path(root) / f"{ads}-{viewers}-{seconds}", ads, viewers, seconds)
            started = time.perf_counter()
            write_report(build_report(folder), folder)
            print(f"| {ads} x {viewers} x {seconds} s | {time.perf_counter() - started:.2f} s |")


if __name__ == "__main__":
    main()
