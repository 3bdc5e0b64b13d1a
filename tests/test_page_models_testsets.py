"""The Models page's test sets: a zip uploaded or a folder picked becomes a test set, every run is
scored on it in the background, and the table ranks the runs on it beside validation, next to Deploy."""

import json
import time

import pytest

from emotion_core import jobs, registry
from emotion_core.datasets import data_root
from emotion_core.jobs import scoring_job
from emotion_core.testsets import list_sets
from tests.conftest import make_image_dataset
from tests.test_pages_explore import open_page, texts, widget
from tests.testsets.test_catalog import data_root_listing, zipped


@pytest.fixture(autouse=True)
def no_worker_left_behind(monkeypatch):
    """A failing test must not leave a scoring process running."""
    yield
    import os
    import signal

    monkeypatch.setenv(jobs.KINDS[scoring_job.KIND].slots_env, "0")
    for job in jobs.list_jobs(kind=None):
        if job["status"] == "running" and job["pid"] != os.getpid():
            os.kill(job["pid"], signal.SIGKILL)


def posed_zip(tmp_path) -> bytes:
    folder = make_image_dataset(tmp_path / "posed", {"test": 2}, class_names=("happy", "sad", "angry"), seed=5)
    return zipped({path.relative_to(folder / "test").as_posix(): path.read_bytes()
                   for path in sorted((folder / "test").rglob("*.png"))})


def table_of(at, column: str):
    return next(frame for frame in (element.value for element in at.dataframe) if column in frame)


def blank_cells_read(at, column: str) -> str:
    """What the table holding `column` shows in a cell with no figure (the browser's text for a missing value)."""
    return next(element.proto.placeholder for element in at.dataframe if column in element.value)


def wait_for_scoring(timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        latest = next(iter(jobs.list_jobs(kind=scoring_job.KIND)), None)
        if latest and latest["status"] not in jobs.ACTIVE:
            return latest
        time.sleep(0.5)
    raise AssertionError("the scoring job did not finish")


def test_a_zip_uploaded_on_the_models_page_is_scored_in_the_background_and_ranks_the_runs(trained_runs, tmp_path):
    at = open_page("views/models.py")
    at.file_uploader(key="testsets.upload").set_value(("posed.zip", posed_zip(tmp_path), "application/zip")).run()
    widget(at, "button", "Add and score every run").click().run()

    assert "posed is a test set: every complete run with weights is being scored on it in the background." in texts(at)
    assert [(testset.name, testset.split, testset.kind) for testset in list_sets()] == [("posed", "test", "crops")]
    latest = wait_for_scoring()
    assert latest["status"] == "succeeded", latest["reason"]
    at.run()

    table = table_of(at, "posed · test accuracy").set_index("run")
    for run in ("alpha", "beta"):
        saved = json.loads((trained_runs[run] / registry.EVALUATION_DIR / "posed-test.json").read_text())
        assert table.loc[run, "posed · test accuracy"] == saved["accuracy"]
        assert table.loc[run, "posed · test macro-F1"] == saved["macro_f1"]
        assert table.loc[run, "validation accuracy"] == registry.load_run(trained_runs[run]).validation["accuracy"]
    assert "Every complete run with weights scored on each set (posed: 2 scored, 0 unchanged;" in texts(at)
    assert widget(at, "selectbox", "Run to deploy")  # the table is in view where the deployed model is picked

    at.selectbox(key="testsets.rank").set_value("validation accuracy").run()
    ranked = table_of(at, "posed · test accuracy")
    assert list(ranked["validation accuracy"]) == sorted(ranked["validation accuracy"], reverse=True)


def test_a_bad_zip_gets_one_line_and_a_folder_under_the_data_root_is_added_instead(trained_runs, monkeypatch):
    monkeypatch.setenv(jobs.KINDS[scoring_job.KIND].slots_env, "0")  # queued, not run: the table is not the point here
    make_image_dataset(data_root() / "holdout", {"test": 1}, seed=2)
    before = data_root_listing()
    at = open_page("views/models.py")
    at.file_uploader(key="testsets.upload").set_value(("bad.zip", b"not a zip at all", "application/zip")).run()
    widget(at, "button", "Add and score every run").click().run()

    assert "Not added: bad.zip is not a valid .zip file" in texts(at)
    assert data_root_listing() == before and list_sets() == []

    at.radio(key="testsets.source").set_value("folder").run()
    at.selectbox(key="testsets.folder").set_value("holdout").run()
    widget(at, "button", "Add and score every run").click().run()

    assert "holdout is a test set: every complete run with weights is being scored on it in the background." in texts(at)
    assert jobs.list_jobs(kind=scoring_job.KIND)[0]["status"] == "queued"
    # blank until scored, and while the scoring waits the blank reads "scoring…", never "None"
    assert table_of(at, "holdout · test accuracy")["holdout · test accuracy"].isna().all()
    assert blank_cells_read(at, "holdout · test accuracy") == "scoring…"
    jobs.cancel_job(jobs.list_jobs(kind=scoring_job.KIND)[0]["id"])
    at.run()
    assert table_of(at, "holdout · test accuracy")["holdout · test accuracy"].isna().all()
    assert blank_cells_read(at, "holdout · test accuracy") == "—"  # no scoring under way: not scored


def test_the_deployed_models_card_on_home_lists_its_figure_on_each_test_set(trained_runs):
    from emotion_core.scoring import evaluate_runs

    make_image_dataset(data_root() / "posed", {"test": 1}, seed=9)
    [report] = evaluate_runs(["alpha"], "posed", "test")
    registry.deploy("alpha")

    at = open_page()

    assert (f"`posed` test: accuracy {report['accuracy']:.2%}, macro-F1 {report['macro_f1']:.3f} on 7 images"
            in texts(at))


def test_side_by_side_leaves_a_test_set_to_the_background_scoring(trained_runs, monkeypatch):
    from emotion_core.scoring import evaluate_runs
    from emotion_core.testsets import add_folder

    monkeypatch.setenv(jobs.KINDS[scoring_job.KIND].slots_env, "0")
    make_image_dataset(data_root() / "holdout", {"test": 1}, seed=2)
    add_folder("holdout", kind="photos")
    evaluate_runs(["alpha"], "holdout", "test")  # alpha has a figure on it, beta not yet
    at = open_page("views/models.py")

    widget(at, "selectbox", "Evaluation").set_value(
        next(option for option in widget(at, "selectbox", "Evaluation").options if option.startswith("holdout"))).run()

    assert "Not scored on holdout · test yet: test sets are scored in the background" in texts(at)
    assert not [button for button in at.button if button.label.startswith("Evaluate on holdout")]
