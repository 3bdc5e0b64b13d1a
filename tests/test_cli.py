"""Tests for emotion_core.cli, run through `main([...])` as `python -m emotion_core ...` would."""

import json

import pytest

from emotion_core.cli import main
from emotion_core.labels import EMOTIONS
from tests.conftest import PHOTOS, needs_photos


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of one command; argparse's own exits count as a status."""
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_runs_list_shows_both_runs_and_the_deployed_mark(trained_runs, capsys):
    code, out, _ = run_cli(capsys, "runs", "deploy", "alpha")
    assert (code, out.strip()) == (0, "deployed: alpha (previously none)")

    code, out, _ = run_cli(capsys, "runs", "list")

    lines = out.splitlines()
    assert code == 0
    assert len([line for line in lines if line.startswith("* alpha ")]) == 1  # the deployed mark
    assert len([line for line in lines if line.startswith("  beta ")]) == 1
    assert lines[-1] == "* deployed: alpha"


def test_runs_list_json_has_one_row_per_run(trained_runs, capsys):
    code, out, _ = run_cli(capsys, "runs", "list", "--json")
    rows = json.loads(out)
    assert code == 0 and sorted(row["run"] for row in rows) == ["alpha", "beta"]
    assert {row["state"] for row in rows} == {"complete"}


def test_runs_show_deployed_prints_its_model_card(trained_runs, capsys):
    run_cli(capsys, "runs", "deploy", "beta")

    code, out, _ = run_cli(capsys, "runs", "show", "deployed")

    assert code == 0
    assert out.startswith("# Model card: beta")
    assert "| disgust |" in out


def test_runs_show_deployed_before_any_deployment_is_a_one_line_error(trained_runs, capsys):
    code, out, err = run_cli(capsys, "runs", "show", "deployed")
    assert (code, out) == (2, "")
    assert err.startswith("error: No run is deployed yet") and err.count("\n") == 1


def test_evaluate_json_prints_one_object_with_the_figures(trained_runs, capsys):
    code, out, _ = run_cli(capsys, "evaluate", "alpha", "--json")

    report = json.loads(out)  # the whole output is one JSON object
    assert code == 0
    assert {"accuracy", "macro_f1", "n", "per_class", "confusion_matrix"} <= set(report)
    assert report["n"] == 21 and sum(map(sum, report["confusion_matrix"])) == 21
    assert list(report["per_class"]) == list(EMOTIONS)
    assert 0 <= report["accuracy"] <= 1


@needs_photos
def test_predict_json_on_a_photo(trained_runs, capsys):
    photo = str(PHOTOS / "astronaut.png")

    code, out, _ = run_cli(capsys, "predict", photo, "--model", "alpha", "--json")

    assert code == 0
    (face,) = json.loads(out)[photo]
    assert face["label"] in EMOTIONS
    assert sum(face["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)  # rounded to 4 places


@needs_photos
def test_predict_with_large_faces_only_finds_a_portraits_face(trained_runs, capsys):
    photo = str(PHOTOS / "grace_hopper.jpg")

    code, out, _ = run_cli(capsys, "predict", photo, "--model", "alpha", "--faces", "large")

    assert code == 0 and f"{photo}: 1 face(s)" in out


@needs_photos
def test_predict_reports_a_bad_file_and_exits_1(trained_runs, tmp_path, capsys):
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("not a photo")

    code, out, _ = run_cli(capsys, "predict", str(PHOTOS / "chelsea.png"), str(not_an_image), "--model", "alpha")

    assert code == 1
    assert f"{PHOTOS / 'chelsea.png'}: no face found" in out
    assert f"{not_an_image}: error: 'notes.jpg' is not an image" in out


def test_unknown_architecture_is_a_one_line_error(capsys):
    code, out, err = run_cli(capsys, "train", "--arch", "nope")

    assert (code, out) == (2, "")
    assert err.count("\n") == 1, err
    assert "invalid choice: 'nope'" in err and "vgg_gap_small" in err


def test_config_out_of_range_is_a_one_line_error(tiny_dataset, capsys):
    code, _, err = run_cli(capsys, "train", "--data", str(tiny_dataset), "--epochs", "0")
    assert (code, err) == (2, "error: epochs must be between 1 and 1000\n")


def test_evaluating_a_missing_run_is_a_one_line_error(trained_runs, capsys):
    code, out, err = run_cli(capsys, "evaluate", "nosuchrun")

    assert (code, out) == (2, "")
    assert err.startswith("error: No run named 'nosuchrun'") and err.count("\n") == 1


def test_train_a_tiny_run_from_flags(tiny_dataset, isolated_dirs, capsys):
    code, out, _ = run_cli(capsys, "train", "--data", str(tiny_dataset), "--arch", "vgg_gap_small", "--epochs", "1",
                           "--batch-size", "16", "--precision", "float32", "--no-tta", "--name", "cli1")

    run = isolated_dirs["models"] / "cli1"
    assert code == 0
    assert out.strip().endswith(f"run folder: {run}")
    assert json.loads((run / "status.json").read_text())["state"] == "complete"
    config = json.loads((run / "config.json").read_text())
    assert (config["arch"], config["epochs"], config["batch_size"], config["tta"]) == ("vgg_gap_small", 1, 16, False)
    assert (run / "model.keras").is_file() and (run / "MODEL_CARD.md").is_file()
