"""Tests for emotion_core.registry: listing runs (broken ones too), deploying, resolving, saving models."""

import json
import shutil
import zipfile

import pytest

from emotion_core import registry, storage
from emotion_core.registry import RunError, deploy, deployed_name, deployment_record, list_runs, load_run, resolve_run


def _copy(trained_runs, name, source="alpha"):
    target = trained_runs[source].parent / name
    shutil.copytree(trained_runs[source], target)
    return target


@pytest.fixture
def registry_with_broken_runs(trained_runs):
    """alpha and beta, plus one folder for each way a run can be broken, with its expected reason."""
    (_copy(trained_runs, "bad_json") / "config.json").write_text("{ not json")
    (_copy(trained_runs, "bad_status") / "status.json").write_text("")
    (_copy(trained_runs, "no_config") / "config.json").unlink()
    (_copy(trained_runs, "corrupt_model") / "model.keras").write_bytes(b"half a file")
    with zipfile.ZipFile(_copy(trained_runs, "not_keras") / "model.keras", "w") as archive:
        archive.writestr("weights.txt", "nothing a Keras model holds")
    return {
        "bad_json": "unreadable file",
        "bad_status": "unreadable file",
        "no_config": "no config.json",
        "corrupt_model": "model.keras is corrupt",
        "not_keras": "model.keras is not a Keras model archive",
    }


# --- Listing ----------------------------------------------------------------------------------------


def test_broken_runs_are_listed_with_their_reason_beside_good_ones(registry_with_broken_runs):
    runs = {run.name: run for run in list_runs()}

    assert set(runs) == {"alpha", "beta", *registry_with_broken_runs}
    for name, reason in registry_with_broken_runs.items():
        assert runs[name].state == "broken"
        assert runs[name].problem.startswith(reason), runs[name].problem
        assert "\n" not in runs[name].problem
    for name in ("alpha", "beta"):
        assert (runs[name].state, runs[name].problem) == ("complete", "")
        assert runs[name].summary_row()["val_accuracy"] is not None


def test_hidden_and_underscore_folders_are_not_runs(trained_runs):
    _copy(trained_runs, ".partial")
    _copy(trained_runs, "_trash")
    assert sorted(run.name for run in list_runs()) == ["alpha", "beta"]


def test_summary_row_of_a_complete_run(trained_runs):
    row = load_run(trained_runs["beta"]).summary_row()

    assert (row["run"], row["state"], row["architecture"], row["optimizer"]) == (
        "beta", "complete", "vgg_gap_small", "adam")
    assert (row["epochs"], row["epochs_planned"], row["batch_size"]) == (2, 2, 8)
    assert row["weights"] is True and row["problem"] == ""
    # Its config leaves the colour to the architecture (""); the table names what the model took.
    assert load_run(trained_runs["beta"]).config.get("color_mode", "") == "" and row["color_mode"] == "grayscale"


# --- Deploying --------------------------------------------------------------------------------------


def test_deploy_moves_the_pointer_and_remembers_the_previous_run(trained_runs, isolated_dirs):
    assert deployed_name() is None

    first = deploy("alpha")
    second = deploy("beta")

    assert (first["run"], first["history"]) == ("alpha", [])
    assert deployed_name() == "beta"
    assert [entry["run"] for entry in second["history"]] == ["alpha"]
    pointer = isolated_dirs["models"] / "deployed.json"
    assert json.loads(pointer.read_text()) == deployment_record() == second
    assert resolve_run("deployed") == trained_runs["beta"]


def test_a_failed_pointer_write_keeps_the_previous_deployment(trained_runs, isolated_dirs, monkeypatch):
    deploy("alpha")

    def disk_full(*_):
        raise OSError("no space left on device")

    monkeypatch.setattr(storage.os, "replace", disk_full)
    with pytest.raises(RunError, match="Cannot deploy beta: could not write .*; alpha stays deployed"):
        deploy("beta")

    assert deployed_name() == "alpha"  # the pointer was never half-written
    assert [p.name for p in isolated_dirs["models"].iterdir() if p.name.startswith(".")] == []


def _without_weights(run):
    (run / "model.keras").unlink()


def _interrupted(run):
    registry.update_status(run, state="interrupted", reason="cancelled")


def _corrupt(run):
    (run / "model.keras").write_bytes(b"half a file")


@pytest.mark.parametrize("spoil, reason", [
    (_corrupt, "it is broken"),
    (_without_weights, "it has no model file"),
    (_interrupted, "it is interrupted, not complete"),
])
def test_unusable_runs_are_not_deployed(trained_runs, spoil, reason):
    deploy("beta")
    spoil(trained_runs["alpha"])

    with pytest.raises(RunError, match=f"Cannot deploy alpha: {reason}"):
        deploy("alpha")
    assert deployed_name() == "beta"


def test_a_run_outside_the_registry_is_not_deployed(trained_runs, tmp_path):
    # The pointer names a run of the registry: deploying a folder elsewhere would leave it dangling.
    elsewhere = tmp_path / "elsewhere" / "gamma"
    shutil.copytree(trained_runs["alpha"], elsewhere)

    with pytest.raises(RunError, match="outside the registry"):
        deploy(str(elsewhere))
    assert deployed_name() is None


def test_deploying_by_path_inside_the_registry_records_the_name(trained_runs):
    assert deploy(str(trained_runs["alpha"]))["run"] == "alpha"
    assert resolve_run("deployed") == trained_runs["alpha"]


# --- Resolving --------------------------------------------------------------------------------------


@pytest.mark.parametrize("pointer", [None, "{ half written", '["not", "an", "object"]'])
def test_deployed_without_a_deployment_says_how_to_make_one(trained_runs, isolated_dirs, pointer):
    if pointer is not None:
        (isolated_dirs["models"] / "deployed.json").write_text(pointer)

    with pytest.raises(RunError, match=r"No run is deployed yet in .*; deploy one with `runs deploy RUN`\."):
        resolve_run("deployed")


def test_resolve_by_name_and_by_path(trained_runs):
    assert resolve_run("alpha") == trained_runs["alpha"]
    assert resolve_run(trained_runs["beta"]) == trained_runs["beta"]
    with pytest.raises(RunError, match="No run named 'gamma' in "):
        resolve_run("gamma")


# --- The registry folder and saving a model -----------------------------------------------------------


def test_the_registry_is_the_folder_given_else_the_environments(isolated_dirs, tmp_path):
    assert registry.runs_root() == isolated_dirs["models"]  # EMOTION_RUNS_DIR, set by conftest
    assert registry.runs_root(None) == registry.runs_root("") == isolated_dirs["models"]
    assert registry.runs_root(str(tmp_path / "elsewhere")) == tmp_path / "elsewhere"
    assert list_runs(tmp_path / "elsewhere") == []  # every `root=` argument goes through it


def test_a_saved_model_replaces_the_file_whole_and_leaves_no_temporary(tmp_path):
    import keras

    target = tmp_path / "run" / registry.MODEL_FILE  # a folder of its own: conftest's folders sit in tmp_path
    target.parent.mkdir()
    target.write_bytes(b"the previous model")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="output")])

    registry.save_model_atomic(model, target)

    assert zipfile.ZipFile(target).namelist().count("config.json") == 1
    assert keras.models.load_model(target, safe_mode=True).get_layer("output").units == 1
    assert sorted(path.name for path in target.parent.iterdir()) == [registry.MODEL_FILE]
