"""What every page shares: cached loaders (the UI boundary of caching) and the sidebar.

Core functions stay cache-free; the caches live here, keyed so that a change on disk
(a new deployment, a retrained model) is picked up without restarting the app.
"""

from __future__ import annotations

import gc
import time
from typing import NamedTuple

import streamlit as st

from emotion_core import access, registry
from emotion_core.analysis import analyses_dir
from emotion_core.datasets import DatasetError, data_root, find_datasets, open_dataset, summarize
from emotion_core.drawing import WARM_FROM, overlay, to_rgb_uint8
from emotion_core.faces import DEFAULT_DETECTOR, DETECTOR_DESCRIPTIONS, DETECTORS, FACE_SIZE_DESCRIPTIONS
from emotion_core.labels import EMOTIONS
from emotion_core.wording import accuracy
from ui import charts



class AppPage(NamedTuple):
    path: str
    title: str
    icon: str
    purpose: str  # the line under the page's link on the Home page


# Every page, in navigation order, the first being the default: app.py's navigation and Home's links.
PAGES = [
    AppPage("views/home.py", "Home", ":material/home:", "what the app is and the deployed model's card"),
    AppPage("views/dataset.py", "Dataset", ":material/dataset:",
            "class balance, image sizes, samples and data problems"),
    AppPage("views/models.py", "Models", ":material/leaderboard:", "compare training runs and pick the deployed one"),
    AppPage("views/predict.py", "Predict", ":material/photo_camera:",
            "find faces in a photo and read their expressions"),
    AppPage("views/live.py", "Live", ":material/videocam:", "real-time emotions on a webcam or phone video stream"),
    AppPage("views/analyze.py", "Analyze", ":material/groups:", "emotions across a folder or .zip of photos, per ad"),
    AppPage("views/ads.py", "Ads", ":material/movie:",
            "how viewers reacted to each ad, second by second, from their videos; ads compared"),
    AppPage("views/label.py", "Label", ":material/label:", "label your own faces from an analysis, into a data set"),
    AppPage("views/train.py", "Train", ":material/model_training:", "start, follow and resume training runs"),
]

DATASET_KEY = "dataset"  # session state: the name of the data set the user picked
ADMIN_KEY = "admin.unlocked"  # session state: a digest of the admin password once this session gave it
WRONG_PASSWORD_DELAY = 1.0  # seconds: slows guessing to a crawl, barely noticed by someone who mistyped
RUNTIMES = ("keras", "litert")  # what classifies a cached Predictor's faces (load_predictor)




def _mtime(path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _run_mtime(run_dir) -> float:
    """The newest change to what a Predictor reads of a run: its model file, or its temperature
    (`runs calibrate`), so a calibration is served from the next rerun on."""
    return max(registry.load_run(run_dir).weights_mtime, _mtime(run_dir / registry.CALIBRATION_FILE))


@st.cache_resource(show_spinner="Loading the model…", max_entries=4)
def _cached_predictor(run_name: str, model_mtime: float, detector: str, runtime: str):
    from emotion_core import Predictor
    from emotion_core.serving.export import litert_file

    predictor = Predictor.load(run_name, detector=detector, litert=litert_file(run_name) if runtime == "litert" else None)
    freeze_long_lived()
    return predictor


def load_predictor(run_name: str = registry.DEPLOYED, detector: str = DEFAULT_DETECTOR, runtime: str = "keras"):
    """One Predictor per run, model file version, face detector and runtime, shared by all sessions
    of this process.

    `deployed` is the run serving as deployed: an earlier deployment when the deployed run is broken.
    `runtime` "litert" classifies with the run's LiteRT file (exported and checked on first use,
    `serving.export.litert_file`): Streamlit runs keras.backend.clear_session() after every script
    run, which throws away TensorFlow's kernels while another thread (a live stream) uses them. The
    Keras model stays loaded for Grad-CAM.
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {', '.join(RUNTIMES)}, not '{runtime}'.")
    run_dir, _warning = registry.resolve_serving(run_name)  # the sidebar shows the warning
    return _cached_predictor(run_dir.name, _run_mtime(run_dir), detector, runtime)


def freeze_long_lived() -> None:
    """Keep what lives as long as the process (modules, loaded models) out of later garbage collections.

    Streamlit collects all garbage twice after every script run (runner.postScriptGC, and the
    gc.collect() in keras.backend.clear_session), and a fragment refreshing twice a second is a
    script run. With TensorFlow and the models loaded one full collection walks millions of objects,
    ~250 ms holding the GIL, during which a live stream's frames wait (bench/live_browser.py).
    gc.freeze moves the objects alive now where collections no longer look; unfreezing and
    collecting first frees what an evicted model left in reference cycles.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner="Preparing the explanations…", max_entries=4)
def _cached_explainer(run_name: str, model_mtime: float, _model):
    from emotion_core.explain import Explainer

    return Explainer(_model)


def load_explainer(run_name: str = registry.DEPLOYED, runtime: str = "keras"):
    """One Explainer (tf-keras-vis objects on a float32 copy) per run and model file version, of
    the Keras model of `load_predictor(run_name, runtime=runtime)`.

    Building one clones the model (~0.1-1 s); cached, every request after the first only runs
    forward and backward passes. Keyed like `load_predictor`, but with the mtime hashed.
    """
    run_dir, _warning = registry.resolve_serving(run_name)
    model_mtime = registry.load_run(run_dir).weights_mtime
    return _cached_explainer(run_dir.name, model_mtime, load_predictor(run_name, runtime=runtime).model)


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


@st.cache_data(ttl=30, show_spinner=False)
def _labelled_sets_under(root: str) -> list[str]:
    return [path.name for path in find_datasets(root, require_train=False)]


def labelled_sets() -> list[str]:
    """Every labelled folder under the data root, also one with test/ only (a hold-out, your own
    faces): what runs can be scored on, where `available_datasets` is what they can train on."""
    return _labelled_sets_under(str(data_root()))


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
    """The run serving as deployed (an earlier deployment when the deployed run is broken), or None."""
    name, _warning = registry.usable_deployment()
    return registry.load_run(registry.runs_root() / name) if name else None


def sidebar_status() -> None:
    """The deployed model and the data set in use, on every page; a warning when the deployed run is broken."""
    with st.sidebar:
        name, warning = registry.usable_deployment()
        if warning:
            st.warning(warning, icon=":material/warning:")
        run = registry.load_run(registry.runs_root() / name) if name else None
        if run is None:
            st.caption("Deployed model: none usable" if warning else "Deployed model: none yet")
        else:
            validation = run.validation.get("accuracy")
            figure = f" · val acc {accuracy(validation)}" if validation is not None else ""
            st.caption(f"Deployed model: **{run.name}**{figure}")
        names = available_datasets()
        if names:
            current = selected_dataset()
            st.selectbox("Data set", names, index=names.index(current), key=DATASET_KEY)
        else:
            st.caption("Data set: none found")


def model_ui(label: str = "Model"):
    """A select box of runs with a model file (the deployed one first chosen), and a caption when
    the run learned a subset of the emotions.

    Without any such run it says how to get one and stops the page: every caller needs a model.
    """
    runs = [run for run in registry.list_runs() if run.has_weights and not run.problem]
    if not runs:
        st.info("No trained model yet: train one on the **Train** page or with `python -m emotion_core train`.")
        st.stop()
    names = [run.name for run in runs]
    deployed, _warning = registry.usable_deployment()  # a broken deployed run is not among `runs`
    choice = st.selectbox(label, names, index=names.index(deployed) if deployed in names else 0,
                          format_func=lambda name: f"{name} (deployed)" if name == deployed else name)
    run = runs[names.index(choice)]
    if len(run.classes) < len(EMOTIONS):
        st.caption(f"{run.name} reads {len(run.classes)} emotions only: {', '.join(run.classes)}. "
                   "A face showing another one is still given one of these.")
    return run


def _secrets() -> dict:
    """The admin password from Streamlit secrets, as a plain dict ({} without a secrets file)."""
    try:
        return {access.SECRET_KEY: st.secrets[access.SECRET_KEY]} if access.SECRET_KEY in st.secrets else {}
    except FileNotFoundError:  # no secrets.toml, or one that does not parse: no secret, not a crash
        return {}


def read_only() -> bool:
    """Whether training and deploying are closed to everyone: the app listens beyond localhost
    (`server.address`) and no admin password is set (access.read_only)."""
    return access.read_only(access.admin_password(_secrets()), st.get_option("server.address"))


def admin_unlocked() -> bool:
    """Whether this session may start, cancel or resume training and deploy models (draws nothing)."""
    if read_only():
        return False
    return access.is_unlocked(st.session_state.get(ADMIN_KEY), access.admin_password(_secrets()))


def admin_ui() -> bool:
    """The sidebar's admin password box, drawn only while a password is set and this session lacks it.

    Returns whether this session may change shared state; a page disables those actions on False.
    The right password unlocks the session and reruns the page, without the box.
    """
    if read_only():
        return False  # no password to ask for: locked_hint says how to enable the actions
    if admin_unlocked():
        return True
    expected = access.admin_password(_secrets())
    with st.sidebar:
        given = st.text_input("Admin password", type="password", key="admin.password",
                              help="Training and deploying change what every user sees, so they need the "
                                   "admin password. Predicting does not.")
        if not given:
            return False
        if not access.password_matches(given, expected):
            time.sleep(WRONG_PASSWORD_DELAY)
            st.error("Wrong admin password.")
            return False
    st.session_state[ADMIN_KEY] = access.unlock_token(expected)
    st.rerun()  # draw the page again without the box, the buttons now enabled


FACE_SIZE_LABELS = {"any": "Any size", "all": "All, however small (slower)", "large": "Large only (faster)"}
CROP_WIDTH = 160  # display width of the 48x48 crops: big enough to see, small enough for a phone


def face_options_ui() -> tuple[str, str]:
    """How to look for faces: (a key of faces.FACE_SIZES, a key of faces.DETECTORS)."""
    size_col, detector_col = st.columns([3, 2])
    face_size = size_col.radio(
        "Faces to look for", list(FACE_SIZE_LABELS), format_func=FACE_SIZE_LABELS.get, horizontal=True,
        help="; ".join(f"{FACE_SIZE_LABELS[name]}: {text}" for name, text in FACE_SIZE_DESCRIPTIONS.items()) + ".")
    names = list(DETECTORS)
    detector = detector_col.selectbox(
        "Face detector", names, index=names.index(DEFAULT_DETECTOR), format_func=DETECTOR_DESCRIPTIONS.get,
        help="The CNN finds tilted heads and turns each face upright before the model reads it; "
             "the Haar cascade is kept to compare with.")
    return face_size, detector


def face_panel_ui(model_input, heatmap, heatmap_caption: str, title: str, probabilities: dict,
                  opacity: float = 0.45) -> None:
    """One face: the crop as the model saw it, its heat map (if any), and its probabilities."""
    crop_col, heat_col, chart_col = st.columns([1, 1, 2])
    crop_col.image(to_rgb_uint8(model_input), caption="As the model saw it", width=CROP_WIDTH)
    if heatmap is not None:
        # Only warm spots are coloured: say so when there are none, or the map looks like the crop.
        cold = float(heatmap.max()) < WARM_FROM
        heat_col.image(overlay(model_input, heatmap, opacity), width=CROP_WIDTH,
                       caption=f"{heatmap_caption}: no spot stood out" if cold else heatmap_caption)
    chart_col.markdown(title)
    chart_col.altair_chart(charts.face_probabilities(probabilities), width="stretch")


NARROW_SCREEN_PX = 640  # at most this wide (a phone upright), pages show their narrow variants


def wide_and_narrow(key: str):
    """Two containers: the first shown on wide screens, the second on narrow ones (a phone).

    Streamlit's Python never learns the screen's width, so both are drawn and CSS hides one; an
    element with a key gets the class `st-key-<key>`.
    """
    st.html(f"<style>@media (max-width: {NARROW_SCREEN_PX}px) {{ .st-key-{key}-wide {{ display: none; }} }} "
            f"@media (min-width: {NARROW_SCREEN_PX + 1}px) {{ .st-key-{key}-narrow {{ display: none; }} }}</style>")
    return st.container(key=f"{key}-wide"), st.container(key=f"{key}-narrow")


READ_ONLY_HELP = ("Set an admin password, `admin_password` in `.streamlit/secrets.toml` or the "
                  f"`{access.PASSWORD_ENV}` environment variable, and restart the app: then whoever gives it may "
                  "act. Or run the app for this computer only (`streamlit run app.py` listens on localhost, as "
                  "`.streamlit/config.toml` sets), where every action is open.")


def locked_hint(action: str) -> None:
    """One caption telling a locked session where to unlock `action`, or how to enable it at all."""
    if read_only():
        st.caption(f":material/lock: {action} is turned off: this app can be reached from other computers and "
                   "has no admin password. Set one to turn it on.", help=READ_ONLY_HELP)
    else:
        st.caption(f":material/lock: {action} needs the admin password: enter it in the sidebar.")


def analysis_picker_ui(outputs: list, example: str):
    """A select box of finished analyses (`analysis.outputs`' found folders, each with a `label`): the
    one picked, or None and a hint when there is none yet; `example` is a command that writes one,
    with DIR standing for the analyses folder."""
    if not outputs:
        st.info(f"No finished analysis in `{analyses_dir()}` yet. Write one there first, for example "
                f"`{example.replace('DIR', str(analyses_dir()))}`.")
        return None
    return st.selectbox("Analysis", outputs, format_func=lambda found: found.label)


__all__ = ["PAGES", "AppPage", "DatasetError", "admin_ui", "admin_unlocked", "analysis_picker_ui",
           "available_datasets", "dataset_summary", "deployed_run", "face_options_ui", "face_panel_ui", "load_predictor", "locked_hint", "no_dataset_hint",
           "selected_dataset", "sidebar_status"]
