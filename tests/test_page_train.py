"""The Train page through the real app (st.navigation), with AppTest.

The queue is held (EMOTION_MAX_JOBS=0) so pressing Start queues a job without starting a worker;
a running job is shown by writing its record as a worker would, with this test's own process as
the worker (alive, so the page shows it running). Real workers are tested in tests/jobs/test_worker.py.
"""

import json
import os
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emotion_core import jobs, registry
from emotion_core.labels import EMOTIONS
from emotion_core.storage import write_json_atomic
from tests.factories import TINY_CONFIG

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 180  # generous: the first run imports Keras and builds a model to count its parameters


@pytest.fixture(autouse=True)
def paused(monkeypatch):
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "0")


def open_train_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("views/train.py").run()
    assert not at.exception, [error.message for error in at.exception]
    return at


def texts(at: AppTest) -> str:
    return "\n".join(str(element.value) for kind in ("markdown", "caption", "error", "success")
                     for element in getattr(at, kind))


def widget(at: AppTest, kind: str, label: str):
    return next(element for element in getattr(at, kind) if element.label == label)


def write_run(name: str, epochs_done: int, epochs: int, **config) -> None:
    """A run folder without weights: its config and history are all this page reads."""
    run = registry.runs_root() / name
    write_json_atomic(run / registry.CONFIG_FILE, {**TINY_CONFIG, "data": "tiny", "name": name, **config})
    write_json_atomic(run / registry.HISTORY_FILE, [
        {"epoch": epoch, "loss": 2.0 - epoch / 10, "accuracy": 0.2 + epoch / 20, "val_loss": 2.0 - epoch / 20,
         "val_accuracy": 0.2 + epoch / 40, "lr": 0.01, "seconds": 3.0} for epoch in range(1, epochs_done + 1)])
    write_json_atomic(run / registry.STATUS_FILE, {"state": "running" if epochs_done < epochs else "complete",
                                                   "epoch": epochs_done, "epochs": epochs,
                                                   "started": f"2026-01-01T10:0{epochs_done}:00+00:00"})


def write_job(job_id: str, status: str, run: str, **fields) -> None:
    """A job record as the jobs module keeps it (`<registry>/_jobs/<id>.json`)."""
    config = json.loads((registry.runs_root() / run / registry.CONFIG_FILE).read_text())
    write_json_atomic(jobs.jobs_dir() / f"{job_id}.json", {
        "id": job_id, "status": status, "request_id": None, "config": config, "resume": None,
        "resume_epochs": None, "run": run, "created": "2026-01-01T10:00:00+00:00",
        "started": "2026-01-01T10:00:00+00:00", "ended": None, "pid": None, "pid_start": None, "reason": "",
        "cancel_requested": False, **fields})


def test_the_page_starts_a_job_with_the_chosen_options_and_lists_it(tiny_dataset):
    at = open_train_page()
    assert "parameters" in texts(at)  # the architecture's size, from building it once
    assert "keep improving past 50 epochs" in widget(at, "number_input", "Epochs").help  # config's reason

    widget(at, "selectbox", "Architecture").set_value("vgg_gap_small").run()
    widget(at, "number_input", "Epochs").set_value(3)
    widget(at, "number_input", "Batch size").set_value(16)
    widget(at, "button", "Start training").click().run()

    assert not at.exception, [error.message for error in at.exception]
    [job] = jobs.list_jobs()
    assert (job["status"], job["architecture"], job["config"]["data"]) == ("queued", "vgg_gap_small",
                                                                          str(tiny_dataset.resolve()))
    assert (job["config"]["epochs"], job["config"]["batch_size"]) == (3, 16)
    shown = texts(at)
    assert "Job 1 queued (position 1)" in shown
    assert "**Job 1** · queued · `vgg_gap_small` on `tiny`" in shown
    assert "Waiting: position 1 in the queue." in shown


def test_options_have_names_for_people_their_reasons_as_help_and_a_time_estimate(tiny_dataset):
    for name, seconds in (("one", 10.0), ("two", 14.0)):  # finished vgg_gap runs of 2 epochs: 5 and 7 s an epoch
        write_run(name, 2, 2, arch="vgg_gap")
        registry.update_status(registry.runs_root() / name, training_seconds=seconds)
    at = open_train_page()

    optimizer = widget(at, "selectbox", "Optimizer")
    assert optimizer.options[:2] == ["Adam", "SGD with momentum"] and optimizer.help.startswith("SGD with Nesterov")
    assert widget(at, "selectbox", "Test-time augmentation").options == [
        "off (1 view)", "flip (2 views)", "zoom (6 views)", "shifts (12 views)", "off+autocontrast (1 view)",
        "flip+autocontrast (2 views)", "zoom+autocontrast (6 views)", "shifts+autocontrast (12 views)"]
    assert widget(at, "selectbox", "Learning-rate schedule").value == "cosine"
    shown = texts(at)
    assert "About 6m 00s for 60 epochs (6s an epoch, the median of 2 finished vgg_gap runs)." in shown
    assert "At most 0 jobs train at once; the others wait in order." in shown
    assert jobs.MAX_JOBS_ENV not in shown  # environment variables only in help
    assert jobs.MAX_JOBS_ENV in next(caption for caption in at.caption if "train at once" in caption.value).proto.help

    widget(at, "selectbox", "Architecture").set_value("vgg_gap_small").run()
    assert "No finished vgg_gap_small run to estimate the time from yet" in texts(at)


def test_retrain_copies_a_runs_options_into_the_form(tiny_dataset):
    write_run("alpha", 2, 2)
    write_run("beta", 2, 2, optimizer="adam", learning_rate=0.001, batch_size=8)
    at = open_train_page()

    widget(at, "selectbox", "Start from").set_value("beta").run()

    assert widget(at, "selectbox", "Optimizer").value == "adam"
    assert widget(at, "number_input", "Batch size").value == 8
    assert widget(at, "number_input", "Learning rate").value == pytest.approx(0.001)
    assert widget(at, "text_input", "Run name").value == ""  # a retrain is a new run


def test_a_running_job_shows_progress_and_curves_and_a_finished_one_links_to_its_run(tiny_dataset):
    write_run("alpha", 2, 2)
    write_run("beta", 2, 4)
    write_job("1", "succeeded", "alpha", ended="2026-01-01T10:01:05+00:00")
    write_job("2", "running", "beta", pid=os.getpid(), pid_start=jobs.process_start(os.getpid()))

    at = open_train_page()

    [progress] = at.get("progress")
    assert progress.proto.value == 50
    assert "Epoch 2 of 4" in progress.proto.text
    assert "about 6s left" in progress.proto.text  # two more epochs of 3 seconds
    assert [button.label for button in at.button if button.label == "Cancel"] == ["Cancel"]
    assert len(at.get("vega_lite_chart")) >= 2  # accuracy and loss of the running job
    assert [link.label for link in at.get("page_link")][-1] == "See alpha on the Models page"
    assert "Succeeded after 1m 05s." in texts(at)


def test_without_a_data_set_the_page_says_where_to_put_one_and_offers_no_form():
    at = open_train_page()

    assert "No data set found under" in at.info[0].value
    assert "Start training" not in [button.label for button in at.button]
    assert "No training jobs yet." in texts(at)


def test_a_job_can_start_from_a_trained_runs_weights(trained_runs):
    write_run("weightless", 2, 2)  # a comparison run without model.keras cannot be a starting point
    at = open_train_page()
    start = widget(at, "selectbox", "Begin with the weights of")
    assert start.options[0] == "fresh weights" and sorted(start.options[1:]) == ["alpha", "beta"]
    teacher = widget(at, "selectbox", "Learn from (teacher)")
    assert teacher.options[0] == "no teacher" and sorted(teacher.options[1:]) == ["alpha", "beta"]

    widget(at, "selectbox", "Data set").set_value("tiny")
    start.set_value("alpha")
    teacher.set_value("beta")
    widget(at, "number_input", "Dropout scale").set_value(0.5)
    widget(at, "button", "Start training").click().run()

    assert not at.exception, [error.message for error in at.exception]
    [job] = jobs.list_jobs()
    assert (job["config"]["init_from"], job["config"]["distill_from"], job["config"]["dropout_scale"]) == \
        ("alpha", "beta", 0.5)


def test_the_classes_multiselect_queues_a_job_on_a_class_set_and_a_retrain_keeps_it(tiny_dataset):
    at = open_train_page()
    classes = widget(at, "multiselect", "Classes")
    assert classes.value == list(EMOTIONS) and classes.options == list(EMOTIONS)
    assert "left out of train and validation" in classes.help

    classes.set_value(["neutral", "angry", "sad"])
    widget(at, "button", "Start training").click().run()

    assert not at.exception, [error.message for error in at.exception]
    [job] = jobs.list_jobs()
    assert job["config"]["classes"] == ["angry", "sad", "neutral"]  # canonical order, whatever the picking order
    assert "Classes angry,sad,neutral" in texts(at)

    write_run("trio", 2, 2, classes=["angry", "sad", "neutral"])
    at = open_train_page()
    widget(at, "selectbox", "Start from").set_value("trio").run()
    assert widget(at, "multiselect", "Classes").value == ["angry", "sad", "neutral"]


def test_a_single_class_is_refused_with_its_reason(tiny_dataset):
    at = open_train_page()
    widget(at, "multiselect", "Classes").set_value(["sad"])
    widget(at, "button", "Start training").click().run()

    assert not at.exception
    (error,) = at.error
    assert error.value.startswith("a class set needs at least two") and jobs.list_jobs() == []


def test_a_fine_tune_on_your_own_faces_is_queued_and_a_finished_one_shows_both_figures(tiny_dataset, isolated_dirs):
    from tests.conftest import make_image_dataset

    make_image_dataset(isolated_dirs["data"] / "mine", {"test": 2})
    write_json_atomic(isolated_dirs["data"] / "mine" / "faceset.json", {"faces": 14, "counts": {"test": {}}})
    at = open_train_page()
    own = widget(at, "selectbox", "Your own faces")
    assert own.options == ["none (the data set only)", "mine"]
    widget(at, "button", "Fine-tune settings").click().run()
    own = widget(at, "selectbox", "Your own faces")
    widget(at, "selectbox", "Data set").set_value("tiny")
    own.set_value("mine")
    widget(at, "number_input", "Your faces' share of training").set_value(0.3)
    widget(at, "button", "Start training").click().run()
    [job] = jobs.list_jobs()
    assert (job["config"]["own_faces"], job["config"]["own_share"], job["config"]["own_holdout"]) == ("mine", 0.3, 0.3)
    assert (job["config"]["epochs"], job["config"]["learning_rate"], job["config"]["warmup_epochs"]) == (1, 0.0001, 0)

    write_run("adapted", 2, 2, own_faces="mine", init_from="alpha")
    write_json_atomic(registry.runs_root() / "adapted" / "adaptation.json", {
        "own_faces": "mine", "start_run": "alpha", "held_out": 5, "trained_on": 9, "share": 0.3, "seed": 7,
        "before": {"own_faces": {"accuracy": 0.4, "macro_f1": 0.35, "n": 5},
                   "validation": {"accuracy": 0.6, "macro_f1": 0.55, "n": 21}},
        "after": {"own_faces": {"accuracy": 0.8, "macro_f1": 0.75, "n": 5},
                  "validation": {"accuracy": 0.55, "macro_f1": 0.5, "n": 21}}})
    write_job("9", "succeeded", "adapted", ended="2026-01-01T10:05:00+00:00")
    at = open_train_page()
    assert "On 5 of your faces (`mine`) held out, and on validation:" in texts(at)
    table = at.table[0].value
    assert list(table.index) == ["before: alpha", "after: adapted", "change"]
    assert table.loc["change", "your faces accuracy"] == "+40.00 points"
    assert table.loc["change", "validation accuracy"] == "-5.00 points"
    assert table.loc["after: adapted", "validation accuracy"] == "55.00%"  # as every accuracy reads
    assert table.loc["after: adapted", "validation macro-F1"] == "0.500"
