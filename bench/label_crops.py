"""How long the Label page waits for a video face: a seek to the frame against decoding from the start.

    python bench/label_crops.py                      # a generated 60 s 1280x720 H.264 video at 30 fps
    python bench/label_crops.py --seconds 120 --repeat 3

The Label page shows one face at a time; a face of a video is cut from the analysed frame at its
time. `faceset.labelling.video_frame` seeks to the key frame before that time and decodes forward;
the baseline decodes every frame from the start, as the analysis did. The video is written here
(PyAV, libx264, a key frame every 2 s as phones and webcams write them), frames numbered by their
brightness so each answer is checked. Prints one row per face time: milliseconds for each way
(the median of --repeat) and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from emotion_core.faceset.labelling import TIME_TOLERANCE, video_frame  # noqa: E402
from emotion_core.video.reading import open_video, upright_rgb  # noqa: E402
from tests.video.videos import write_video as encode  # noqa: E402

FPS = 30
SIZE = (1280, 720)
KEY_FRAME_EVERY = 60  # frames: 2 s


def write_video(path: Path, seconds: float) -> None:
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 40, (SIZE[1], SIZE[0], 3), dtype=np.uint8)  # so frames cost what real ones do
    count = round(seconds * FPS)
    encode(path, ((index / FPS, texture + np.uint8(index * 200 // count)) for index in range(count)), rate=FPS,
           key_frame_every=KEY_FRAME_EVERY, time_base=Fraction(1, FPS))


def from_the_start(path: Path, time_s: float) -> np.ndarray:
    """The baseline: every frame decoded from the first until the one at `time_s`."""
    with open_video(path) as video:
        start = video.start or 0.0
        for frame in video.decoded():
            if frame.time is not None and frame.time - start >= time_s - TIME_TOLERANCE:
                return upright_rgb(frame)
    raise ValueError(f"no frame at {time_s}")


def timed(function, repeat: int) -> tuple[float, np.ndarray]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reaction.mp4"
        write_video(path, args.seconds)
        print(f"{args.seconds:.0f} s, {SIZE[0]}x{SIZE[1]}, {FPS} fps, a key frame every {KEY_FRAME_EVERY / FPS:.0f} s; "
              f"median of {args.repeat}")
        print(f"{'face at':>8} | {'seek (ms)':>9} | {'from the start (ms)':>19} | {'ratio':>5}")
        for time_s in (1.0, args.seconds / 4, args.seconds / 2, args.seconds - 1):
            time_s = round(time_s * FPS) / FPS  # a frame's own time, as the analysis records it
            seek_ms, seek_rgb = timed(lambda: video_frame(path.parent, path.name, time_s), args.repeat)
            start_ms, start_rgb = timed(lambda: from_the_start(path, time_s), args.repeat)
            assert np.array_equal(seek_rgb, start_rgb), f"the frames at {time_s} s differ"
            print(f"{time_s:>7.1f}s | {seek_ms:>9.0f} | {start_ms:>19.0f} | {start_ms / seek_ms:>5.1f}")


if __name__ == "__main__":
    main()
