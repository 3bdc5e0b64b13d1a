"""Predict: upload photos or take one, read each face's emotion and see where the model looked.

Widgets collect the inputs, `emotion_core` computes (explain.predict_and_explain) and draws
(drawing.py), this file lays it out.
"""

from functools import partial

import pandas as pd
import streamlit as st

from emotion_core import registry
from emotion_core.drawing import annotate, place_on_image, png_bytes
from emotion_core.explain import METHODS, predict_and_explain
from emotion_core.faces import FACE_SIZES
from emotion_core.images import IMAGE_SUFFIXES, MAX_PHOTO_MB, ImageError, load_rgb
from emotion_core.predictor import results_frame
from emotion_core.wording import percent, plural
from ui.common import face_options_ui, face_panel_ui, load_explainer, load_predictor, model_ui

UPLOAD_TYPES = [suffix.lstrip(".") for suffix in sorted(IMAGE_SUFFIXES)]  # a GIF is read at its first frame
NO_EXPLANATION = "none"
OPEN_FACES = 4  # a photo with up to this many faces shows every face's details; a crowd's start folded
RESULT_COLUMNS_FIRST = ["face", "emotion", "confidence", "valence", "file"]


def explanation_ui(classes) -> tuple[str, str | None, float, bool]:
    """Method key, the emotion to explain (None = each face's prediction; one of the run's `classes`),
    opacity, show on photo."""
    method_col, target_col, opacity_col = st.columns(3)
    method = method_col.selectbox(
        "Explanation", [*METHODS, NO_EXPLANATION], format_func=lambda key: METHODS.get(key, "None (fastest)"),
        help="Grad-CAM and Grad-CAM++ cost about one backward pass; Score-CAM scores 16 masked copies "
             "of each face, so it takes a few tenths of a second a face.")
    target = target_col.selectbox("Explain", [None, *classes],
                                  format_func=lambda name: name or "the predicted emotion")
    opacity = opacity_col.slider("Heat map opacity", 0.0, 1.0, 0.6, 0.05,
                                 help="Of the hottest spots; cooler ones are fainter and cold ones not coloured.")
    on_photo = st.toggle("Heat maps on the photo", value=True, disabled=method == NO_EXPLANATION)
    return method, target, opacity, on_photo


def images_ui() -> list[tuple[str, bytes]]:
    """Uploaded files, then the camera photo, as (name, bytes)."""
    # The browser refuses a photo over MAX_PHOTO_MB before this page sees it (the app's larger
    # server.maxUploadSize is for videos and .zip studies); load_rgb's pixel limit stands behind it.
    uploads = st.file_uploader("Photos", type=UPLOAD_TYPES, accept_multiple_files=True, max_upload_size=MAX_PHOTO_MB,
                               help=f"JPEG, PNG, WebP, BMP or GIF, up to {MAX_PHOTO_MB} MB each; phone photos are "
                                    "turned upright from their EXIF tag. Photos are analysed in memory and not saved.")
    images = [(upload.name, upload.getvalue()) for upload in uploads or []]
    # The camera widget asks for camera access as soon as it is drawn, so it waits for a toggle.
    if st.toggle("Take a photo with the camera"):
        photo = st.camera_input("Camera")
        if photo is not None:
            images.append(("camera.jpg", photo.getvalue()))
    return images


@st.cache_data(max_entries=24, show_spinner="Finding faces…")
def analyse(data: bytes, run_name: str, model_mtime: float, method: str, target: str | None,
            face_size: str, detector: str, whole_image: bool):
    """The decoded photo, its faces and their heat maps (None without explanation).

    Cached on the bytes and every choice, so moving the opacity slider only redraws.
    """
    rgb = load_rgb(data)
    faces, maps = predict_and_explain(load_predictor(run_name, detector), rgb, None if method == NO_EXPLANATION else method,
                                      target, explainer=lambda: load_explainer(run_name),
                                      whole_image_fallback=whole_image, min_face_fraction=FACE_SIZES[face_size])
    return rgb, faces, maps


def face_ui(number: int, face, heatmap, opacity: float, method: str, expanded: bool) -> None:
    title = f"Face {number}: {face.label} {percent(face.confidence)} · valence {face.valence}"
    with st.expander("Whole image: " + title if face.whole_image else title, expanded=expanded):
        face_panel_ui(face.model_input, heatmap, METHODS.get(method, ""),
                      f"**{face.label}** · {face.confidence:.0%}", face.probabilities, opacity)


def image_ui(index: int, name: str, data: bytes, run, explanation, face_size: str,
             detector: str) -> pd.DataFrame | None:
    """One photo's annotated picture, faces and download; returns its results table."""
    method, target, opacity, on_photo = explanation
    st.subheader(name)
    args = (data, run.name, run.weights_mtime, method, target, face_size, detector)
    try:
        rgb, faces, maps = analyse(*args, whole_image=False)
        if not faces:
            st.info(f"No face found in {name}. The detector finds frontal faces at least about "
                    f"{FACE_SIZES[face_size]:.0%} as tall as the photo's shorter side.")
            if not st.checkbox("Classify the whole image as one face", key=f"whole-{index}-{name}"):
                return None
            rgb, faces, maps = analyse(*args, whole_image=True)
    except ImageError as error:
        st.error(f"{name}: {error}")
        return None
    if faces[0].whole_image:
        st.warning("No face was detected: the result below is the whole image classified as one face.")
    shown = rgb
    if maps is not None and on_photo:
        for face, heatmap in zip(faces, maps):
            shown = place_on_image(shown, heatmap, face.box, opacity)
    shown = annotate(shown, faces)
    st.image(shown, caption=plural(len(faces), "face"), width="stretch")
    stem = name.rsplit(".", 1)[0]
    st.download_button("Annotated image (PNG)", partial(png_bytes, shown), f"{stem}-annotated.png", "image/png",
                       key=f"png-{index}-{name}", icon=":material/download:")
    for number, face in enumerate(faces, start=1):
        face_ui(number, face, None if maps is None else maps[number - 1], opacity, method,
                expanded=len(faces) <= OPEN_FACES)
    return results_frame(faces, name, run.name, run.classes)


st.title("Predict")
images = images_ui()  # first: the page opens on the upload box
run = model_ui()
with st.expander("Explanation and face detection", icon=":material/tune:"):
    explanation = explanation_ui(run.classes)
    face_size, detector = face_options_ui()
if not images:
    st.caption("Upload one or more photos, or take one with the camera.")
    st.stop()

try:
    load_predictor(run.name, detector)
except (registry.RunError, OSError, ValueError) as error:  # a model file Keras cannot read
    st.error(f"Cannot load {run.name}: {str(error).splitlines()[0]}")
    st.stop()

tables = [image_ui(index, name, data, run, explanation, face_size, detector)
          for index, (name, data) in enumerate(images)]
tables = [table for table in tables if table is not None]
if tables:
    results = pd.concat(tables, ignore_index=True)
    st.subheader("All results")
    # The reading first, so a phone shows it without scrolling sideways; the downloads keep the CSV's order.
    st.dataframe(results, hide_index=True, column_order=[*RESULT_COLUMNS_FIRST, *(
        column for column in results.columns if column not in RESULT_COLUMNS_FIRST)])
    csv_col, json_col = st.columns(2)
    csv_col.download_button("Results (CSV)", partial(results.to_csv, index=False), "emotions.csv", "text/csv",
                            icon=":material/download:")
    json_col.download_button("Results (JSON)", partial(results.to_json, orient="records", indent=2),
                             "emotions.json", "application/json", icon=":material/download:")
