"""Heat maps as arrays (every method, any architecture), and the predict-then-explain sequence, on the real
photos and generated images. Drawing them is tested in test_drawing.py."""

import numpy as np
import pytest
from PIL import Image

from emotion_core.drawing import annotate, place_on_image
from emotion_core.explain import METHODS, Explainer, _unit_map, heatmaps, predict_and_explain
from emotion_core.faces import crop_face
from emotion_core.images import load_rgb
from emotion_core.labels import EMOTIONS
from emotion_core.predictor import Predictor, results_frame
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


# --- predict, then pick the class, then the heat map ------------------------------------------------


class CountingFactory:
    """An explainer factory that counts its calls: building an Explainer copies the model."""

    def __init__(self, explainer):
        self.explainer, self.calls = explainer, 0

    def __call__(self):
        self.calls += 1
        return self.explainer


def noise_photo(seed: int = 3) -> np.ndarray:
    """A photo without a face: classified whole, so no photo file is needed."""
    return np.random.default_rng(seed).integers(0, 256, (120, 160, 3), dtype=np.uint8)


@pytest.mark.parametrize("method", list(METHODS))
def test_predict_and_explain_maps_each_face_for_its_predicted_emotion(predictor, explainer, method):
    factory = CountingFactory(explainer)

    faces, maps = predict_and_explain(predictor, noise_photo(), method, explainer=factory, whole_image_fallback=True)

    (face,) = faces
    assert face.whole_image and factory.calls == 1
    assert_unit_maps(maps, 1)
    expected = explainer.heatmaps(face.model_input[None], [EMOTIONS.index(face.label)], method)
    np.testing.assert_allclose(maps, expected, atol=1e-4)


def test_predict_and_explain_maps_the_asked_emotion_instead(predictor, explainer):
    (face,), predicted = predict_and_explain(predictor, noise_photo(), "gradcam", explainer=explainer,
                                             whole_image_fallback=True)
    every_class = explainer.heatmaps(np.repeat(face.model_input[None], len(EMOTIONS), axis=0),
                                     list(range(len(EMOTIONS))), "gradcam")
    # An emotion other than the predicted one whose map differs from the predicted one's.
    other = next(name for name, cam in zip(EMOTIONS, every_class)
                 if name != face.label and not np.allclose(cam, predicted[0], atol=1e-3))

    _, asked = predict_and_explain(predictor, noise_photo(), "gradcam", other, explainer=explainer,
                                   whole_image_fallback=True)

    np.testing.assert_allclose(asked[0], every_class[EMOTIONS.index(other)], atol=1e-4)


def test_without_a_method_or_a_face_no_explainer_is_built(predictor, explainer):
    factory = CountingFactory(explainer)

    faces, maps = predict_and_explain(predictor, noise_photo(), None, explainer=factory, whole_image_fallback=True)
    assert len(faces) == 1 and maps is None
    assert predict_and_explain(predictor, noise_photo(), "gradcam", explainer=factory) == ([], None)
    assert factory.calls == 0


@needs_photos
def test_predict_and_explain_looks_for_faces_as_asked(predictor):
    astronaut = load_rgb(PHOTOS / "astronaut.png")

    found, _ = predict_and_explain(predictor, astronaut, None)
    only_huge, _ = predict_and_explain(predictor, astronaut, None, min_face_fraction=0.9)
    whole, _ = predict_and_explain(predictor, astronaut, None, min_face_fraction=0.9, whole_image_fallback=True)

    assert [face.whole_image for face in found] == [False]
    assert only_huge == [] and [face.whole_image for face in whole] == [True]
