"""Write a face set: aligned crops into class folders, one manifest row each, the counts last."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from ..faces import FaceBox
from ..labels import EMOTIONS
from ..storage import now_iso, write_json_atomic

MANIFEST_CSV = "manifest.csv"
SUMMARY_JSON = "faceset.json"  # written last: a folder with it is a whole face set
MANIFEST_COLUMNS = ["file", "split", "emotion", "source", "face", "x", "y", "width", "height", "detection_score",
                    "landmarks", "time_s", "guess", "labelled"]
# Crops keep the photo's detail up to this side (a model of larger input can still use them);
# larger faces are shrunk, so a folder of 12-megapixel portraits does not become one of 3000 px PNGs.
MAX_CROP_PX = 256


class FaceSetWriter:
    """Adds labelled face crops to a new face set folder; `close()` writes the counts.

    `out` must not hold files yet: one face set per folder, never mixed into an existing data set.
    With `append`, an existing face set (its manifest) is added to instead, its counts carried on:
    the labelling view opens one per label, so every label is on disk as soon as it is given.
    """

    def __init__(self, out: str | Path, append: bool = False):
        self.out = Path(out)
        manifest = self.out / MANIFEST_CSV
        self.counts: dict[str, dict[str, int]] = {}  # split -> emotion -> faces
        if append and manifest.is_file():
            for row in read_manifest(self.out).itertuples():
                split_counts = self.counts.setdefault(row.split, {})
                split_counts[row.emotion] = split_counts.get(row.emotion, 0) + 1
            self._handle = open(manifest, "a", newline="")
            self._rows = csv.DictWriter(self._handle, fieldnames=MANIFEST_COLUMNS)
            return
        if self.out.exists() and (not self.out.is_dir() or any(self.out.iterdir())):
            raise ValueError(f"{self.out} already exists and is not an empty folder; choose a new --out folder")
        self.out.mkdir(parents=True, exist_ok=True)
        self._handle = open(manifest, "w", newline="")
        self._rows = csv.DictWriter(self._handle, fieldnames=MANIFEST_COLUMNS)
        self._rows.writeheader()

    def add(self, crop_rgb: np.ndarray, emotion: str, split: str, source: str, box: FaceBox, face: int = 1,
            time_s: float | None = None, guess: str = "") -> Path:
        """Save one aligned crop (HxWx3 uint8 RGB) as `<split>/<emotion>/<name>.png`; returns its path.

        `time_s`: where in the video `source` the face was (None for a photo)."""
        if emotion not in EMOTIONS:
            raise ValueError(f"'{emotion}' is not one of {', '.join(EMOTIONS)}")
        folder = self.out / split / emotion
        folder.mkdir(parents=True, exist_ok=True)
        stem = Path(source).with_suffix("").as_posix().replace("/", "_")
        suffix = f"-{face}" if time_s is None else f"-{time_s:.2f}s-{face}"
        path = folder / f"{stem}{suffix}.png"
        Image.fromarray(_at_most(crop_rgb, MAX_CROP_PX)).save(path)
        self._rows.writerow({
            "file": path.relative_to(self.out).as_posix(), "split": split, "emotion": emotion, "source": source,
            "face": face, "x": box.x, "y": box.y, "width": box.width, "height": box.height,
            "detection_score": round(box.score, 3),
            "landmarks": " ".join(f"{x:.1f} {y:.1f}" for x, y in box.landmarks),
            "time_s": "" if time_s is None else round(time_s, 3), "guess": guess, "labelled": now_iso(),
        })
        split_counts = self.counts.setdefault(split, {})
        split_counts[emotion] = split_counts.get(emotion, 0) + 1
        return path

    def close(self, **facts) -> dict:
        """Finish the manifest and write `faceset.json` (counts and `facts`); returns what it holds."""
        self._handle.close()
        record = {**facts, "faces": sum(sum(split.values()) for split in self.counts.values()),
                  "counts": self.counts, "finished": now_iso()}
        write_json_atomic(self.out / SUMMARY_JSON, record)
        return record

    def abandon(self) -> None:
        """Stop without `faceset.json` (after an error or an interruption): the crops so far stay."""
        self._handle.close()


def read_manifest(folder: str | Path) -> pd.DataFrame:
    """A face set's manifest, one row per crop (MANIFEST_COLUMNS)."""
    return pd.read_csv(Path(folder) / MANIFEST_CSV, keep_default_na=False)


def _at_most(rgb: np.ndarray, side: int) -> np.ndarray:
    height, width = rgb.shape[:2]
    if max(height, width) <= side:
        return np.ascontiguousarray(rgb)
    scale = side / max(height, width)
    return cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
