"""Predict: upload photos or take one, read each face's emotion and see where the model looked.

Widgets collect the inputs, `emotion_core` (Predictor, explain) computes, this file lays it out.
"""

from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from emotion_core import registry
from emotion_core.explain import (
    METHODS,
    annotate,
    overlay,
    place_on_image,
    png_bytes,
    results_frame,
    to_rgb_uint8,
)
from emotion_core.faces import FACE_SIZES
from emotion_core.images import ImageError, load_rgb
from emotion_core.labels import EMOTIONS
from pages import charts
from pages.common import face_size_ui, load_explainer, load_predictor, model_ui

UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif"]  # a GIF is read at its first frame
NO_EXPLANATION = "none"
OPEN_FACES = 4  # a photo with up to this many faces shows every face's details; a crowd's start folded
CROP_WIDTH = 160  # display width of the 48x48 crops: big enough to see, small enough for a phone


def explanation_ui() -> tuple[str, str | None, float, bool]:
    """Method key, the emotion to explain (None = each face's prediction), opacity, show on photo."""
    method_col, target_col, opacity_col = st.columns(3)
    method = method_col.selectbox(
        "Explanation", [*METHODS, NO_EXPLANATION], format_func=lambda key: METHODS.get(key, "None (fastest)"),
        help="Grad-CAM and Grad-CAM++ cost about one backward pass; Score-CAM scores 16 masked copies "
             "of each face, so it takes a few tenths of a second a face.")
    target = target_col.selectbox("Explain", [None, *EMOTIONS],
                                  format_func=lambda name: name or "the predicted emotion")
    opacity = opacity_col.slider("Heat map opacity", 0.0, 1.0, 0.45, 0.05)
    on_photo = st.toggle("Heat maps on the photo", value=True, disabled=method == NO_EXPLANATION)
    return method, target, opacity, on_photo


def images_ui() -> list[tuple[str, bytes]]:
    """Uploaded files, then the camera photo, as (name, bytes)."""
    # Streamlit refuses files over server.maxUploadSize (.streamlit/config.toml) before this page sees them.
    uploads = st.file_uploader("Photos", type=UPLOAD_TYPES, accept_multiple_files=True,
                               help=f"JPEG, PNG, WebP, BMP or GIF, up to {st.get_option('server.maxUploadSize')} MB "
                                    "each; phone photos are turned upright from their EXIF tag. Photos are "
                                    "analysed in memory and not saved.")
    images = [(upload.name, upload.getvalue()) for upload in uploads or []]
    # The camera widget asks for camera access as soon as it is drawn, so it waits for a toggle.
    if st.toggle("Take a photo with the camera"):
        photo = st.camera_input("Camera")
        if photo is not None:
            images.append(("camera.jpg", photo.getvalue()))
    return images


@st.cache_data(max_entries=24, show_spinner="Finding faces…")
def analyse(data: bytes, run_name: str, model_mtime: float, method: str, target: str | None,
            face_size: str, whole_image: bool):
    """The decoded photo, its faces and their heat maps (None without explanation).

    Cached on the bytes and every choice, so moving the opacity slider only redraws.
    """
    rgb = load_rgb(data)
    faces = load_predictor(run_name).predict(rgb, whole_image_fallback=whole_image,
                                             min_face_fraction=FACE_SIZES[face_size])
    if not faces or method == NO_EXPLANATION:
        return rgb, faces, None
    classes = [EMOTIONS.index(target or face.label) for face in faces]
    maps = load_explainer(run_name).heatmaps(np.stack([face.model_input for face in faces]), classes, method)
    return rgb, faces, maps


def face_ui(number: int, face, heatmap, opacity: float, method: str, expanded: bool) -> None:
    title = f"Face {number}: {face.label} ({face.confidence:.0%})"
    with st.expander("Whole image: " + title if face.whole_image else title, expanded=expanded):
        crop_col, heat_col, chart_col = st.columns([1, 1, 2])
        crop_col.image(to_rgb_uint8(face.model_input), caption="As the model saw it", width=CROP_WIDTH)
        if heatmap is not None:
            heat_col.image(overlay(face.model_input, heatmap, opacity), caption=METHODS[method], width=CROP_WIDTH)
        chart_col.markdown(f"**{face.label}** · {face.confidence:.0%}")
        chart_col.altair_chart(charts.face_probabilities(face.probabilities), width="stretch")


def image_ui(index: int, name: str, data: bytes, run, explanation, face_size: str) -> pd.DataFrame | None:
    """One photo's annotated picture, faces and download; returns its results table."""
    method, target, opacity, on_photo = explanation
    st.subheader(name)
    args = (data, run.name, run.model_path.stat().st_mtime, method, target, face_size)
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
    st.image(shown, caption=f"{len(faces)} face(s)", width="stretch")
    stem = name.rsplit(".", 1)[0]
    st.download_button("Annotated image (PNG)", partial(png_bytes, shown), f"{stem}-annotated.png", "image/png",
                       key=f"png-{index}-{name}", icon=":material/download:")
    for number, face in enumerate(faces, start=1):
        face_ui(number, face, None if maps is None else maps[number - 1], opacity, method,
                expanded=len(faces) <= OPEN_FACES)
    return results_frame(faces, name, run.name)


st.title("Predict")
run = model_ui()
explanation = explanation_ui()
face_size = face_size_ui()
images = images_ui()
if not images:
    st.caption("Upload one or more photos, or take one with the camera.")
    st.stop()

try:
    load_predictor(run.name)
except (registry.RunError, OSError, ValueError) as error:  # a model file Keras cannot read
    st.error(f"Cannot load {run.name}: {str(error).splitlines()[0]}")
    st.stop()

tables = [image_ui(index, name, data, run, explanation, face_size) for index, (name, data) in enumerate(images)]
tables = [table for table in tables if table is not None]
if tables:
    results = pd.concat(tables, ignore_index=True)
    st.subheader("All results")
    st.dataframe(results, hide_index=True)
    csv_col, json_col = st.columns(2)
    csv_col.download_button("Results (CSV)", partial(results.to_csv, index=False), "emotions.csv", "text/csv",
                            icon=":material/download:")
    json_col.download_button("Results (JSON)", partial(results.to_json, orient="records", indent=2),
                             "emotions.json", "application/json", icon=":material/download:")
