"""Generated photos and a stand-in predictor for the analysis tests.

The photo folder is generated from ../shared/photos: the two portraits' faces are cut out and
tiled on plain canvases (one or two per photo) in sub-folders, beside photos without a face and
a file that is not an image. Most tests use `BrightnessPredictor`, the real face detector with a
stand-in model that calls the astronaut's (brighter) face happy and Grace Hopper's neutral, so
the figures a user reads are known exactly; the CLI tests run a real tiny model.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from emotion_core.faces import FaceDetector, crop_face, prepare_face
from emotion_core.images import load_rgb
from tests.conftest import PHOTOS

HAPPY = np.array([0.05, 0.02, 0.03, 0.70, 0.05, 0.05, 0.10], np.float32)
NEUTRAL = np.array([0.05, 0.02, 0.03, 0.10, 0.15, 0.05, 0.60], np.float32)
# 48x48 gray means of the two faces as detected on the tiles: astronaut ~146-158, Grace Hopper ~113-119.
BRIGHT = 133.0

# The generated folder: file -> (faces of each portrait, or what it is). Groups are the sub-folders.
LAYOUT = {
    "ad_a/a1.png": ["astronaut"],
    "ad_a/a2.jpg": ["astronaut", "astronaut"],
    "ad_a/a3.png": "gradient",
    "ad_a/nested/a4.png": ["astronaut"],
    "ad_b/b1.png": ["grace"],
    "ad_b/b2.png": ["grace", "grace"],
    "ad_b/b3.jpg": "text",
    "ad_b/b4.png": "cat",
    "top.png": ["astronaut", "grace"],
}
FACES = 9
NOT_IMAGES = ["notes.txt", ".hidden.png", "ad_a/.DS_Store"]


class CountingDetector(FaceDetector):
    """The real detector, remembering how many photos it was asked about."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def detect(self, rgb, min_face_fraction=None):
        self.calls.append(rgb.shape)  # list.append is atomic: analyze detects on worker threads
        return super().detect(rgb, min_face_fraction)


class BrightnessPredictor:
    """Stands in for Predictor: real detection and preparation, a known 'model'."""

    def __init__(self, run_name: str = "stub"):
        self.run_name = run_name
        self.detector = CountingDetector()
        self.batches = []  # faces per model call

    def prepare(self, crop):
        return prepare_face(crop, 48, "grayscale")

    seen = prepare  # no levels stretched: what it shows is what it classifies

    def classify(self, faces):
        self.batches.append(len(faces))
        bright = faces.reshape(len(faces), -1).mean(axis=1) > BRIGHT
        return np.where(bright[:, None], HAPPY, NEUTRAL)


# --- photos -------------------------------------------------------------------------------------


def face_tiles() -> dict[str, np.ndarray]:
    detector = FaceDetector()
    tiles = {}
    for key, name in (("astronaut", "astronaut.png"), ("grace", "grace_hopper.jpg")):
        rgb = load_rgb(PHOTOS / name)
        (box,) = detector.detect(rgb)
        tiles[key] = crop_face(rgb, box, margin=0.3)
    return tiles


def group_photo(tiles, faces: list[str], side: int = 110, size=(320, 240)) -> Image.Image:
    """Faces of `side` pixels spread across a plain gray canvas (the detector finds them all)."""
    width, height = size
    canvas = np.full((height, width, 3), 128, np.uint8)
    gap = (width - len(faces) * side) // (len(faces) + 1)
    for index, face in enumerate(faces):
        left, top = gap + index * (side + gap), (height - side) // 2
        canvas[top:top + side, left:left + side] = np.asarray(
            Image.fromarray(tiles[face]).resize((side, side), Image.Resampling.LANCZOS))
    return Image.fromarray(canvas)


def no_face_photo(kind: str) -> Image.Image:
    if kind == "gradient":
        ramp = np.linspace(0, 255, 320, dtype=np.uint8)
        return Image.fromarray(np.stack([np.tile(ramp, (240, 1))] * 3, axis=-1))
    return Image.open(PHOTOS / "chelsea.png").convert("RGB")  # a real photo of a cat


def write_folder(root: Path) -> Path:
    tiles = face_tiles()
    for name, content in LAYOUT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == "text":
            path.write_text("not a photo, just notes")
        elif isinstance(content, str):
            no_face_photo(content).save(path)
        else:
            group_photo(tiles, content).save(path)
    for name in NOT_IMAGES:
        (root / name).write_bytes(b"ignored")
    return root


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    """Zip a folder as a user would: every entry under `prefix`, plus macOS's resource forks."""
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = prefix + path.relative_to(folder).as_posix()
                archive.write(path, name)
                archive.writestr("__MACOSX/" + name, b"resource fork")
    return target


def rows(csv_path: Path) -> list[dict]:
    with open(csv_path, newline="") as handle:
        return list(csv.DictReader(handle))


def upload_of(folder: Path, tmp_path: Path) -> list[tuple[str, bytes]]:
    """The folder as the app receives it: one .zip, read into memory."""
    return [("photos.zip", zip_folder(folder, tmp_path / "photos.zip").read_bytes())]


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def png(color) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, format="PNG")
    return buffer.getvalue()


# --- interrupting ---------------------------------------------------------------------------------


class Interrupt(KeyboardInterrupt):
    pass


def interrupt_after(files: int):
    def progress(done, total):
        if done >= files:
            raise Interrupt  # as Ctrl+C would, between two files
    return progress
