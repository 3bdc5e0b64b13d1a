"""load_rgb / image_info: every kind of file a user might upload, good or bad."""

import io
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, features

from emotion_core.images import MAX_INPUT_PIXELS, WORKING_MAX_SIDE, ImageError, image_info, load_rgb

PHOTOS = Path(__file__).resolve().parents[1].parent / "shared" / "photos"
needs_photos = pytest.mark.skipif(not PHOTOS.is_dir(), reason="shared/photos not available")

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def png_claiming_size(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose IHDR chunk is patched to claim width x height (CRC fixed up)."""
    data = bytearray(encode(Image.new("RGB", (1, 1)), "PNG"))
    # Layout: 8-byte signature, 4-byte length, b"IHDR", then width and height (big-endian).
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    ihdr_type_and_body = bytes(data[12:29])  # b"IHDR" + its 13-byte body
    data[29:33] = struct.pack(">I", zlib.crc32(ihdr_type_and_body))
    return bytes(data)


def assert_rgb_array(rgb: np.ndarray, height: int, width: int) -> None:
    assert rgb.shape == (height, width, 3)
    assert rgb.dtype == np.uint8
    assert rgb.flags["C_CONTIGUOUS"]


# --- sources -------------------------------------------------------------------------


class FakeUpload(io.BytesIO):
    """Like Streamlit's UploadedFile: a BytesIO with a file name."""

    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name = name


def test_every_kind_of_source_gives_the_same_pixels(tmp_path):
    img = Image.new("RGB", (40, 30), RED)
    png = encode(img, "PNG")
    path = tmp_path / "red.png"
    path.write_bytes(png)
    sources = [png, str(path), path, io.BytesIO(png), FakeUpload(png, "red.png"), img, np.asarray(img)]
    for source in sources:
        rgb = load_rgb(source)
        assert_rgb_array(rgb, 30, 40)
        assert tuple(rgb[10, 10]) == RED


def test_an_upload_already_read_once_is_not_empty():
    upload = FakeUpload(encode(Image.new("RGB", (8, 8), BLUE), "PNG"), "blue.png")
    upload.read()  # a previous Streamlit rerun left the position at the end
    assert tuple(load_rgb(upload)[0, 0]) == BLUE


def test_tiny_images_are_returned_for_the_caller_to_judge():
    assert_rgb_array(load_rgb(encode(Image.new("RGB", (5, 3)), "PNG")), 3, 5)


# --- bad files -----------------------------------------------------------------------


def test_empty_bytes_and_empty_files_say_the_file_is_empty(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    for source in (b"", empty, io.BytesIO(b"")):
        with pytest.raises(ImageError, match=r"^The file is empty\.$"):
            load_rgb(source)


def test_text_named_jpg_is_not_an_image(tmp_path):
    notes = tmp_path / "notes.jpg"
    notes.write_text("these are my notes, not a photo")
    with pytest.raises(ImageError) as error:
        load_rgb(notes)
    assert str(error.value) == "'notes.jpg' is not an image PIL can read (unrecognised file format)."
    with pytest.raises(ImageError, match="not an image PIL can read"):
        image_info(notes)


def test_missing_file_is_reported_by_name(tmp_path):
    with pytest.raises(ImageError, match=r"'gone\.png' does not exist\."):
        load_rgb(tmp_path / "gone.png")


def test_truncated_jpeg_is_reported_as_truncated():
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    jpeg = encode(Image.fromarray(noise), "JPEG", quality=90)
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_rgb(jpeg[: len(jpeg) // 2])


def test_png_claiming_fifty_thousand_squared_pixels_is_refused_without_decoding():
    bomb = png_claiming_size(50_000, 50_000)
    assert len(bomb) < 100  # a few bytes that would need 7.5 GB of RGB pixels
    with pytest.raises(ImageError, match="too large"):
        load_rgb(bomb)


@pytest.mark.parametrize("width, height, message", [
    (8_000, 7_000, "too large: 8000 x 7000 pixels is more than the 50,000,000"),  # under PIL's limit
    (10_000, 10_000, "too large to open safely"),  # where PIL itself only warns
])
def test_images_over_our_limit_are_refused(width, height, message):
    assert width * height > MAX_INPUT_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning may escape either
        with pytest.raises(ImageError, match=message):
            load_rgb(png_claiming_size(width, height))


def test_bomb_handling_leaves_global_state_alone():
    limit_before, filters_before = Image.MAX_IMAGE_PIXELS, list(warnings.filters)
    with pytest.raises(ImageError):
        load_rgb(png_claiming_size(10_000, 10_000))
    assert Image.MAX_IMAGE_PIXELS == limit_before
    assert warnings.filters == filters_before


def test_image_info_reads_the_header_only(tmp_path):
    claimed = tmp_path / "claimed.png"
    claimed.write_bytes(png_claiming_size(8_000, 7_000))  # pixels that do not exist
    assert image_info(claimed) == {"width": 8_000, "height": 7_000, "mode": "RGB", "format": "PNG"}


def test_image_info_of_a_jpeg(tmp_path):
    path = tmp_path / "gray.jpg"
    Image.new("L", (64, 32)).save(path)
    assert image_info(path) == {"width": 64, "height": 32, "mode": "L", "format": "JPEG"}


# --- modes ---------------------------------------------------------------------------


def test_transparent_rgba_becomes_white_and_opaque_pixels_keep_their_colour():
    img = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    img.putpixel((0, 0), (255, 0, 0, 255))
    img.putpixel((1, 0), (0, 0, 0, 128))  # half-transparent black over white -> mid gray
    rgb = load_rgb(encode(img, "PNG"))
    assert tuple(rgb[5, 5]) == WHITE
    assert tuple(rgb[0, 0]) == RED
    assert all(abs(int(v) - 127) <= 1 for v in rgb[0, 1])


def test_gray_with_alpha_becomes_white_where_transparent():
    img = Image.new("LA", (4, 4), (0, 0))
    img.putpixel((0, 0), (50, 255))
    rgb = load_rgb(encode(img, "PNG"))
    assert tuple(rgb[0, 0]) == (50, 50, 50)
    assert tuple(rgb[3, 3]) == WHITE


def test_palette_with_transparent_index_becomes_white():
    img = Image.new("P", (4, 4), 1)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.putpixel((0, 0), 0)
    rgb = load_rgb(encode(img, "PNG", transparency=0))
    assert tuple(rgb[0, 0]) == WHITE
    assert tuple(rgb[1, 1]) == RED


def test_palette_without_transparency_keeps_its_colours():
    img = Image.new("P", (4, 4), 1)
    img.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    assert tuple(load_rgb(encode(img, "PNG"))[2, 2]) == BLUE


def test_one_bit_image_is_black_and_white():
    img = Image.new("1", (8, 8), 0)
    img.putpixel((0, 0), 1)
    rgb = load_rgb(encode(img, "PNG"))
    assert tuple(rgb[0, 0]) == WHITE
    assert tuple(rgb[4, 4]) == (0, 0, 0)


def test_sixteen_bit_gray_is_scaled_not_clipped():
    values = np.array([[0, 32896, 65535]], dtype=np.uint16)  # 32896 = 128 * 257
    img = Image.fromarray(values)
    assert img.mode == "I;16"
    rgb = load_rgb(encode(img, "PNG"))
    assert rgb[0, :, 0].tolist() == [0, 128, 255]
    assert (rgb[..., 0] == rgb[..., 2]).all()


def test_cmyk_is_converted_to_rgb():
    img = Image.new("CMYK", (4, 4), (0, 0, 0, 0))
    img.putpixel((0, 0), (0, 255, 255, 0))  # no cyan, full magenta and yellow: red
    rgb = load_rgb(encode(img, "TIFF"))
    assert tuple(rgb[0, 0]) == RED
    assert tuple(rgb[2, 2]) == WHITE


@pytest.mark.parametrize("fmt", ["GIF", pytest.param("WEBP", marks=pytest.mark.skipif(
    not features.check("webp"), reason="Pillow built without WebP"))])
def test_animated_image_gives_its_first_frame(fmt):
    frames = [Image.new("RGB", (16, 16), colour) for colour in (RED, BLUE, (0, 255, 0))]
    animation = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100,
                       **({"lossless": True} if fmt == "WEBP" else {}))
    assert Image.open(io.BytesIO(animation)).n_frames == 3
    assert tuple(load_rgb(animation)[8, 8]) == RED


def test_exif_rotated_jpeg_is_shown_upright():
    # Stored 300 wide x 200 tall, red in the stored top-left corner; Orientation=6 means
    # "rotate 90 degrees clockwise to display", so it shows 200 wide x 300 tall, red top-right.
    img = Image.new("RGB", (300, 200), WHITE)
    img.paste(RED, (0, 0, 60, 60))
    exif = img.getexif()
    exif[0x0112] = 6
    rgb = load_rgb(encode(img, "JPEG", exif=exif, quality=95))
    assert_rgb_array(rgb, 300, 200)
    red_corner = rgb[20, 180].astype(int)
    assert red_corner[0] > 200 and red_corner[1] < 60 and red_corner[2] < 60
    assert rgb[20, 20].min() > 200  # the top-left is white


def test_huge_photo_is_downscaled_keeping_its_aspect():
    jpeg = encode(Image.new("RGB", (6000, 1500), BLUE), "JPEG")
    rgb = load_rgb(jpeg)
    height, width = rgb.shape[:2]
    # JPEG decodes at a reduced scale: the longest side lands between half and all of the limit.
    assert WORKING_MAX_SIDE // 2 <= width <= WORKING_MAX_SIDE
    assert width == 4 * height
    assert abs(int(rgb[height // 2, width // 2, 2]) - 255) <= 3


def test_huge_png_is_downscaled_to_the_working_size():
    rgb = load_rgb(encode(Image.new("RGB", (6000, 1500), BLUE), "PNG"))
    assert_rgb_array(rgb, 512, WORKING_MAX_SIDE)


def test_huge_array_is_downscaled_too():
    rgb = load_rgb(np.zeros((3000, 1000, 3), dtype=np.uint8))
    assert_rgb_array(rgb, WORKING_MAX_SIDE, 683)


# --- numpy arrays ---------------------------------------------------------------------


@pytest.mark.parametrize("array, expected", [
    (np.array([[0.0, 0.5, 1.0]]), [0, 128, 255]),                      # float 0..1
    (np.array([[0.0, 128.0, 255.0]], dtype=np.float32), [0, 128, 255]),  # float 0..255
    (np.array([[0, 32896, 65535]], dtype=np.uint16), [0, 128, 255]),   # 16-bit
    (np.array([[0, 128, 255]]), [0, 128, 255]),                        # int64 from a list
    (np.array([[False, True, True]]), [0, 255, 255]),                  # mask
    (np.array([[-1.0, 0.0, 1.0]]), [0, 128, 255]),                     # normalised -1..1
])
def test_array_dtypes_are_scaled_to_8_bits(array, expected):
    rgb = load_rgb(array)
    assert_rgb_array(rgb, 1, 3)
    assert rgb[0, :, 1].tolist() == expected


def test_rgba_array_is_composited_on_white_and_hxwx1_is_gray():
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)
    rgba[0, 0] = (255, 0, 0, 255)
    rgb = load_rgb(rgba)
    assert tuple(rgb[0, 0]) == RED and tuple(rgb[1, 1]) == WHITE
    assert tuple(load_rgb(np.full((2, 2, 1), 7, np.uint8))[1, 1]) == (7, 7, 7)


@pytest.mark.parametrize("array, message", [
    (np.zeros((3, 4, 5)), "not an image"),
    (np.zeros(10), "not an image"),
    (np.zeros((0, 4, 3)), "no pixels"),
    (np.array([[np.nan, 1.0]]), "NaN"),
    (np.array([["a", "b"]]), "not supported"),
])
def test_arrays_that_are_not_images_are_refused(array, message):
    with pytest.raises(ImageError, match=message):
        load_rgb(array)


DTYPES = st.sampled_from([np.uint8, np.uint16, np.int16, np.int32, np.int64,
                          np.float16, np.float32, np.float64, np.bool_])


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(dtype=DTYPES, shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6)))
def test_any_small_array_gives_rgb_or_an_image_error(array):
    try:
        rgb = load_rgb(array)
    except ImageError as error:
        assert "\n" not in str(error)
        return
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8
    assert rgb.shape[:2] == array.shape[:2]


# --- real photos ------------------------------------------------------------------------


@needs_photos
def test_real_photos_load_at_their_size():
    assert_rgb_array(load_rgb(PHOTOS / "grace_hopper.jpg"), 600, 512)
    camera = load_rgb(PHOTOS / "camera.png")  # stored as 8-bit gray
    assert_rgb_array(camera, 512, 512)
    assert (camera[..., 0] == camera[..., 1]).all()
