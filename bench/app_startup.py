"""App speed: seconds from `streamlit run` to the first page, and from upload to result on Predict.

    python bench/app_startup.py                              # the deployed run (else an untrained vgg_gap)
    python bench/app_startup.py --model /tmp/vgg_gap.keras   # serve this model file as the deployed run
    python bench/app_startup.py --starts 5 --uploads 10

1. Start: `streamlit run app.py` is started --starts times on a free local port, each a fresh
   process; the clock stops when the health endpoint answers, then when the first page's HTML is
   served (urllib). Both come before any page script runs: Streamlit runs the script when a
   browser connects. That first script run (app.py and the Home page, imports included) is timed in a
   fresh process with Streamlit's AppTest, as the third column; start-to-usable is health + that run.
2. Predict: views/predict.py under AppTest, in-process, with Grad-CAM on (the page's default):
   the first upload of a session (loads the model, builds the explainer, traces the graphs), then
   uploads of other photos while the model stays cached, as in a running server. The page caches
   results per photo, so every timed upload is a photo the page has not seen (data cache cleared).
A --model file is served from a temporary registry (EMOTION_RUNS_DIR), never the project's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PHOTOS = PROJECT.parent / "shared" / "photos"
sys.path.insert(0, str(PROJECT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

START_TIMEOUT = 120  # seconds: a start slower than this is a failure, not a sample


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read() if response.status == 200 else None
    except OSError:  # refused while the server starts
        return None


def time_server_start(env: dict) -> tuple[float, float]:
    """(seconds to a healthy server, seconds to the first page's HTML) of one `streamlit run`."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    started = time.perf_counter()
    server = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while get(f"http://127.0.0.1:{port}/_stcore/health") is None:
            if server.poll() is not None or time.perf_counter() - started > START_TIMEOUT:
                raise RuntimeError(f"streamlit did not start (exit code {server.poll()})")
            time.sleep(0.02)
        healthy = time.perf_counter() - started
        page = get(f"http://127.0.0.1:{port}/")
        if not page or b"<html" not in page.lower():
            raise RuntimeError("the first page was not HTML")
        return healthy, time.perf_counter() - started
    finally:
        server.terminate()  # only the server this function started
        server.wait(timeout=30)


FIRST_RUN = """
import time, sys
started = time.perf_counter()
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("app.py", default_timeout=120).run()
assert not at.exception, at.exception
print(time.perf_counter() - started)
"""


def time_first_script_run(env: dict) -> float:
    """Seconds for a fresh process to import Streamlit and run app.py's Home page once."""
    done = subprocess.run([sys.executable, "-c", FIRST_RUN], cwd=PROJECT, env=env, capture_output=True,
                          text=True, timeout=START_TIMEOUT)
    if done.returncode != 0:
        raise RuntimeError(f"app.py failed under AppTest: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return float(done.stdout.strip().splitlines()[-1])


def upload_times(photos: dict[str, bytes], uploads: int) -> tuple[float, list[float], str]:
    """(first upload seconds, later upload seconds, served run) on the Predict page."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from emotion_core import registry

    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(str(PROJECT / "views" / "predict.py"), default_timeout=120).run()
    if at.info and "No trained model" in at.info[0].value:
        raise RuntimeError("no deployed model to predict with")
    names = list(photos)

    def upload(index: int) -> float:
        name = names[index % len(names)]
        st.cache_data.clear()  # a photo the page has not analysed yet; the model stays loaded
        started = time.perf_counter()
        at.file_uploader[0].set_value((name, photos[name], "image/png")).run()
        seconds = time.perf_counter() - started
        if at.exception or at.error:
            raise RuntimeError(f"the Predict page failed on {name}: {at.exception or at.error[0].value}")
        return seconds

    first = upload(0)
    later = [upload(index) for index in range(1, uploads + 1)]
    return first, later, registry.usable_deployment()[0] or "?"


def registry_with(model_path: Path, root: Path) -> None:
    """A one-run registry in `root` serving `model_path` as the deployed run (vgg_gap recipe, TTA on)."""
    from emotion_core import registry

    run = root / f"bench-{model_path.stem}"
    run.mkdir(parents=True)
    shutil.copy(model_path, run / registry.MODEL_FILE)
    (run / registry.CONFIG_FILE).write_text(json.dumps({"arch": "vgg_gap", "tta": True, "name": run.name}))
    (run / registry.STATUS_FILE).write_text(json.dumps({"state": "complete", "started": "2000-01-01T00:00:00"}))
    registry.deploy(run.name, root)


def untrained_model(path: Path) -> Path:
    from emotion_core.architectures import build_model

    build_model("vgg_gap", (48, 48, 1), 7).save(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a .keras file to serve as the deployed run")
    parser.add_argument("--starts", type=int, default=3, help="cold starts of the server to time")
    parser.add_argument("--uploads", type=int, default=6, help="uploads to time after the first")
    args = parser.parse_args()

    from emotion_core import registry

    scratch = Path(tempfile.mkdtemp(prefix="bench-app-"))
    try:
        model = args.model
        if model is None and registry.usable_deployment()[0] is None:
            print("note: no deployed run; serving an untrained vgg_gap (speed does not depend on the weights)\n")
            model = untrained_model(scratch / "vgg_gap-untrained.keras")
        if model is not None:
            registry_with(model, scratch / "models")
            os.environ["EMOTION_RUNS_DIR"] = str(scratch / "models")
        env = {**os.environ, "PYTHONPATH": str(PROJECT)}

        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}\n")
        samples = [(*time_server_start(env), time_first_script_run(env)) for _ in range(args.starts)]
        health, page, first_run = (np.asarray(column) for column in zip(*samples, strict=True))
        print(f"### Start ({args.starts} cold starts), seconds median / max\n")
        print("| streamlit run -> health ok | -> first page HTML | first script run (AppTest, fresh process) "
              "| start to usable (health + script run) |")
        print("|---:|---:|---:|---:|")
        print(f"| {np.median(health):.2f} / {health.max():.2f} | {np.median(page):.2f} / {page.max():.2f} "
              f"| {np.median(first_run):.2f} / {first_run.max():.2f} "
              f"| {np.median(health + first_run):.2f} / {(health + first_run).max():.2f} |\n")

        if not PHOTOS.is_dir():
            print(f"note: {PHOTOS} is missing, so the upload timing is skipped")
            return
        photos = {name: (PHOTOS / name).read_bytes() for name in ("astronaut.png", "grace_hopper.jpg")}
        first, later, served = upload_times(photos, args.uploads)
        later = np.asarray(later)
        print(f"### Predict page, upload to result with Grad-CAM ({served}), seconds\n")
        print("| first upload (model load, explainer, tracing) | later uploads median | p90 |")
        print("|---:|---:|---:|")
        print(f"| {first:.2f} | {np.median(later):.3f} | {np.percentile(later, 90):.3f} |")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
