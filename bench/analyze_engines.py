"""The two analysis engines on the same photos: rows identical, throughput, and Ray's overhead.

    python bench/analyze_engines.py                    # 1,000 photos, the deployed model
    python bench/analyze_engines.py --photos 200 --faces large

Generates the photos of bench/analyze_folder.py (1280x960 JPEGs with 1-2 faces), then analyses
them with the local engine (`analysis.analyze`, two threads) and with the Ray engine in local
mode (`ray_engine.analyze_on_ray`, one actor per CPU, then one actor), and checks that every
engine wrote the same CSV, byte for byte. Ray's start (`ray.init`) is timed apart; each Ray
run's time includes starting its actors (importing TensorFlow and loading the model in each),
which a long run pays once: a run of WARM_UP photos first measures that fixed cost, and the
steady rate per actor is what the larger run adds over it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from analyze_folder import make_photos  # noqa: E402

from emotion_core import analysis  # noqa: E402
from emotion_core.analysis import ray_engine  # noqa: E402
from emotion_core.faces import FACE_SIZES  # noqa: E402
from emotion_core.predictor import Predictor  # noqa: E402

WARM_UP = 16  # photos of the run that measures Ray's fixed cost per analysis


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--model", default="deployed")
    parser.add_argument("--faces", choices=list(FACE_SIZES), default="any")
    args = parser.parse_args(argv)
    ray = ray_engine.import_ray()
    fraction = FACE_SIZES[args.faces]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        placed = make_photos(scratch / "photos", args.photos)
        make_photos(scratch / "warm-up", WARM_UP, seed=1)

        started = time.perf_counter()
        predictor = Predictor.load(args.model)
        load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        analysis.analyze(scratch / "photos", scratch / "local.csv", predictor, min_face_fraction=fraction)
        rows.append(("local (2 threads)", time.perf_counter() - started, load_seconds, scratch / "local.csv"))

        started = time.perf_counter()
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False, logging_level="ERROR",
                 runtime_env={"env_vars": ray_engine.ONE_THREAD})
        init_seconds = time.perf_counter() - started
        run_files = ray_engine.RunFiles.of(args.model)
        fixed = {}
        for workers in (os.cpu_count(), 1):
            started = time.perf_counter()
            ray_engine.analyze_on_ray(scratch / "warm-up", scratch / f"warm-{workers}", run_files,
                                      min_face_fraction=fraction, workers=workers)
            fixed[workers] = time.perf_counter() - started
            out = scratch / f"ray-{workers}"
            started = time.perf_counter()
            ray_engine.analyze_on_ray(scratch / "photos", out, run_files, min_face_fraction=fraction, workers=workers)
            rows.append((f"ray, {workers} actor{'s' if workers > 1 else ''}", time.perf_counter() - started,
                         init_seconds, out / analysis.OUTPUT_CSV))
        ray.shutdown()

        reference = rows[0][3].read_bytes()
        faces = int((analysis.read_results(rows[0][3])["status"] == analysis.STATUS_OK).sum())
        load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
        print(f"model {predictor.run_name}; {os.cpu_count()} CPUs, load average {load}; {args.photos} photos "
              f"(1280x960 JPEG), {placed} faces placed, {faces} found (faces: {args.faces})\n")
        print("| engine | seconds | photos/s | against local | start-up (apart) | CSV identical to local |")
        print("|---|---:|---:|---:|---:|---|")
        for name, seconds, startup, csv_path in rows:
            what = "model load" if name.startswith("local") else "ray.init"
            print(f"| {name} | {seconds:.1f} | {args.photos / seconds:.1f} | {rows[0][1] / seconds:.2f}x | "
                  f"{startup:.1f} s {what} | {'yes' if csv_path.read_bytes() == reference else 'NO'} |")
        print(f"\nRay's fixed cost per analysis (starting the actors; a run of {WARM_UP} photos): "
              + ", ".join(f"{seconds:.1f} s with {n} actor{'s' if n > 1 else ''}" for n, seconds in fixed.items()))
        ray_rows = dict(zip(fixed, rows[1:]))
        steady = {n: (args.photos - WARM_UP) / (ray_rows[n][1] - fixed[n]) for n in fixed}
        print("Steady rate after it: " + ", ".join(f"{rate:.1f} photos/s with {n} actor{'s' if n > 1 else ''}"
                                                   for n, rate in steady.items()))
        per_actor = steady[1]
        print(f"A million photos at {per_actor:.1f} photos/s per actor (one CPU each) would take about "
              + ", ".join(f"{1_000_000 / (per_actor * n) / 3600:.1f} h on {n} CPUs" for n in (16, 64, 256))
              + ", if throughput scales with actors and the images' storage keeps up.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
