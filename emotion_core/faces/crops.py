"""From a face box to the 48x48 input an FER2013 model expects.

    matrix, side = face_transform(box)        # photo pixels -> crop pixels
    crop = crop_face(rgb, box)                # side x side x 3 uint8, eyes level when known
    face = prepare_face(crop)                 # (48, 48, 1) float32 in 0..255

With eye landmarks the crop is aligned: rotated so the eyes are level and framed as FER2013
frames its faces (FER_FRAMING). Without them (the Haar cascade, the whole image) it is the square
around the box, as before. Anything that draws on the photo maps back through `face_transform`.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .boxes import FaceBox

# How FER2013 frames a face, measured by `python bench/fer_framing.py`: the default detector's
# landmarks on 600 validation images (upscaled 3x, one face found on 521) put the eye midpoint
# at 50% across and 40% down the 48x48 frame, the eyes 36% of its side apart and the mouth's
# centre 38% below the eyes (medians). An aligned crop places a face the same way, so it looks
# like the training data.
FER_FRAMING = {"eye_centre_x": 0.50, "eye_centre_y": 0.40, "eye_distance": 0.36, "eye_to_mouth": 0.38}


def face_transform(box: FaceBox, margin: float = 0.0, align: bool = True) -> tuple[np.ndarray, int]:
    """The 2x3 affine matrix from photo pixels to crop pixels, and the crop's side.

    `margin` widens the crop by that many times its side on each side (0.3 for display tiles).
    """
    if align and box.eyes is not None:
        return _aligned_transform(box, margin)
    side = max(1, round(max(box.width, box.height) * (1 + 2 * margin)))
    left = math.floor(box.x + box.width / 2 - side / 2)
    top = math.floor(box.y + box.height / 2 - side / 2)
    return np.array([[1.0, 0.0, -left], [0.0, 1.0, -top]]), side


def crop_face(rgb: np.ndarray, box: FaceBox, margin: float = 0.0, align: bool = True) -> np.ndarray:
    """Square HxWx3 uint8 crop of the face (see `face_transform`).

    Where the crop leaves the image, the edge pixels are repeated, so the face stays where
    FER2013 puts it rather than being shifted or squashed.
    """
    matrix, side = face_transform(box, margin, align)
    if matrix[0, 1] == 0 and matrix[0, 0] == 1:
        # A pure shift: index the pixels (exact and faster than resampling). Clipping the
        # index ranges repeats the nearest edge pixel, also when the box lies outside the image.
        left, top = int(-matrix[0, 2]), int(-matrix[1, 2])
        rows = np.clip(np.arange(top, top + side), 0, rgb.shape[0] - 1)
        cols = np.clip(np.arange(left, left + side), 0, rgb.shape[1] - 1)
        return np.ascontiguousarray(rgb[np.ix_(rows, cols)])
    return cv2.warpAffine(np.ascontiguousarray(rgb), matrix, (side, side), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def prepare_face(crop_rgb: np.ndarray, size: int = 48, color_mode: str = "grayscale") -> np.ndarray:
    """A face crop as model input: (size, size, 1) gray or (size, size, 3) RGB, float32 in 0..255.

    Gray uses ITU-R 601 luma exactly as PIL's "L" mode (how FER2013-style folders are read);
    shrinking uses area interpolation, which averages pixels so hair and glasses don't alias.
    Values stay in 0..255 like FER2013's pixel column; any rescaling belongs to the model.
    """
    if color_mode not in ("grayscale", "rgb"):
        raise ValueError(f"color_mode must be 'grayscale' or 'rgb', got {color_mode!r}.")
    if crop_rgb.dtype != np.uint8 or crop_rgb.ndim not in (2, 3):
        raise ValueError(f"Expected an HxWx3 uint8 crop, got {crop_rgb.dtype} {crop_rgb.shape}.")
    if crop_rgb.ndim == 2:
        crop_rgb = np.stack([crop_rgb] * 3, axis=-1)
    pixels = _pil_luma(crop_rgb)[..., None] if color_mode == "grayscale" else crop_rgb
    resized = _resize_uint8(np.ascontiguousarray(pixels), size)
    return resized.reshape(size, size, -1).astype(np.float32)


def model_input(crop_rgb: np.ndarray, size: int, channels: int, grayscale_source: bool = True) -> np.ndarray:
    """A face crop as the input of a model taking (size, size, channels), float32 in 0..255.

    A 3-channel model trained on gray faces copied to RGB (`grayscale_source`, the seeds' RGB
    nets on FER2013) sees gray faces here too, or colour photos would be outside what it learned.
    """
    if channels == 1:
        return prepare_face(crop_rgb, size, "grayscale")
    if grayscale_source:
        return np.repeat(prepare_face(crop_rgb, size, "grayscale"), 3, axis=-1)
    return prepare_face(crop_rgb, size, "rgb")


def _aligned_transform(box: FaceBox, margin: float) -> tuple[np.ndarray, int]:
    """Rotate about the eye midpoint until the eyes are level, scale to FER2013's framing."""
    (left_x, left_y), (right_x, right_y) = box.eyes
    angle = math.atan2(right_y - left_y, right_x - left_x)
    cos, sin = math.cos(angle), math.sin(angle)
    eye_x, eye_y = (left_x + right_x) / 2, (left_y + right_y) / 2
    # The larger of two estimates of the face's size: the eye distance shrinks when the head
    # turns sideways, the eye-to-mouth distance when it nods; one of them stays true.
    face_side = math.hypot(right_x - left_x, right_y - left_y) / FER_FRAMING["eye_distance"]
    if len(box.landmarks) >= 4:
        mouth_x, mouth_y = box.landmarks[3]
        face_side = max(face_side, math.hypot(mouth_x - eye_x, mouth_y - eye_y) / FER_FRAMING["eye_to_mouth"])
    side = max(1, round(face_side * (1 + 2 * margin)))
    # Crop pixel (u, v) of photo pixel (x, y): u = cos*(x - x0) + sin*(y - y0), v = -sin*(x - x0) + cos*(y - y0),
    # with (x0, y0) the crop's top-left corner chosen so the eye midpoint lands at FER_FRAMING's place.
    inset = (side - face_side) / 2  # the face's own frame sits centred in a crop widened by margin
    eye_u = inset + FER_FRAMING["eye_centre_x"] * face_side
    eye_v = inset + FER_FRAMING["eye_centre_y"] * face_side
    shift_u = eye_u - (cos * eye_x + sin * eye_y)
    shift_v = eye_v - (-sin * eye_x + cos * eye_y)
    return np.array([[cos, sin, shift_u], [-sin, cos, shift_v]]), side


def _pil_luma(rgb: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma with PIL's fixed-point weights and rounding, so gray matches Image.convert('L')."""
    r, g, b = (rgb[..., i].astype(np.uint32) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


def _resize_uint8(pixels: np.ndarray, size: int) -> np.ndarray:
    """Resize to size x size: area averaging when any side shrinks, bilinear when enlarging."""
    height, width = pixels.shape[:2]
    if (height, width) == (size, size):
        return pixels
    shrinking = height > size or width > size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    # Resizing uint8 keeps the result in 0..255 (OpenCV saturates instead of overshooting).
    return cv2.resize(pixels, (size, size), interpolation=interpolation)
