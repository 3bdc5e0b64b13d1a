"""Video analysis speed and memory: `analyze VIDEO` against fer's `Video.analyze`, in one run.

    python bench/video.py                         # a 1-minute and a 10-minute 720p video, the deployed model
    python bench/video.py --minutes 1 --model RUN # the 1-minute video only (no memory comparison)
    python bench/video.py --model live,deployed   # several models in one run (longer videos: the first)
    python bench/video.py --keep /tmp/videos      # keep (and reuse) the generated videos
    python bench/video.py --minutes 1 --before 70b436d   # also the command as of that commit, same run

Generates 720p, 30 fps H.264 videos of one face (the astronaut of ../shared/photos, cut out and
swaying on a blurred background, as a webcam films a viewer), then times the whole command
`python -m emotion_core analyze VIDEO --out DIR` in a fresh process (model load included) at
5 frames a second, with its peak memory (the process's maximum resident set). fer's
`Video.analyze` runs on the same file at the same sampling (every 6th frame), in a fresh process
too, writing no frames and no video (its cv2.waitKey is patched out: it fails under
opencv-headless). "Where the time goes" splits one pass of our path over the 1-minute video
into decode, convert (to RGB, sampled frames only), detect, landmarks, crop and classify.
`--before COMMIT` also times the command of a `git worktree` of that commit (reading this
checkout's models/), interleaved with ours on the same video: a baseline that a busy machine
slows alike. The "analysing" column is the command's own count of its video work (without
start-up, model load and what follows the tables). The machine's load average is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import av  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

PHOTOS = ROOT.parent / "shared" / "photos"
SIZE = (1280, 720)
RATE = 30
SAMPLED = 5  # frames analysed a second (the CLI's default)


def make_video(path: Path, seconds: float) -> Path:
    """A 720p 30 fps H.264 video of the astronaut's face swaying over a blurred photo."""
    from emotion_core.faces import FaceDetector, crop_face
    from emotion_core.images import load_rgb
    from tests.video.videos import write_video

    rgb = load_rgb(PHOTOS / "astronaut.png")
    (box,) = FaceDetector().detect(rgb)
    side = 420  # the cut-out: its face is ~60% of it, a third of the picture's height
    face = np.asarray(Image.fromarray(crop_face(rgb, box, margin=0.3)).resize((side, side), Image.Resampling.LANCZOS))
    background = np.asarray(Image.open(PHOTOS / "coffee.png").convert("RGB").resize(SIZE)
                            .filter(ImageFilter.GaussianBlur(8)))

    def swaying(t: float) -> np.ndarray:
        left = int(SIZE[0] / 2 - side / 2 + 120 * np.sin(t / 3))
        top = int(SIZE[1] / 2 - side / 2 + 40 * np.sin(t / 2))
        frame = background.copy()
        frame[top:top + side, left:left + side] = face
        return frame

    times = (index / RATE for index in range(round(seconds * RATE)))
    return write_video(path, ((t, swaying(t)) for t in times), rate=RATE, options={"preset": "veryfast", "crf": "23"},
                       time_base=Fraction(1, RATE))


def repeat_video(source: Path, path: Path, copies: int) -> Path:
    """`source` played `copies` times in a row, its packets copied (no re-encoding: seconds, not minutes)."""
    with av.open(str(source)) as reading, av.open(str(path), "w") as writing:
        stream = reading.streams.video[0]
        out = writing.add_stream_from_template(stream)
        packets = [(bytes(packet), packet.pts, packet.dts, packet.is_keyframe)
                   for packet in reading.demux(stream) if packet.dts is not None]
        times = sorted(pts for _, pts, _, _ in packets)
        span = times[-1] + (times[1] - times[0]) - times[0]  # the last frame shown for one frame's time
        for copy in range(copies):
            for data, pts, dts, keyframe in packets:
                packet = av.Packet(data)
                packet.pts, packet.dts, packet.time_base, packet.stream = pts + span * copy, dts + span * copy, \
                    stream.time_base, out
                packet.is_keyframe = keyframe
                writing.mux(packet)
    return path


def timed_process(command: list[str], cwd: Path = ROOT, runs: Path = ROOT / "models") -> tuple[float, float, float, str]:
    """(wall seconds, peak resident MB, CPU seconds, stderr) of a command in a fresh process (in
    `cwd`, reading the registry `runs`). CPU seconds (user + system, all its threads) hold
    better than wall time on a shared machine: a process waiting for a core spends none."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=cwd,
                               env={**os.environ, "EMOTION_RUNS_DIR": str(runs)})
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)  # this child's own peak, not the largest of all children's
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} failed: {stderr.strip().splitlines()[-1:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, stderr


def ours(video: Path, model: str, out: Path, tree: Path = ROOT,
         runs: Path = ROOT / "models") -> tuple[float, float, float, float]:
    """(wall seconds, peak MB, CPU seconds, seconds the command says its video work took) of `analyze` in `tree`."""
    wall, peak, cpu, stderr = timed_process([sys.executable, "-m", "emotion_core", "analyze", str(video), "--out",
                                        str(out), "--model", model, "--fps", str(SAMPLED)], cwd=tree, runs=runs)
    analysing = re.search(r"videos analysed in ([0-9.]+) s", stderr)
    return wall, peak, cpu, float(analysing.group(1)) if analysing else float("nan")


def registry_with_model_files(folder: Path) -> Path:
    """This checkout's registry as code from before 85f1c7d reads it: every run linked, and each
    ensemble given the model.keras it kept then (assembled from its members), so an older
    commit's `analyze` classifies with the same model and does not fall back to an earlier one."""
    from emotion_core import registry
    from emotion_core.ensemble import load_run_model

    folder.mkdir(parents=True, exist_ok=True)
    for entry in (ROOT / "models").iterdir():
        if (entry / "ensemble.json").is_file() and not (entry / registry.MODEL_FILE).is_file():
            shutil.copytree(entry, folder / entry.name)
            load_run_model(registry.load_run(entry)).save(folder / entry.name / registry.MODEL_FILE)
        else:
            (folder / entry.name).symlink_to(entry)
    return folder


FER_CHILD = """
import os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import cv2
cv2.waitKey = lambda *a, **k: -1           # fails under opencv-headless, and nothing is displayed
cv2.destroyAllWindows = lambda *a, **k: None
from fer.fer import FER  # 25.x: not re-exported by fer/__init__
from fer.classes import Video
frames = Video(sys.argv[1], outdir=sys.argv[2]).analyze(
    FER(), display=False, output="pandas", frequency=int(sys.argv[3]), save_frames=False, save_video=False,
    annotate_frames=False, zip_images=False)
print(f"fer: {len(frames)} frames", file=sys.stderr)
"""


def fer(video: Path, out: Path) -> tuple[float, float, float] | None:
    try:
        import fer as _  # noqa: F401
    except ImportError:
        print("note: the `fer` package is not installed (pip install --no-deps fer==25.10.3); its column is skipped")
        return None
    wall, peak, cpu, _ = timed_process([sys.executable, "-c", FER_CHILD, str(video), str(out), str(RATE // SAMPLED)])
    return wall, peak, cpu


def stages(video: Path, model: str) -> dict[str, float]:
    """CPU seconds of each stage of one pass of our path over `video` (in this process, model loaded
    apart; CPU time, of all this process's threads, since a shared machine makes wall time wander)."""
    clock_now = time.process_time
    from emotion_core.faces import FACE_SIZES, crop_face
    from emotion_core.faces.detection import _shrunk, detection_scale
    from emotion_core.faces.landmarks import LandmarkModel
    from emotion_core.cli import analysis_predictor
    from emotion_core.video.reading import open_video, upright_rgb

    predictor = analysis_predictor(model, "yunet")  # what `analyze` classifies with
    detector, fraction = predictor.detector, FACE_SIZES["large"]
    spent = dict.fromkeys(["decode", "convert", "detect", "landmarks", "crop", "classify"], 0.0)
    faces, next_time = [], 0.0
    with open_video(video) as opened:
        frames = opened.decoded()
        clock = clock_now()
        for frame in frames:
            now = clock_now()
            spent["decode"] += now - clock
            if frame.time + 1e-6 >= next_time:
                next_time = (int(frame.time * SAMPLED + 1e-6) + 1) / SAMPLED
                rgb = upright_rgb(frame)
                t1 = clock_now()
                scale = detection_scale(rgb.shape[:2], detector.detect_max_side, fraction,
                                        detector.backend.smallest_face_pixels)
                small = _shrunk(rgb, scale)
                found = detector.backend.find(small, round(fraction * min(small.shape[:2])))
                t2 = clock_now()
                boxes = detector.detect(rgb, fraction)  # for the aligned boxes; its find is counted above
                t3 = clock_now()
                for rect, _score, _landmarks in found:
                    LandmarkModel.shared().locate(rgb, tuple(v / scale for v in rect))
                t4 = clock_now()
                faces += [predictor.prepare(crop_face(rgb, box)) for box in boxes]
                t5 = clock_now()
                spent["convert"] += t1 - now
                spent["detect"] += t2 - t1
                spent["landmarks"] += t4 - t3
                spent["crop"] += t5 - t4
                if len(faces) >= 64:
                    t6 = clock_now()
                    predictor.classify(np.stack(faces))
                    spent["classify"] += clock_now() - t6
                    faces = []
            clock = clock_now()
    if faces:
        t6 = clock_now()
        predictor.classify(np.stack(faces))
        spent["classify"] += clock_now() - t6
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", default="1,10", help="video lengths, comma-separated (default 1,10); longer "
                                                          "ones run with the first model only")
    parser.add_argument("--model", default="deployed", help="runs or aliases, comma-separated (default deployed)")
    parser.add_argument("--keep", type=Path, help="folder to keep the generated videos in (reused when there)")
    parser.add_argument("--no-fer", action="store_true", help="skip fer")
    parser.add_argument("--before", metavar="COMMIT", help="also time `analyze` as of this commit, or of a folder "
                                                           "holding its files (the first length only)")
    args = parser.parse_args()
    from bench.live_browser import source_tree  # a worktree of a commit (or a folder), removed afterwards

    with source_tree("shipped", args.before) if args.before else contextlib.nullcontext() as before:
        run(args, before)


def run(args, before: Path | None) -> None:
    minutes = [float(text) for text in args.minutes.split(",")]
    models = args.model.split(",")
    work = Path(tempfile.mkdtemp(prefix="bench-video-"))
    folder = args.keep or work
    folder.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; models {', '.join(models)}; "
          f"720p {RATE} fps H.264, one face, {SAMPLED} frames analysed a second\n")
    rows, fer_time = [], None
    old_registry = registry_with_model_files(work / "models-before") if before else None
    for length in minutes:
        video = folder / f"face-{length:g}min.mp4"
        if not video.exists():
            started = time.perf_counter()
            if length > minutes[0] and length % minutes[0] == 0:  # the first video, repeated
                repeat_video(folder / f"face-{minutes[0]:g}min.mp4", video, int(length / minutes[0]))
            else:
                make_video(video, length * 60)
            print(f"generated {video.name} in {time.perf_counter() - started:.0f} s")
        for model in models if length == minutes[0] else models[:1]:
            trees = [("now", ROOT, ROOT / "models")] + (
                [(f"before ({args.before})", before, old_registry)] if before and length == minutes[0] else [])
            for label, tree, runs in trees:
                out = work / f"out-{length:g}-{model}-{len(rows)}"
                wall, peak, cpu, analysing = ours(video, model, out, tree, runs)
                used = json.loads((out / "analysis.json").read_text()).get("model")  # the run that classified
                print(f"ours {label} ({model}: {used}), {length:g} min: {wall:.1f} s (analysing {analysing:.1f} s), "
                      f"CPU {cpu:.1f} s, peak {peak:.0f} MB", flush=True)
                rows.append((length, f"{model} ({used}), {label}", wall, peak, cpu, analysing))
        if length == minutes[0] and not args.no_fer:
            fer_time = fer(video, work / f"fer-{length:g}")
            if fer_time:
                print(f"fer, {length:g} min: {fer_time[0]:.1f} s, CPU {fer_time[2]:.1f} s, peak {fer_time[1]:.0f} MB",
                      flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end\n")
    print("| video | model | whole command | analysing | x real time | CPU s | peak memory | vs fer: wall | vs fer: CPU |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for length, model, wall, peak, cpu, analysing in rows:
        first = fer_time and length == minutes[0]
        print(f"| {length:g} min | {model} | {wall:.1f} s | {analysing:.1f} s | {length * 60 / wall:.1f}x | {cpu:.1f} "
              f"| {peak:.0f} MB | {f'{fer_time[0] / wall:.1f}x' if first else '-'} "
              f"| {f'{fer_time[2] / cpu:.1f}x' if first else '-'} |")
    if fer_time:
        print(f"| {minutes[0]:g} min | fer `Video.analyze` | {fer_time[0]:.1f} s | | {minutes[0] * 60 / fer_time[0]:.1f}x "
              f"| {fer_time[2]:.1f} | {fer_time[1]:.0f} MB | - | - |")
    longest = [row for row in rows if row[1].startswith(f"{models[0]} (") and row[1].endswith(", now")]
    if len(longest) > 1:
        print(f"\npeak memory ({models[0]}), {longest[-1][0]:g} min minus {longest[0][0]:g} min: "
              f"{longest[-1][3] - longest[0][3]:+.0f} MB")
    first = folder / f"face-{minutes[0]:g}min.mp4"
    analysed = minutes[0] * 60 * SAMPLED
    for model in models:
        spent = stages(first, model)
        total = sum(spent.values())
        print(f"\nWhere the time goes ({model}, {minutes[0]:g} min, {analysed:.0f} frames analysed, "
              "model loaded apart; CPU time):\n")
        print("| stage | CPU s | CPU ms per analysed frame | share |")
        print("|---|---|---|---|")
        for stage, seconds in spent.items():
            print(f"| {stage} | {seconds:.1f} | {1000 * seconds / analysed:.1f} | {seconds / total:.0%} |")
        print(f"| all | {total:.1f} | {1000 * total / analysed:.1f} | 100% |")


if __name__ == "__main__":
    main()
