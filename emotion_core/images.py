"""Turn whatever a user hands us (upload, path, PIL image, array) into one safe RGB array.

Every caller (prediction, the app, data loading) goes through `load_rgb`, so odd files
(EXIF-rotated phone photos, 16-bit scans, transparent PNGs, animated GIFs, truncated
downloads, decompression bombs) are handled once, and every failure is an `ImageError`
whose message can be shown to the user as it is.
"""

from __future__ import annotations

import io
import os
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

# The file types read as images everywhere (data sets, analyses, the app's uploads); PIL decodes
# them all, a GIF at its first frame and a TIFF at its first page.
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}

# A 50-megapixel limit accepts any real camera photo but refuses decompression bombs:
# tiny files whose header promises billions of pixels and whose decoding would exhaust memory.
MAX_INPUT_PIXELS = 50_000_000

# A photo sent to be read one at a time (the Predict page, the REST API): a 50-megapixel phone
# JPEG is 10-25 MB, so a larger file is a scan or a raw dump the pixel limit above would refuse
# anyway once sent. Reaction videos and .zip studies have the app's larger limit
# (.streamlit/config.toml server.maxUploadSize).
MAX_PHOTO_MB = 25

# Face detection cost and memory grow with pixel count, and no face needs more than this
# to be found and cropped to 48x48, so larger photos are downscaled to this longest side.
WORKING_MAX_SIDE = 2048

_WHITE = (255, 255, 255)
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
# 16/32-bit integer and float modes: PIL's own convert("RGB") clips them instead of scaling.
_HIGH_DEPTH_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N", "F"}

# `warnings.catch_warnings` swaps process-wide state; the lock keeps two threads
# (Streamlit serves each session on its own) from restoring each other's filters.
_WARNINGS_LOCK = threading.Lock()


class ImageError(ValueError):
    """One-line, user-facing reason an image can't be used."""


def load_rgb(source) -> np.ndarray:
    """Decode `source` into an HxWx3 uint8 RGB array, upright and at most WORKING_MAX_SIDE.

    `source` may be bytes, a path, a binary file-like object (e.g. a Streamlit upload),
    a PIL image, or a numpy array (HxW, HxWx1, HxWx3 or HxWx4 of any real dtype).
    Raises ImageError with a message fit to show the user.
    """
    if isinstance(source, np.ndarray):
        rgb = _array_to_rgb(source)
        return _downscale_array(rgb)
    if isinstance(source, Image.Image):
        _check_pixel_count(source.size, "The image")
        # The caller's image is used at its current frame and full size: seeking or
        # drafting it would change an object the caller still holds.
        return _pil_to_rgb(source, "The image", ours=False)
    data, label = _read_source(source)
    with _open_checked(data, label) as img:
        return _pil_to_rgb(img, label)


def image_info(path) -> dict:
    """Width, height, mode and format of an image file, read from its header only."""
    path = Path(path)
    label = f"'{path.name}'"
    _check_nonempty_file(path, label)
    # Opening the path (not its bytes) reads only the header: cheap over a whole data set.
    with _open_checked(path, label, enforce_limit=False) as img:
        return {"width": img.width, "height": img.height, "mode": img.mode, "format": img.format}


# --- Reading bytes -------------------------------------------------------------------


def _read_source(source) -> tuple[bytes, str]:
    """The raw bytes of `source` and a short label naming it in error messages."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), "The file"
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        label = f"'{path.name}'"
        _check_nonempty_file(path, label)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise ImageError(f"{label} could not be read ({error.strerror or error}).") from None
    elif hasattr(source, "read"):
        name = getattr(source, "name", None)
        label = f"'{Path(name).name}'" if isinstance(name, str) and name else "The file"
        # getvalue() ignores the read position, so a Streamlit upload read once already
        # (e.g. on a previous rerun) is not mistaken for an empty file.
        data = source.getvalue() if hasattr(source, "getvalue") else source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise ImageError(f"{label} was opened in text mode; open it in binary mode ('rb').")
        data = bytes(data)
    else:
        raise ImageError(f"Cannot read an image from a {type(source).__name__}.")
    if not data:
        raise ImageError("The file is empty.")
    return data, label


def _check_nonempty_file(path: Path, label: str) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImageError(f"{label} does not exist.") from None
    except OSError as error:
        raise ImageError(f"{label} could not be read ({error.strerror or error}).") from None
    if path.is_dir():
        raise ImageError(f"{label} is a folder, not an image file.")
    if size == 0:
        raise ImageError("The file is empty.")


@contextmanager
def _open_checked(source: bytes | Path, label: str, enforce_limit: bool = True):
    """Open image bytes or a path lazily (header only), refusing bombs before decoding."""
    img = _open_header(source, label)
    try:
        if enforce_limit:
            _check_pixel_count(img.size, label)
        yield img
    finally:
        img.close()


def _open_header(source: bytes | Path, label: str) -> Image.Image:
    with _WARNINGS_LOCK, warnings.catch_warnings():
        # PIL only warns between its own limit and twice that; make it an error too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageError(f"{label} is too large to open safely "
                             "(its header claims an enormous pixel count).") from None
        except UnidentifiedImageError:
            raise ImageError(f"{label} is not an image PIL can read "
                             "(unrecognised file format).") from None
        except OSError as error:
            raise ImageError(f"{label} could not be read ({error.strerror or error}).") from None
        except Exception as error:  # PIL plugins raise many types on malformed headers
            raise ImageError(f"{label} is not an image PIL can read ({error}).") from None


def _check_pixel_count(size: tuple[int, int], label: str) -> None:
    width, height = size
    if width * height > MAX_INPUT_PIXELS:
        raise ImageError(f"{label} is too large: {width} x {height} pixels is more than "
                         f"the {MAX_INPUT_PIXELS:,} this app accepts.")
    if width < 1 or height < 1:
        raise ImageError(f"{label} has no pixels ({width} x {height}).")


# --- PIL image -> RGB array -----------------------------------------------------------


def _pil_to_rgb(img: Image.Image, label: str, ours: bool = True) -> np.ndarray:
    """Decode fully (so corruption shows now), stand upright, convert and downscale."""
    if ours:
        if getattr(img, "is_animated", False):
            img.seek(0)  # the first frame is what a viewer shows as the still image
        # JPEG can decode at 1/2, 1/4 or 1/8 scale for free, and draft never goes below the size
        # asked for. Asking for half the working size lets a 4032-pixel phone photo decode at 2016
        # (about 4x faster) instead of in full; faces still get far more pixels than the 48 needed.
        img.draft(None, _fit_within(img.size, WORKING_MAX_SIDE // 2))
    try:
        img.load()
    except Image.DecompressionBombError:
        raise ImageError(f"{label} is too large to decode safely.") from None
    except Exception as error:  # truncated data raises OSError, bad streams SyntaxError etc.
        raise ImageError(f"{label} is truncated or corrupt ({error}).") from None
    img = _upright(img)
    rgb_img = _pil_mode_to_rgb(img)
    rgb_img = _downscale_pil(rgb_img)
    return np.ascontiguousarray(np.asarray(rgb_img, dtype=np.uint8))


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation tag, as phone photos are stored sideways."""
    try:
        # Asked first: exif_transpose copies an upright photo whole (4 ms for 1280x960 here).
        if img.getexif().get(ExifTags.Base.Orientation, 1) in (None, 1):
            return img
        return ImageOps.exif_transpose(img)
    except Exception:  # a malformed EXIF block should not make a good photo unusable
        return img


def _pil_mode_to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in _HIGH_DEPTH_MODES:
        gray = _to_uint8(np.asarray(img))
        return Image.fromarray(np.stack([gray] * 3, axis=-1))
    has_alpha = img.mode in _ALPHA_MODES or "transparency" in img.info
    if has_alpha:
        return _composite_on_white(img.convert("RGBA"))
    try:
        return img.convert("RGB")  # covers L, 1, P, CMYK, YCbCr
    except ValueError as error:
        raise ImageError(f"Images in PIL mode {img.mode} are not supported ({error}).") from None


def _composite_on_white(rgba: Image.Image) -> Image.Image:
    """Transparent areas become white, as a browser shows them, instead of black noise."""
    background = Image.new("RGBA", rgba.size, _WHITE + (255,))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _downscale_pil(img: Image.Image) -> Image.Image:
    target = _fit_within(img.size, WORKING_MAX_SIDE)
    if target == img.size:
        return img
    # reducing_gap first shrinks by an integer factor cheaply, then resamples with LANCZOS.
    return img.resize(target, Image.Resampling.LANCZOS, reducing_gap=2.0)


def _fit_within(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(width, height) scaled down, keeping aspect, so the longest side is <= max_side."""
    width, height = size
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


# --- numpy array -> RGB array --------------------------------------------------------


def _array_to_rgb(array: np.ndarray) -> np.ndarray:
    """HxW, HxWx1, HxWx3 or HxWx4 of any real dtype -> HxWx3 uint8."""
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise ImageError(f"An array of shape {array.shape} is not an image "
                         "(expected HxW, HxWx3 or HxWx4).")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ImageError(f"The image has no pixels (shape {array.shape}).")
    pixels = _to_uint8(array)
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=-1)
    elif pixels.shape[-1] == 4:
        pixels = _composite_array_on_white(pixels)
    # Always a fresh array: editing the result must never change the caller's input.
    return np.array(pixels, dtype=np.uint8, order="C", copy=True)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Scale any real pixel dtype to 0..255, guessing the range from dtype and values.

    bool -> 0/255; uint8 as is; uint16 (16-bit scans) divided by 257; other integers
    kept when in 0..255, treated as 16-bit when in 0..65535; floats in 0..1 times 255,
    kept when in 0..255; anything else stretched from its minimum to its maximum.
    """
    if values.dtype == np.uint8:
        return values
    if values.dtype == np.bool_:
        return values.astype(np.uint8) * 255
    is_integer = np.issubdtype(values.dtype, np.integer)
    # kind/itemsize rather than == np.uint16, so big-endian I;16B data counts too.
    is_16_bit = values.dtype.kind == "u" and values.dtype.itemsize == 2
    if not (is_integer or np.issubdtype(values.dtype, np.floating)):
        raise ImageError(f"Pixels of type {values.dtype} are not supported.")
    values = values.astype(np.float64)
    if not np.all(np.isfinite(values)):
        raise ImageError("The image contains NaN or infinite pixel values.")
    low, high = float(values.min()), float(values.max())
    if is_16_bit or (is_integer and low >= 0 and 255 < high <= 65535):
        scaled = values / 257
    elif low >= 0 and high <= 1 and not is_integer:
        scaled = values * 255
    elif (low >= 0 and high <= 255) or high == low:
        scaled = values
    else:
        scaled = (values - low) * (255 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _composite_array_on_white(rgba: np.ndarray) -> np.ndarray:
    rgb = rgba[..., :3].astype(np.float32)
    alpha = rgba[..., 3:].astype(np.float32) / 255
    return np.rint(rgb * alpha + 255 * (1 - alpha)).astype(np.uint8)


def _downscale_array(rgb: np.ndarray) -> np.ndarray:
    height, width = rgb.shape[:2]
    if max(height, width) <= WORKING_MAX_SIDE:
        return rgb
    return np.asarray(_downscale_pil(Image.fromarray(rgb)), dtype=np.uint8).copy()
