"""The models shipped in models/ still score what their runs recorded on FER2013's validation split.

A change to preprocessing (decoding, resizing, colour, TTA) that silently hurts the shipped models
fails here. Runs in CI, where the real data is linked; skipped without it.
"""

from __future__ import annotations

import pytest

from emotion_core import registry
from emotion_core.inference import tta_mode
from emotion_core.scoring import evaluate_run
from tests.conftest import FER2013, PROJECT, needs_fer2013

ALLOWED_DROP = 0.005  # half a point: more than run-to-run float noise, less than any real regression


def shipped_runs_with_weights() -> list[str]:
    runs = registry.list_runs(PROJECT / "models")
    return sorted(run.name for run in runs if run.has_weights and run.validation and not run.problem)


def test_a_deployed_model_ships_with_the_project():
    deployed = registry.deployed_name(PROJECT / "models")
    assert deployed in shipped_runs_with_weights()


def runs_to_rescore() -> list[str]:
    """What the app serves (the runs its aliases name: deployed, live; an ensemble whole, which
    assembles its members from their files) and every shipped run of a class set none of them has
    (the 3-class run). The other shipped runs go through the same preprocessing and inference
    code, so a regression there shows on these; re-scoring all 16 of them took minutes a suite."""
    models = PROJECT / "models"
    shipped = shipped_runs_with_weights()
    served = {name for name in registry.aliases(models).values() if name in shipped}
    served_classes = {tuple(registry.load_run(models / name).classes) for name in served}
    other_classes = {name for name in shipped if tuple(registry.load_run(models / name).classes) not in served_classes}
    return sorted(served | other_classes)


@needs_fer2013
@pytest.mark.parametrize("run_name", runs_to_rescore())
def test_shipped_model_keeps_its_recorded_validation_accuracy(run_name, monkeypatch):
    monkeypatch.setenv("EMOTION_RUNS_DIR", str(PROJECT / "models"))
    recorded = registry.load_run(PROJECT / "models" / run_name).validation

    measured = evaluate_run(run_name, data=str(FER2013), split="validation", save=False)

    assert measured["fingerprint"] == registry.load_run(PROJECT / "models" / run_name).dataset["fingerprint"]
    assert measured["tta"] == tta_mode(recorded["tta"])  # older runs recorded a bool
    assert measured["n"] == recorded["n"]
    assert measured["accuracy"] >= recorded["accuracy"] - ALLOWED_DROP
    assert measured["macro_f1"] >= recorded["macro_f1"] - ALLOWED_DROP


def single_model_cost(run_name: str) -> int:
    """Multiply-adds per face of one model: an ensemble's costliest member, not the sum of them."""
    run = registry.load_run(PROJECT / "models" / run_name)
    return max(map(single_model_cost, run.members)) if run.members else run.info["multiply_adds"]


def test_the_live_model_ships_at_a_third_of_the_deployed_single_models_cost_or_less():
    """The Live page's model (registry alias `live`) is a shipped run cheap enough per frame."""
    models = PROJECT / "models"
    live, deployed = registry.alias_target(registry.LIVE, models), registry.deployed_name(models)
    assert live in shipped_runs_with_weights() and live != deployed
    assert single_model_cost(live) <= single_model_cost(deployed) / 3


def test_the_deployed_ensembles_members_ship_with_weights():
    deployed = registry.load_run(PROJECT / "models" / registry.deployed_name(PROJECT / "models"))
    assert set(deployed.members) <= set(shipped_runs_with_weights())


def test_a_three_class_run_ships_with_weights_and_beats_the_first_seeds_64_percent():
    """Seed 000's angry/sad/neutral experiment reported 64%; a runnable run of those classes beats it
    (its accuracy is re-measured by the guard above)."""
    three = [registry.load_run(PROJECT / "models" / name) for name in shipped_runs_with_weights()]
    three = [run for run in three if set(run.classes) == {"angry", "sad", "neutral"}]
    assert three and max(run.validation["accuracy"] for run in three) > 0.64
