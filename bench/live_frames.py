"""How many frames a second the Live page can process: frames in, annotated frames out.

    python bench/live_frames.py                                  # the `live` model and the fast one
    python bench/live_frames.py --models live --frames 150       # one model, a longer clip
    python bench/live_frames.py --no-codec                       # the processor alone
    python bench/live_frames.py --cleanup --models live          # against Streamlit's cleanup, per runtime

The clip is made from the real portraits in ../shared/photos (tests/live/frames.py): 640x480
frames of the astronaut swaying from side to side (one face), and the astronaut beside Grace
Hopper (two faces). Each frame goes the way the Live page's frames go on the server: VP8-decoded
(aiortc's decoder, as from a browser), turned into an RGB array, through `FrameProcessor.process`
(detect, align, classify, track, draw), back into a video frame and VP8-encoded (aiortc's
encoder). Frames are fed back to back, so the rates are what the server can keep up with; a
camera sends 15 a second (connection.FRAME_RATE). With `every Nth` the model reads every Nth
frame and the frames between are drawn with the faces where they were last seen.

One markdown table (ready for BENCHMARKS.md): per model, faces and N, the frames out and the
frames the model read per second, the processing latency (frame in to annotated frame out, in ms,
median / p95) of a frame the model reads and of one between, and of any frame with the VP8
decoding and encoding around it, and the CPU time a frame costs (all threads: a figure that
holds on a busy machine, where the wall-clock ones suffer from whatever else runs).

`--cleanup` measures what the Live page's readout does to the stream instead: frames go through
at the camera's 15 a second on a thread of their own while the main thread does, twice a second
(the readout's refresh), what Streamlit does after every script run: `gc.collect(2)`
(runner.postScriptGC) and `keras.backend.clear_session()`. One row per way of classifying: the
Keras model or the run's LiteRT file (`ui.common.load_predictor(runtime=...)`), each with and
without the long-lived objects frozen out of collections (`ui.common.freeze_long_lived`), and
without the cleanup for reference.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pylibsrtp  # noqa: E402,F401  (before TensorFlow: see app.py)

from bench.inference import table  # noqa: E402
from emotion_core import registry  # noqa: E402
from emotion_core.live import FrameProcessor  # noqa: E402
from emotion_core.live.connection import FRAME_RATE  # noqa: E402
from emotion_core.predictor import Predictor  # noqa: E402
from tests.live.frames import moving_frames, two_face_frame  # noqa: E402

FAST_RUN = "vgg_gap_small-warm-e40"  # the quarter-cost model README names for the live camera
WARMUP = 5  # frames before timing: the first calls trace the model's graph


def clips(count: int) -> dict[str, list[np.ndarray]]:
    two = [two_face_frame(shift=40 * np.sin(2 * np.pi * i / 30)) for i in range(count)]
    return {"1": moving_frames("astronaut.png", count), "2": two}


class Codec:
    """The server's side of the video: VP8 packets in, VP8 packets out, as aiortc does it."""

    def __init__(self, frames: list[np.ndarray]):
        import av
        from aiortc.codecs.vpx import Vp8Decoder, Vp8Encoder

        self.av = av
        source = av.CodecContext.create("libvpx", "w")  # stands in for the browser's encoder
        source.width, source.height = frames[0].shape[1], frames[0].shape[0]
        source.pix_fmt, source.bit_rate = "yuv420p", 1_500_000
        source.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        self.packets = []
        for index, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv420p")
            frame.pts = index
            self.packets += [bytes(packet) for packet in source.encode(frame)]
        self.packets += [bytes(packet) for packet in source.encode(None)]
        self.decoder, self.encoder = Vp8Decoder(), Vp8Encoder()

    def round_trip(self, index: int, process) -> None:
        from aiortc.jitterbuffer import JitterFrame

        for frame in self.decoder.decode(JitterFrame(self.packets[index % len(self.packets)], index * 6000)):
            out = self.av.VideoFrame.from_ndarray(process(frame.to_ndarray(format="rgb24")), format="rgb24")
            out.pts, out.time_base = frame.pts, frame.time_base
            self.encoder.encode(out)


def measure(predictor, frames: list[np.ndarray], every_nth: int, codec: Codec | None) -> dict:
    processor = FrameProcessor(predictor, every_nth=every_nth)
    for rgb in frames[:WARMUP]:
        processor.process(rgb)
    # The tracks live on the camera's clock (a frame every 1/15 s), whatever the machine's speed.
    video_time = [0.0]
    processor = FrameProcessor(predictor, every_nth=every_nth, clock=lambda: video_time[0])
    processing, whole = [], []

    def timed(rgb):
        video_time[0] += 1 / FRAME_RATE
        started = time.perf_counter()
        out = processor.process(rgb)
        processing.append(time.perf_counter() - started)
        return out

    started, cpu_started = time.perf_counter(), time.process_time()
    for index, rgb in enumerate(frames):
        frame_started = time.perf_counter()
        if codec is None:
            timed(rgb)
        else:
            codec.round_trip(index, timed)
        whole.append(time.perf_counter() - frame_started)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    faces = processor.readout().faces
    processor.close()
    return {"fps": len(frames) / elapsed, "model_fps": len(frames[::every_nth]) / elapsed,
            "cpu_ms": 1e3 * cpu / len(frames),
            "processing": np.array(processing) * 1e3, "whole": np.array(whole) * 1e3,
            "labels": ", ".join(face.label for face in faces)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=[registry.LIVE, FAST_RUN],
                        help="runs or aliases (default: the live alias and the fast model)")
    parser.add_argument("--frames", type=int, default=90, help="frames per clip (15 a second of video)")
    parser.add_argument("--every", type=int, nargs="+", default=[1, 2, 3], help="model every Nth frame")
    parser.add_argument("--no-codec", action="store_true", help="time the processor alone, no VP8")
    parser.add_argument("--cleanup", action="store_true",
                        help="at 15 fps against Streamlit's per-rerun cleanup, Keras and LiteRT, frozen or not")
    args = parser.parse_args()
    if args.cleanup:
        cleanup_table(args.models, clips(args.frames)["1"])
        return

    frames = clips(args.frames)
    codecs = {faces: None if args.no_codec else Codec(clip) for faces, clip in frames.items()}
    rows = []
    for spec in args.models:
        try:
            predictor = Predictor.load(spec)
        except registry.RunError as error:
            print(f"skipped {spec}: {error}", file=sys.stderr)
            continue
        name = f"{spec} ({predictor.run_name})" if spec != predictor.run_name else spec
        for faces, clip in frames.items():
            for every_nth in args.every:
                result = measure(predictor, clip, every_nth, codecs[faces])
                read = result["processing"][::every_nth]  # the frames the model read
                between = np.delete(result["processing"], np.s_[::every_nth])
                rows.append([name, faces, every_nth, f"{result['fps']:.1f}", f"{result['model_fps']:.1f}",
                             median_p95(read), f"{np.median(between):.0f}" if len(between) else "-",
                             "-" if args.no_codec else median_p95(result["whole"]), f"{result['cpu_ms']:.0f}",
                             result["labels"]])
    print(f"{args.frames} frames of 640x480 per clip, fed back to back on {os.cpu_count()} cores")
    table(["model", "faces", "every Nth", "frames out/s", "model reads/s", "ms, frame the model reads",
           "ms, frame between", "ms, any frame with VP8 decode + encode", "CPU ms a frame", "labels at the end"],
          rows)


CLEANUP_EVERY = 0.5  # seconds: the Live readout's refresh (views/live.py REFRESH_SECONDS)
CLEANUP_SECONDS = 10.0  # each row


def streamlit_cleanup() -> None:
    """What Streamlit does after every script run while keras is imported (script_runner.py)."""
    import keras

    gc.collect(2)
    keras.backend.clear_session()


def with_cleanup(predictor, frames: list[np.ndarray], cleanup: bool, freeze: bool) -> dict:
    """Frames at the camera's rate on a thread of their own; the cleanup twice a second on this one."""
    from ui.common import freeze_long_lived

    processor = FrameProcessor(predictor)
    for rgb in frames[:WARMUP]:
        processor.process(rgb)
    if freeze:
        freeze_long_lived()
    done, latencies, cleanups = threading.Event(), [], []

    def stream():
        for index in itertools.count():
            started = time.perf_counter()
            processor.process(frames[index % len(frames)])
            latencies.append(time.perf_counter() - started)
            if done.wait(max(0.0, 1 / FRAME_RATE - (time.perf_counter() - started))):
                return

    thread = threading.Thread(target=stream)
    cpu_started, started = time.process_time(), time.perf_counter()
    thread.start()
    while time.perf_counter() - started < CLEANUP_SECONDS:
        time.sleep(CLEANUP_EVERY)
        if cleanup:
            cleanup_started = time.perf_counter()
            streamlit_cleanup()
            cleanups.append(time.perf_counter() - cleanup_started)
    done.set()
    thread.join()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if freeze:
        gc.unfreeze()
    processor.close()
    latencies = np.array(latencies) * 1e3
    return {"fps": len(latencies) / elapsed, "latency": median_p95(latencies),
            "cleanup": f"{1e3 * np.median(cleanups):.0f}" if cleanups else "-", "cpu_ms": 1e3 * cpu / len(latencies)}


def cleanup_table(models: list[str], frames: list[np.ndarray]) -> None:
    import streamlit  # noqa: F401  (its modules, altair's and pandas' are in the app's heap too)

    from emotion_core.serving.export import litert_file

    rows = []
    for spec in models:
        predictors = {"Keras": Predictor.load(spec), "LiteRT": Predictor.load(spec, litert=litert_file(spec))}
        for runtime, predictor in predictors.items():
            for cleanup, freeze in ((False, False), (True, False), (True, True)):
                result = with_cleanup(predictor, frames, cleanup, freeze)
                rows.append([f"{spec} ({predictor.run_name})", runtime, "yes" if cleanup else "no",
                             "yes" if freeze else "no", f"{result['fps']:.1f}", result["latency"], result["cleanup"],
                             f"{result['cpu_ms']:.0f}"])
    print(f"one face, the camera's {FRAME_RATE} frames a second for {CLEANUP_SECONDS:.0f} s a row, "
          f"the cleanup every {CLEANUP_EVERY} s, on {os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f})")
    table(["model", "classifies on", "Streamlit's cleanup 2/s", "long-lived objects frozen", "frames read/s",
           "ms a frame, median / p95", "ms a cleanup", "CPU ms a frame"], rows)


def median_p95(values: np.ndarray) -> str:
    return f"{np.median(values):.0f} / {np.percentile(values, 95):.0f}"


if __name__ == "__main__":
    main()
