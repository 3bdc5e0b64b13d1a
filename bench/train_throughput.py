"""Training throughput: images per second of our training step against a plain `model.fit`.

    python bench/train_throughput.py                       # vgg_gap and vgg_gap_small
    python bench/train_throughput.py --arch vgg_gap --steps 60 --batch-size 64
    python bench/train_throughput.py --matrix              # the deployed recipe's choices, one table

Both columns train the same architecture on the same FER2013-sized batches for the same
number of steps after a warm-up, in the same process:
- baseline: float32 `model.fit` on numpy arrays, no augmentation (the straightforward way);
- ours: what `python -m emotion_core train` runs, augmentation included, with the precision
  `auto` resolves to on this machine (bfloat16 where the CPU has AVX512-BF16 or AMX).
Real FER2013 images are used when `data/fer2013` is there, else random pixels (speed does not
depend on the pixel values).

`--matrix` times the deployed recipe (`vgg_gap`, augmentation on, as `train` runs it) under each
choice that training speed depends on here: float32 against mixed bfloat16, batch 64 against 128, and
XLA (`jit_compile=True`) against none, each against the first row in the same process. The JAX
backend cannot share a process with TensorFlow's: run `KERAS_BACKEND=jax python
bench/train_throughput.py --matrix` (with jax installed) for its rows.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from emotion_core.architectures import build_model  # noqa: E402
from emotion_core.config import TrainConfig  # noqa: E402
from emotion_core.training import build_training_model  # noqa: E402


def batches(steps: int, batch_size: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
    count = steps * batch_size
    try:
        from emotion_core.datasets import load_split, open_dataset

        x, y = load_split(open_dataset("fer2013"), "train", 48, "grayscale" if channels == 1 else "rgb")
        x, y = x[:count], y[:count]
    except Exception:  # no data set here: random pixels time the same
        x = np.random.default_rng(0).integers(0, 256, (count, 48, 48, channels), dtype=np.uint8)
        y = np.random.default_rng(1).integers(0, 7, count)
    return x.astype(np.float32), keras.utils.to_categorical(y, 7)


def images_per_second(trainer, x, y, batch_size: int) -> float:
    warm = 5 * batch_size
    trainer.fit(x[:warm], y[:warm], batch_size=batch_size, epochs=1, verbose=0)  # build and trace once
    started = time.perf_counter()
    trainer.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=True)
    return len(x) / (time.perf_counter() - started)


def baseline_trainer(arch: str):
    keras.mixed_precision.set_global_policy("float32")
    model = build_model(arch, (48, 48, 1), 7)
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    return model


MATRIX = [  # (precision, batch, jit_compile); the first row is the baseline of the ratio column
    ("float32", 64, False), ("mixed_bfloat16", 64, False), ("float32", 128, False), ("mixed_bfloat16", 128, False),
    ("mixed_bfloat16", 64, True),
]


def matrix_table(arch: str, steps: int) -> None:
    print("| backend | precision | batch | XLA | images/s | against the first row |")
    print("|---|---|---:|---|---:|---:|")
    first = None
    for precision, batch_size, jit in MATRIX:
        x, y = batches(steps * 64 // batch_size, batch_size, 1)  # the same images for every batch size
        config = TrainConfig(arch=arch, batch_size=batch_size, precision=precision)
        _model, trainer = build_training_model(config, (48, 48, 1))
        trainer.jit_compile = jit
        if jit and not trainer.jit_compile:  # Keras turns it off, with a warning, where XLA cannot compile
            print(f"| {keras.backend.backend()} | {precision} | {batch_size} | refused by Keras for this "
                  "model (its augmentation layers) | - | - |", flush=True)
            continue
        rate = images_per_second(trainer, x, y, batch_size)
        first = first or rate
        print(f"| {keras.backend.backend()} | {precision} | {batch_size} | {'on' if jit else 'off'} | "
              f"{rate:.1f} | {rate / first:.2f}x |", flush=True)
    keras.mixed_precision.set_global_policy("float32")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", nargs="+", default=["vgg_gap", "vgg_gap_small"])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--matrix", action="store_true", help="the deployed recipe under each speed choice")
    args = parser.parse_args()
    if args.matrix:
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores; keras {keras.__version__}; "
              f"{args.steps * 64} images per measurement\n")
        matrix_table("vgg_gap", args.steps)
        return

    x, y = batches(args.steps, args.batch_size, 1)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; keras {keras.__version__} "
          f"({keras.backend.backend()}); {len(x)} images per measurement, batch {args.batch_size}\n")
    print(f"{'architecture':<16}{'baseline img/s':>16}{'ours img/s':>12}{'ratio':>8}  ours = precision, augmentation")
    for arch in args.arch:
        baseline = images_per_second(baseline_trainer(arch), x, y, args.batch_size)
        config = TrainConfig(arch=arch, batch_size=args.batch_size)
        _model, trainer = build_training_model(config, (48, 48, 1))
        ours = images_per_second(trainer, x, y, args.batch_size)
        print(f"{arch:<16}{baseline:>16.1f}{ours:>12.1f}{ours / baseline:>7.2f}x  "
              f"{config.resolved_precision()}, augment on")


if __name__ == "__main__":
    main()
