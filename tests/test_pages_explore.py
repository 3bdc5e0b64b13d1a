"""The Home, Dataset and Models pages through the real app (st.navigation), with AppTest.

Each test gets its own empty data root and registry (conftest's `isolated_dirs`); the filled
ones use the two tiny trained runs 'alpha' and 'beta' and their data set 'tiny'.
"""

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from emotion_core import registry
from emotion_core.storage import write_json_atomic
from tests.conftest import make_image_dataset
from ui.common import PAGES
from tests.live.test_page_live import streamer  # noqa: F401  (the Live page's stand-in camera component)

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 180  # generous: the first run imports pandas and Altair, evaluating imports Keras


def open_page(page: str | None = None) -> AppTest:
    """The app after its first run, switched to `page` (a path like 'views/models.py') if given."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [error.message for error in at.exception]
    return at


def texts(at: AppTest) -> str:
    """Everything the page wrote as text, metrics included, for assertions on what a user reads."""
    parts = [str(element.value) for kind in ("title", "subheader", "markdown", "caption", "info", "warning",
                                             "error", "success") for element in getattr(at, kind)]
    parts += [f"{metric.label}: {metric.value}" for metric in at.metric]
    return "\n".join(parts)


def widget(at: AppTest, kind: str, label: str):
    """The widget of a kind ('button', 'selectbox', ...) with this label."""
    return next(element for element in getattr(at, kind) if element.label == label)


def thumbnails(at: AppTest) -> list:
    """Every image shown, one by one (one `st.image` call may show several)."""
    return [image for element in at.get("image") for image in element.proto.imgs]


def frames(at: AppTest) -> list:
    return [element.value for element in at.dataframe]


# --- A fresh clone: no data set, no runs ------------------------------------------------------------


def test_home_on_an_empty_data_root_and_registry_says_what_is_missing_and_links_every_page():
    at = open_page()

    assert [info.value for info in at.info] == [
        "No model is deployed yet: train one on the **Train** page (or `python -m emotion_core train`) "
        "and promote it on the **Models** page."]
    (warning,) = at.warning
    assert warning.value.startswith("No data set found under `")
    assert [link.label for link in at.get("page_link")] == [page.title for page in PAGES[1:]]  # every other page


def test_dataset_page_on_an_empty_data_root_says_where_to_put_one(isolated_dirs):
    at = open_page("views/dataset.py")

    (info,) = at.info
    assert info.value.startswith(f"No data set found under `{isolated_dirs['data']}`. Link one there")
    assert not at.get("vega_lite_chart")  # nothing deployed, so no recorded counts either


def test_models_page_on_an_empty_registry_says_how_to_start_a_run(isolated_dirs):
    at = open_page("views/models.py")

    (info,) = at.info
    assert info.value.startswith("No runs in the registry yet: start one on the **Train** page")
    assert [caption.value for caption in at.caption if caption.value.startswith("No data set")] == [
        f"No data set found under `{isolated_dirs['data']}`. Link one there (for example "
        "`ln -s /path/to/fer2013 data/fer2013`) or set `EMOTION_DATA_DIR`."]
    assert not at.dataframe


def test_models_page_shows_a_broken_run_with_its_reason(isolated_dirs):
    (isolated_dirs["models"] / "half-written").mkdir()  # a run folder without config.json

    at = open_page("views/models.py")

    table = frames(at)[0].set_index("run")
    assert table.loc["half-written", "state"] == "broken"
    assert "no config.json" in table.loc["half-written", "problem"]
    assert "No complete run with a model file to deploy yet." in texts(at)


def test_without_data_the_dataset_page_shows_the_deployed_runs_recorded_counts(trained_runs):
    registry.deploy("alpha")
    (trained_runs["data"] / "train").rename(trained_runs["data"].parent / "moved-away")  # data root now empty

    at = open_page("views/dataset.py")

    shown = texts(at)
    assert "No data set found under" in shown
    assert "Class counts recorded when `alpha` was trained on `tiny`" in shown
    assert len(at.get("vega_lite_chart")) == 1


# --- A small data set and two runs ----------------------------------------------------------------


def test_home_shows_the_deployed_models_card(trained_runs):
    registry.deploy("beta")
    beta = registry.load_run(trained_runs["beta"])

    shown = texts(open_page())

    assert "Deployed model: beta" in shown
    assert f"Validation accuracy: {beta.validation['accuracy']:.2%}" in shown  # as the runs tables show it
    assert f"Macro-F1: {beta.validation['macro_f1']:.3f}" in shown
    assert "on `tiny` (42 training images" in shown
    assert "No data set found" not in shown


def test_dataset_page_shows_counts_samples_and_no_problems(isolated_dirs):
    make_image_dataset(isolated_dirs["data"] / "small", {"train": 10, "validation": 3})
    at = open_page("views/dataset.py")

    shown = texts(at)
    assert "**small** (folders): train 70 · validation 21 images." in shown
    assert "Imbalance (train): 1.0×" in shown  # 10 images in every class
    assert "Duplicate groups: 0" in shown and "Unreadable files: 0" in shown
    assert len(thumbnails(at)) == 7 * 6  # six thumbnails per class
    assert len(at.get("vega_lite_chart")) == 3  # class counts, colour, sizes

    before = [image.captions for image in at.get("image")]
    widget(at, "button", "Reshuffle").click().run()
    assert not at.exception and len(thumbnails(at)) == 7 * 6
    assert [image.captions for image in at.get("image")] != before  # another draw of 6 from 10 per class


def test_models_page_lists_runs_and_moves_the_deployed_mark_on_promote(trained_runs):
    registry.deploy("alpha")
    at = open_page("views/models.py")

    table = frames(at)[0].set_index("run")
    assert sorted(table.index) == ["alpha", "beta"]
    assert table["deployed"].to_dict() == {"alpha": True, "beta": False}
    assert table.loc["beta", "optimizer"] == "adam" and table.loc["alpha", "optimizer"] == "sgd"
    assert "Deployed now: **alpha**" in texts(at)

    widget(at, "selectbox", "Run to deploy").select("beta").run()
    assert widget(at, "button", "Deploy").disabled  # nothing happens before the confirmation
    at.checkbox(key="confirm_deploy").check().run()
    widget(at, "button", "Deploy").click().run()

    assert registry.deployed_name() == "beta"
    assert frames(at)[0].set_index("run")["deployed"].to_dict() == {"alpha": False, "beta": True}
    assert "Deployed now: **beta** (before it: **alpha**)" in texts(at)
    assert "beta is deployed: Predict, Analyze and the command line serve it now." in texts(at)
    # AppTest cannot see whether an expander is open; the browser test checks the message is visible.


def test_models_page_compares_like_for_like_only_runs_that_differ_in_the_choice_alone(trained_runs):
    at = open_page("views/models.py")
    # alpha and beta differ in optimizer *and* batch size: not a fair optimizer comparison.
    assert widget(at, "radio", "Group by").value == "optimizer"
    assert "differ only in optimizer" in texts(at) and "No two runs differ in this alone" in texts(at)

    widget(at, "radio", "Group by").set_value("batch_size").run()
    assert "differ only in batch size" in texts(at) and "No two runs differ in this alone" in texts(at)


def test_models_page_computes_a_missing_evaluation_with_the_button(trained_runs):
    (trained_runs["beta"] / registry.EVALUATION_DIR / "validation.json").unlink()
    at = open_page("views/models.py")
    assert "Not evaluated on tiny · validation yet." in texts(at)

    widget(at, "button", "Evaluate on tiny · validation").click().run()

    assert not at.exception, [error.message for error in at.exception]
    saved = json.loads((trained_runs["beta"] / registry.EVALUATION_DIR / "validation.json").read_text())
    assert saved["n"] == 21 and len(saved["confusion_matrix"]) == 7
    accuracies = [metric.value for metric in at.metric if metric.label == "Accuracy"]
    assert f"{saved['accuracy']:.2%}" in accuracies


# --- Runs of two class sets -------------------------------------------------------------------------


def test_models_page_shows_a_seven_and_a_three_class_run_side_by_side_and_says_they_differ(class_set_runs):
    registry.deploy("alpha")
    at = open_page("views/models.py")

    table = frames(at)[0].set_index("run")
    assert table["classes"].to_dict() == {"alpha": "all 7", "beta": "all 7", "trio": "angry, sad, neutral"}
    class_set = widget(at, "selectbox", "Class set")
    assert class_set.options == ["every class set", "all 7", "angry, sad, neutral"]

    # The "All runs" tab compares one class set at a time.
    scope = widget(at, "radio", "Class set")
    assert scope.options == ["all 7", "angry, sad, neutral"] and scope.value == "all 7"
    assert "2 of 3 runs learned all 7 classes" in texts(at)
    scope.set_value("angry, sad, neutral").run()
    assert not at.exception, [error.message for error in at.exception]
    assert "1 of 3 runs learned angry, sad, neutral classes" in texts(at)

    widget(at, "multiselect", "Runs to compare").set_value(["alpha", "trio"]).run()
    assert not at.exception, [error.message for error in at.exception]
    shown = texts(at)
    assert "These runs learned different class sets (all 7; angry, sad, neutral)" in shown
    assert "images of `trio`, angry, sad, neutral classes" in shown and "images of `tiny`, all 7 classes" in shown
    assert len([metric for metric in at.metric if metric.label == "Accuracy"]) == 2
    per_class = [frame for frame in frames(at) if frame.index.name == "class"]
    assert [list(frame.index) for frame in per_class] == [list(registry.load_run(class_set_runs["alpha"]).classes),
                                                          ["angry", "sad", "neutral"]]

    widget(at, "selectbox", "Class set").set_value("angry, sad, neutral").run()
    assert list(frames(at)[0]["run"]) == ["trio"]


def test_home_says_a_deployed_three_class_run_reads_three_emotions(class_set_runs):
    registry.deploy("trio")

    shown = texts(open_page())

    assert "Deployed model: trio" in shown and "It reads 3 emotions only: angry, sad, neutral." in shown


# --- An ensemble deployed ---------------------------------------------------------------------------


def chart_data(chart) -> pd.DataFrame:
    """The rows an Altair chart the page drew was given (Streamlit sends them as Arrow)."""
    return pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all().to_pandas()


def test_every_page_with_an_ensemble_deployed_shows_it_and_its_evaluated_figures(trained_runs, streamer):
    """The deployed model is an ensemble of alpha and beta (no epochs of its own): every page opens,
    Home says how it was made, and the Models page shows, ranks and charts it by its evaluation."""
    from emotion_core.ensemble import make_ensemble
    from emotion_core.scoring import evaluate_run

    make_ensemble("duo", ["alpha", "beta"])
    accuracy = evaluate_run("duo")["accuracy"]
    registry.deploy("duo")

    at = open_page()
    shown = texts(at)
    assert f"Validation accuracy: {accuracy:.2%}" in shown
    assert "as the average of `alpha` and `beta` (each trained for 2 epochs) on `tiny`" in shown
    assert "for 0 epochs" not in shown
    members_mb = sum(registry.load_run(trained_runs[name]).model_mb for name in ("alpha", "beta"))
    assert f"Members' files: {members_mb:.1f} MB" in shown and "Model file" not in shown  # it keeps no file

    at.switch_page("views/models.py").run()
    assert not at.exception, [error.message for error in at.exception]
    table = frames(at)[0].set_index("run")
    assert table.loc["duo", "accuracy"] == pytest.approx(accuracy)
    assert table.loc["duo", "epochs"] == "its members'" and "its members'" in table.loc["duo", "accuracy_from"]
    assert list(frames(at)[1].columns) == ["run", "deployed", "accuracy", "model_mb"]  # the phone's table
    best = next(frame for frame in frames(at) if list(frame.columns)[:2] == ["run", "accuracy"])
    assert "duo" in list(best["run"]) and list(best["accuracy"]) == sorted(best["accuracy"], reverse=True)
    assert ("duo is an ensemble: it trained no epochs itself, so its curves are its members' (alpha, beta, "
            "marked \"member\")") in texts(at)
    assert widget(at, "multiselect", "Runs to compare").value[0] == "duo"  # deployed first
    data = [chart_data(chart) for chart in at.get("vega_lite_chart") if chart.proto.datasets]
    curves = next(frame for frame in data if "split" in frame.columns)
    assert set(curves["run"]) >= {"alpha (member)", "beta (member)"}
    heat_map = next(frame for frame in data if "source" in frame.columns)
    assert heat_map.set_index("run").loc["duo", "val_accuracy"] == pytest.approx(accuracy)

    for page in ("views/dataset.py", "views/predict.py", "views/live.py", "views/analyze.py", "views/train.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, [error.message for error in at.exception])
        assert "Deployed model: **duo**" in texts(at), page


def test_home_says_when_the_deployed_models_validation_holds_copies_of_its_training_images(isolated_dirs):
    from emotion_core.datasets import open_dataset, summarize
    from tests.test_comparison import write_run

    data = make_image_dataset(isolated_dirs["data"] / "dup", {"train": 3, "validation": 2})
    shutil.copy(data / "train" / "happy" / "train_0.png", data / "validation" / "happy" / "copy.png")
    dataset = open_dataset(data)
    summarize(dataset)  # what the Dataset page or `data summary` leaves in the cache
    run_dir = write_run(isolated_dirs["models"], "alpha", {"arch": "vgg_gap"}, [0.5], "2026-01-01")
    write_json_atomic(run_dir / registry.DATASET_FILE, {"name": "dup", "fingerprint": dataset.fingerprint(),
                                                        "train_images": 21})
    registry.deploy("alpha")

    shown = texts(open_page())

    assert "is an exact copy of a training image, which the model has seen" in shown
