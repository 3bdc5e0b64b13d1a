"""Dataset: class balance per split, colour and sizes, a sample gallery, and the data's problems."""

import math

import streamlit as st

from emotion_core import comparison, gallery
from emotion_core.datasets import (DatasetError, dataset_version, open_dataset, resolve_dataset_path, shared_images_note,
                                   structure_notes)
from ui import charts
from ui.common import dataset_summary, deployed_run, no_dataset_hint, selected_dataset

THUMBNAIL = 96  # pixels: 48x48 faces doubled, sharp enough to read an expression
PER_ROW = 6  # samples per class, and copies shown per duplicate group: one row on a wide screen
SEED_KEY = "gallery_seed"


@st.cache_resource(show_spinner="Listing the images…", max_entries=4)
def cached_dataset(path: str, version: float):
    # A resource, not data: the listing of ~35k names is shared as-is instead of copied per rerun.
    return open_dataset(path)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_thumbnails(path: str, version: float, names: tuple[str, ...]) -> list:
    images = gallery.load_thumbnails(cached_dataset(path, version), names, size=THUMBNAIL)
    return [images[name] for name in names]


def recorded_counts_ui() -> None:
    """Without a data set, the class counts the deployed run recorded are still worth showing."""
    run = deployed_run()
    if run is not None and run.dataset.get("counts"):
        st.caption(f"Class counts recorded when `{run.name}` was trained on `{run.dataset.get('name')}`:")
        st.altair_chart(charts.class_counts(comparison.counts_frame(run.dataset["counts"])))


def balance_ui(summary: dict) -> None:
    counts = {split: info["counts"] for split, info in summary["splits"].items()}
    totals = " · ".join(f"{split} {info['total']:,}" for split, info in summary["splits"].items())
    st.markdown(f"**{summary['name']}** ({summary['layout']}): {totals} images.")
    normalised = st.toggle("Share of each split", help="Compare class balance between splits of different sizes.")
    st.altair_chart(charts.class_counts(comparison.counts_frame(counts), normalised))
    # One number per split reads better as a figure than as a chart.
    columns = st.columns(len(counts))
    for column, row in zip(columns, comparison.imbalance_frame(counts).itertuples()):
        column.metric(f"Imbalance ({row.split})", f"{row.ratio:.1f}×" if math.isfinite(row.ratio) else "∞",
                      help=f"largest class {row.largest} ({row.largest_count:,}) / "
                           f"smallest {row.smallest} ({row.smallest_count:,})")
    left, right = st.columns(2)
    left.altair_chart(charts.simple_bars(comparison.color_frame(summary["color"]), "kind", "Grayscale vs colour"))
    right.altair_chart(charts.simple_bars(comparison.sizes_frame(summary["sizes"]), "size", "Image sizes"))


def thumbnails_ui(path: str, version: float, names: list[str], captions: list[str]) -> None:
    """The thumbnails side by side at their own width, wrapping as the screen needs (three a row on a
    phone, where columns would stack them one a row), each over its caption; unreadable ones named."""
    images = cached_thumbnails(path, version, tuple(names))
    shown = [(image, caption) for image, caption in zip(images, captions) if image is not None]
    if shown:
        st.image([image for image, _ in shown], caption=[caption for _, caption in shown], width=THUMBNAIL)
    unreadable = [caption for image, caption in zip(images, captions) if image is None]
    if unreadable:
        st.caption("unreadable: " + ", ".join(unreadable))


def gallery_ui(path: str, version: float, summary: dict) -> None:
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    split = left.selectbox("Split", list(summary["splits"]), key="gallery_split")
    if right.button("Reshuffle", icon=":material/shuffle:"):
        st.session_state[SEED_KEY] = st.session_state.get(SEED_KEY, 0) + 1
    picks = gallery.sample_items(cached_dataset(path, version), split, per_class=PER_ROW,
                                 seed=st.session_state.get(SEED_KEY, 0))
    for class_name, names in picks.items():
        st.markdown(f"**{class_name}**" + ("" if names else ": no images in this split"))
        if names:
            thumbnails_ui(path, version, names, [gallery.caption_name(name) for name in names])


def problems_ui(path: str, version: float, summary: dict) -> None:
    for problem, note in structure_notes(summary):  # what each structural fact means for training
        (st.warning if problem else st.info)(note)
    duplicates = summary["duplicates"]
    figures = st.columns(5)
    figures[0].metric("Unreadable files", f"{len(summary['unreadable']):,}")
    figures[1].metric("Duplicate groups", f"{duplicates['groups']:,}",
                      help=f"{duplicates['extra_copies']:,} extra copies of identical pixels")
    figures[2].metric("Within one split", f"{sum(duplicates['within_split'].values()):,}",
                      help=", ".join(f"{s}: {n:,}" for s, n in duplicates["within_split"].items()) or None)
    figures[3].metric("Across splits", f"{duplicates['across_splits']:,}", help="validation images also in train")
    figures[4].metric("Conflicting labels", f"{duplicates['conflicting_labels']:,}")
    if note := shared_images_note(summary):
        st.caption(note)
    if summary["unreadable"]:
        st.dataframe(summary["unreadable"], hide_index=True)
    shown = []  # a group both conflicting and across splits is shown once
    for kind, title in (("conflicting", "Same image, different labels"), ("across", "Same image in two splits")):
        groups = [group for group in gallery.duplicate_examples(summary, n=3 + len(shown), kind=kind)
                  if group not in shown][:3]
        shown += groups
        if groups:
            st.markdown(f"**{title}** (a few of them)")
        for group in groups:
            st.caption(gallery.describe_group(group))
            members = gallery.members_to_show(group, PER_ROW)
            thumbnails_ui(path, version, [m["file"] for m in members], [f"{m['split']} · {m['label']}" for m in members])


st.title("Dataset")
name = selected_dataset()
if name is None:
    st.info(no_dataset_hint())
    recorded_counts_ui()
    st.stop()

try:
    path = resolve_dataset_path(name)
    version = dataset_version(path)  # part of every cache key below: changed images are read again
    summary = dataset_summary(str(path), version)
except DatasetError as error:
    st.error(str(error))
    st.stop()

balance, samples, problems = st.tabs(["Class balance", "Samples", "Data problems"])
with balance:
    balance_ui(summary)
with samples:
    gallery_ui(str(path), version, summary)
with problems:
    problems_ui(str(path), version, summary)
