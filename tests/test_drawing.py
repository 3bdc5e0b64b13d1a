"""Tests for emotion_core.drawing: heat maps coloured over crops and photos, boxes and labels drawn.

Everything here runs on generated images and hand-made predictions: no model, no photo files.
"""

import io

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import binary_erosion

from emotion_core.drawing import WARM_FROM, annotate, overlay, place_on_image, png_bytes, to_rgb_uint8
from emotion_core.faces import FaceBox, crop_face, face_transform
from emotion_core.labels import EMOTION_COLORS, EMOTIONS
from emotion_core.predictor import FacePrediction


def fake_face(label="happy", box=None, whole_image=False) -> FacePrediction:
    """A prediction of `label` at 60% for a face at `box`, made by hand: no model needed."""
    box = box or FaceBox(10, 20, 30, 30, 5.0)
    probabilities = {emotion: 0.6 if emotion == label else 0.4 / 6 for emotion in EMOTIONS}
    return FacePrediction(box, probabilities, np.zeros((48, 48, 1), np.float32), whole_image)


def test_overlay_has_the_image_shape_and_opacity_blends():
    heat = np.linspace(0, 1, 36, dtype=np.float32).reshape(6, 6)
    photo = np.random.default_rng(0).integers(0, 256, (120, 90, 3), dtype=np.uint8)
    crop = np.full((48, 48, 1), 100.0, np.float32)  # a model input: float 0..255, one channel
    assert overlay(photo, heat, 0.5).shape == (120, 90, 3)
    assert overlay(crop, heat, 0.5).shape == (48, 48, 3) and overlay(crop, heat).dtype == np.uint8
    np.testing.assert_array_equal(overlay(photo, heat, 0.0), photo)
    hot = overlay(crop, np.ones((48, 48)), 1.0)
    assert hot[0, 0].tolist() == [128, 0, 0]  # jet's hottest red, at full opacity: none of the face left


def test_only_warm_pixels_are_coloured_and_more_so_the_warmer():
    gray = np.full((48, 48, 3), 120, np.uint8)
    heat = np.tile(np.linspace(0, 1, 48, dtype=np.float32), (48, 1))  # cold on the left, hot on the right
    shown = overlay(gray, heat, 0.8)

    changed = np.abs(shown.astype(int) - gray).sum(axis=-1)
    cold = heat < WARM_FROM
    assert (changed[cold] == 0).all()  # a cold pixel keeps its value exactly: no blue veil over the face
    assert (changed[heat > WARM_FROM + 0.05] > 0).all()
    # Opacity follows the heat: the hottest column has moved furthest from the face's gray.
    assert changed[0, -1] > changed[0, 30] > changed[0, 20] > 0
    np.testing.assert_array_equal(overlay(gray, np.zeros((7, 7)), 1.0), gray)  # a cold map changes nothing


@pytest.mark.parametrize("box", [FaceBox(50, 30, 20, 40, 3.0),   # tall: the crop is a 40x40 square
                                 FaceBox(120, 10, 37, 22, 2.0),  # wide, odd-sized
                                 FaceBox(0, 0, 10, 60, 1.0),     # the square reaches past the left edge
                                 FaceBox(0, 0, 100, 200, 0.0)])  # bigger than the image on one side
def test_place_on_image_colours_the_pixels_crop_face_took_inside_the_face_box_only(box):
    # Every pixel holds its own (row, column), so a crop tells which image pixels it came from.
    rows, columns = np.mgrid[0:100, 0:200]
    image = np.stack([rows, columns % 256, columns // 256], axis=-1).astype(np.uint8)
    crop = crop_face(image, box)
    taken = np.zeros((100, 200), bool)
    taken[crop[..., 0].astype(int), crop[..., 1].astype(int) + 256 * crop[..., 2].astype(int)] = True
    in_box = (rows >= box.y) & (rows < box.y + box.height) & (columns >= box.x) & (columns < box.x + box.width)
    placed = place_on_image(image, np.ones((48, 48), np.float32), box, 0.6)
    assert placed.shape == image.shape
    changed = (placed != image).any(axis=-1)
    assert not changed[~in_box].any()  # the crop's margin around the face stays as it was
    # Inside the box, every pixel the crop took is coloured (but the crop's outermost ring, where
    # the map fades into the border as it is mapped back).
    assert changed[binary_erosion(taken) & in_box].all() and not changed[~taken].any()
    assert image[5, 7].tolist() == [5, 7, 0]  # the caller's image is untouched


def test_a_tilted_faces_heat_map_lands_where_its_aligned_crop_came_from():
    # Eyes on a line rising 30 degrees: the crop is turned upright, and the map must turn back.
    angle = np.radians(-30)
    left = np.array([100.0, 140.0])
    right = left + 40 * np.array([np.cos(angle), np.sin(angle)])
    mouth = (left + right) / 2 + 42 * np.array([-np.sin(angle), np.cos(angle)])
    box = FaceBox(80, 80, 90, 110, 0.9, landmarks=(tuple(left), tuple(right), tuple(mouth), tuple(mouth)))
    matrix, side = face_transform(box)
    heat = np.zeros((side, side), np.float32)
    hot_u, hot_v = side // 2, side // 4
    heat[hot_v - 2:hot_v + 3, hot_u - 2:hot_u + 3] = 1.0  # a hot spot above the crop's centre
    photo = np.zeros((300, 300, 3), np.uint8)
    placed = place_on_image(photo, heat, box, opacity=1.0)
    # The photo pixel the hot spot came from, through the inverse of the crop's transform.
    to_photo = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))
    x, y, _ = to_photo @ np.array([hot_u, hot_v, 1.0])
    red = placed[..., 0].astype(int) - placed[..., 2].astype(int)  # jet: hot is red, cold is blue
    peak_y, peak_x = np.unravel_index(np.argmax(red), red.shape)
    assert abs(peak_x - x) <= 3 and abs(peak_y - y) <= 3
    assert (placed[:40, :40] == 0).all()  # far from the face, the photo is untouched


def test_annotate_draws_each_box_in_its_emotion_colour_without_touching_the_input():
    image = np.full((300, 400, 3), 255, np.uint8)
    faces = [fake_face("happy", FaceBox(50, 100, 80, 80, 4.0)), fake_face("sad", FaceBox(250, 100, 80, 80, 4.0))]
    drawn = annotate(image, faces)
    assert drawn.shape == image.shape and drawn.dtype == np.uint8 and (image == 255).all()
    for face in faces:
        colour = tuple(int(EMOTION_COLORS[face.label][i:i + 2], 16) for i in (1, 3, 5))
        assert tuple(drawn[face.box.y + 40, face.box.x]) == colour  # left edge of the box
    assert (drawn[:100] != 255).any()  # labels sit above the boxes
    np.testing.assert_array_equal(annotate(image, []), image)


@pytest.mark.parametrize("side", [64, 480, 4000])
def test_labels_grow_with_the_image_and_stay_readable(side):
    image = np.full((side, side, 3), 255, np.uint8)
    box = FaceBox(side // 4, side // 2, side // 3, side // 3, 4.0)
    drawn = annotate(image, [fake_face("sad", box)])
    label_rows = np.flatnonzero((drawn[:box.y] != 255).any(axis=(1, 2)))
    height = label_rows.max() - label_rows.min() + 1
    assert height >= 10  # an 11 px font at the least
    assert height >= side / 40  # and about the same share of the picture at any size


def test_whole_image_faces_are_labelled_as_such():
    image = np.full((200, 200, 3), 255, np.uint8)
    plain = annotate(image, [fake_face("fear", FaceBox(0, 0, 200, 200, 0.0))])
    whole = annotate(image, [fake_face("fear", FaceBox(0, 0, 200, 200, 0.0), whole_image=True)])
    assert (whole != 255).sum() > (plain != 255).sum()  # the longer "whole image: fear" label


def test_png_bytes_round_trip():
    image = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(image)))), image)


@pytest.mark.parametrize("shape", [(20, 30), (20, 30, 1), (20, 30, 3)])
def test_a_model_input_is_shown_as_rgb_uint8_with_its_pixels_kept(shape):
    pixels = np.random.default_rng(1).uniform(0, 255, shape).astype(np.float32)

    shown = to_rgb_uint8(pixels)

    assert shown.shape == (20, 30, 3) and shown.dtype == np.uint8
    np.testing.assert_array_equal(shown[..., 0], np.rint(pixels.reshape(20, 30, -1)[..., 0]).astype(np.uint8))
    with pytest.raises(ValueError, match="Expected an HxW"):
        to_rgb_uint8(np.zeros((4, 4, 2)))


def test_every_emotion_has_a_colour():
    assert set(EMOTION_COLORS) == set(EMOTIONS)
    assert len(set(EMOTION_COLORS.values())) == len(EMOTIONS)  # told apart at a glance
