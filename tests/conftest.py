"""Shared fixtures: small generated data sets, an isolated registry, and the real data when present.

Every test runs with its own data root, run registry and cache (temporary folders), so the
project's `data/` and `models/` are never touched and tests never see each other's runs.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
# Before anything loads TensorFlow, which would crash this process later (see app.py).
import pylibsrtp  # noqa: F401
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from emotion_core.labels import EMOTIONS  # noqa: E402

PROJECT = Path(__file__).resolve().parents[1]
SHARED = PROJECT.parent / "shared"
PHOTOS = SHARED / "photos"
# CI links the real data at data/fer2013; a developer checkout may only have ../shared.
FER2013 = next((p for p in (PROJECT / "data" / "fer2013", SHARED / "datasets" / "fer2013")
                if (p / "train").is_dir()), None)

needs_photos = pytest.mark.skipif(not PHOTOS.is_dir(), reason="../shared/photos is not here")
needs_fer2013 = pytest.mark.skipif(FER2013 is None, reason="the FER2013 data set is not here")


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Point the data root, run registry and cache at temporary folders."""
    dirs = {name: tmp_path / name for name in ("data", "models", "cache", "analyses")}
    for path in dirs.values():
        path.mkdir()
    monkeypatch.setenv("EMOTION_DATA_DIR", str(dirs["data"]))
    monkeypatch.setenv("EMOTION_RUNS_DIR", str(dirs["models"]))
    monkeypatch.setenv("EMOTION_CACHE_DIR", str(dirs["cache"]))
    monkeypatch.setenv("EMOTION_ANALYSES_DIR", str(dirs["analyses"]))
    # A developer's admin password would lock the pages' Start and Deploy buttons in every page test.
    monkeypatch.delenv("EMOTION_ADMIN_PASSWORD", raising=False)
    return dirs


def face_like_image(label: int, rng: np.random.Generator, size: int = 48, color: bool = False) -> Image.Image:
    """A noisy image whose brightness pattern depends on the label, so a model can learn it."""
    base = np.full((size, size), 40 + label * 30, dtype=np.float64)
    base[: size // 2] += 20 * (label % 2)
    pixels = np.clip(base + rng.normal(0, 12, (size, size)), 0, 255).astype(np.uint8)
    if color:
        return Image.fromarray(np.stack([pixels, np.roll(pixels, 3, axis=1), pixels // 2], axis=-1))
    return Image.fromarray(pixels, mode="L")


def make_image_dataset(root: Path, splits: dict[str, int], class_names=EMOTIONS, *, size: int = 48,
                       color: bool = False, suffix: str = ".png", seed: int = 0) -> Path:
    """Write `root/<split>/<class>/<n>.png` with `splits[split]` images per class; returns root."""
    rng = np.random.default_rng(seed)
    for split, per_class in splits.items():
        for label, class_name in enumerate(class_names):
            folder = root / split / class_name
            folder.mkdir(parents=True, exist_ok=True)
            canonical = EMOTIONS.index(class_name) if class_name in EMOTIONS else label
            for index in range(per_class):
                face_like_image(canonical, rng, size, color).save(folder / f"{split}_{index}{suffix}")
    return root


def read_split_images(data_dir: Path, split: str = "validation") -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of a generated data set's split read straight from its PNG files: (n, 48, 48, 1).

    Independent of emotion_core's loader, so tests can check figures against it."""
    images, labels = [], []
    for label, name in enumerate(EMOTIONS):
        for file in sorted((data_dir / split / name).glob("*.png")):
            images.append(np.asarray(Image.open(file), dtype=np.float32)[..., None])
            labels.append(label)
    return np.stack(images), np.array(labels)


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """The folder `tempfile` hands out folders in empty at the start."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def tiny_dataset(isolated_dirs) -> Path:
    """A FER-style data set under the data root: train 6 and validation 3 images per class."""
    return make_image_dataset(isolated_dirs["data"] / "tiny", {"train": 6, "validation": 3})


from tests.factories import (class_set_runs, three_class_run_template, trained_run_template,  # noqa: E402,F401
                             trained_runs)  # (shared fixtures)
from tests.studies.fixtures import ad_study_template  # noqa: E402,F401  (a finished ad study, shared)
