"""Tests for emotion_core.cli, run through `main([...])` as `python -m emotion_core ...` would."""

import json
import os
import subprocess
import sys

import pytest

from emotion_core import jobs
from emotion_core.cli import main
from emotion_core.labels import EMOTIONS
from tests.conftest import PHOTOS, PROJECT, needs_photos
from tests.jobs.helpers import write_finished_run


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


def test_evaluate_json_prints_a_list_with_one_report_per_run(trained_runs, capsys):
    code, out, _ = run_cli(capsys, "evaluate", "alpha", "--json")

    [report] = json.loads(out)  # the whole output is one JSON list, one object per run
    assert code == 0 and report["run"] == "alpha"
    assert {"accuracy", "macro_f1", "n", "per_class", "confusion_matrix"} <= set(report)
    assert report["n"] == 21 and sum(map(sum, report["confusion_matrix"])) == 21
    assert list(report["per_class"]) == list(EMOTIONS)
    assert 0 <= report["accuracy"] <= 1


def test_evaluate_two_runs_gives_two_reports_each_its_own_models(trained_runs, capsys):
    code, out, _ = run_cli(capsys, "evaluate", "alpha", "beta", "--json", "--no-save")

    reports = json.loads(out)
    assert code == 0 and [report["run"] for report in reports] == ["alpha", "beta"]
    assert [report["n"] for report in reports] == [21, 21]
    for report in reports:  # each matches the run evaluated alone
        code, out, _ = run_cli(capsys, "evaluate", report["run"], "--json", "--no-save")
        [alone] = json.loads(out)
        assert (alone["accuracy"], alone["confusion_matrix"]) == (report["accuracy"], report["confusion_matrix"])
    code, out, _ = run_cli(capsys, "evaluate", "--all", "--json", "--no-save")
    assert sorted(report["run"] for report in json.loads(out)) == ["alpha", "beta"]


def test_evaluate_needs_runs_or_all_but_not_both(trained_runs, capsys):
    code, out, err = run_cli(capsys, "evaluate", "alpha", "--all")
    assert (code, out) == (2, "") and err == "error: name the runs to evaluate, or give --all (not both)\n"


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

    assert code == 0 and f"{photo}: 1 face" in out


@needs_photos
def test_predict_with_all_faces_finds_the_small_face_beside_a_large_one(trained_runs, tmp_path, capsys):
    from PIL import Image

    from tests.faces.scenes import face_tiles, scene

    photo = tmp_path / "selfie.png"  # a face of 30% of the shorter side, and one of 7% beside it
    Image.fromarray(scene([("astronaut.png", 0.30), ("grace_hopper.jpg", 0.07)], face_tiles())).save(photo)

    _, default, _ = run_cli(capsys, "predict", str(photo), "--model", "alpha")
    code, every, _ = run_cli(capsys, "predict", str(photo), "--model", "alpha", "--faces", "all")

    assert f"{photo}: 1 face" in default and code == 0 and f"{photo}: 2 faces" in every


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
                           "--batch-size", "16", "--precision", "float32", "--tta", "off", "--name", "cli1")

    run = isolated_dirs["models"] / "cli1"
    assert code == 0
    assert out.strip().endswith(f"run folder: {run}")
    assert json.loads((run / "status.json").read_text())["state"] == "complete"
    config = json.loads((run / "config.json").read_text())
    assert (config["arch"], config["epochs"], config["batch_size"], config["tta"]) == ("vgg_gap_small", 1, 16, "off")
    assert (run / "model.keras").is_file() and (run / "MODEL_CARD.md").is_file()


# --- jobs -----------------------------------------------------------------------------------------------


def test_cli_starts_lists_cancels_and_shows_the_log_of_jobs(tiny_dataset, isolated_dirs, monkeypatch, capsys):
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "0")  # jobs stay queued: no worker is started
    write_finished_run(isolated_dirs["models"], "alpha")
    start = ["jobs", "start", "--arch", "vgg_gap_small", "--data", "tiny", "--epochs", "3", "--request-id", "r1"]

    assert main(start) == 0
    assert main(start) == 0  # the same request id: the same job
    assert main(["jobs", "start", "--from-run", "alpha", "--optimizer", "adam"]) == 0
    ids = capsys.readouterr().out.split()
    assert main(["jobs", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)

    assert ids == ["1", "1", "2"]
    assert [(job["id"], job["status"]) for job in listed] == [("2", "queued"), ("1", "queued")]
    assert listed[1]["options"]["epochs"] == 3
    retrained = listed[0]["config"]
    assert (retrained["optimizer"], retrained["batch_size"], retrained["name"]) == ("adam", 16, "")

    assert main(["jobs", "cancel", "1"]) == 0
    assert "job 1 cancelled" in capsys.readouterr().out
    assert main(["jobs", "list"]) == 0
    table = capsys.readouterr().out
    assert "cancelled" in table and "optimizer=adam" in table
    assert main(["jobs", "log", "9"]) == 2
    assert "No job '9'" in capsys.readouterr().err


def test_jobs_start_refuses_both_a_config_file_and_a_run_to_retrain(tiny_dataset, isolated_dirs, capsys):
    write_finished_run(isolated_dirs["models"], "alpha")

    code, _, err = run_cli(capsys, "jobs", "start", "--from-run", "alpha", "--config", "recipe.json")

    assert (code, err) == (2, "error: use --config or --from-run, not both\n")
    assert not jobs.jobs_dir().exists() or not list(jobs.jobs_dir().glob("*.json"))


# --- TensorFlow's start-up notices ------------------------------------------------------------------------


def test_a_tensorflow_log_level_the_user_set_is_kept(monkeypatch, capsys):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")

    run_cli(capsys, "runs", "list")

    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"


def test_without_a_user_setting_tensorflow_logs_errors_only_at_most(monkeypatch, capsys):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)

    run_cli(capsys, "runs", "list")

    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"


@pytest.mark.slow
@needs_photos
def test_predict_prints_no_tensorflow_start_up_notices(trained_runs):
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    photo = str(PHOTOS / "astronaut.png")

    done = subprocess.run([sys.executable, "-m", "emotion_core", "predict", photo, "--model", "alpha"],
                          cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{photo}: 1 face")
    for notice in ("absl::InitializeLog", "oneDNN", "cuda drivers", "cuInit"):
        assert notice not in done.stderr
