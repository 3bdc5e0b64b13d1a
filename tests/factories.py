"""Real runs for tests, trained once per test session on a generated data set and copied.

Training even a tiny model costs seconds, so `trained_run_template` trains one and every test
that needs a run gets its own copy (tests must not share a registry they may change).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import make_image_dataset

THREE_CLASSES = ("angry", "sad", "neutral")  # the first seed's 3-class experiment, in canonical order
TINY_CONFIG = dict(arch="vgg_gap_small", epochs=2, batch_size=16, warmup_epochs=0, tta="off",
                   precision="float32", seed=7)


@contextlib.contextmanager
def cache_dir(path: Path):
    """EMOTION_CACHE_DIR set to `path` for the block (session fixtures run outside monkeypatch)."""
    previous = os.environ.get("EMOTION_CACHE_DIR")
    os.environ["EMOTION_CACHE_DIR"] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("EMOTION_CACHE_DIR", None)
        else:
            os.environ["EMOTION_CACHE_DIR"] = previous


def train_tiny_run(models_dir: Path, data_path: Path, name: str, **overrides) -> Path:
    from emotion_core.config import config_from_dict
    from emotion_core.training import train

    config = config_from_dict({**TINY_CONFIG, "data": str(data_path), "name": name, **overrides})
    return train(config, runs_dir=models_dir, verbose=0)


@pytest.fixture(scope="session")
def trained_run_template(tmp_path_factory) -> Path:
    """A registry folder holding two complete tiny runs, 'alpha' (sgd) and 'beta' (adam)."""
    root = tmp_path_factory.mktemp("template")
    data = make_image_dataset(root / "data" / "tiny", {"train": 6, "validation": 3})
    with cache_dir(root / "cache"):
        train_tiny_run(root / "models", data, "alpha")
        train_tiny_run(root / "models", data, "beta", optimizer="adam", learning_rate=0.001, batch_size=8)
    return root


@pytest.fixture
def trained_runs(trained_run_template, isolated_dirs) -> dict[str, Path]:
    """Copies of the template's data set and runs in this test's own data root and registry.

    The runs' recorded data path still points at the template's copy of the same data set.
    """
    shutil.copytree(trained_run_template / "data" / "tiny", isolated_dirs["data"] / "tiny")
    for run in ("alpha", "beta"):
        shutil.copytree(trained_run_template / "models" / run, isolated_dirs["models"] / run)
    return {"alpha": isolated_dirs["models"] / "alpha", "beta": isolated_dirs["models"] / "beta",
            "data": isolated_dirs["data"] / "tiny"}


@pytest.fixture(scope="session")
def three_class_run_template(tmp_path_factory) -> Path:
    """A registry folder holding 'trio', a complete one-epoch run of THREE_CLASSES, trained on a
    generated data set 'trio' that has only those three class folders."""
    root = tmp_path_factory.mktemp("trio-template")
    data = make_image_dataset(root / "data" / "trio", {"train": 6, "validation": 3}, class_names=THREE_CLASSES)
    with cache_dir(root / "cache"):
        train_tiny_run(root / "models", data, "trio", epochs=1, classes=list(THREE_CLASSES))
    return root


@pytest.fixture
def class_set_runs(trained_runs, three_class_run_template, isolated_dirs) -> dict[str, Path]:
    """`trained_runs` (the 7-class 'alpha' and 'beta', data set 'tiny') plus the 3-class 'trio' and
    its data set 'trio', in this test's own registry and data root."""
    shutil.copytree(three_class_run_template / "data" / "trio", isolated_dirs["data"] / "trio")
    shutil.copytree(three_class_run_template / "models" / "trio", isolated_dirs["models"] / "trio")
    return {**trained_runs, "trio": isolated_dirs["models"] / "trio", "trio_data": isolated_dirs["data"] / "trio"}


def decisive_model():
    """A small model on 48x48 gray faces whose softmax is far from uniform (large logits): one that
    passes the int8 check, where a 2-epoch tiny run is near uniform (its top labels tie in int8)."""
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((48, 48, 1), name="image")
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(32, 3, strides=2, activation="relu")(x)
    x = keras.layers.Conv2D(128, 3, strides=2, activation="relu")(x)  # 37k weights: the file is mostly weights
    x = keras.layers.GlobalAveragePooling2D()(x)
    logits = keras.layers.Dense(7, kernel_initializer=keras.initializers.RandomNormal(stddev=8.0))(x)
    return keras.Model(inputs, keras.layers.Softmax(name="predictions")(logits))
