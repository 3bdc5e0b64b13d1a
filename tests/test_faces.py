"""Face detection on real and synthetic photos, and the crops handed to the model."""

import json
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from emotion_core.faces import (DEFAULT_DETECTOR, DETECTORS, FACE_SIZES, FER_FRAMING, FaceBox, FaceDetector,
                                crop_face, face_transform, prepare_face, whole_image_box)
from emotion_core.images import load_rgb

PHOTOS = Path(__file__).resolve().parents[1].parent / "shared" / "photos"
needs_photos = pytest.mark.skipif(not PHOTOS.is_dir(), reason="shared/photos not available")

# Where the cascade finds Eileen Collins' face in astronaut.png (checked by a test below).
ASTRONAUT_FACE = FaceBox(x=177, y=67, width=93, height=93, score=0.0)


@pytest.fixture(scope="module", params=sorted(DETECTORS))
def detector(request):
    """Each test taking `detector` runs for every detector a user can choose."""
    return FaceDetector(request.param)


@pytest.fixture(scope="module")
def yunet():
    return FaceDetector("yunet")


def rotated(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """The photo turned about its centre, corners filled with the edge pixels."""
    height, width = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(rgb, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


def box_iou(a: FaceBox, b: FaceBox) -> float:
    overlap_w = max(0, min(a.x + a.width, b.x + b.width) - max(a.x, b.x))
    overlap_h = max(0, min(a.y + a.height, b.y + b.height) - max(a.y, b.y))
    overlap = overlap_w * overlap_h
    return overlap / (a.width * a.height + b.width * b.height - overlap)


def assert_inside(boxes, rgb):
    height, width = rgb.shape[:2]
    for box in boxes:
        assert box.x >= 0 and box.y >= 0 and box.width > 0 and box.height > 0
        assert box.x + box.width <= width and box.y + box.height <= height


# --- real photos ------------------------------------------------------------------------


@needs_photos
@pytest.mark.parametrize("name, faces", [
    ("astronaut.png", 1), ("grace_hopper.jpg", 1), ("chelsea.png", 0), ("coffee.png", 0),
])
def test_real_photos_have_the_right_number_of_faces(detector, name, faces):
    rgb = load_rgb(PHOTOS / name)
    boxes = detector.detect(rgb)
    assert len(boxes) == faces
    assert_inside(boxes, rgb)


@needs_photos
def test_cameraman_finds_at_most_one_face(detector):
    assert len(detector.detect(load_rgb(PHOTOS / "camera.png"))) <= 1


@needs_photos
def test_astronaut_face_box_is_where_the_face_is(detector):
    (box,) = detector.detect(load_rgb(PHOTOS / "astronaut.png"))
    assert abs(box.x - ASTRONAUT_FACE.x) <= 5 and abs(box.y - ASTRONAUT_FACE.y) <= 10
    assert 80 <= box.width <= 110 and 0.5 < box.score <= 1.0  # a confidence in [0, 1]


@needs_photos
def test_a_large_photo_is_detected_at_original_coordinates(detector):
    # Upscaled 3x, detection runs on a 640-pixel copy; the box must come back in full pixels.
    rgb = load_rgb(PHOTOS / "astronaut.png")
    big = np.asarray(Image.fromarray(rgb).resize((1536, 1536), Image.Resampling.BILINEAR))
    (box,) = detector.detect(big)
    assert abs(box.x - 3 * ASTRONAUT_FACE.x) <= 15 and abs(box.width - 3 * ASTRONAUT_FACE.width) <= 30
    assert all(box.x <= x <= box.x + box.width for x, _ in box.landmarks)


@needs_photos
def test_detection_is_safe_from_several_threads(detector):
    rgb = load_rgb(PHOTOS / "grace_hopper.jpg")
    expected = detector.detect(rgb)
    results = []
    threads = [threading.Thread(target=lambda: results.append(detector.detect(rgb))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 4


# --- synthetic group photo --------------------------------------------------------------


def face_grid(face_tile: np.ndarray, count: int, columns: int, gap: int) -> tuple[np.ndarray, list]:
    """Tile `count` copies of a face on a gray canvas; returns it and each tile's centre."""
    side = face_tile.shape[0]
    rows = -(-count // columns)
    canvas = np.full((gap + rows * (side + gap), gap + columns * (side + gap), 3), 128, np.uint8)
    centres = []
    for index in range(count):
        row, column = divmod(index, columns)
        top, left = gap + row * (side + gap), gap + column * (side + gap)
        canvas[top:top + side, left:left + side] = face_tile
        centres.append((left + side / 2, top + side / 2))
    return canvas, centres


@needs_photos
@pytest.mark.parametrize("count, columns, tile_side", [(4, 2, 150), (20, 5, 150), (20, 5, 400)])
def test_every_face_in_a_group_photo_is_found_once(detector, count, columns, tile_side):
    # tile_side 400 makes a 2.1k x 1.7k canvas, so detection also runs downscaled.
    astronaut = load_rgb(PHOTOS / "astronaut.png")
    tile = np.asarray(Image.fromarray(crop_face(astronaut, ASTRONAUT_FACE, margin=0.3)).resize(
        (tile_side, tile_side), Image.Resampling.LANCZOS))
    canvas, centres = face_grid(tile, count, columns, gap=tile_side // 4)
    boxes = detector.detect(canvas)
    assert len(boxes) == count
    assert_inside(boxes, canvas)
    found = {min(range(count), key=lambda i: np.hypot(box.x + box.width / 2 - centres[i][0],
                                                      box.y + box.height / 2 - centres[i][1]))
             for box in boxes}
    assert found == set(range(count))  # one box per tile, none doubled up
    assert [(b.x, b.y) for b in boxes] == sorted((b.x, b.y) for b in boxes)  # left to right


# --- large faces only ---------------------------------------------------------------------


@needs_photos
@pytest.mark.parametrize("name", ["astronaut.png", "grace_hopper.jpg"])
def test_large_faces_only_finds_a_portraits_face_in_the_same_place(detector, name):
    rgb = load_rgb(PHOTOS / name)
    (anywhere,) = detector.detect(rgb)
    (large,) = detector.detect(rgb, FACE_SIZES["large"])
    # Found on a copy a third the size, at other pyramid levels: the same face, a slightly other box.
    assert box_iou(large, anywhere) >= 0.75


@needs_photos
@pytest.mark.parametrize("name", ["chelsea.png", "coffee.png"])
def test_large_faces_only_finds_nothing_in_photos_without_faces(detector, name):
    assert detector.detect(load_rgb(PHOTOS / name), FACE_SIZES["large"]) == []


@needs_photos
def test_large_faces_only_skips_the_small_faces_of_a_group_photo(detector):
    astronaut = load_rgb(PHOTOS / "astronaut.png")
    tile = crop_face(astronaut, ASTRONAUT_FACE, margin=0.3)  # faces about 10% of the canvas below
    group, _ = face_grid(np.asarray(Image.fromarray(tile).resize((150, 150))), 20, 5, gap=37)
    pair, _ = face_grid(np.asarray(Image.fromarray(tile).resize((300, 300))), 2, 2, gap=75)
    assert len(detector.detect(group)) == 20
    assert detector.detect(group, FACE_SIZES["large"]) == []
    assert len(detector.detect(pair, FACE_SIZES["large"])) == 2


@needs_photos
def test_a_detectors_own_face_size_is_used_unless_a_call_overrides_it():
    group = face_grid(crop_face(load_rgb(PHOTOS / "astronaut.png"), ASTRONAUT_FACE, margin=0.3), 20, 5, gap=37)[0]
    assert FaceDetector(min_face_fraction=FACE_SIZES["large"]).detect(group) == []
    assert len(FaceDetector(min_face_fraction=FACE_SIZES["large"]).detect(group, FACE_SIZES["any"])) == 20


def test_a_face_size_out_of_range_is_refused_per_call(detector):
    with pytest.raises(ValueError, match="min_face_fraction"):
        detector.detect(np.zeros((50, 50, 3), np.uint8), 1.0)


# --- no faces ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(480, 640, 3), (10, 10, 3), (1, 2000, 3)])
def test_blank_images_have_no_faces(detector, shape):
    assert detector.detect(np.full(shape, 200, np.uint8)) == []


def test_detect_refuses_arrays_that_are_not_rgb(detector):
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        detector.detect(np.zeros((50, 50), np.uint8))


def test_detector_settings_are_checked():
    with pytest.raises(ValueError, match="min_face_fraction"):
        FaceDetector(min_face_fraction=1.5)


# --- boxes and crops ----------------------------------------------------------------------


def test_face_box_as_dict_is_json_ready():
    box = FaceBox(x=1, y=2, width=3, height=4, score=0.5, landmarks=((1.25, 2.0), (3.0, 2.0)))
    assert json.loads(json.dumps(box.as_dict())) == {"x": 1, "y": 2, "width": 3, "height": 4, "score": 0.5,
                                                     "landmarks": [[1.2, 2.0], [3.0, 2.0]]}


def test_whole_image_box_is_the_centred_square():
    assert whole_image_box(np.zeros((200, 300, 3), np.uint8)) == FaceBox(50, 0, 200, 200, 0.0)
    assert whole_image_box(np.zeros((90, 60, 3), np.uint8)) == FaceBox(0, 15, 60, 60, 0.0)


def test_crop_inside_the_image_is_the_exact_pixels():
    rgb = np.random.default_rng(0).integers(0, 256, (100, 120, 3), dtype=np.uint8)
    crop = crop_face(rgb, FaceBox(x=30, y=20, width=40, height=40, score=1.0))
    assert np.array_equal(crop, rgb[20:60, 30:70])


def test_crop_is_square_around_the_box_centre_and_margin_widens_it():
    rgb = np.zeros((100, 100, 3), np.uint8)
    assert crop_face(rgb, FaceBox(x=40, y=30, width=20, height=40, score=1.0)).shape == (40, 40, 3)
    assert crop_face(rgb, FaceBox(x=40, y=40, width=20, height=20, score=1.0), margin=0.25).shape == (30, 30, 3)


def test_crop_leaving_the_image_repeats_the_edge_pixels():
    rgb = np.zeros((50, 50, 3), np.uint8)
    rgb[0, :] = (255, 0, 0)  # a red top row
    crop = crop_face(rgb, FaceBox(x=10, y=0, width=20, height=20, score=1.0), margin=0.5)
    assert crop.shape == (40, 40, 3)
    assert (crop[:11] == (255, 0, 0)).all()  # 10 padded rows + the real top row, all red
    assert (crop[11:] == 0).all()


def test_prepare_face_shapes_and_type_for_both_colour_modes():
    crop = np.zeros((100, 100, 3), np.uint8)
    gray = prepare_face(crop)
    assert gray.shape == (48, 48, 1) and gray.dtype == np.float32
    assert prepare_face(crop, size=64, color_mode="rgb").shape == (64, 64, 3)
    with pytest.raises(ValueError, match="color_mode"):
        prepare_face(crop, color_mode="bgr")


@pytest.mark.parametrize("side", [20, 48, 200])
def test_uniform_gray_stays_the_same_value(side):
    crop = np.full((side, side, 3), 100, np.uint8)
    assert (prepare_face(crop) == 100).all()
    assert (prepare_face(crop, color_mode="rgb") == 100).all()


def test_grayscale_matches_pil_luma():
    crop = np.random.default_rng(1).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(crop).convert("L"), dtype=np.float32)
    assert np.array_equal(prepare_face(crop)[..., 0], expected)


def test_shrinking_averages_pixels():
    # A fine black/white checkerboard must shrink to even gray, not to aliased stripes.
    checker = (np.indices((96, 96)).sum(axis=0) % 2 * 255).astype(np.uint8)
    face = prepare_face(np.stack([checker] * 3, axis=-1))
    assert np.abs(face - 127.5).max() <= 1


@settings(max_examples=60, deadline=None)
@given(
    image_height=st.integers(1, 60), image_width=st.integers(1, 60),
    x=st.integers(-80, 80), y=st.integers(-80, 80),
    width=st.integers(0, 90), height=st.integers(0, 90),
    margin=st.floats(0, 0.6), size=st.integers(1, 64),
    color_mode=st.sampled_from(["grayscale", "rgb"]), seed=st.integers(0, 2**16),
)
def test_any_box_gives_a_valid_model_input(image_height, image_width, x, y, width, height,
                                            margin, size, color_mode, seed):
    rgb = np.random.default_rng(seed).integers(0, 256, (image_height, image_width, 3), dtype=np.uint8)
    crop = crop_face(rgb, FaceBox(x, y, width, height, 0.0), margin=margin)
    assert crop.ndim == 3 and crop.shape[0] == crop.shape[1] and crop.dtype == np.uint8
    face = prepare_face(crop, size=size, color_mode=color_mode)
    assert face.shape == (size, size, 1 if color_mode == "grayscale" else 3)
    assert np.isfinite(face).all() and face.min() >= 0 and face.max() <= 255


# --- the CNN detector: default, landmarks, tilted heads, aligned crops ----------------------


def test_the_default_detector_is_the_cnn_with_landmarks():
    # Fails if the default silently became the Haar cascade (no landmarks, no alignment).
    assert DEFAULT_DETECTOR == "yunet" and FaceDetector().name == "yunet"
    assert isinstance(FaceDetector().backend, DETECTORS["yunet"])


def test_an_unknown_detector_is_refused_in_one_line():
    with pytest.raises(ValueError, match="Unknown face detector 'mtcnn': choose one of yunet, haar"):
        FaceDetector("mtcnn")


@needs_photos
@pytest.mark.parametrize("name", ["astronaut.png", "grace_hopper.jpg"])
def test_cnn_landmarks_lie_inside_the_box_in_the_right_order(yunet, name):
    (box,) = yunet.detect(load_rgb(PHOTOS / name))
    assert len(box.landmarks) == 4
    for x, y in box.landmarks:
        assert box.x <= x <= box.x + box.width and box.y <= y <= box.y + box.height
    (left_x, left_y), (right_x, right_y), (nose_x, nose_y), (_, mouth_y) = box.landmarks
    assert left_x < nose_x < right_x and max(left_y, right_y) < nose_y < mouth_y


@needs_photos
@pytest.mark.parametrize("name", ["astronaut.png", "grace_hopper.jpg"])
@pytest.mark.parametrize("degrees", [15, 25, 35, -25])
def test_tilted_portraits_are_still_found(yunet, name, degrees):
    rgb = rotated(load_rgb(PHOTOS / name), degrees)
    (box,) = yunet.detect(rgb)
    assert_inside([box], rgb)
    (left_x, left_y), (right_x, right_y) = box.eyes
    # cv2 turns counter-clockwise for positive angles: the eye line tilts the other way.
    assert np.degrees(np.arctan2(right_y - left_y, right_x - left_x)) == pytest.approx(-degrees, abs=10)


@needs_photos
@pytest.mark.parametrize("degrees", [0, 25, -35])
def test_alignment_makes_the_eye_line_level(yunet, degrees):
    rgb = rotated(load_rgb(PHOTOS / "grace_hopper.jpg"), degrees)
    (box,) = yunet.detect(rgb)
    matrix, side = face_transform(box)
    (left_u, left_v), (right_u, right_v) = (matrix @ np.array([x, y, 1.0]) for x, y in box.eyes)
    assert left_v == pytest.approx(right_v, abs=1e-6)
    # Framed like FER2013: eyes at 40% down and centred, 36% of the side apart (or nearer when
    # the eye-to-mouth distance sets the size).
    assert (left_v / side) == pytest.approx(FER_FRAMING["eye_centre_y"], abs=0.01)
    assert ((left_u + right_u) / 2 / side) == pytest.approx(FER_FRAMING["eye_centre_x"], abs=0.01)
    assert 0.25 <= (right_u - left_u) / side <= FER_FRAMING["eye_distance"] + 0.01


@needs_photos
def test_an_aligned_crop_of_a_tilted_face_looks_like_the_upright_one(yunet):
    upright_rgb = load_rgb(PHOTOS / "grace_hopper.jpg")
    (upright,) = yunet.detect(upright_rgb)
    tilted_rgb = rotated(upright_rgb, 25)
    (tilted,) = yunet.detect(tilted_rgb)
    reference = prepare_face(crop_face(upright_rgb, upright))[..., 0]
    aligned = prepare_face(crop_face(tilted_rgb, tilted))[..., 0]
    unaligned = prepare_face(crop_face(tilted_rgb, tilted, align=False))[..., 0]

    def correlation(a, b):
        return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])

    print(correlation(reference, aligned), correlation(reference, unaligned))
    assert correlation(reference, aligned) > 0.7
    assert correlation(reference, aligned) > correlation(reference, unaligned) + 0.15


def test_a_box_without_landmarks_is_cropped_square_as_before():
    box = FaceBox(x=30, y=20, width=40, height=40, score=1.0)
    matrix, side = face_transform(box)
    assert side == 40 and np.array_equal(matrix, [[1, 0, -30], [0, 1, -20]])


@needs_photos
def test_a_face_cut_by_the_edge_gets_a_box_inside_the_image_and_a_full_crop(yunet):
    rgb = load_rgb(PHOTOS / "grace_hopper.jpg")[:, 230:]  # the left part of her face is cut off
    (box,) = yunet.detect(rgb)
    assert_inside([box], rgb)
    assert min(x for x, _ in box.landmarks) < 0  # the detector still says where the eye is
    assert prepare_face(crop_face(rgb, box)).shape == (48, 48, 1)


@needs_photos
def test_a_grayscale_photo_is_found_like_the_colour_one(yunet):
    rgb = load_rgb(PHOTOS / "astronaut.png")
    gray = np.repeat(np.asarray(Image.fromarray(rgb).convert("L"))[..., None], 3, axis=-1)
    (colour_box,) = yunet.detect(rgb)
    (gray_box,) = yunet.detect(gray)
    assert box_iou(colour_box, gray_box) > 0.8


@needs_photos
def test_a_huge_photo_is_scanned_small_and_the_box_comes_back_in_full_pixels(yunet):
    rgb = load_rgb(PHOTOS / "astronaut.png")
    huge = cv2.resize(rgb, (6000, 6000), interpolation=cv2.INTER_LINEAR)
    (box,) = yunet.detect(huge)
    assert box_iou(box, FaceBox(177 * 6000 // 512, 60 * 6000 // 512, 92 * 6000 // 512, 114 * 6000 // 512, 0)) > 0.7
