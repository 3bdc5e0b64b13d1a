"""Tests for emotion_core.predictor on the shared photos, with a tiny trained run.

The tiny run's accuracy is not the point: these check what every prediction must satisfy
(faces found where there are faces, probabilities that sum to one, boxes inside the image).
The results table is checked on hand-made predictions, without photos.
"""

import json

import numpy as np
import pytest
from PIL import Image

from emotion_core.images import ImageError
from emotion_core.labels import EMOTIONS
from emotion_core.faces import FaceBox, crop_face
from emotion_core.predictor import Predictor, results_frame
from emotion_core.valence import VALENCE
from tests.conftest import PHOTOS, needs_photos
from tests.test_drawing import fake_face

@pytest.fixture(scope="module")
def predictor(trained_run_template):
    # Loaded once for the module: predicting never changes the run, so tests may share it.
    return Predictor.load(trained_run_template / "models" / "alpha")


@needs_photos
@pytest.mark.parametrize("photo, faces", [
    ("astronaut.png", 1), ("grace_hopper.jpg", 1), ("chelsea.png", 0), ("coffee.png", 0),
])
def test_faces_are_found_only_where_there_are_faces(predictor, photo, faces):
    assert len(predictor.predict(PHOTOS / photo)) == faces


@needs_photos
@pytest.mark.parametrize("photo", ["astronaut.png", "grace_hopper.jpg"])
def test_each_face_gets_a_probability_for_every_emotion(predictor, photo):
    (face,) = predictor.predict(PHOTOS / photo)

    assert tuple(face.probabilities) == EMOTIONS
    assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert all(0 <= p <= 1 for p in face.probabilities.values())
    assert face.label == max(face.probabilities, key=face.probabilities.get)
    assert face.confidence == max(face.probabilities.values())
    assert face.whole_image is False


@needs_photos
@pytest.mark.parametrize("photo", ["astronaut.png", "grace_hopper.jpg"])
def test_boxes_lie_inside_the_image(predictor, photo):
    width, height = Image.open(PHOTOS / photo).size
    (face,) = predictor.predict(PHOTOS / photo)
    box = face.box

    assert 0 <= box.x and box.x + box.width <= width
    assert 0 <= box.y and box.y + box.height <= height
    assert box.width >= 24 and box.height >= 24 and box.score > 0


@needs_photos
def test_model_input_has_the_models_shape(predictor):
    (face,) = predictor.predict(PHOTOS / "astronaut.png")

    assert face.model_input.shape == predictor.model.input_shape[1:] == (48, 48, 1)
    assert face.model_input.dtype == np.float32
    assert 0 <= face.model_input.min() and face.model_input.max() <= 255
    assert face.model_input.std() > 10  # a face, not a flat patch


@needs_photos
def test_a_run_with_autocontrast_shows_and_explains_the_face_with_its_levels_stretched(trained_run_template):
    stretching = Predictor.load(trained_run_template / "models" / "alpha")  # its own: the mode is changed below
    stretching.tta = "flip+autocontrast"
    dull = (np.asarray(Image.open(PHOTOS / "grace_hopper.jpg").convert("RGB")) * 0.4 + 40).astype(np.uint8)

    (face,) = stretching.predict(dull)

    assert face.model_input.min() == 0 and face.model_input.max() == 255
    np.testing.assert_array_equal(face.model_input, stretching.seen(crop_face(dull, face.box)))
    stretching.tta = "flip"
    (plain,) = stretching.predict(dull)
    assert plain.model_input.min() >= 30 and plain.model_input.max() <= 160  # as the dull photo gave it


@needs_photos
def test_whole_image_fallback_classifies_a_photo_without_faces(predictor):
    width, height = Image.open(PHOTOS / "chelsea.png").size

    (face,) = predictor.predict(PHOTOS / "chelsea.png", whole_image_fallback=True)

    assert face.whole_image is True
    assert face.box.width == face.box.height == min(width, height)
    assert sum(face.probabilities.values()) == pytest.approx(1.0, abs=1e-5)


@needs_photos
def test_fallback_is_not_used_when_a_face_is_found(predictor):
    (face,) = predictor.predict(PHOTOS / "astronaut.png", whole_image_fallback=True)
    assert face.whole_image is False


@needs_photos
def test_the_same_photo_as_bytes_array_or_path_gives_the_same_answer(predictor):
    path = PHOTOS / "grace_hopper.jpg"
    by_path = predictor.predict(path)[0]
    by_bytes = predictor.predict(path.read_bytes())[0]
    by_array = predictor.predict(np.asarray(Image.open(path).convert("RGB")))[0]

    assert by_bytes.box == by_path.box == by_array.box
    assert by_bytes.probabilities == pytest.approx(by_path.probabilities, abs=1e-6)


@needs_photos
def test_as_dict_is_json_ready(predictor):
    (face,) = predictor.predict(PHOTOS / "astronaut.png")
    record = json.loads(json.dumps(face.as_dict()))

    assert record["label"] == face.label
    assert set(record["box"]) == {"x", "y", "width", "height", "score", "landmarks"}
    assert set(record["probabilities"]) == set(EMOTIONS)
    assert record["valence"] == face.valence == VALENCE[face.label]


@needs_photos
def test_text_instead_of_an_image_is_refused_in_one_line(predictor):
    with pytest.raises(ImageError) as error:
        predictor.predict(b"name,emotion\nalice,happy\n")
    message = str(error.value)
    assert "not an image" in message and "\n" not in message


# --- The results table ----------------------------------------------------------------------------


def test_results_frame_has_a_row_per_face_and_exports():
    faces = [fake_face("happy"), fake_face("angry", FaceBox(60, 20, 30, 30, 2.5))]
    table = results_frame(faces, "party.jpg", "alpha")
    assert list(table.columns) == ["file", "face", "x", "y", "width", "height", "detection_score", "landmarks",
                                   "emotion", "confidence", "valence", *EMOTIONS, "whole_image", "model"]
    assert list(table["valence"]) == ["positive", "negative"]  # happy, angry
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


def test_a_litert_only_predictor_gives_the_keras_answers_without_a_keras_model(trained_runs, tmp_path):
    """What `analyze` classifies with (cli.analysis_predictor): the run's LiteRT file alone."""
    from emotion_core.inference import LiteRTModel
    from emotion_core.serving.export import litert_file

    keras_predictor = Predictor.load(trained_runs["alpha"])
    lite = Predictor.load(trained_runs["alpha"], litert=litert_file(trained_runs["alpha"]), litert_only=True)
    assert lite.runtime == "litert" and isinstance(lite.model, LiteRTModel)  # no Keras model behind it
    assert (lite.run_name, lite.classes, lite.tta, lite.temperature) == (
        keras_predictor.run_name, keras_predictor.classes, keras_predictor.tta, keras_predictor.temperature)
    from tests.conftest import face_like_image

    face_like_image(3, np.random.default_rng(0), size=96).save(tmp_path / "face.png")
    expected = keras_predictor.predict(tmp_path / "face.png", whole_image_fallback=True)
    faces = lite.predict(tmp_path / "face.png", whole_image_fallback=True)
    assert [face.label for face in faces] == [face.label for face in expected] and faces
    for face, keras_face in zip(faces, expected):
        assert face.probabilities == pytest.approx(keras_face.probabilities, abs=1e-4)


def test_a_predictor_without_a_model_or_a_litert_file_is_refused():
    with pytest.raises(ValueError, match="needs a model, a LiteRT file, or both"):
        Predictor(None)
