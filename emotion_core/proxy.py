"""A real-face proxy: FER2013 faces placed in photo-like frames and degraded as cameras do.

Nobody here has labelled real photos to select models on, and FER2013's 48x48 crops flatter a
model: they are framed exactly, gray, and clean. This builds the closest thing from a labelled
split of face crops: each face is upscaled, tinted like skin, tilted, set at a random scale and
place on a synthetic scene (a lit backdrop, furniture, shoulders), then the whole photo is
exposed, colour-cast, blurred, noised and saved as a JPEG of random quality. Scoring it through
the whole pipeline (`evaluate RUN --data PROXY --faces detect`: detect, align, crop, classify)
measures what a user's photos would lose; a photo where no face is found counts as wrong.

    python -m emotion_core data proxy fer2013 --out data/fer2013-proxy
    python -m emotion_core evaluate deployed --data data/fer2013-proxy --split validation --faces detect

Each photo depends only on the seed and the face's position in the split, so the set is the
same on every machine and a rerun rebuilds it byte for byte.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from .datasets import iter_decoded, open_dataset
from .labels import EMOTIONS
from .storage import write_json_atomic

MANIFEST = "proxy.json"
# The proxy of FER2013's validation faces, built as the docstring says, is saved in each run as
# this evaluation (bench/proxy.py); the runs table shows it beside validation.
PROXY_EVALUATION = "fer2013-proxy-validation"


@dataclass(frozen=True)
class ProxySettings:
    """The ranges each photo's settings are drawn from (uniformly), with the reason for each."""

    face_px: tuple = (90, 260)  # face width in a 640-pixel photo: a selfie to a person across a room
    tilt_deg: float = 12.0  # head roll either way; the pipeline turns faces upright by the eyes
    brightness: tuple = (0.55, 1.3)  # under- and over-exposure
    contrast: tuple = (0.6, 1.15)  # flat light, haze
    gamma: tuple = (0.7, 1.5)
    cast: float = 0.12  # white balance: each channel's gain off by up to 12%
    blur_px: tuple = (0.0, 1.8)  # focus and motion, in pixels of a 150-pixel face (scales with the face)
    noise: tuple = (0.0, 10.0)  # sensor noise, grey levels
    jpeg_quality: tuple = (30, 90)  # messaging apps recompress hard


def _between(rng, bounds) -> float:
    return float(rng.uniform(*bounds))


def _scene(rng, size) -> Image.Image:
    """A backdrop: a two-colour gradient, soft low-frequency texture and a few dim furniture blocks."""
    width, height = size
    top, bottom = rng.uniform(30, 230, 3), rng.uniform(20, 200, 3)
    ramp = np.linspace(0, 1, height)[:, None, None]
    canvas = top * (1 - ramp) + bottom * ramp + np.zeros((height, width, 3))
    texture = Image.fromarray(rng.uniform(-25, 25, (6, 8)).astype(np.float32)).resize(size, Image.BICUBIC)
    canvas += np.asarray(texture)[..., None]
    image = Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(0, 4))):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        x1, y1 = x0 + rng.integers(40, width // 2), y0 + rng.integers(40, height // 2)
        draw.rectangle((int(x0), int(y0), int(x1), int(y1)), fill=tuple(int(v) for v in rng.uniform(10, 200, 3)))
    return image


def _skin(face: np.ndarray, rng) -> Image.Image:
    """A gray face tinted like skin (red kept, green and blue lowered by a random tone)."""
    gains = np.array([1.0, rng.uniform(0.74, 0.92), rng.uniform(0.58, 0.82)])
    return Image.fromarray(np.clip(face[..., None] * gains, 0, 255).astype(np.uint8))


def proxy_photo(face: np.ndarray, rng: np.random.Generator, settings: ProxySettings = ProxySettings()) -> bytes:
    """One photo-like RGB JPEG holding `face` (a square gray crop, uint8) somewhere in it."""
    size = (640, 480) if rng.random() < 0.6 else (480, 640)  # landscape, or a phone held upright
    photo = _scene(rng, size)
    side = int(_between(rng, settings.face_px))
    tinted = _skin(np.asarray(Image.fromarray(face).resize((side, side), Image.BICUBIC), dtype=np.float32), rng)
    # An elliptical soft edge: the crop's corners (hair, background) fade into the scene.
    mask = Image.new("L", (side, side), 0)
    ImageDraw.Draw(mask).ellipse((side * 0.02, -side * 0.02, side * 0.98, side * 1.04), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(side * 0.04))
    tilt = _between(rng, (-settings.tilt_deg, settings.tilt_deg))
    tinted = tinted.rotate(tilt, resample=Image.BICUBIC, expand=True)
    mask = mask.rotate(tilt, resample=Image.BICUBIC, expand=True)
    width, height = size
    x = int(rng.integers(0, max(1, width - tinted.width)))
    y = int(rng.integers(0, max(1, height - tinted.height - side // 3)))
    # Shoulders below the face, in a random garment colour, so the face is not a floating disc.
    ImageDraw.Draw(photo).ellipse(
        (x - side * 0.4, y + tinted.height * 0.85, x + tinted.width + side * 0.4, y + tinted.height + side * 1.2),
        fill=tuple(int(v) for v in rng.uniform(10, 220, 3)))
    photo.paste(tinted, (x, y), mask)
    return _degrade(photo, rng, settings, side)


def _degrade(photo: Image.Image, rng, settings: ProxySettings, face_side: int) -> bytes:
    """Exposure, contrast, gamma, colour cast, blur, noise, then a JPEG round trip."""
    pixels = np.asarray(photo, dtype=np.float32) / 255.0
    pixels = (pixels - 0.5) * _between(rng, settings.contrast) + 0.5
    pixels = np.clip(pixels * _between(rng, settings.brightness), 0, 1) ** _between(rng, settings.gamma)
    pixels *= 1 + rng.uniform(-settings.cast, settings.cast, 3)
    image = Image.fromarray(np.clip(pixels * 255, 0, 255).astype(np.uint8))
    radius = _between(rng, settings.blur_px) * face_side / 150
    if radius > 0.3:
        image = image.filter(ImageFilter.GaussianBlur(radius))
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, _between(rng, settings.noise), (*image.size[::-1], 3))
    image = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=int(rng.integers(*settings.jpeg_quality)))
    return buffer.getvalue()


def build_proxy(source: str | Path, out: str | Path, split: str = "validation", seed: int = 0,
                limit: int | None = None, settings: ProxySettings = ProxySettings()) -> dict:
    """Write `out/<split>/<class>/<name>.jpg`, one photo per face of `source`'s split (the first
    `limit` of each class when given), and `out/proxy.json` saying how; returns that manifest."""
    dataset = open_dataset(source, require_train=False)
    if split not in dataset.items:
        raise ValueError(f"{dataset.name} has no {split} split to build a proxy from")
    out = Path(out)
    counts: dict[str, int] = {}
    for index, (name, label, image, _error) in enumerate(iter_decoded(dataset, split)):
        emotion = EMOTIONS[label]
        if image is None or (limit is not None and counts.get(emotion, 0) >= limit):
            continue  # unreadable (data summary lists it), or past the limit
        rng = np.random.default_rng([seed, index])
        target = out / split / emotion / f"{Path(name).stem}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(proxy_photo(np.asarray(image.convert("L")), rng, settings))
        counts[emotion] = counts.get(emotion, 0) + 1
    manifest = {"source": dataset.name, "fingerprint": dataset.fingerprint(), "split": split, "seed": seed,
                "limit": limit, "counts": counts, "settings": asdict(settings)}
    write_json_atomic(out / MANIFEST, manifest)
    return manifest

