"""Analyze: how people react to an ad, read from many photos of their faces at once.

Upload photos or a .zip (one sub-folder per ad or campaign to compare them); `emotion_core.analysis`
analyses them with a progress bar, and this page shows the emotions and their valence (positive,
neutral, negative), the faces behind each emotion and, for any face picked, where the model looked
(Grad-CAM). The emotions are the classes of the chosen run.
Unless the user ticks "Keep the photos", the upload is analysed from a temporary folder deleted
as soon as the results and the faces to show are in this session's memory.
"Open a finished analysis" charts an output folder of `analyze --out` (either engine, Ray's
included) under analyses/ (`EMOTION_ANALYSES_DIR`).
"""

from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

from emotion_core import registry
from emotion_core.analysis import (
    KEEP_UPLOADS,
    STATUS_OK,
    TOP_LEVEL,
    Analysis,
    analyses_dir,
    analyze_upload,
    count_images,
    finished_outputs,
    load_output,
    discard_uploads,
    emotion_summary,
    has_groups,
    image_summary,
    kept_files_done,
    readable_summary,
    result_classes,
    store_uploads,
    top_faces,
    upload_digest,
    valence_summary,
    valence_verdict,
)
from emotion_core.datasets import cache_dir
from emotion_core.images import IMAGE_SUFFIXES, ImageError
from emotion_core.valence import VALENCE, VALENCES, valences_of
from emotion_core.wording import percent, plural
from ui import charts
from ui.common import analysis_picker_ui, face_options_ui, face_panel_ui, load_explainer, load_predictor, model_ui

UPLOAD_TYPES = [suffix.lstrip(".") for suffix in sorted(IMAGE_SUFFIXES)] + ["zip"]
GRID_FACES = 24  # faces shown per emotion, most confident first: enough to see a pattern, quick to crop
THUMB_WIDTH = 96
ALL = "all folders"
KEEP_KEY = "analyze.keep"  # session state: the "keep the photos" checkbox
HELD_KEY = "analyze.held"  # session state: ((upload digest, run name, face size), Analysis) of the last analysis
OPENED_KEY = "analyze.opened"  # session state: ((output folder, finished), Analysis) of the last one opened
NEW, OPEN = "Analyze photos", "Open a finished analysis"
# Column names for a lay reader (`readable_summary`'s columns), the figures behind them in each help.
SUMMARY_COLUMNS = {
    "group": "folder", "with_faces": "with faces", "no_face": "without a face",
    "share": st.column_config.TextColumn(
        charts.SHARE, help="Of the faces found, the share the model read this way."),
    "share_range": st.column_config.TextColumn(
        charts.SHARE_RANGE, help="Where the share would likely be in a much larger audience like this one "
                                 "(a 95% interval): wide with few faces, narrow with many."),
    "score": st.column_config.TextColumn(
        charts.SCORE, help="The model scores every face on every emotion (the scores add up to 100%); this is "
                           "the score averaged over the faces. Unlike the share, a face read 40% happy counts "
                           "as partly happy."),
    "score_range": st.column_config.TextColumn(
        charts.SCORE_RANGE, help="Where the average score would likely be with many more faces like these "
                                 "(a 95% interval); '-' with a single face."),
    "no_face_share": st.column_config.TextColumn("share without a face"),
}


def kept_uploads() -> Path:
    return cache_dir() / "analyses"


def uploads_ui() -> list[tuple[str, bytes]]:
    limit = st.get_option("server.maxUploadSize")
    uploads = st.file_uploader(
        "Photos, or one .zip of them", type=UPLOAD_TYPES, accept_multiple_files=True,
        help=f"Up to {limit} MB a file. In a .zip, put each ad's photos in a folder of its own "
             "to compare the ads side by side. For more photos than that, run "
             "`python -m emotion_core analyze FOLDER --csv results.csv`.")
    return [(upload.name, upload.getvalue()) for upload in uploads or []]


def keep_ui(files: list[tuple[str, bytes]]) -> bool:
    """The "keep the photos" checkbox and, while it is ticked, a button deleting what was kept."""
    keep = st.checkbox(
        "Keep the photos on this server so an interrupted analysis can continue", key=KEEP_KEY,
        help="Off, the photos are analysed from a private temporary folder that is deleted as soon as "
             "the results are ready; the results stay in this browser session only. On, the photos "
             f"and their results are saved on the server (the {KEEP_UPLOADS} latest batches).")
    if keep:
        st.button("Delete the kept photos and results", icon=":material/delete:", on_click=_discard, args=(files,))
    return keep


def _discard(files: list[tuple[str, bytes]]) -> None:
    discard_uploads(files, kept_uploads())
    st.session_state[KEEP_KEY] = False  # or the rerun would keep them again
    st.toast("The kept photos and their results are deleted from the server.")


def analysis_ui(files, source: Path | None, run, total: int, face_size: str, detector: str) -> Analysis | None:
    """The start (or continue) button, then the analysis with a progress bar; the analysis once done.

    `source` is the kept upload (resumable: its results CSV sits beside it), or None to analyse
    the upload from a temporary folder deleted as soon as the analysis is in memory.
    """
    done = kept_files_done(source, run.name, face_size, detector)
    if done < total:
        label = f"Analyze {total} photos" if not done else f"Continue: {total - done} of {total} photos left"
        if not st.button(label, type="primary", icon=":material/play_arrow:"):
            return None
    bar = st.progress(0.0, text="Loading the model…")
    try:
        predictor = load_predictor(run.name, detector)
    except (registry.RunError, OSError, ValueError) as error:  # a model file Keras cannot read
        st.error(f"Cannot load {run.name}: {str(error).splitlines()[0]}")
        return None

    def progress(finished, count):
        bar.progress(finished / count, text=f"{finished} of {count} photos")

    try:
        analysis = analyze_upload(files, source, predictor, progress, per_emotion=GRID_FACES, face_size=face_size)
    except (ImageError, OSError) as error:  # the kept upload was pruned or changed under us
        st.error(f"Cannot read the photos: {error}")
        return None
    bar.empty()
    return analysis


@st.cache_data(max_entries=64, show_spinner="Computing Grad-CAM…")
def gradcam(model_input: np.ndarray, emotion: str, classes: tuple, run_name: str, model_version: float) -> np.ndarray:
    """The Grad-CAM map of `model_input` (one face as the model saw it) for `emotion`, one of the run's `classes`."""
    (heatmap,) = load_explainer(run_name).heatmaps(model_input[None], [classes.index(emotion)], "gradcam")
    return heatmap


def overview_ui(frame: pd.DataFrame) -> None:
    overall = image_summary(frame).iloc[0]
    photos, faces, no_face, unreadable = st.columns(4)
    photos.metric("Photos", f"{overall['images']:,}")
    faces.metric("Faces", f"{overall['faces']:,}")
    no_face.metric("Photos without a face", "-" if pd.isna(overall["no_face_share"]) else
                   f"{overall['no_face_share']:.0%}", help="Share of the photos that could be read.")
    unreadable.metric("Unreadable files", f"{overall['unreadable']:,}")


def emotions_ui(frame: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """The two charts and the table behind them; returns that table."""
    summary = emotion_summary(frame, by=by)
    distribution, probability = st.columns(2)
    distribution.altair_chart(charts.emotion_distribution(summary, by is not None), width="stretch")
    probability.altair_chart(charts.mean_probabilities(summary, by is not None), width="stretch")
    st.caption("Each chart's ⋯ menu saves it as PNG or SVG.")
    if by:
        images = image_summary(frame, by=by)
        st.dataframe(images.assign(no_face_share=images["no_face_share"].map(percent)), hide_index=True,
                     column_config=SUMMARY_COLUMNS)
    summary_table_ui(summary, by)
    return summary


def summary_table_ui(summary: pd.DataFrame, by: str | None) -> None:
    """An emotion or valence summary in words and whole percentages (the download keeps every figure)."""
    readable = readable_summary(summary)
    st.dataframe(readable if by else readable.drop(columns="group"), hide_index=True, column_config=SUMMARY_COLUMNS)


def valence_ui(frame: pd.DataFrame, by: str | None, run) -> pd.DataFrame:
    """The valence chart and table (the run's mapping; the default one when `run` is not here); returns the table."""
    st.subheader("Valence")
    mapping = run.valence if run is not None else VALENCE
    summary = valence_summary(frame, by=by, mapping=mapping)
    groups = {valence: [name for name in result_classes(frame) if mapping[name] == valence] for valence in VALENCES}
    st.caption("A face's valence is that of its predicted emotion; its valence score adds up its emotions' "
               "scores: " + "; ".join(f"{valence}: {', '.join(names)}" for valence, names in groups.items()
                                              if names) + ".")
    absent = [valence for valence in VALENCES if valence not in valences_of(result_classes(frame), mapping)]
    if absent:
        st.caption(f"{run.name if run is not None else 'The model'} learned no {' or '.join(absent)} emotion, so it cannot report that valence.")
    shares, probability = st.columns(2)
    shares.altair_chart(charts.valence_shares(summary, by is not None), width="stretch")
    probability.altair_chart(charts.valence_probabilities(summary, by is not None), width="stretch")
    summary_table_ui(summary, by)
    return summary


def faces_ui(analysis: Analysis, run) -> None:
    """A grid of the faces given one emotion; picking one shows its Grad-CAM."""
    st.subheader("Faces by emotion")
    frame = analysis.results
    faces = frame[frame["status"] == STATUS_OK]
    if faces.empty:
        st.info("No face was found in any photo.")
        return
    if not analysis.thumbnails:
        st.caption("The faces are shown when the analysed photos are a folder or .zip on this server and "
                   "their model is in its registry.")
        return
    emotion_col, group_col = st.columns(2)
    group = ALL
    if has_groups(frame):
        group = group_col.selectbox("Folder", [ALL, *sorted(faces["group"].unique())],
                                    format_func=lambda name: name or TOP_LEVEL)
        faces = faces if group == ALL else faces[faces["group"] == group]
    counts = faces["emotion"].value_counts()
    emotion = emotion_col.selectbox("Emotion", [e for e in result_classes(frame) if e in counts],
                                    format_func=lambda name: f"{name} ({counts[name]} faces)")
    # The same call that chose the faces `analysis` holds, so every one shown is there.
    shown = top_faces(frame, emotion, GRID_FACES, None if group == ALL else group)
    st.image([analysis.thumbnails[row] for row in shown.index],
             caption=[f"{n} · {p:.0%}" for n, p in enumerate(shown["confidence"], start=1)], width=THUMB_WIDTH)
    if len(shown) < counts[emotion]:
        st.caption(f"The {len(shown)} most confident of {counts[emotion]} faces.")
    picked = st.pills("Explain a face", list(range(1, len(shown) + 1)), key=f"pick-{group}-{emotion}")
    if picked is not None:
        row = shown.index[picked - 1]
        explanation_ui(frame.loc[row], analysis.model_inputs[row], run)


def explanation_ui(row: pd.Series, model_input: np.ndarray, run) -> None:
    heatmap = gradcam(model_input, row["emotion"], run.classes, run.name, run.weights_mtime)
    face_panel_ui(model_input, heatmap, f"Grad-CAM: {row['emotion']}",
                  f"**{row['file']}**, face {int(row['face'])}: **{row['emotion']}** · {row['confidence']:.0%}"
                  f" · {row['valence']}", {e: row[e] for e in run.classes})


def downloads_ui(analysis: Analysis, summary: pd.DataFrame, valences: pd.DataFrame) -> None:
    results_col, summary_col, valence_col = st.columns(3)
    results_col.download_button("Results, one row per face (CSV)", analysis.csv, "emotions.csv",
                                "text/csv", icon=":material/download:")
    summary_col.download_button("Summary (CSV)", partial(summary.to_csv, index=False), "emotion-summary.csv",
                                "text/csv", icon=":material/download:")
    valence_col.download_button("Valence summary (CSV)", partial(valences.to_csv, index=False),
                                "valence-summary.csv", "text/csv", icon=":material/download:")
    frame = analysis.results
    skipped = frame[frame["status"] != STATUS_OK]
    if not skipped.empty:
        with st.expander(f"Photos without a face or unreadable ({len(skipped)})"):
            st.dataframe(skipped[["file", "group", "status"]], hide_index=True)


def finished_ui():
    """A select box of finished output folders; (Analysis, its run or None), or None when there is none."""
    output = analysis_picker_ui(finished_outputs(analyses_dir()),
                                "python -m emotion_core analyze PHOTOS --engine ray --out DIR/NAME")
    if output is None:
        return None
    runs = {run.name: run for run in registry.list_runs() if run.has_weights and not run.problem}
    run = runs.get(str(output.manifest.get("model", "")))
    key = (str(output.path), output.manifest.get("finished"))
    held_key, analysis = st.session_state.get(OPENED_KEY, (None, None))
    if held_key != key:
        try:
            with st.spinner("Reading the results and cutting out the faces…"):
                predictor = load_predictor(run.name) if run is not None else None
                analysis = load_output(output, predictor, GRID_FACES)
        except (ImageError, OSError, registry.RunError, ValueError) as error:
            st.warning(f"Showing the results without faces: {str(error).splitlines()[0]}")
            analysis = load_output(output, None, GRID_FACES)
        st.session_state[OPENED_KEY] = (key, analysis)
    if run is None:
        st.caption(f"Its model, {output.manifest.get('model', 'unknown')}, is not in this registry: "
                   "the default valence of each emotion is used, and no face is shown.")
    return analysis, run


def results_ui(analysis: Analysis, run) -> None:
    frame = analysis.results
    grouped = has_groups(frame) and st.toggle("Compare folders side by side", value=True)
    if (frame["status"] == STATUS_OK).any():
        mapping = run.valence if run is not None else VALENCE
        st.subheader(valence_verdict(frame, by="group" if grouped else None, mapping=mapping))
    overview_ui(frame)
    summary = emotions_ui(analysis.results, "group" if grouped else None)
    valences = valence_ui(analysis.results, "group" if grouped else None, run)
    downloads_ui(analysis, summary, valences)
    faces_ui(analysis, run)


st.title("Analyze")
st.caption("The emotional response to an ad, from a batch of photos of people's faces.")
if st.segmented_control("Photos", [NEW, OPEN], default=NEW, label_visibility="collapsed") == OPEN:
    opened = finished_ui()
    if opened:
        results_ui(*opened)
    st.stop()
# The results of the upload below come first, above the choices that made them.
results_area = st.container()
run = model_ui()
face_size, detector = face_options_ui()
files = uploads_ui()
if not files:
    st.caption("Upload photos, or a .zip with one folder per ad or campaign to compare them.")
    st.stop()
keep = keep_ui(files)
try:
    total = count_images(files)
    source = store_uploads(files, kept_uploads()) if keep and total else None
except ValueError as error:
    st.error(str(error))
    st.stop()
if not total:
    st.error("The upload holds no images (JPEG, PNG, WebP, BMP, GIF or TIFF).")
    st.stop()

# Held in this session's memory, so regrouping or picking a face needs no photo on disk.
key = (upload_digest(files), run.name, face_size, detector)
held_key, analysis = st.session_state.get(HELD_KEY, (None, None))
if held_key != key:
    analysis = analysis_ui(files, source, run, total, face_size, detector)
    if analysis is None:
        st.stop()
    st.session_state[HELD_KEY] = (key, analysis)  # only the latest: one batch's faces per session
    st.rerun()  # drawn again from memory: the results on top, no "Analyze" button left as if nothing ran

with results_area:
    results_ui(analysis, run)
    st.caption(f"{plural(total, 'photo')} analysed with {run.name}. To analyse others, change the upload below.")
    st.divider()
