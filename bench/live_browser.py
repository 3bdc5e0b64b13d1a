"""The Live and Predict pages as a user meets them: Chromium on this machine, a fake camera, the page's own readout.

    python bench/live_browser.py --shipped c5d03c2          # "as shipped" (that commit) and "now", every row
    python bench/live_browser.py --variants now --fps 15 --faces 1 --checkpoints 15   # one quick row
    python bench/live_browser.py --no-live                    # Predict only

`bench/live_frames.py` times the frame processor alone, frames fed back to back. This one runs
the whole page: `streamlit run app.py` from each variant's source tree (the current one for "now";
for "as shipped" a `git worktree` of `--shipped`, a commit or a folder), with a registry of its
own holding copies of the `live` and `deployed` runs. Chromium plays a Y4M video written from the
real portraits in ../shared/photos (tests/live/frames.py: the astronaut swaying, or the astronaut
beside Grace Hopper; 640x480) as its camera (--use-file-for-fake-video-capture), at 15 and 30
frames a second, and streams it to the page over WebRTC with no STUN server, as the page does.

From the first label on, at each checkpoint (15 s and 60 s): the page's readout (frames the model
read a second, latency), the frames a second reaching the server (the browser's WebRTC counter
of frames sent, over the last 3 s as the readout's window) and coming back annotated, and the
app's CPU time (all its threads) per frame that reached it, since the first label. Predict: time
from the upload to the labelled photo on screen, for the first photo and for the ones after it.

The machine is shared with whatever else runs (a niced training job, other tests): the table says
how many cores and what load average it saw.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.inference import table  # noqa: E402
from emotion_core import registry  # noqa: E402
from emotion_core.serving.export import EXPORTS_DIR  # noqa: E402
from tests.conftest import PHOTOS, PROJECT  # noqa: E402
from tests.live.frames import moving_frames, two_face_frame, write_y4m  # noqa: E402
from tests.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, serve_app  # noqa: E402

WINDOW = 3.0  # seconds: the readout's window (live.stats.WINDOW), used for the browser's counters too
LABEL_SECONDS = 120  # from Start to the first label: ICE, the first frames, the model's first pass
PREDICT_PHOTOS = ("grace_hopper.jpg", "astronaut.png", "camera.png")  # each one face

# Records every RTCPeerConnection a frame makes, so the bench can read its counters (getStats).
RECORD_PEER_CONNECTIONS = """(() => {
  const Original = window.RTCPeerConnection;
  if (!Original || window.__peerConnections) return;
  window.__peerConnections = [];
  window.RTCPeerConnection = function (...args) {
    const connection = new Original(...args);
    window.__peerConnections.push(connection);
    return connection;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
})();"""
VIDEO_COUNTERS = """async () => {
  const counts = {sent: 0, decoded: 0};
  for (const connection of window.__peerConnections || []) {
    if (connection.connectionState === "closed") continue;
    (await connection.getStats()).forEach(report => {
      if (report.kind !== "video") return;
      if (report.type === "outbound-rtp") counts.sent += report.framesSent || 0;
      if (report.type === "inbound-rtp") counts.decoded += report.framesDecoded || 0;
    });
  }
  return counts;
}"""


def camera_videos(folder: Path, rates: list[int], faces: list[str]) -> dict[tuple[int, str], Path]:
    """Three seconds of 640x480 video per frame rate and face count, looped by Chromium."""
    videos = {}
    for fps in rates:
        count = 3 * fps
        clips = {"1": moving_frames("astronaut.png", count, sway=20, period=count),
                 "2": [two_face_frame(shift=20 * np.sin(2 * np.pi * i / count)) for i in range(count)]}
        for face_count in faces:
            videos[fps, face_count] = write_y4m(folder / f"camera-{face_count}-{fps}.y4m", clips[face_count], fps)
    return videos


def registry_copy(root: Path) -> Path:
    """A registry with copies of this machine's live and deployed runs, and an ensemble's members
    (it keeps only their names); no exports: "now" makes its own."""
    models = root / "models"
    for alias in (registry.DEPLOYED, registry.LIVE):
        run_dir = registry.resolve_run(alias)
        for name in [run_dir.name, *registry.load_run(run_dir).members]:
            if not (models / name).exists():
                shutil.copytree(run_dir.parent / name, models / name, ignore=shutil.ignore_patterns(EXPORTS_DIR))
        registry.deploy(run_dir.name, models, alias=alias)
    return models


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def video_counters(tab) -> dict[str, int]:
    """Frames the browser has sent to the server and decoded from it, over every frame of the tab."""
    totals = {"sent": 0, "decoded": 0}
    for frame in tab.frames:
        with contextlib.suppress(Exception):  # a frame that went away meanwhile
            for key, value in frame.evaluate(VIDEO_COUNTERS).items():
                totals[key] += value
    return totals


def metric(tab, label: str) -> float:
    """A readout metric's number ("9.3 /s", "38 ms"); NaN when the readout does not show it."""
    try:
        text = tab.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue").inner_text(
            timeout=10_000)
    except Exception:  # noqa: BLE001 (the stream ended, or the page is redrawing: the row says "-")
        return float("nan")
    return float(re.match(r"[\d.]+", text.strip()).group())


def stream_row(playwright, url: str, pid: int, video: Path, checkpoints: list[int]) -> list[dict]:
    """Start the Live page's stream with `video` as the camera; the readout at each checkpoint."""
    from playwright.sync_api import expect

    fake_camera = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                   f"--use-file-for-fake-video-capture={video}"]
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *fake_camera])
    ARTIFACTS.mkdir(exist_ok=True)  # a screenshot of what the page showed when a row went wrong
    tab = None
    try:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_init_script(RECORD_PEER_CONNECTIONS)
        tab = context.new_page()
        tab.set_default_timeout(LABEL_SECONDS * 1000)
        tab.goto(f"{url}/live")
        expect(tab.get_by_text("Model: ", exact=False).first).to_be_visible()
        component = tab.frame_locator("iframe[title*='webrtc']")
        stop = component.get_by_role("button", name=re.compile("^stop$", re.I))
        for _attempt in range(3):  # a press while the component is still being drawn can be lost
            expect(tab.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0)
            component.get_by_role("button", name=re.compile("^start$", re.I)).click()
            with contextlib.suppress(Exception):
                stop.wait_for(state="visible", timeout=20_000)
                break
        label = tab.get_by_text(re.compile(r"^Face 1: ")).first
        try:
            label.wait_for(state="visible", timeout=LABEL_SECONDS * 1000)
        except Exception:  # noqa: BLE001 (a row of its own)
            return [{"seconds": checkpoints[0], "ended": f"no label within {LABEL_SECONDS} s of Start"}]
        started, cpu_started, counted = time.monotonic(), cpu_seconds(pid), video_counters(tab)
        rows = []
        for checkpoint in checkpoints:
            time.sleep(max(0.0, started + checkpoint - WINDOW - time.monotonic()))
            before, window_started = video_counters(tab), time.monotonic()
            time.sleep(max(0.0, started + checkpoint - time.monotonic()))
            after, elapsed = video_counters(tab), time.monotonic() - window_started
            cpu, sent = cpu_seconds(pid) - cpu_started, after["sent"] - counted["sent"]
            rows.append({"seconds": checkpoint, "read": metric(tab, "Frames read"), "latency": metric(tab, "Latency"),
                         "in": (after["sent"] - before["sent"]) / elapsed,
                         "back": (after["decoded"] - before["decoded"]) / elapsed,
                         "cpu_ms": 1000 * cpu / sent if sent else float("nan")})
            if np.isnan(rows[-1]["read"]):  # the readout is gone: the connection dropped, Start is back
                rows[-1]["ended"] = f"the stream ended before {checkpoint} s"
                tab.screenshot(path=str(ARTIFACTS / f"live-browser-{video.stem}-{pid}.png"), full_page=True)
                return rows
        stop.click()
        return rows
    except Exception:
        tab and tab.screenshot(path=str(ARTIFACTS / f"live-browser-{video.stem}-{pid}.png"), full_page=True)
        raise
    finally:
        browser.close()


def predict_times(playwright, url: str) -> list[float]:
    """Seconds from each upload to its labelled photo on the Predict page, one photo after another."""
    from playwright.sync_api import expect

    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        tab = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        tab.set_default_timeout(LABEL_SECONDS * 1000)
        tab.goto(f"{url}/predict")
        expect(tab.locator("h1").filter(has_text="Predict")).to_be_visible()
        expect(tab.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0)  # the model is loaded
        times = []
        for count, name in enumerate(PREDICT_PHOTOS, start=1):
            started = time.monotonic()
            tab.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(PHOTOS / name))
            photos = tab.get_by_test_id("stImage").filter(
                has=tab.get_by_test_id("stImageCaption").filter(has_text=re.compile(r"^(\d+|one|no) faces?(\(s\))?$")))
            expect(photos).to_have_count(count)
            expect(tab.get_by_text(re.compile(r"^Face 1: ")).nth(count - 1)).to_be_visible()
            tab.wait_for_function("image => image.complete && image.naturalWidth > 0",
                                  arg=photos.nth(count - 1).locator("img").element_handle())
            times.append(time.monotonic() - started)
        return times
    finally:
        browser.close()


@contextlib.contextmanager
def source_tree(variant: str, shipped: str | None):
    """The folder `streamlit run` starts in: this checkout, or a worktree of the shipped commit."""
    if variant == "now":
        yield PROJECT
    elif shipped and Path(shipped).is_dir():
        yield Path(shipped)
    else:
        folder = Path(tempfile.mkdtemp(prefix="shipped-")) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(folder), shipped], cwd=PROJECT, check=True,
                       capture_output=True)
        try:
            yield folder
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=PROJECT, check=False)
            shutil.rmtree(folder.parent, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["shipped", "now"], choices=["shipped", "now"])
    parser.add_argument("--shipped", help="the commit (or a folder holding its files) that is 'as shipped'")
    parser.add_argument("--fps", type=int, nargs="+", default=[15, 30], help="the fake camera's frame rates")
    parser.add_argument("--faces", nargs="+", default=["1", "2"], choices=["1", "2"])
    parser.add_argument("--checkpoints", type=int, nargs="+", default=[15, 60], help="seconds after the first label")
    parser.add_argument("--no-live", action="store_true", help="Predict only")
    parser.add_argument("--no-predict", action="store_true", help="the Live page only")
    args = parser.parse_args()
    if "shipped" in args.variants and not args.shipped:
        parser.error("--shipped COMMIT (or a folder) is needed for the 'shipped' variant")
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="live-browser-"))
    videos = {} if args.no_live else camera_videos(work, args.fps, args.faces)
    names = {"shipped": "as shipped", "now": "now"}
    live_rows, predict_rows, loads = [], [], []
    with sync_playwright() as playwright, contextlib.ExitStack() as servers:
        # Both apps run side by side and take turns, row by row: whatever else loads the machine
        # loads both alike. The one not streaming idles (no session, no script runs).
        apps = {}
        for variant in args.variants:
            registry_copy(work / variant)
            tree = servers.enter_context(source_tree(variant, args.shipped))
            app = servers.enter_context(serve_app(work / variant, f"live-browser-{variant}.log", project=tree))
            apps[variant] = app.url, app.pid
        for (fps, faces), video in videos.items():
            for variant, (url, pid) in apps.items():
                loads.append(os.getloadavg()[0])
                try:
                    rows = stream_row(playwright, url, pid, video, args.checkpoints)
                except Exception as error:  # noqa: BLE001 (a row that failed says why; the others go on)
                    print(f"{names[variant]}, {fps} fps, {faces} face(s): {type(error).__name__}: "
                          f"{str(error).splitlines()[0]}", file=sys.stderr)
                    continue
                for row in rows:
                    figures = ([row["ended"], "-", "-", "-", "-"] if "ended" in row else
                               [f"{row['in']:.1f}", f"{row['read']:.1f}", f"{row['back']:.1f}", f"{row['latency']:.0f}",
                                f"{row['cpu_ms']:.0f}"])
                    live_rows.append([names[variant], fps, faces, row["seconds"], *figures])
                    print(" | ".join(map(str, live_rows[-1])), file=sys.stderr, flush=True)  # progress
        for variant, (url, _pid) in apps.items():
            if not args.no_predict:
                times = predict_times(playwright, url)
                predict_rows.append([names[variant], f"{times[0]:.1f}", " / ".join(f"{t:.1f}" for t in times[1:])])
    load = f", load average {min(loads):.1f}-{max(loads):.1f} at the rows' starts" if loads else ""
    print(f"Chromium and the app on the same {os.cpu_count()} cores{load}; the fake camera plays 640x480")
    if live_rows:
        table(["code", "camera fps", "faces", "s after the first label", "frames/s reaching the server",
               "frames/s the model read (readout)", "frames/s back in the browser", "latency ms (readout)",
               "app CPU ms a frame"], live_rows)
    if predict_rows:
        print()
        table(["code", "Predict: s from upload to labelled photo, first", "later photos"], predict_rows)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
