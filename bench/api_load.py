"""The REST API under load on localhost, against the same photos through `Predictor` directly.

    python bench/api_load.py                                  # deployed model, 1, 4 and 8 clients
    python bench/api_load.py --model vgg_gap_small-warm-e40 --faces large --requests 100 --seconds 30

Starts `python -m emotion_core serve` on a free 127.0.0.1 port (nothing else is contacted), posts
the one-face photos of ../shared/photos (astronaut.png, grace_hopper.jpg) one photo a request from
N client threads, and prints a markdown table: requests per second and the median and 90th
percentile latency per request. The first row is the same photos through `Predictor.predict` in
this process, one after another: what the HTTP layer adds is the difference. Each level stops at
--requests requests or --seconds seconds, whichever comes first; a warm-up precedes each.
Every answer is checked to hold exactly one face, so a fast wrong answer cannot pass for speed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

import numpy as np  # noqa: E402

from emotion_core.faces import FACE_SIZES  # noqa: E402
from emotion_core.predictor import Predictor  # noqa: E402

PHOTOS = PROJECT.parent / "shared" / "photos"
ONE_FACE = ("astronaut.png", "grace_hopper.jpg")
WARMUP = 4  # requests before timing: the first ones trace the model for the batch size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="deployed")
    parser.add_argument("--faces", choices=list(FACE_SIZES), default="any")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--requests", type=int, default=120, help="at most this many requests a level")
    parser.add_argument("--seconds", type=float, default=60.0, help="at most this long a level")
    args = parser.parse_args()

    photos = [(name, (PHOTOS / name).read_bytes()) for name in ONE_FACE if (PHOTOS / name).is_file()]
    if not photos:
        print(f"No one-face photos in {PHOTOS} ({', '.join(ONE_FACE)}); nothing to measure.", file=sys.stderr)
        return 2
    print(f"{platform.machine()} {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start; "
          f"model {args.model}, faces {args.faces}, photos {', '.join(name for name, _ in photos)}", file=sys.stderr)

    rows = [direct_row(args, photos)]
    with served(args.model) as url:
        for clients in args.clients:
            rows.append(api_row(url, args, photos, clients))
    print(markdown(rows))
    return 0


# --- the two paths ---------------------------------------------------------------------------


def direct_row(args, photos) -> dict:
    predictor = Predictor.load(args.model)
    fraction = FACE_SIZES[args.faces]
    for k in range(WARMUP):
        predictor.predict(photos[k % len(photos)][1], min_face_fraction=fraction)
    latencies, started = [], time.perf_counter()
    while len(latencies) < args.requests and time.perf_counter() - started < args.seconds:
        name, data = photos[len(latencies) % len(photos)]
        begun = time.perf_counter()
        faces = predictor.predict(data, min_face_fraction=fraction)
        latencies.append(time.perf_counter() - begun)
        assert len(faces) == 1, f"{name}: {len(faces)} faces"
    return row(f"`Predictor.predict` ({predictor.run_name}), in process", 1, latencies,
               time.perf_counter() - started)


def api_row(url: str, args, photos, clients: int) -> dict:
    endpoint = f"{url}/predict?faces={args.faces}"
    for k in range(WARMUP):
        check_one_face(post(endpoint, photos[k % len(photos)]))
    latencies, lock, count = [], threading.Lock(), iter(range(10**9))
    started = time.perf_counter()

    def client() -> None:
        while time.perf_counter() - started < args.seconds:
            with lock:
                number = next(count)
            if number >= args.requests:
                return
            begun = time.perf_counter()
            answer = post(endpoint, photos[number % len(photos)])
            elapsed = time.perf_counter() - begun
            check_one_face(answer)
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return row("`POST /predict`, one photo a request", clients, latencies, time.perf_counter() - started)


def row(path: str, clients: int, latencies: list[float], wall: float) -> dict:
    ms = np.asarray(latencies) * 1000
    return {"path": path, "clients": clients, "requests": len(ms), "per_second": len(ms) / wall,
            "median": float(np.median(ms)), "p90": float(np.percentile(ms, 90))}


def markdown(rows: list[dict]) -> str:
    lines = ["| path | clients | requests | requests/s | median ms | p90 ms |", "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['path']} | {r['clients']} | {r['requests']} | {r['per_second']:.1f} | {r['median']:.1f} | "
              f"{r['p90']:.1f} |" for r in rows]
    return "\n".join(lines)


# --- the server -------------------------------------------------------------------------------


@contextlib.contextmanager
def served(model: str):
    """`python -m emotion_core serve` on a free localhost port for the block; yields its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {key: value for key, value in os.environ.items() if key != "EMOTION_API_KEY"}
    process = subprocess.Popen([sys.executable, "-m", "emotion_core", "serve", "--port", str(port), "--model", model,
                                "--log-level", "warning"], cwd=PROJECT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # imports TensorFlow and loads the model
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    process.kill()
                    raise SystemExit(f"serve did not start: {process.stderr.read().decode()[-1000:]}") from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def post(url: str, photo: tuple[str, bytes]) -> dict:
    name, data = photo
    boundary = "bench-api-load"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def check_one_face(answer: dict) -> None:
    (image,) = answer["images"]
    assert len(image.get("faces", [])) == 1, f"{image['file']}: {image}"


if __name__ == "__main__":
    sys.exit(main())
