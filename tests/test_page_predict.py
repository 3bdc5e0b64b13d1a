"""The Predict page driven by AppTest: uploads, the camera, a photo without a face and a bad file.

Streamlit 1.67's AppTest can stage files on `st.file_uploader` and photos on `st.camera_input`
(`set_value((name, bytes, mime))`), so the page is tested as a user drives it, bytes and all.
"""

import io
import json

import cv2
import numpy as np
import pytest
import streamlit as st
from PIL import Image
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from emotion_core import registry
from emotion_core.drawing import WARM_FROM
from emotion_core.explain import METHODS, predict_and_explain
from emotion_core.faces import FaceDetector
from emotion_core.images import load_rgb
from emotion_core.labels import EMOTIONS
from emotion_core.predictor import Predictor
from tests.conftest import PHOTOS, PROJECT, needs_photos

PAGE = str(PROJECT / "views" / "predict.py")
TIMEOUT = 60  # the first run loads TensorFlow and the model


@pytest.fixture
def app(trained_runs):
    registry.deploy("alpha")
    # Caches outlive a test; runs named 'alpha' in another test's registry must not be reused.
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    return at


@pytest.fixture
def sent_images(monkeypatch) -> dict:
    """The bytes of every image the page sends, by media file id: AppTest's elements hold only its URL."""
    sent = {}
    store = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, *args, **kwargs):
        file_id = store(self, path_or_data, *args, **kwargs)
        sent[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return sent


def shown_image(at, sent: dict, caption: str, prefix: bool = False) -> np.ndarray:
    """The one image shown under `caption` (or a caption starting with it), decoded as (h, w, 3) int16 RGB."""
    (shown,) = [image for element in at.get("image") for image in element.proto.imgs
                if image.caption == caption or prefix and image.caption.startswith(caption)]
    data = sent[shown.url.rsplit("/", 1)[-1].split(".")[0]]
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def colourfulness(image: np.ndarray) -> float:
    """Mean spread between the strongest and weakest channel: about 0 for a gray image."""
    return float((image.max(axis=-1) - image.min(axis=-1)).mean())


def photo_bytes(name: str, fmt: str | None = None) -> bytes:
    """A shared photo as it is on disk, or re-encoded (e.g. as the JPEG a camera sends)."""
    path = PHOTOS / name
    if fmt is None:
        return path.read_bytes()
    buffer = io.BytesIO()
    Image.open(path).convert("RGB").save(buffer, format=fmt)
    return buffer.getvalue()


def expected_label(data: bytes) -> str:
    """What the deployed run says of these exact bytes, straight from the core."""
    (face,) = Predictor.load("alpha").predict(data)
    return face.label


def widget(widgets, label: str):
    (found,) = [w for w in widgets if w.label == label]
    return found


def charts(at):
    return at.get("vega_lite_chart")


def texts(at) -> str:
    return "\n".join(element.value for element in at.markdown)


def test_without_a_model_the_page_says_how_to_get_one():
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "No trained model yet" in at.info[0].value


def test_the_page_opens_on_the_upload_box_with_the_finer_choices_folded_below(app):
    first_widget = next(node for node in walk(app.main) if getattr(node, "label", None))
    assert first_widget.label == app.file_uploader[0].label == "Photos"
    (advanced,) = [e for e in app.expander if e.label == "Explanation and face detection"]
    assert not advanced.proto.expanded
    inside = {node.label for node in walk(advanced) if getattr(node, "label", None)}
    assert {"Explanation", "Heat map opacity", "Faces to look for", "Face detector"} <= inside


def walk(node):
    """Every element under `node`, top to bottom."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def test_the_deployed_model_is_the_default_and_any_run_with_weights_can_be_chosen(app):
    model = widget(app.selectbox, "Model")
    assert model.value == "alpha" and set(model.options) >= {"alpha (deployed)", "beta"}
    assert not app.exception


@needs_photos
def test_an_uploaded_photo_shows_its_label_chart_crop_and_downloads(app):
    data = photo_bytes("astronaut.png")
    app.file_uploader[0].set_value(("astronaut.png", data, "image/png")).run()
    assert not app.exception and not app.error
    label = expected_label(data)
    assert f"**{label}**" in texts(app)
    assert len(charts(app)) == 1
    # The annotated photo, the crop as the model saw it, and the crop under its heat map.
    assert len(app.get("image")) == 3
    assert app.expander[1].label.startswith(f"Face 1: {label} ")
    downloads = [button.label for button in app.get("download_button")]
    assert downloads == ["Annotated image (PNG)", "Results (CSV)", "Results (JSON)"]
    assert len(app.dataframe) == 1 and app.dataframe[0].value["emotion"].tolist() == [label]
    # The reading comes first in the table, so a phone shows it without scrolling sideways.
    assert list(app.dataframe[0].proto.column_order[:3]) == ["face", "emotion", "confidence"]


@needs_photos
def test_each_explanation_method_colours_the_warm_part_of_its_map_and_none_draws_none(app, sent_images):
    data = photo_bytes("grace_hopper.jpg")
    app.file_uploader[0].set_value(("grace_hopper.jpg", data, "image/jpeg")).run()
    explanation = widget(app.selectbox, "Explanation")
    coloured = []
    for method in ("gradcam++", "scorecam", "gradcam"):
        explanation.set_value(method).run()
        assert not app.exception and len(charts(app)) == 1
        crop = shown_image(app, sent_images, "As the model saw it")
        heat = shown_image(app, sent_images, METHODS[method], prefix=True)  # captioned with its method
        # The map the core makes of this face, at the crop's size: warm parts coloured, cold ones left gray.
        (_face,), (heatmap,) = predict_and_explain(Predictor.load("alpha"), load_rgb(data), method)
        heatmap = cv2.resize(heatmap, crop.shape[1::-1], interpolation=cv2.INTER_LINEAR)
        warm, cold = heatmap > WARM_FROM + 0.15, heatmap < WARM_FROM - 0.05
        assert heat.shape == crop.shape and colourfulness(crop) < 5
        assert colourfulness(heat[cold]) < 8, method  # the face shows through, not a blue veil (JPEG noise aside)
        if warm.any():
            coloured.append(method)
            assert colourfulness(heat[warm]) > 30, method
        else:
            assert np.abs(heat - crop).mean() < 3 and f"{METHODS[method]}: no spot stood out" in captions(app)
    assert coloured  # at least one method found warm spots on this face, so the colouring was seen
    explanation.set_value("none").run()
    assert not app.exception and len(charts(app)) == 1
    assert captions(app) == ["1 face", "As the model saw it"]  # no heat map without an explanation


def captions(at) -> list[str]:
    return [image.caption for element in at.get("image") for image in element.proto.imgs]


@needs_photos
def test_a_camera_photo_is_classified(app):
    widget(app.toggle, "Take a photo with the camera").set_value(True).run()
    shot = photo_bytes("grace_hopper.jpg", "JPEG")
    app.camera_input[0].set_value(("shot.jpg", shot, "image/jpeg")).run()
    assert not app.exception and not app.error
    assert f"**{expected_label(shot)}**" in texts(app)
    assert len(charts(app)) == 1 and app.subheader[0].value == "camera.jpg"


@needs_photos
def test_no_face_is_said_plainly_and_the_whole_image_can_be_classified(app):
    app.file_uploader[0].set_value(("chelsea.png", photo_bytes("chelsea.png"), "image/png")).run()
    assert "No face found in chelsea.png" in app.info[0].value
    assert not charts(app)
    app.checkbox[0].check().run()
    assert not app.exception
    assert "whole image" in app.warning[0].value
    assert len(charts(app)) == 1 and app.expander[1].label.startswith("Whole image: Face 1")


@needs_photos
def test_large_faces_only_still_finds_a_portrait_and_says_what_it_skips(app):
    widget(app.radio, "Faces to look for").set_value("large").run()
    app.file_uploader[0].set_value([("grace.jpg", photo_bytes("grace_hopper.jpg"), "image/jpeg"),
                                    ("chelsea.png", photo_bytes("chelsea.png"), "image/png")]).run()
    assert not app.exception and not app.error
    assert len(charts(app)) == 1  # Grace Hopper's face
    assert "No face found in chelsea.png" in app.info[0].value and "15%" in app.info[0].value


@needs_photos
def test_webp_bmp_and_a_sideways_phone_jpeg_are_all_read_upright(app):
    # A phone stores the pixels sideways and an EXIF tag saying "turn 90 degrees clockwise".
    sideways = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    Image.open(PHOTOS / "grace_hopper.jpg").convert("RGB").transpose(Image.Transpose.ROTATE_90).save(
        sideways, format="JPEG", exif=exif.tobytes())
    app.file_uploader[0].set_value([("phone.jpg", sideways.getvalue(), "image/jpeg"),
                                    ("astronaut.webp", photo_bytes("astronaut.png", "WEBP"), "image/webp"),
                                    ("astronaut.bmp", photo_bytes("astronaut.png", "BMP"), "image/bmp")]).run()
    assert not app.exception and not app.error and len(charts(app)) == 3
    results = app.dataframe[0].value
    assert list(results["file"]) == ["phone.jpg", "astronaut.webp", "astronaut.bmp"]
    (upright,) = FaceDetector().detect(load_rgb(PHOTOS / "grace_hopper.jpg"))
    phone = results.iloc[0]
    assert abs(phone["x"] - upright.x) <= 5 and abs(phone["width"] - upright.width) <= 5


def test_a_bad_upload_is_one_line_of_error_and_other_files_still_work(app):
    good = Image.new("RGB", (64, 64), (200, 180, 160))  # no face: the page says so and carries on
    buffer = io.BytesIO()
    good.save(buffer, format="PNG")
    app.file_uploader[0].set_value([("notes.jpg", b"these are my notes, not a photo", "image/jpeg"),
                                    ("plain.png", buffer.getvalue(), "image/png")]).run()
    assert not app.exception
    (error,) = app.error
    assert error.value.startswith("notes.jpg: ") and "\n" not in error.value
    assert "No face found in plain.png" in app.info[0].value


@needs_photos
def test_a_three_class_run_predicts_explains_and_exports_its_three_classes(class_set_runs):
    st.cache_resource.clear()
    st.cache_data.clear()
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    widget(at.selectbox, "Model").set_value("trio").run()
    assert widget(at.selectbox, "Explain").options == ["the predicted emotion", "angry", "sad", "neutral"]

    at.file_uploader[0].set_value(("grace.jpg", photo_bytes("grace_hopper.jpg"), "image/jpeg")).run()

    assert not at.exception and not at.error
    (face,) = Predictor.load("trio").predict(photo_bytes("grace_hopper.jpg"))
    assert at.expander[1].label == f"Face 1: {face.label} {face.confidence:.0%} · valence {face.valence}"
    (chart,) = charts(at)
    assert json.loads(chart.proto.spec)["encoding"]["y"]["sort"] == ["angry", "sad", "neutral"]  # three bars
    captions = [image.caption for element in at.get("image") for image in element.proto.imgs]
    assert METHODS["gradcam"] in captions
    results = at.dataframe[0].value
    assert [c for c in results.columns if c in EMOTIONS] == ["angry", "sad", "neutral"]
    assert results[["angry", "sad", "neutral"]].sum(axis=1).item() == pytest.approx(1.0, abs=1e-3)
    assert results["valence"].tolist() == [face.valence]
    widget(at.selectbox, "Explain").set_value("sad").run()
    assert not at.exception and METHODS["gradcam"] in [
        image.caption for element in at.get("image") for image in element.proto.imgs]
