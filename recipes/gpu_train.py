"""Train the strongest recipe on a lent GPU machine (JAX, no TensorFlow) inside one short call.

The GPU machine reaches no registry and receives only the repository's working tree (64 MiB in
all) plus carried folders, so everything it needs is packed here first:

    python recipes/gpu_train.py pack                 # here: data set + keras wheels into .gpu/
    # there (the device tool: carry [".gpu"], timeout 600 s):
    python3 recipes/gpu_train.py train --minutes 8.5 --out $OUT
    python recipes/gpu_train.py unpack FILES_AT      # here: the returned run into models/

`train` installs the carried wheels, unpacks FER2013, times two epochs of `recipes/vgg_gap-gpu.json`
on the JAX backend, then trains that recipe for as many epochs as fit the minutes left (cosine
schedule over exactly those epochs) and returns the run folder as one archive. If time runs out
anyway, the run is stopped with its checkpoint, and `unpack` leaves it resumable here
(`jobs start --resume RUN`). The weights committed under models/ take most of the 64 MiB, so
`pack --set-aside` moves the largest committed model files into .gpu-aside/ (not carried) until the
tree fits; `unpack` puts them back. Nothing is deleted either way.

Tiny check on this machine (JAX on the CPU): `pack --data SMALL_FOLDER --python-version 3.11`, then
`train --minutes 3 --max-epochs 2 --out /tmp/gpu-out` with jax importable, then `unpack /tmp/gpu-out`.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from importlib import metadata
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
BUNDLE = PROJECT / ".gpu"
ASIDE = PROJECT / ".gpu-aside"
RECIPE = PROJECT / "recipes" / "vgg_gap-gpu.json"
DATA_ARCHIVE = "fer2013.tar.gz"
RUN_ARCHIVE = "run.tar.gz"
# The device tool sends at most 64 MiB; keep a margin for what it counts that this does not.
TREE_LIMIT = 62 * 2**20
# What keras needs that the GPU machine's image lacks (it has numpy, h5py, ml-dtypes, rich, absl-py).
WHEELS = ("keras", "namex", "optree")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64",
             "manylinux2014_x86_64", "manylinux1_x86_64")
# Time kept back from the budget: loading the images, evaluation at the end, packing the run.
RESERVE_SECONDS = 75


# --- pack (here) ------------------------------------------------------------------------------

def pack(data: Path, python_version: str, set_aside: bool) -> None:
    if not (data / "train").is_dir() or not (data / "validation").is_dir():
        raise SystemExit(f"error: {data} has no train/ and validation/ class folders")
    BUNDLE.mkdir(exist_ok=True)
    with tarfile.open(BUNDLE / DATA_ARCHIVE, "w:gz", compresslevel=1, dereference=True) as archive:
        for split in ("train", "validation"):
            archive.add(data.resolve() / split, arcname=split)
    download_wheels(BUNDLE / "wheels", python_version)
    make_tree_fit(set_aside)


def download_wheels(folder: Path, python_version: str) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    pins = [f"{name}=={metadata.version(name)}" for name in WHEELS]
    platforms = [flag for platform in PLATFORMS for flag in ("--platform", platform)]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "--python-version", python_version, "--implementation", "cp", *platforms,
                    "-d", str(folder), *pins], check=True)


def travelling_files() -> list[Path]:
    """The files the device tool sends: tracked and untracked-not-ignored ones, plus the bundle."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=PROJECT, capture_output=True, check=True).stdout.decode().split("\0")
    files = [PROJECT / name for name in listed if name and (PROJECT / name).is_file()]
    return files + [path for path in BUNDLE.rglob("*") if path.is_file()]


def can_set_aside(model_file: Path) -> bool:
    """A finished run's model file that git holds as it is, so moving it away for a while risks nothing."""
    status_file = model_file.parent / "status.json"
    finished = status_file.is_file() and json.loads(status_file.read_text()).get("state") == "complete"
    return finished and committed_unchanged(model_file)


def committed_unchanged(path: Path) -> bool:
    relative = str(path.relative_to(PROJECT))
    tracked = subprocess.run(["git", "ls-files", "--error-unmatch", relative], cwd=PROJECT,
                             capture_output=True).returncode == 0
    return tracked and subprocess.run(["git", "diff", "--quiet", "--", relative], cwd=PROJECT).returncode == 0


def make_tree_fit(set_aside: bool) -> None:
    total = sum(path.stat().st_size for path in travelling_files())
    if total <= TREE_LIMIT:
        print(f"ready: {total / 2**20:.1f} MiB travels (device limit 64); carry [\".gpu\"]")
        return
    if not set_aside:
        raise SystemExit(f"error: {total / 2**20:.1f} MiB would travel, over {TREE_LIMIT / 2**20:.0f} MiB; "
                         "run pack again with --set-aside to move committed weights aside for the call")
    candidates = sorted((path for path in PROJECT.glob("models/*/model.keras") if can_set_aside(path)),
                        key=lambda path: path.stat().st_size, reverse=True)
    for model_file in candidates:
        if total <= TREE_LIMIT:
            break
        target = ASIDE / model_file.relative_to(PROJECT)
        target.parent.mkdir(parents=True, exist_ok=True)
        total -= model_file.stat().st_size
        model_file.rename(target)
        print(f"set aside {model_file.relative_to(PROJECT)} (unpack puts it back)")
    if total > TREE_LIMIT:
        raise SystemExit(f"error: still {total / 2**20:.1f} MiB after setting weights aside")
    print(f"ready: {total / 2**20:.1f} MiB travels (device limit 64); carry [\".gpu\"]; do not commit until unpack")


# --- train (on the GPU machine) -----------------------------------------------------------------

def train(minutes: float, out: Path, max_epochs: int) -> None:
    deadline = time.monotonic() + minutes * 60
    site, data_root, runs = Path("/tmp/gpu-site"), Path("/tmp/gpu-data"), Path("/tmp/gpu-runs")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
                    "--upgrade", "--target", str(site), *map(str, (BUNDLE / "wheels").glob("*.whl"))], check=True)
    with tarfile.open(BUNDLE / DATA_ARCHIVE) as archive:
        archive.extractall(data_root / "fer2013", filter="data")
    # The recipe names its data set `fer2013`, so the run records the same name as runs made here.
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": os.pathsep.join(filter(None, [str(site), str(PROJECT), os.environ.get("PYTHONPATH")])),
           "EMOTION_RUNS_DIR": str(runs), "EMOTION_DATA_DIR": str(data_root),
           "EMOTION_CACHE_DIR": "/tmp/gpu-cache", "PYTHONUNBUFFERED": "1"}

    probe_started = time.monotonic()
    run_training(env, "gpu-probe", epochs=2, deadline=deadline)
    epoch_seconds = json.loads((runs / "gpu-probe" / "history.json").read_text())[-1]["seconds"]
    start_seconds = time.monotonic() - probe_started - 2 * epoch_seconds
    epochs = epochs_that_fit(deadline - time.monotonic(), epoch_seconds, start_seconds, max_epochs)
    print(f"probe: {epoch_seconds:.1f} s an epoch after compiling, {start_seconds:.0f} s to start; "
          f"training {epochs} epochs", flush=True)

    name = f"vgg_gap-gpu-e{epochs}"
    run_training(env, name, epochs=epochs, deadline=deadline)
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out / RUN_ARCHIVE, "w:gz") as archive:
        archive.add(runs / name, arcname=name)
    print(f"returned {name} as {RUN_ARCHIVE}", flush=True)


def epochs_that_fit(seconds_left: float, epoch_seconds: float, start_seconds: float, max_epochs: int) -> int:
    """How many epochs train in the time left, after starting up again and keeping the reserve."""
    usable = seconds_left - start_seconds - RESERVE_SECONDS
    epochs = int(usable // max(epoch_seconds, 1e-3))
    if epochs < 1:
        raise SystemExit(f"error: no time left for an epoch ({epoch_seconds:.0f} s each, {seconds_left:.0f} s left)")
    return min(epochs, max_epochs)


def run_training(env: dict, name: str, epochs: int, deadline: float) -> None:
    """Train the recipe; stop it at the deadline (its checkpoint stays, so the run resumes elsewhere)."""
    command = [sys.executable, "-m", "emotion_core", "train", "--config", str(RECIPE),
               "--epochs", str(epochs), "--name", name]
    process = subprocess.Popen(command, cwd=PROJECT, env=env)
    try:
        process.wait(timeout=max(deadline - time.monotonic() - RESERVE_SECONDS / 3, 1))
    except subprocess.TimeoutExpired:
        process.terminate()
        process.wait()
        print(f"stopped {name} at the time limit; it resumes from its checkpoint", flush=True)
    if process.returncode not in (0, -15):
        raise SystemExit(f"error: training {name} failed (exit {process.returncode})")


# --- unpack (here) ------------------------------------------------------------------------------

def unpack(returned: Path) -> None:
    restore_set_aside()
    archive_file = returned / RUN_ARCHIVE
    if not archive_file.is_file():
        raise SystemExit(f"error: {returned} holds no {RUN_ARCHIVE}: the call returned no run (weights set aside are back)")
    with tarfile.open(archive_file) as archive:
        names = {member.name.split("/")[0] for member in archive.getmembers()}
        clashes = [name for name in names if (PROJECT / "models" / name).exists()]
        if clashes:
            raise SystemExit(f"error: models/{clashes[0]} exists already; rename it or the archive's run first")
        archive.extractall(PROJECT / "models", filter="data")
    print(f"added models/{', models/'.join(sorted(names))}; "
          "a run stopped early continues with `python -m emotion_core jobs start --resume RUN`")


def restore_set_aside() -> None:
    for moved in ASIDE.glob("models/*/model.keras"):
        home = PROJECT / moved.relative_to(ASIDE)
        if not home.exists():
            moved.rename(home)
            print(f"put back {home.relative_to(PROJECT)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = parser.add_subparsers(dest="verb", required=True)
    pack_parser = verbs.add_parser("pack", help="here: data set and wheels into .gpu/")
    pack_parser.add_argument("--data", type=Path, default=PROJECT / "data" / "fer2013")
    pack_parser.add_argument("--python-version", default="3.12", help="the GPU machine's Python")
    pack_parser.add_argument("--set-aside", action="store_true",
                             help="move committed weights into .gpu-aside/ until the tree fits 64 MiB")
    train_parser = verbs.add_parser("train", help="there: train the recipe within the minutes given")
    train_parser.add_argument("--minutes", type=float, default=8.5)
    train_parser.add_argument("--max-epochs", type=int, default=300)
    train_parser.add_argument("--out", type=Path, required=True)
    unpack_parser = verbs.add_parser("unpack", help="here: the returned run into models/, weights back")
    unpack_parser.add_argument("returned", type=Path, help="the folder the call's files came back in")
    args = parser.parse_args(argv)
    if args.verb == "pack":
        pack(args.data, args.python_version, args.set_aside)
    elif args.verb == "train":
        train(args.minutes, args.out, args.max_epochs)
    else:
        unpack(args.returned)


if __name__ == "__main__":
    main()
