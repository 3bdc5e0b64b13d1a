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


@st.cache_resource(show_spinner="Preparing the explanations…", max_entries=4)
def _cached_explainer(run_name: str, model_mtime: float, _model):
    from emotion_core.explain import Explainer

    return Explainer(_model)


def load_explainer(run_name: str = registry.DEPLOYED):
    """One Explainer (tf-keras-vis objects on a float32 copy) per run and model file version.

    Building one clones the model (~0.1-1 s); cached, every request after the first only runs
    forward and backward passes. Keyed like `load_predictor`, but with the mtime hashed.
    """
    run_dir = registry.resolve_run(run_name)
    model_mtime = _mtime(run_dir / registry.MODEL_FILE)
    return _cached_explainer(run_dir.name, model_mtime, load_predictor(run_name).model)


@st.cache_data(show_spinner="Reading the data set…", max_entries=8)
def dataset_summary(path: str, version: float) -> dict:
    """`version` (the folders' modification times) is part of the key: changed data is re-read."""
    return summarize(open_dataset(path))


@st.cache_data(ttl=30, show_spinner=False)
def _datasets_under(root: str) -> list[str]:
    # Opening every data set to check it takes about a second on FER2013; every page asks.
    return [path.name for path in find_datasets(root)]


def available_datasets() -> list[str]:
    return _datasets_under(str(data_root()))


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
