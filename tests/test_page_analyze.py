"""The Analyze page driven by AppTest: a small upload analysed, summarised, its faces explained.

Uploads are generated photos (the portraits' faces tiled on plain canvases, see tests/analysis/photos.py),
a photo without a face and a file that is not an image; the model is the tiny run 'alpha'.
By default nothing of an upload may stay on disk; ticking "Keep the photos" keeps it, resumable.
"""

import io
import json
import zipfile
from pathlib import Path

import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from emotion_core import registry
from emotion_core.analysis import (analyze, pipeline, read_results, results_path, store_uploads, upload_digest,
                                   valence_verdict)
from emotion_core.datasets import cache_dir
from emotion_core.labels import EMOTIONS
from emotion_core.predictor import Predictor
from emotion_core.valence import VALENCE, VALENCES
from emotion_core.wording import percent
from tests.analysis.photos import face_tiles, group_photo
from tests.conftest import PROJECT, needs_photos

PAGE = str(PROJECT / "views" / "analyze.py")
KEEP = "Keep the photos on this server so an interrupted analysis can continue"
TIMEOUT = 90  # the first analysis loads TensorFlow and the model; the first Grad-CAM copies the model


@pytest.fixture
def app(trained_runs):
    registry.deploy("alpha")
    # Caches outlive a test; runs named 'alpha' in another test's registry must not be reused.
    st.cache_resource.clear()
    st.cache_data.clear()
    return AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()


@pytest.fixture(scope="module")
def photos() -> dict[str, bytes]:
    """Two photos with 3 faces between them, one without a face, and notes saved as .jpg."""
    tiles = face_tiles()
    return {"two.png": encoded(group_photo(tiles, ["astronaut", "astronaut"])),
            "one.jpg": encoded(group_photo(tiles, ["grace"]), "JPEG"),
            "one.gif": encoded(group_photo(tiles, ["grace"]), "GIF"),
            "plain.png": encoded(Image.new("RGB", (320, 240), (90, 120, 150))),
            "notes.jpg": b"these are notes, not a photo"}


def encoded(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def upload(app: AppTest, files: dict[str, bytes]) -> AppTest:
    mime = {"png": "image/png", "jpg": "image/jpeg", "gif": "image/gif", "zip": "application/zip"}
    return app.file_uploader[0].set_value([(name, data, mime[name.rsplit(".", 1)[1]])
                                           for name, data in files.items()]).run()


def in_page_order(app: AppTest) -> list[str]:
    """The value or label of every element of the page, top to bottom."""
    found = []

    def walk(node):
        text = getattr(node, "label", None) or getattr(node, "value", None)
        if isinstance(text, str):
            found.append(text)
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(app.main)
    return found


def widget(widgets, label: str):
    (found,) = [w for w in widgets if w.label == label]
    return found


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def left_of(files: dict[str, bytes], folder: Path) -> list[Path]:
    """Files under `folder` holding an uploaded file or results (TensorFlow leaves code of its own there)."""
    uploaded = set(files.values())
    return [path for path in files_under(folder) if path.suffix == ".csv" or path.read_bytes() in uploaded]


def test_without_a_model_the_page_says_how_to_get_one():
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "No trained model yet" in at.info[0].value


@needs_photos
def test_an_upload_is_analysed_summarised_and_a_face_explained_with_nothing_left_on_disk(app, photos,
                                                                                       private_tmp):
    files = {name: photos[name] for name in ("two.png", "one.gif", "plain.png", "notes.jpg")}
    upload(app, files)
    assert widget(app.checkbox, KEEP).value is False
    widget(app.button, "Analyze 4 photos").click().run()

    assert not app.exception, [e.message for e in app.exception]
    # The photos were analysed from a temporary folder, gone now; nothing was kept in the cache.
    assert left_of(files, private_tmp) == [] and files_under(cache_dir()) == []
    assert metrics(app) == {"Photos": "4", "Faces": "3", "Photos without a face": "33%", "Unreadable files": "1"}
    assert len(app.get("vega_lite_chart")) == 4  # distribution, mean probabilities, valence shares and means
    summary, valences = app.dataframe[0].value, app.dataframe[1].value
    assert summary["emotion"].tolist() == list(EMOTIONS) and summary["faces"].sum() == 3
    assert summary["share"].tolist() == [percent(faces / 3) for faces in summary["faces"]]  # '33%', one format
    assert valences["valence"].tolist() == ["positive", "neutral", "negative"] and valences["faces"].sum() == 3
    # Results first: the verdict heads the page, above the upload; the button that started it is gone.
    assert app.subheader[0].value.startswith("Only 3 faces: too few to say how people reacted")
    assert in_page_order(app).index(app.subheader[0].value) < in_page_order(app).index("Photos, or one .zip of them")
    assert not [button for button in app.button if button.label.startswith("Analyze")]
    assert [b.label for b in app.get("download_button")] == ["Results, one row per face (CSV)", "Summary (CSV)",
                                                             "Valence summary (CSV)"]
    assert "Photos without a face or unreadable (2)" in [e.label for e in app.expander]

    # The grid shows every face given the chosen emotion; picking one shows its Grad-CAM.
    emotion = widget(app.selectbox, "Emotion").value
    (grid,) = app.get("image")
    assert len(grid.captions) == summary.set_index("emotion").loc[emotion, "faces"]
    app.pills[0].set_value(1).run()
    assert not app.exception, [e.message for e in app.exception]
    captions = [caption for image in app.get("image") for caption in image.captions]
    # the tiny model's map may have no warm spot: the caption then says so after the emotion
    assert "As the model saw it" in captions
    assert any(caption.startswith(f"Grad-CAM: {emotion}") for caption in captions)
    assert len(app.get("vega_lite_chart")) == 5  # and the face's probabilities
    assert left_of(files, private_tmp) == [] and files_under(cache_dir()) == []  # all from memory


@needs_photos
def test_an_interrupted_analysis_is_continued_not_redone(app, photos, monkeypatch):
    files = {name: photos[name] for name in ("two.png", "one.jpg", "plain.png")}
    # As if the page had been left mid-way: the first photo's rows are on disk.
    source = store_uploads(list(files.items()), cache_dir() / "analyses")
    monkeypatch.setattr(pipeline, "FACES_PER_BATCH", 1)

    def stop_after_one(done, total):
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        analyze(source, results_path(source, "alpha"), Predictor.load("alpha"), stop_after_one)

    upload(app, files)
    assert not [b for b in app.button if b.label.startswith("Continue")]  # not kept: analysed afresh
    widget(app.checkbox, KEEP).check().run()
    widget(app.button, "Continue: 2 of 3 photos left").click().run()
    assert not app.exception
    assert metrics(app)["Photos"] == "3" and metrics(app)["Faces"] == "3"
    assert len(read_results(results_path(source, "alpha"))) == 4  # 3 faces + 1 without, once each


@needs_photos
def test_a_zip_with_folders_compares_them_side_by_side(app, photos):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ads/spring/two.png", photos["two.png"])
        archive.writestr("ads/summer/one.jpg", photos["one.jpg"])
        archive.writestr("ads/summer/plain.png", photos["plain.png"])
    upload(app, {"ads.zip": buffer.getvalue()})
    widget(app.button, "Analyze 3 photos").click().run()

    assert not app.exception, [e.message for e in app.exception]
    assert widget(app.toggle, "Compare folders side by side").value is True
    groups, summary, valences = (frame.value for frame in app.dataframe[:3])
    assert groups[["group", "images", "faces"]].values.tolist() == [["spring", 1, 2], ["summer", 2, 1]]
    assert groups["no_face_share"].tolist() == ["0%", "50%"]
    assert len(summary) == 14 and summary.groupby("group")["faces"].sum().to_dict() == {"spring": 2, "summer": 1}
    assert len(valences) == 6 and set(valences.groupby("group")["faces"].sum()) == {2, 1}
    # The headline weighs the two folders (core tests check its wording from the counts).
    verdict = app.subheader[0].value
    assert verdict == valence_verdict(read_results(io.BytesIO(analysis_csv(app))), by="group") and "spring" in verdict
    assert widget(app.selectbox, "Folder").options == ["all folders", "spring", "summer"]

    widget(app.toggle, "Compare folders side by side").set_value(False).run()
    assert not app.exception
    summary, _valences, skipped = app.dataframe  # the folder table is gone; the photos without a face stay listed
    assert "group" not in summary.value and skipped.value["file"].tolist() == ["ads/summer/plain.png"]
    assert app.subheader[0].value.startswith("Only 3 faces: too few to say how people reacted")


@needs_photos
def test_kept_photos_stay_until_deleted_and_the_results_still_show(app, photos):
    upload(app, {name: photos[name] for name in ("two.png", "one.jpg")})
    widget(app.checkbox, KEEP).check().run()
    widget(app.button, "Analyze 2 photos").click().run()
    assert not app.exception, [e.message for e in app.exception]
    kept = cache_dir() / "analyses" / upload_digest([(name, photos[name]) for name in ("two.png", "one.jpg")])
    assert sorted(path.name for path in files_under(kept)) == ["one.jpg", "results-alpha.csv", "two.png"]

    widget(app.button, "Delete the kept photos and results").click().run()
    assert not app.exception, [e.message for e in app.exception]
    assert files_under(cache_dir() / "analyses") == []
    assert widget(app.checkbox, KEEP).value is False  # or the next rerun would keep them again
    assert metrics(app)["Faces"] == "3"  # the results, held in memory, still show
    app.pills[0].set_value(1).run()
    assert not app.exception and "As the model saw it" in [c for image in app.get("image") for c in image.captions]


def test_gif_is_among_the_upload_types(app):
    upload(app, {"face.png": encoded(Image.new("RGB", (8, 8)))})  # the uploader is drawn before any upload too
    assert {".gif", ".zip"} <= set(app.file_uploader[0].allowed_type)
    assert {".tif", ".tiff"} <= set(app.file_uploader[0].allowed_type)  # the "no images" error names TIFF


def test_mixing_a_zip_and_images_is_one_line_of_error(app):
    upload(app, {"ads.zip": b"PK", "face.png": encoded(Image.new("RGB", (8, 8)))})
    assert not app.exception
    assert app.error[0].value == "Upload either one .zip or several images, not both."


@needs_photos
def test_the_valence_table_is_the_one_worked_out_from_the_results_csv(app, photos):
    upload(app, {name: photos[name] for name in ("two.png", "one.jpg", "plain.png")})
    widget(app.button, "Analyze 3 photos").click().run()
    assert not app.exception, [e.message for e in app.exception]

    faces = read_results(io.BytesIO(analysis_csv(app))).query("status == 'ok'")
    # By hand: a face's valence is its emotion's; its positive probability is happy + surprise.
    expected = {valence: (faces["emotion"].map(VALENCE) == valence).mean() for valence in VALENCES}
    positive = (faces["happy"] + faces["surprise"]).mean()

    valences = app.dataframe[1].value.set_index("valence")
    assert valences["share"].to_dict() == {valence: percent(share) for valence, share in expected.items()}
    assert valences.loc["positive", "score"] == percent(positive)
    # The lay names of the columns, each with its help.
    columns = json.loads(app.dataframe[1].proto.columns)
    assert {key: (columns[key]["label"], bool(columns[key]["help"])) for key in ("share", "share_range", "score",
                                                                                 "score_range")} == {
        "share": ("share of faces", True), "share_range": ("likely range", True),
        "score": ("average score", True), "score_range": ("score range", True)}
    assert (faces["valence"] == faces["emotion"].map(VALENCE)).all()


def analysis_csv(app: AppTest) -> bytes:
    """The results CSV the page holds in this session (what its download button serves)."""
    _key, analysis = app.session_state["analyze.held"]
    return analysis.csv


@needs_photos
def test_a_three_class_run_analyses_into_its_own_columns(class_set_runs, photos):
    st.cache_resource.clear()
    st.cache_data.clear()
    app = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    widget(app.selectbox, "Model").set_value("trio").run()
    assert any(caption.value.startswith("trio reads 3 emotions only: angry, sad, neutral.") for caption in app.caption)
    upload(app, {name: photos[name] for name in ("two.png", "one.jpg")})
    widget(app.button, "Analyze 2 photos").click().run()

    assert not app.exception, [e.message for e in app.exception]
    summary, valences = app.dataframe[0].value, app.dataframe[1].value
    assert summary["emotion"].tolist() == ["angry", "sad", "neutral"] and summary["faces"].sum() == 3
    assert valences["valence"].tolist() == ["neutral", "negative"]  # it learned no positive emotion
    captions = [caption.value for caption in app.caption]
    assert "trio learned no positive emotion, so it cannot report that valence." in captions
    columns = read_results(io.BytesIO(analysis_csv(app))).columns
    assert "happy" not in columns and {"angry", "sad", "neutral", "valence"} <= set(columns)
    app.pills[0].set_value(1).run()
    assert not app.exception, [e.message for e in app.exception]
    assert len(app.get("vega_lite_chart")) == 5  # emotions and valence (two each), the face's probabilities


def write_output(photos: dict[str, bytes], folder: Path, name: str, model: str = "alpha") -> Path:
    """An output folder as `analyze PHOTOS --out analyses/NAME` writes it (either engine writes the same)."""
    from emotion_core.analysis import analyses_dir
    from emotion_core.cli import main

    folder.mkdir()
    for file_name in ("two.png", "plain.png", "notes.jpg"):
        (folder / file_name).write_bytes(photos[file_name])
    assert main(["analyze", str(folder), "--out", str(analyses_dir() / name), "--model", model]) == 0
    return analyses_dir() / name


def open_finished(app: AppTest) -> AppTest:
    app.get("button_group")[0].set_value("Open a finished analysis").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


@needs_photos
def test_a_finished_output_folder_is_charted_with_its_faces(app, photos, tmp_path):
    write_output(photos, tmp_path / "campaign", "spring")
    open_finished(app)
    assert widget(app.selectbox, "Analysis").value.path.name == "spring"
    assert metrics(app) == {"Photos": "3", "Faces": "2", "Photos without a face": "50%", "Unreadable files": "1"}
    assert len(app.get("vega_lite_chart")) == 4
    (grid,) = app.get("image")  # the faces are cut from the photos the manifest names
    assert len(grid.captions) == 2


@needs_photos
def test_a_finished_output_whose_photos_are_gone_shows_its_results_without_faces(app, photos, tmp_path):
    import shutil

    write_output(photos, tmp_path / "campaign", "summer")
    shutil.rmtree(tmp_path / "campaign")
    open_finished(app)
    assert metrics(app)["Faces"] == "2"
    assert app.get("image") == [] and any("faces are shown when" in caption.value for caption in app.caption)


def test_without_a_finished_output_the_page_says_how_to_make_one(app):
    open_finished(app)
    assert "--engine ray --out" in app.info[0].value
