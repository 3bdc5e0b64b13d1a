"""The Models page's reliability diagram: ECE and which way a run errs, before and after `runs calibrate`."""

import json

from emotion_core import registry
from emotion_core.scoring import calibrate_run
from tests.test_pages_explore import open_page, texts


def _vega_specs(at) -> list[str]:
    return [element.proto.spec for element in at.get("vega_lite_chart")]


def test_each_runs_reliability_diagram_and_ece_are_shown_and_follow_a_calibration(trained_runs):
    saved = json.loads((trained_runs["alpha"] / registry.EVALUATION_DIR / "validation.json").read_text())
    at = open_page("views/models.py")

    shown = texts(at)
    assert f"ECE {saved['reliability']['ece']:.3f} (15 bins): mean confidence" in shown
    assert "Not calibrated: `python -m emotion_core runs calibrate RUN` fits a temperature." in shown
    assert sum("confidence (top probability)" in spec for spec in _vega_specs(at)) == 2  # alpha and beta

    record = calibrate_run("alpha")
    at = open_page("views/models.py")

    assert (f"Temperature {record['temperature']:.3f} applied (`runs calibrate`); "
            f"ECE {record['ece_before']:.3f} without it.") in texts(at)


def test_the_deployed_model_is_picked_with_each_runs_figures_on_the_users_test_sets_in_view(trained_runs):
    from emotion_core.scoring import evaluate_runs
    from tests.conftest import make_image_dataset

    make_image_dataset(trained_runs["data"].parent / "posed", {"test": 1}, seed=9)
    [alpha] = evaluate_runs(["alpha"], "posed", "test")
    at = open_page("views/models.py")

    table = next(frame for frame in (element.value for element in at.dataframe) if "posed · test accuracy" in frame)
    assert table.set_index("run").loc["alpha", "posed · test accuracy"] == alpha["accuracy"]
    assert list(table["run"]) == ["alpha", "beta"]
    assert "On your test sets" in texts(at)
