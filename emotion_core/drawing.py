"""Drawing on faces and photos: heat maps coloured over a crop or the photo, boxes and labels.

    crop = overlay(face.model_input, heatmap, opacity=0.5)        # (48, 48, 3) uint8
    photo = annotate(place_on_image(rgb, heatmap, face.box, 0.5), faces)
    Path("annotated.png").write_bytes(png_bytes(photo))

The heat maps come from explain.py as arrays in [0, 1]; this module only colours and draws them
(keras-io's Grad-CAM example keeps the two apart the same way). The drawing functions return a
new HxWx3 uint8 RGB array and leave their input untouched.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .faces import FaceBox, face_transform
from .labels import EMOTION_COLORS

# Heat below this (maps are in [0, 1]) leaves a pixel as it is; above it, the colour's opacity rises
# with the heat to the full opacity asked for at 1. So only where the model looked is coloured, and
# the face stays visible under the cold rest (a plain blend paints the whole crop dark blue).
WARM_FROM = 0.3


def to_rgb_uint8(image) -> np.ndarray:
    """HxW, HxWx1 or HxWx3 pixels (uint8, or float 0..255 such as a model input) as HxWx3 uint8.

    This is how a FacePrediction's `model_input` is shown: the face as the model saw it.
    """
    pixels = np.asarray(image)
    if pixels.dtype != np.uint8:
        pixels = np.clip(np.rint(np.nan_to_num(pixels.astype(np.float32))), 0, 255).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    if pixels.ndim != 3 or pixels.shape[-1] != 3:
        raise ValueError(f"Expected an HxW, HxWx1 or HxWx3 image, got shape {pixels.shape}.")
    return pixels


def overlay(image, heatmap: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """`image` (HxW, HxWx1 or HxWx3, uint8 or float 0..255) with the warm part of `heatmap` coloured on top.

    The heat map is resized to the image; a pixel's colour has `opacity` where the heat is 1, less
    where it is cooler, none below WARM_FROM. Returns HxWx3 uint8 RGB.
    """
    rgb = to_rgb_uint8(image)
    heat = _resized_heat(heatmap, rgb.shape[:2])
    return _blend_warm(rgb, heat, opacity)


def place_on_image(image_rgb: np.ndarray, heatmap: np.ndarray, box: FaceBox, opacity: float = 0.5) -> np.ndarray:
    """A copy of the photo with one face's heat map coloured over the face, where it is warm (as `overlay`).

    The crop came from `face_transform(box)` (turned so the eyes are level when the box has
    landmarks, else the square around the box); the map goes back through the inverse of that
    transform, so it lands on the face whichever way the head was tilted. The crop reaches past the
    face (FER2013's framing), the map is clipped to the face's box, and to the image.
    """
    out = to_rgb_uint8(image_rgb).copy()
    matrix, side = face_transform(box)
    size = (out.shape[1], out.shape[0])
    heat = cv2.warpAffine(_resized_heat(heatmap, (side, side)), cv2.invertAffineTransform(matrix), size,
                          flags=cv2.INTER_LINEAR, borderValue=0.0)
    top, left = max(0, box.y), max(0, box.x)
    bottom, right = min(out.shape[0], box.y + box.height), min(out.shape[1], box.x + box.width)
    if bottom > top and right > left:
        out[top:bottom, left:right] = _blend_warm(out[top:bottom, left:right], heat[top:bottom, left:right], opacity)
    return out


def annotate(image_rgb: np.ndarray, faces, numbers: Sequence[int] | None = None,
             confidence_bars: bool = False) -> np.ndarray:
    """A copy of the photo with each face's box and "number emotion confidence" label drawn on it.

    Line width and font grow with the image, so labels stay readable on a phone photo and on
    a thumbnail; the font is also kept below a face's width so a crowd's labels do not pile up.
    `numbers` replaces the 1, 2, ... of the labels (a live stream's track numbers);
    `confidence_bars` adds a bar under each box, filled to the face's confidence.
    """
    image = Image.fromarray(to_rgb_uint8(image_rgb))
    if not faces:
        return np.asarray(image)
    draw = ImageDraw.Draw(image)
    short_side = min(image.size)
    line = max(2, round(short_side / 250))
    smallest_face = min(face.box.width for face in faces)
    font_px = max(11, min(round(short_side / 28), round(smallest_face * 0.3)))
    font = ImageFont.load_default(size=font_px)  # FreeType font bundled with Pillow: no download
    for number, face in zip(numbers or range(1, len(faces) + 1), faces):
        box = face.box
        colour = EMOTION_COLORS[face.label]
        draw.rectangle([box.x, box.y, box.x + box.width - 1, box.y + box.height - 1], outline=colour, width=line)
        if confidence_bars:
            _confidence_bar(draw, box, face.confidence, colour, max(4, font_px // 2), image.height)
        prefix = "whole image: " if face.whole_image else f"{number} "
        text = f"{prefix}{face.label} {face.confidence:.0%}"
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        pad = max(1, font_px // 6)
        label_w, label_h = right - left + 2 * pad, bottom - top + 2 * pad
        # Above the box when there is room, else just inside its top edge.
        label_y = box.y - label_h if box.y - label_h >= 0 else box.y
        label_x = min(max(0, box.x), max(0, image.width - label_w))
        draw.rectangle([label_x, label_y, label_x + label_w, label_y + label_h], fill=colour)
        draw.text((label_x + pad - left, label_y + pad - top), text, font=font, fill=_text_colour(colour))
    return np.asarray(image)


def _confidence_bar(draw, box: FaceBox, confidence: float, colour: str, thickness: int, image_height: int) -> None:
    """A bar just under the box (inside its bottom edge when the box touches the image's bottom)."""
    top = box.y + box.height + 2
    if top + thickness > image_height:
        top = box.y + box.height - thickness - 2
    right = box.x + box.width - 1
    draw.rectangle([box.x, top, right, top + thickness - 1], fill="#303030")
    filled = box.x + round((box.width - 1) * min(max(confidence, 0.0), 1.0))
    draw.rectangle([box.x, top, filled, top + thickness - 1], fill=colour)


def png_bytes(image_rgb: np.ndarray) -> bytes:
    """The image encoded as PNG, for a download button."""
    buffer = io.BytesIO()
    Image.fromarray(to_rgb_uint8(image_rgb)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- helpers ------------------------------------------------------------------------------


def _resized_heat(heatmap: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A heat map clipped to [0, 1] and resized to `size` (h, w): (h, w) float32."""
    heat = np.clip(np.nan_to_num(np.asarray(heatmap, dtype=np.float32)), 0.0, 1.0)
    if heat.ndim != 2:
        raise ValueError(f"Expected a 2-D heat map, got shape {heat.shape}.")
    return cv2.resize(heat, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)


def _blend_warm(rgb: np.ndarray, heat: np.ndarray, opacity: float) -> np.ndarray:
    """`rgb` (h, w, 3) uint8 with the jet colour of `heat` (h, w) laid over it, each pixel's opacity
    rising from 0 at WARM_FROM to `opacity` at 1: pixels colder than WARM_FROM keep their values."""
    coloured = cv2.cvtColor(cv2.applyColorMap(np.rint(heat * 255).astype(np.uint8), cv2.COLORMAP_JET),
                            cv2.COLOR_BGR2RGB)
    alpha = float(np.clip(opacity, 0.0, 1.0)) * np.clip((heat - WARM_FROM) / (1 - WARM_FROM), 0.0, 1.0)[..., None]
    mixed = rgb.astype(np.float32) * (1 - alpha) + coloured.astype(np.float32) * alpha
    return np.where(alpha > 0, np.rint(mixed), rgb).astype(np.uint8)


def _text_colour(hex_colour: str) -> str:
    """Black or white, whichever reads better on the label's background."""
    red, green, blue = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return "black" if 0.299 * red + 0.587 * green + 0.114 * blue > 150 else "white"
