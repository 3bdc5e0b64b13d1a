"""Train: start a training job in the background, then follow every job as it trains.

A job runs in its own process (emotion_core.jobs), so it keeps going when this tab closes or the
app restarts; the list below re-reads the jobs' files every few seconds. The options and their
defaults come from emotion_core.config, with the reason for each default as the widget's help.
"""

import math
import uuid
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import streamlit as st

from emotion_core import comparison, config, jobs, registry, report
from emotion_core.architectures import ARCHITECTURES
from emotion_core.datasets import data_root
from emotion_core.faceset import face_sets
from emotion_core.wording import accuracy
from ui import charts
from ui.common import admin_ui, admin_unlocked, available_datasets, locked_hint, no_dataset_hint, selected_dataset

REFRESH_SECONDS = 3  # a tiny epoch takes seconds; reading a few small JSON files is cheap
MAIN_OPTIONS = ("epochs", "batch_size", "optimizer", "learning_rate", "schedule", "augment", "class_weights",
                "name")
OWN_OPTIONS = ("own_faces", "own_share", "own_holdout")  # a fine-tune on your own faces, in a row of their own
SHOWN_FINISHED = 10  # older jobs stay in `python -m emotion_core jobs list`
SOURCE_KEY = "train.source"
REQUEST_KEY = "train.request_id"
STATUS_ICONS = {"queued": ":material/schedule:", "running": ":material/autorenew:",
                "succeeded": ":material/check_circle:", "failed": ":material/error:",
                "cancelled": ":material/cancel:"}


def option_key(name: str) -> str:
    return f"train.{name}"


@st.cache_data(show_spinner="Counting parameters…")
def parameter_count(arch: str, image_size: int, channels: int) -> int:
    from emotion_core.architectures import build_model

    return build_model(arch, (image_size, image_size, channels)).count_params()


# --- Options -----------------------------------------------------------------------------------------


def prefill(values: dict) -> None:
    """Put config values into the option widgets (as the type each widget holds)."""
    for option in config.training_options():
        value = values.get(option["name"], option["default"])
        if isinstance(option["default"], (int, float)) and not isinstance(option["default"], bool):
            value = type(option["default"])(value)  # JSON may hold 0 for a float: widgets insist on one type
        elif isinstance(option["default"], tuple):
            value = list(value)  # a multiselect holds a list
        st.session_state[option_key(option["name"])] = value


def _load_source() -> None:
    source = st.session_state[SOURCE_KEY]
    if source is None:
        prefill({"data": selected_dataset() or ""})
    else:
        prefill(jobs.retrain_values(source))


def fine_tune_ui() -> None:
    """One click puts the settings of a fine-tune on your own faces into the form (config.FINE_TUNE)."""
    st.button("Fine-tune settings", icon=":material/tune:", on_click=prefill_some, args=(config.FINE_TUNE,),
              help="For a fine-tune on your own faces: " + ", ".join(
                  f"{config.option_label(key).lower()} {config.value_text(key, value)}"
                  for key, value in config.FINE_TUNE.items()) + ". One epoch at a learning rate of 0.001 cost "
                  "0.8 points of validation accuracy; at 0.0001 it kept it.")


def prefill_some(values: dict) -> None:
    for name, value in values.items():
        st.session_state[option_key(name)] = value


def retrain_ui(runs) -> None:
    """'Retrain this run': copy a run's config into the widgets; the new run gets its own name."""
    st.selectbox("Start from", [run.name for run in runs if not run.problem], index=None, key=SOURCE_KEY,
                 placeholder="the defaults", on_change=_load_source,
                 help="Copy the options of an earlier run (its config.json), to retrain it or vary one thing.")


def architecture_ui(options: dict, runs) -> None:
    arch = st.selectbox(options["arch"]["label"], options["arch"]["choices"], key=option_key("arch"),
                        help=_help(options["arch"]))
    color_mode = st.session_state.get(option_key("color_mode")) or ARCHITECTURES[arch].color_mode
    size = st.session_state.get(option_key("image_size"), options["image_size"]["default"])
    try:
        count = f"**{parameter_count(arch, size, 1 if color_mode == 'grayscale' else 3):,} parameters**"
    except ValueError:  # an image size too small for this net; Start will say so in one line
        count = "parameters unknown"
    st.caption(f"{ARCHITECTURES[arch].description} · {count} ({size}×{size} {color_mode} input)")
    estimate_ui(runs, arch)


def estimate_ui(runs, arch: str) -> None:
    """How long the run should take, from the finished runs of this architecture."""
    epochs = st.session_state.get(option_key("epochs"), 1)
    data = st.session_state.get(option_key("data"))
    estimate = comparison.training_time_estimate(runs, arch, epochs, data, registry.hardware())
    if estimate is None:
        st.caption(f":material/schedule: No finished {arch} run to estimate the time from yet; a job shows the "
                   "time left after its first epoch.")
        return
    runs_word = f"{estimate['runs']} finished {arch} run" + ("s" if estimate["runs"] > 1 else "")
    where = " on this data set" if estimate["same_data"] else ""
    machine = " on this machine" if estimate["same_hardware"] else ""
    st.caption(f":material/schedule: About {jobs.format_duration(estimate['seconds'])} for {epochs} epochs "
               f"({jobs.format_duration(estimate['per_epoch'])} an epoch, the median of {runs_word}{where}{machine}).")


# The options that name a finished run (a warm start's weights, a distillation's teacher), and
# what their empty choice means.
RUN_OPTIONS = {"init_from": "fresh weights", "distill_from": "no teacher"}
UNSET_LABELS = {**RUN_OPTIONS, "own_faces": "none (the data set only)"}


def run_choices(runs, name: str) -> tuple:
    """None, or a finished run; a retrained run's choice stays listed."""
    names = comparison.deployable_runs(runs)  # complete, with a model file: what both options need
    current = st.session_state.get(option_key(name))
    return ("", *names, *([current] if current and current not in names else []))


def _help(option: dict) -> str | None:
    """An option's tooltip: the reason for its default, as a sentence."""
    reason = option["reason"]
    return f"{reason[0].upper()}{reason[1:]}." if reason else None


def option_ui(option: dict) -> None:
    """One widget per option, its kind chosen from the default's type; its label a name for people
    and its help the reason for the default (config.TrainConfig)."""
    key, label, help_text = option_key(option["name"]), option["label"], _help(option)
    default = option["default"]
    if isinstance(default, tuple):  # a set of the choices: the classes
        st.multiselect(label, option["choices"], key=key, help=help_text)
    elif option["choices"]:
        unset = UNSET_LABELS.get(option["name"])
        st.selectbox(label, option["choices"], key=key, help=help_text,
                     format_func=lambda value: unset if unset and not value else config.choice_label(option["name"], value))
    elif isinstance(default, bool):
        st.checkbox(label, key=key, help=help_text)
    elif isinstance(default, int):
        st.number_input(label, step=1, key=key, help=help_text)
    elif isinstance(default, float):
        # A step of a tenth of the default's order of magnitude: 0.001 for lr 0.01, 1e-5 for decay 5e-4.
        step = 10 ** math.floor(math.log10(default)) / 10 if default > 0 else 0.01
        st.number_input(label, step=step, format="%g", key=key, help=help_text)
    else:
        st.text_input(label, key=key, help=help_text,
                      placeholder="<arch>-<date>-<time>" if option["name"] == "name" else None)


def options_form_ui(options: dict, datasets: list[str], allowed: bool = True) -> dict | None:
    """The data set and training options; returns all config values when Start is pressed.

    Without `allowed` (an admin password is set and this session has not given it) Start is disabled.
    """
    with st.form("train.form", border=False):
        current = st.session_state.get(option_key("data"))
        choices = datasets + ([current] if current and current not in datasets else [])  # a retrained run's path
        st.selectbox("Data set", choices, key=option_key("data"))
        option_ui(options["classes"])
        columns = st.columns(4)
        for index, name in enumerate(MAIN_OPTIONS):
            with columns[index % 4]:
                option_ui(options[name])
        own_faces_ui(options)
        with st.expander("More options"):
            rest = [name for name in options if name not in MAIN_OPTIONS + OWN_OPTIONS + ("arch", "data", "classes")]
            columns = st.columns(4)
            for index, name in enumerate(rest):
                with columns[index % 4]:
                    option_ui(options[name])
        pressed = st.form_submit_button("Start training", type="primary", icon=":material/play_arrow:",
                                        disabled=not allowed)
    if not allowed:
        locked_hint("Starting training")
    if not pressed or not allowed:  # a disabled button's click must not be trusted from the browser
        return None
    return {name: st.session_state[option_key(name)] for name in options}


def own_faces_ui(options: dict) -> None:
    """Fine-tune on your own faces (the Label page's face sets): the set, its share, its held-out part."""
    st.markdown("**Your own faces** · adapt a run to faces you labelled: it starts from the deployed run unless "
                "*Begin with the weights of* names another, and is scored on the held-out faces and on "
                "validation, before and after.")
    columns = st.columns(4)
    for column, name in zip(columns, OWN_OPTIONS):
        with column:
            option_ui(options[name])


def start_ui(values: dict) -> None:
    try:
        # The request id makes a repeated submission of the same form return the job it started.
        job = jobs.start_job(config.config_from_dict(values), request_id=st.session_state[REQUEST_KEY])
    except ValueError as error:  # bad option, missing data set, run name taken: one line each
        st.error(str(error))
        return
    st.session_state[REQUEST_KEY] = uuid.uuid4().hex
    where = "started" if job["status"] == "running" else f"queued (position {job['queue_position']})"
    st.success(f"Job {job['id']} {where}. It keeps running if you close this tab.")


# --- Jobs ------------------------------------------------------------------------------------------------


@st.fragment(run_every=REFRESH_SECONDS)
def jobs_ui() -> None:
    found = jobs.list_jobs()  # also starts queued jobs when a slot is free
    if not found:
        st.caption("No training jobs yet.")
        return
    active = [job for job in found if job["status"] in jobs.ACTIVE]
    finished = [job for job in found if job["status"] not in jobs.ACTIVE][:SHOWN_FINISHED]
    for job in active + finished:
        job_ui(job)


def job_ui(job: dict) -> None:
    status = job["status"]
    with st.container(border=True):
        run = f" → run `{job['run']}`" if job.get("run") else ""
        data = Path(job["config"]["data"]).name
        st.markdown(f"{STATUS_ICONS[status]} **Job {job['id']}** · {status} · `{job['architecture']}` on "
                    f"`{data}`{run}")
        if job["options"]:
            st.caption("Options: " + " · ".join(f"{config.option_label(key)} {config.value_text(key, value)}"
                                                for key, value in job["options"].items()))
        if status == "running":
            left = (f"about {jobs.format_duration(job['eta_seconds'])} left" if job["eta_seconds"] is not None
                    else "time left known after the first epoch")
            st.progress(job["epoch"] / max(1, job["epochs"]), text=f"Epoch {job['epoch']} of {job['epochs']} · "
                        f"{jobs.format_duration(job['elapsed_seconds'])} elapsed · {left}")
        elif status == "queued":
            st.caption(f"Waiting: position {job['queue_position']} in the queue.")
        elif status == "failed":
            st.error(job["reason"])
        if status != "running" and job["elapsed_seconds"] is not None:
            st.caption(f"{status.capitalize()} after {jobs.format_duration(job['elapsed_seconds'])}.")
        if status == "succeeded" and job.get("run"):
            adaptation_ui(job["run"])
        if job["latest"]:
            latest = job["latest"]
            st.caption(f"Epoch {latest['epoch']}: accuracy {accuracy(latest['accuracy'])}, val accuracy "
                       f"{accuracy(latest['val_accuracy'])}, loss {latest['loss']:.3f}, val loss {latest['val_loss']:.3f}")
            with st.expander("Learning curves", expanded=status == "running"):
                curves_ui(job)
        actions_ui(job)
        with st.expander("Log", expanded=status == "failed"):
            st.code(jobs.log_tail(job["id"], 30) or "(nothing yet)", language=None)


def adaptation_ui(run_name: str) -> None:
    """A fine-tune on your own faces: both figures before and after, side by side."""
    run_dir = registry.runs_root() / run_name
    record = report.adaptation(registry.load_run(run_dir)) if run_dir.is_dir() else {}
    if not record:
        return
    st.caption(f"On {record['held_out']} of your faces (`{record['own_faces']}`) held out, and on validation:")
    st.table(pd.DataFrame(report.adaptation_rows({**record, "run": run_name})).set_index(""))


def curves_ui(job: dict) -> None:
    frame = comparison.learning_curves_frame([SimpleNamespace(name=job["run"], history=job["history"])])
    left, right = st.columns(2)
    left.altair_chart(charts.learning_curves(frame, "accuracy"))
    right.altair_chart(charts.learning_curves(frame, "loss"))


def actions_ui(job: dict) -> None:
    status = job["status"]
    allowed = admin_unlocked()  # the password box is drawn outside this fragment, which cannot use the sidebar
    if status in jobs.ACTIVE and st.button("Cancel", key=f"train.cancel.{job['id']}", icon=":material/stop:",
                                           disabled=not allowed) and allowed:
        try:
            jobs.cancel_job(job["id"])
        except jobs.JobError as error:  # it finished in the meantime
            st.warning(str(error))
        else:
            st.rerun(scope="fragment")
    resumable = status in ("failed", "cancelled") and job["history"] and job.get("run_state") != "complete"
    if resumable and st.button("Resume", key=f"train.resume.{job['id']}", icon=":material/play_arrow:",
                               help="Continue the run from its last finished epoch, as a new job.",
                               disabled=not allowed) and allowed:
        try:
            # Keyed by this job: pressing Resume twice gives one resumed job, not two.
            jobs.start_job(resume=job["run"], request_id=f"resume-of-job-{job['id']}")
        except ValueError as error:  # already being resumed, or the run folder is gone
            st.warning(str(error))
        else:
            st.rerun(scope="fragment")
    if status == "succeeded" and job.get("run"):
        st.page_link("views/models.py", label=f"See {job['run']} on the Models page", icon=":material/leaderboard:")


# --- The page ----------------------------------------------------------------------------------------------


st.title("Train")
allowed = admin_ui()
datasets = available_datasets()
if not datasets:
    st.info(no_dataset_hint())
options = {option["name"]: option for option in config.training_options()}
if option_key("epochs") not in st.session_state:  # first visit, or the widgets were cleared by leaving the page
    prefill({"data": selected_dataset() or ""})
st.session_state.setdefault(REQUEST_KEY, uuid.uuid4().hex)

runs = registry.list_runs()
for name in RUN_OPTIONS:
    options[name] = {**options[name], "choices": run_choices(runs, name)}
options["own_faces"] = {**options["own_faces"], "choices": ("", *(entry["name"] for entry in face_sets(data_root())))}
retrain_ui(runs)
fine_tune_ui()
architecture_ui(options, runs)
if datasets or st.session_state.get(option_key("data")):
    values = options_form_ui(options, datasets, allowed)
    if values is not None:
        start_ui(values)

st.subheader("Jobs")
slots = jobs.max_jobs()
st.caption(f"At most {slots} {'job trains' if slots == 1 else 'jobs train'} at once; the others wait in order.",
           help=f"The `{jobs.MAX_JOBS_ENV}` environment variable sets how many; 0 pauses the queue.")
jobs_ui()
