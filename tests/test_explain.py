"""Heat maps, overlays, annotation and the results table, on the real photos and generated images."""

import json

import numpy as np
import pytest
from PIL import Image

from emotion_core.explain import (
    EMOTION_COLORS,
    METHODS,
    Explainer,
    _unit_map,
    annotate,
    heatmaps,
    overlay,
    place_on_image,
    png_bytes,
    results_frame,
)
from emotion_core.faces import FaceBox, crop_face
from emotion_core.images import load_rgb
from emotion_core.labels import EMOTIONS
from emotion_core.predictor import FacePrediction, Predictor
from tests.conftest import PHOTOS, needs_photos
from tests.test_faces import face_grid  # the group photo the detector's own tests use


@pytest.fixture(scope="module")
def predictor(trained_run_template):
    """The tiny 'alpha' run (vgg_gap_small, gray 48x48), loaded once for the module."""
    return Predictor.load(trained_run_template / "models" / "alpha")


@pytest.fixture(scope="module")
def explainer(predictor):
    return Explainer(predictor.model)


def assert_unit_maps(maps, count, size=(48, 48)):
    assert maps.shape == (count, *size) and maps.dtype == np.float32
    assert np.isfinite(maps).all()
    assert maps.min() >= 0.0 and maps.max() <= 1.0


def fake_face(label="happy", box=None, whole_image=False) -> FacePrediction:
    box = box or FaceBox(10, 20, 30, 30, 5.0)
    probabilities = {emotion: 0.6 if emotion == label else 0.4 / 6 for emotion in EMOTIONS}
    return FacePrediction(box, probabilities, np.zeros((48, 48, 1), np.float32), whole_image)


# --- real photos: detection, crop, probabilities and every CAM method ----------------------------


@needs_photos
@pytest.mark.parametrize("name", ["astronaut.png", "grace_hopper.jpg"])
def test_each_portrait_gives_one_face_and_valid_maps_for_every_method(predictor, explainer, name):
    rgb = load_rgb(PHOTOS / name)
    (face,) = predictor.predict(rgb)
    box = face.box
    assert 0 <= box.x and 0 <= box.y and box.x + box.width <= rgb.shape[1] and box.y + box.height <= rgb.shape[0]
    assert face.model_input.shape == (48, 48, 1)
    assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    for method in METHODS:
        maps = explainer.heatmaps(face.model_input[None], [EMOTIONS.index(face.label)], method)
        assert_unit_maps(maps, 1)


@needs_photos
@pytest.mark.parametrize("method", list(METHODS))
def test_maps_differ_between_classes(predictor, explainer, method):
    (face,) = predictor.predict(PHOTOS / "astronaut.png")
    # The same face three times, each explained for another class.
    maps = explainer.heatmaps(np.repeat(face.model_input[None], 3, axis=0), [0, 3, 6], method)
    assert_unit_maps(maps, 3)
    distinct = {maps[i].round(3).tobytes() for i in range(3)}
    assert len(distinct) >= 2
    assert maps.max() == pytest.approx(1.0)  # at least one class has evidence, scaled to its peak


@needs_photos
@pytest.mark.parametrize("name", ["chelsea.png", "coffee.png"])
def test_photos_without_faces_can_be_classified_whole(predictor, name):
    rgb = load_rgb(PHOTOS / name)
    assert predictor.predict(rgb) == []
    (face,) = predictor.predict(rgb, whole_image_fallback=True)
    assert face.whole_image and face.box.score == 0.0
    assert face.box.x + face.box.width <= rgb.shape[1] and face.box.y + face.box.height <= rgb.shape[0]
    assert results_frame([face], name)["whole_image"].all()


@needs_photos
def test_twenty_faces_in_one_photo_are_boxed_explained_and_placed(predictor, explainer):
    astronaut = load_rgb(PHOTOS / "astronaut.png")
    (face,) = predictor.predict(astronaut)
    tile = np.asarray(Image.fromarray(crop_face(astronaut, face.box, margin=0.3)).resize((150, 150)))
    crowd, _centres = face_grid(tile, 20, columns=5, gap=37)
    faces = predictor.predict(crowd)
    assert len(faces) >= 20
    maps = explainer.heatmaps(np.stack([f.model_input for f in faces]),
                              [EMOTIONS.index(f.label) for f in faces], "gradcam")
    assert_unit_maps(maps, len(faces))
    shown = crowd
    for f, heatmap in zip(faces, maps):
        shown = place_on_image(shown, heatmap, f.box, 0.5)
    drawn = annotate(shown, faces)
    assert drawn.shape == crowd.shape and drawn.dtype == np.uint8
    table = results_frame(faces, "crowd.png")
    assert list(table["face"]) == list(range(1, len(faces) + 1))


# --- heat maps on generated input ----------------------------------------------------------------


def test_heatmaps_for_a_batch_and_for_no_faces(explainer):
    faces = np.random.default_rng(0).uniform(0, 255, (3, 48, 48, 1)).astype(np.float32)
    assert_unit_maps(explainer.heatmaps(faces, [0, 3, 6]), 3)
    assert_unit_maps(explainer.heatmaps(faces[0], 3), 1)  # one face without a batch axis, one class
    assert explainer.heatmaps(np.zeros((0, 48, 48, 1), np.float32), []).shape == (0, 48, 48)


def test_repeated_calls_reuse_the_explainer_and_agree(explainer):
    faces = np.random.default_rng(1).uniform(0, 255, (2, 48, 48, 1)).astype(np.float32)
    model = explainer.model
    first = explainer.heatmaps(faces, [3, 4], "gradcam")
    second = explainer.heatmaps(faces, [3, 4], "gradcam")
    assert explainer.model is model  # no new copy of the model per request
    np.testing.assert_allclose(first, second, atol=1e-5)


@needs_photos
def test_traced_gradcam_gives_tf_keras_vis_maps(predictor, explainer):
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.utils.scores import CategoricalScore

    (face,) = predictor.predict(PHOTOS / "astronaut.png")
    faces = np.stack([face.model_input, face.model_input[:, ::-1], np.full((48, 48, 1), 120, np.float32)])
    classes = [3, 0, 6]
    reference = Gradcam(explainer.model, clone=False)(
        CategoricalScore(classes), faces, penultimate_layer="last_conv", seek_penultimate_conv_layer=False,
        expand_cam=False, normalize_cam=False)
    expected = np.stack([_unit_map(cam, (48, 48)) for cam in np.asarray(reference)])
    np.testing.assert_allclose(explainer.heatmaps(faces, classes, "gradcam"), expected, atol=1e-5)


def test_heatmaps_function_accepts_a_model_or_an_explainer(predictor, explainer):
    face = np.full((1, 48, 48, 1), 90, np.float32)
    face[0, 10:30, 12:36] = 200
    np.testing.assert_allclose(heatmaps(explainer, face, [3]), heatmaps(predictor.model, face, [3]), atol=1e-4)


def test_bad_requests_are_refused_in_one_line(explainer):
    faces = np.zeros((2, 48, 48, 1), np.float32)
    with pytest.raises(ValueError, match="Unknown explanation method"):
        explainer.heatmaps(faces, [0, 1], "lime")
    with pytest.raises(ValueError, match="2 faces"):
        explainer.heatmaps(faces, [0])
    with pytest.raises(ValueError, match="0..6"):
        explainer.heatmaps(faces, [0, 7])
    with pytest.raises(ValueError, match="Faces must be"):
        explainer.heatmaps(np.zeros((2, 64, 64, 3), np.float32), [0, 1])


def test_a_flat_or_broken_map_becomes_zeros_not_nan():
    for cam in (np.ones((6, 6)), np.zeros((6, 6)), np.full((6, 6), np.nan)):
        unit = _unit_map(cam, (48, 48))
        assert unit.shape == (48, 48) and not unit.any()
    unit = _unit_map(np.arange(36, dtype=np.float32).reshape(6, 6), (48, 48))
    assert unit.min() == 0.0 and unit.max() == pytest.approx(1.0, abs=0.02)


def small_net_with_a_conv_named_last_conv():
    """Like seed000_shallow (last_conv is a Conv2D with its own ReLU, then batch norm), but tiny."""
    import keras
    from keras import layers

    inputs = keras.Input((48, 48, 1))
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(8, 3, strides=2, activation="relu")(x)
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="last_conv")(x)
    x = layers.BatchNormalization()(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(7, activation="softmax", name="predictions")(x))


@pytest.mark.parametrize("build", ["mini_xception", small_net_with_a_conv_named_last_conv])
def test_other_architectures_and_mixed_precision_explain(build):
    """A residual net, a last_conv that is a Conv2D, and bfloat16 runs (Grad-CAM++ fails on those)."""
    import keras

    from emotion_core.architectures import build_model

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = build_model(build, (48, 48, 1), 7) if isinstance(build, str) else build()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    explainer = Explainer(model)
    faces = np.random.default_rng(2).uniform(0, 255, (2, 48, 48, 1)).astype(np.float32)
    for method in METHODS:
        assert_unit_maps(explainer.heatmaps(faces, [1, 5], method), 2)


# --- drawing ---------------------------------------------------------------------------------------


def test_overlay_has_the_image_shape_and_opacity_blends():
    heat = np.linspace(0, 1, 36, dtype=np.float32).reshape(6, 6)
    photo = np.random.default_rng(0).integers(0, 256, (120, 90, 3), dtype=np.uint8)
    crop = np.full((48, 48, 1), 100.0, np.float32)  # a model input: float 0..255, one channel
    assert overlay(photo, heat, 0.5).shape == (120, 90, 3)
    assert overlay(crop, heat, 0.5).shape == (48, 48, 3) and overlay(crop, heat).dtype == np.uint8
    np.testing.assert_array_equal(overlay(photo, heat, 0.0), photo)
    hot, cold = overlay(crop, np.ones((48, 48)), 1.0), overlay(crop, np.zeros((48, 48)), 1.0)
    assert hot[0, 0, 0] > hot[0, 0, 2] and cold[0, 0, 2] > cold[0, 0, 0]  # jet: red is hot, blue cold


@pytest.mark.parametrize("box", [FaceBox(50, 30, 20, 40, 3.0),   # tall: the crop is a 40x40 square
                                 FaceBox(120, 10, 37, 22, 2.0),  # wide, odd-sized
                                 FaceBox(0, 0, 10, 60, 1.0),     # the square reaches past the left edge
                                 FaceBox(0, 0, 100, 200, 0.0)])  # bigger than the image on one side
def test_place_on_image_colours_exactly_the_pixels_crop_face_took(box):
    # Every pixel holds its own (row, column), so a crop tells which image pixels it came from.
    rows, columns = np.mgrid[0:100, 0:200]
    image = np.stack([rows, columns % 256, columns // 256], axis=-1).astype(np.uint8)
    crop = crop_face(image, box)
    taken = np.zeros((100, 200), bool)
    taken[crop[..., 0].astype(int), crop[..., 1].astype(int) + 256 * crop[..., 2].astype(int)] = True
    placed = place_on_image(image, np.ones((48, 48), np.float32), box, 0.6)
    assert placed.shape == image.shape
    np.testing.assert_array_equal((placed != image).any(axis=-1), taken)
    assert image[5, 7].tolist() == [5, 7, 0]  # the caller's image is untouched


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
    import io

    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png_bytes(image)))), image)


# --- results table -----------------------------------------------------------------------------


def test_results_frame_has_a_row_per_face_and_exports():
    faces = [fake_face("happy"), fake_face("angry", FaceBox(60, 20, 30, 30, 2.5))]
    table = results_frame(faces, "party.jpg", "alpha")
    assert list(table.columns) == ["file", "face", "x", "y", "width", "height", "detection_score", "emotion",
                                   "confidence", *EMOTIONS, "whole_image", "model"]
    assert list(table["face"]) == [1, 2] and list(table["emotion"]) == ["happy", "angry"]
    assert (table["file"] == "party.jpg").all() and list(table["x"]) == [10, 60]
    np.testing.assert_allclose(table[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-3)
    records = json.loads(table.to_json(orient="records"))
    assert records[1]["emotion"] == "angry" and records[1]["whole_image"] is False
    assert records[1]["model"] == "alpha"
    assert "party.jpg,1,10,20,30,30" in table.to_csv(index=False)


def test_results_frame_of_no_faces_keeps_its_columns():
    table = results_frame([], "empty.png")
    assert len(table) == 0 and "confidence" in table.columns
