"""What every page shares: cached loaders (the UI boundary of caching) and the sidebar.

Core functions stay cache-free; the caches live here, keyed so that a change on disk
(a new deployment, a retrained model) is picked up without restarting the app.
"""

from __future__ import annotations

import streamlit as st

from emotion_core import registry
from emotion_core.datasets import DatasetError, data_root, find_datasets, open_dataset, summarize

DATASET_KEY = "dataset"  # session state: the name of the data set the user picked


def _mtime(path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _cached_predictor(run_name: str, _model_mtime: float):
    from emotion_core import Predictor

    return Predictor.load(run_name)


def load_predictor(run_name: str = registry.DEPLOYED):
    """One Predictor per run and model file version, shared by all sessions of this process."""
    run_dir = registry.resolve_run(run_name)
    return _cached_predictor(run_dir.name, _mtime(run_dir / registry.MODEL_FILE))


@st.cache_data(show_spinner="Reading the data set…", max_entries=8)
def dataset_summary(path: str, _fingerprint_hint: float) -> dict:
    return summarize(open_dataset(path))


def available_datasets() -> list[str]:
    return [path.name for path in find_datasets()]


def selected_dataset() -> str | None:
    """The data set the user picked (kept across pages), else the first one found."""
    names = available_datasets()
    if not names:
        return None
    chosen = st.session_state.get(DATASET_KEY)
    return chosen if chosen in names else names[0]


def no_dataset_hint() -> str:
    return (f"No data set found under `{data_root()}`. Link one there (for example "
            "`ln -s /path/to/fer2013 data/fer2013`) or set `EMOTION_DATA_DIR`.")


def deployed_run():
    """The deployed run, or None when nothing is deployed or its folder is gone."""
    name = registry.deployed_name()
    if not name:
        return None
    try:
        return registry.load_run(registry.resolve_run(name))
    except registry.RunError:
        return None


def sidebar_status() -> None:
    """The deployed model and the data set in use, on every page."""
    with st.sidebar:
        run = deployed_run()
        if run is None:
            st.caption("Deployed model: none yet")
        else:
            accuracy = run.validation.get("accuracy")
            figure = f" · val acc {accuracy:.1%}" if accuracy is not None else ""
            st.caption(f"Deployed model: **{run.name}**{figure}")
        names = available_datasets()
        if names:
            current = selected_dataset()
            st.selectbox("Data set", names, index=names.index(current), key=DATASET_KEY)
        else:
            st.caption("Data set: none found")


__all__ = ["DatasetError", "available_datasets", "dataset_summary", "deployed_run", "load_predictor",
           "no_dataset_hint", "selected_dataset", "sidebar_status"]
