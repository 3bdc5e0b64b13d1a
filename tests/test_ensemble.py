"""Ensembles: a run averaging finished runs, usable everywhere a run is (emotion_core.ensemble)."""

from __future__ import annotations

import numpy as np
import pytest

from emotion_core import registry
from emotion_core.analysis.ray_engine import RunFiles
from emotion_core.cli import main
from emotion_core.ensemble import load_run_model, make_ensemble
from emotion_core.explain import Explainer
from emotion_core.predictor import Predictor
from emotion_core.report import format_runs_markdown, model_card_text


def test_an_ensemble_predicts_the_average_of_its_members(trained_runs):
    folder = make_ensemble("duo", ["alpha", "beta"])
    run = registry.load_run(folder)
    assert run.problem == "" and run.state == "complete" and run.members == ["alpha", "beta"]
    faces = np.random.default_rng(0).integers(0, 256, (5, 48, 48, 1)).astype(np.float32)
    alpha, beta, duo = (Predictor.load(name).classify(faces) for name in ("alpha", "beta", "duo"))
    np.testing.assert_allclose(duo, (alpha + beta) / 2, atol=1e-5)
    np.testing.assert_allclose(duo.sum(axis=1), 1.0, atol=1e-5)


def test_it_stores_the_members_names_not_a_second_copy_of_their_weights(trained_runs):
    folder = make_ensemble("duo", ["alpha", "beta"])
    assert not (folder / registry.MODEL_FILE).exists()
    run = registry.load_run(folder)
    assert run.has_weights and run.weights_files == [trained_runs[name] / registry.MODEL_FILE for name in ("alpha", "beta")]
    (trained_runs["beta"] / registry.MODEL_FILE).unlink()  # a member's weights removed: the ensemble says which
    run = registry.load_run(folder)
    assert not run.has_weights and run.problem == "its member beta has no model file"
    with pytest.raises(registry.RunError, match="its member beta has no model file"):
        Predictor.load("duo")


def test_an_ensemble_saved_with_its_own_model_file_still_loads_from_it(trained_runs):
    folder = make_ensemble("duo", ["alpha", "beta"])
    load_run_model(registry.load_run(folder)).save(folder / registry.MODEL_FILE)
    assert registry.load_run(folder).model_files == "Model file"
    (trained_runs["beta"] / registry.MODEL_FILE).unlink()
    faces = np.random.default_rng(2).integers(0, 256, (3, 48, 48, 1)).astype(np.float32)
    assert Predictor.load("duo").classify(faces).shape == (3, 7)


def test_ray_workers_get_an_ensemble_they_can_load_without_its_members(trained_runs):
    make_ensemble("duo", ["alpha", "beta"])
    shipped = RunFiles.of("duo")
    assert registry.MODEL_FILE in shipped.files
    faces = np.random.default_rng(3).integers(0, 256, (4, 48, 48, 1)).astype(np.float32)
    np.testing.assert_allclose(shipped.load().classify(faces), Predictor.load("duo").classify(faces), atol=1e-6)


def test_its_card_facts_sum_the_members_cost(trained_runs):
    alpha, beta = (registry.load_run(trained_runs[name]) for name in ("alpha", "beta"))
    run = registry.load_run(make_ensemble("duo", ["alpha", "beta"]))
    assert run.info["multiply_adds"] == alpha.info["multiply_adds"] + beta.info["multiply_adds"]
    assert run.info["parameters"] == alpha.info["parameters"] + beta.info["parameters"]
    assert run.summary_row()["architecture"] == "ensemble of 2"
    # It keeps no model file: its size is its members' files together, and named so (Home, card, tables).
    assert run.model_mb == pytest.approx(sum(member.model_mb for member in (alpha, beta)))
    assert (run.model_files, alpha.model_files) == ("Members' files", "Model file")
    assert f"**members' files:** {run.model_mb:.1f} MB" in model_card_text(run)


def test_its_grad_cam_is_the_average_of_the_members_maps(trained_runs):
    ensemble = Predictor.load(registry.resolve_run(make_ensemble("duo", ["alpha", "beta"])))
    faces = np.random.default_rng(1).integers(0, 256, (2, 48, 48, 1)).astype(np.float32)
    maps = Explainer(ensemble.model).heatmaps(faces, [3, 4], "gradcam")
    members = [Explainer(Predictor.load(name).model).heatmaps(faces, [3, 4], "gradcam") for name in ("alpha", "beta")]
    mean = (members[0] + members[1]) / 2
    expected = mean / np.maximum(mean.reshape(2, -1).max(axis=1), 1e-12)[:, None, None]
    assert maps.shape == (2, 48, 48) and maps.max() <= 1.0
    np.testing.assert_allclose(maps, expected, atol=1e-4)


def test_it_can_be_deployed_and_evaluated_from_the_command_line(trained_runs, capsys):
    assert main(["runs", "ensemble", "duo", "--members", "alpha", "beta", "--data", str(trained_runs["data"])]) == 0
    assert "accuracy" in capsys.readouterr().out
    assert registry.load_run(trained_runs["alpha"].parent / "duo").validation["accuracy"] >= 0
    assert main(["runs", "deploy", "duo"]) == 0
    assert Predictor.load("deployed").run_name == "duo"


@pytest.mark.parametrize("members, message", [
    (["alpha"], "at least two members"),
    (["alpha", "alpha"], "must be different runs"),
    (["alpha", "nobody"], "No run named 'nobody'"),
])
def test_bad_members_are_refused_in_one_line_before_a_folder_is_written(trained_runs, members, message):
    with pytest.raises((ValueError, registry.RunError), match=message):
        make_ensemble("duo", members)
    assert not (trained_runs["alpha"].parent / "duo").exists()


def test_an_existing_run_name_is_not_overwritten(trained_runs):
    with pytest.raises(FileExistsError, match="already exists"):
        make_ensemble("beta", ["alpha", "beta"])


def test_members_of_different_class_sets_are_refused(class_set_runs):
    with pytest.raises(ValueError, match="members must predict the same classes"):
        make_ensemble("mixed", ["alpha", "trio"])


def test_its_model_card_names_the_members_and_their_summed_cost(trained_runs):
    from emotion_core.report import model_card_text

    text = model_card_text(registry.load_run(make_ensemble("duo", ["alpha", "beta"])))
    assert "the average of `alpha`, `beta`'s probabilities" in text and "sum of theirs" in text


def test_the_ensemble_command_leaves_a_model_card_with_its_measured_accuracy(trained_runs, capsys):
    assert main(["runs", "ensemble", "duo", "--members", "alpha", "beta"]) == 0

    accuracy = registry.load_run(registry.resolve_run("duo")).validation["accuracy"]
    card = (registry.resolve_run("duo") / registry.MODEL_CARD_FILE).read_text()
    assert "`alpha`, `beta`" in card and f"Accuracy **{accuracy:.2%}**" in card
    assert "best epoch" not in card  # an ensemble has no epochs of its own


def test_the_runs_table_sends_a_reader_to_its_members_for_epochs_and_training_time(trained_runs):
    make_ensemble("duo", ["alpha", "beta"])

    lines = format_runs_markdown(registry.list_runs(), None).splitlines()

    duo = next(line for line in lines if line.startswith("| `duo`"))
    assert "| ensemble of 2 |" in duo and duo.count("| its members' |") == 2
    assert "0 min" not in duo


def test_its_card_says_it_was_made_from_its_members_not_trained_for_0_epochs(trained_runs):
    from emotion_core.report import model_card, origin_text

    card = model_card(registry.load_run(make_ensemble("duo", ["alpha", "beta"])))

    assert origin_text(card).startswith("Made 20") and origin_text(card).endswith(
        "as the average of `alpha` and `beta` (each trained for 2 epochs)")
    assert origin_text(model_card(registry.load_run(trained_runs["alpha"]))).endswith("for 2 epochs")
