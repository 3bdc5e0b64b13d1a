"""Ensembles: a run whose model averages the probabilities of finished runs (its members).

    python -m emotion_core runs ensemble vgg_gap-ens2 --members vgg_gap-warm-e40 vgg_gap-warm2-e60

The ensemble is a run folder like any other, except that it stores no weights of its own:
`ensemble.json` (registry.Run.members) names the members and sums their cost per face, and
`load_run_model` assembles its model from the members' files (each nested under `member_<i>`,
softmax outputs averaged), so `evaluate`, `deploy`, `predict`, the API and the pages use it
unchanged and the registry holds each member's weights once. Ensembles saved before this kept a
`model.keras` of their own, which is still read. `config.json` is the
first member's (input size, colour, classes, TTA), so code that reads a run's recipe still can. TTA
applies to the averaged model, so members' own settings do not matter; `runs tta` changes it.
Grad-CAM of an ensemble is the average of its members' maps on the same crop (explain.Explainer).
"""

from __future__ import annotations

from pathlib import Path

from . import registry
from .storage import now_iso, write_json_atomic

# Keras names the nested models; the run names are kept in ensemble.json, in the same order.
MEMBER_PREFIX = "member_"


def make_ensemble(name: str, members: list[str], root: Path | None = None) -> Path:
    """Write the run folder `name` whose model averages `members`; returns its path.

    Members must be finished runs with weights, taking the same input and predicting the same
    classes; anything else is refused in one line before a folder is written.
    """
    if len(members) < 2:
        raise ValueError("an ensemble needs at least two members")
    runs = [_usable_member(member, root) for member in members]
    if len({run.name for run in runs}) < len(runs):
        raise ValueError("an ensemble's members must be different runs")
    _check_compatible(runs)
    folder = registry.runs_root(root) / name
    if "/" in name or name.startswith(".") or name in registry.ALIASES:
        raise ValueError(f"'{name}' cannot name a run folder")
    if folder.exists():
        raise FileExistsError(f"a run named {name} already exists")

    folder.mkdir(parents=True)
    first = runs[0]
    write_json_atomic(folder / registry.CONFIG_FILE, {**first.config, "name": name, "init_from": ""})
    write_json_atomic(folder / registry.DATASET_FILE, first.dataset)
    multiply_adds = sum(run.info.get("multiply_adds") or 0 for run in runs)
    write_json_atomic(folder / registry.ENSEMBLE_FILE, {"members": [run.name for run in runs],
                                               "multiply_adds": multiply_adds, "created": now_iso()})
    write_json_atomic(folder / registry.INFO_FILE, {
        **{key: first.info[key] for key in ("input_shape", "library_versions") if key in first.info},
        "architecture": "ensemble of " + ", ".join(run.name for run in runs),
        "parameters": sum(run.info.get("parameters") or 0 for run in runs),
        "multiply_adds": multiply_adds,
        "model_bytes": sum(path.stat().st_size for run in runs for path in run.weights_files),
    })
    write_json_atomic(folder / registry.HISTORY_FILE, [])
    registry.update_status(folder, state="complete", started=now_iso(), ended=now_iso())
    return folder


def load_run_model(run: registry.Run, compile: bool = True):
    """The run's Keras model, loaded with safe_mode (a file never runs code): its own model file, or
    an ensemble's, assembled from its members' models."""
    import keras

    own = run.path / registry.MODEL_FILE
    if own.is_file() or not run.members:
        return keras.models.load_model(own, compile=compile, safe_mode=True)
    members = [load_run_model(registry.load_run(run.path.parent / name), compile=False) for name in run.members]
    return average_models(members)


def average_models(models: list):
    """One model whose output is the mean of `models`' softmax outputs (they take the same input)."""
    import keras

    inputs = keras.Input(shape=models[0].input_shape[1:], name="face")
    # Each member wrapped under its own name: two runs of one architecture share layer names.
    outputs = [keras.Model(model.inputs, model.outputs[0], name=f"{MEMBER_PREFIX}{index}")(inputs)
               for index, model in enumerate(models)]
    averaged = keras.layers.Average(name="predictions")(outputs)
    return keras.Model(inputs, averaged, name="ensemble")


def _usable_member(name: str, root: Path | None) -> registry.Run:
    run = registry.load_run(registry.resolve_run(name, root))
    if run.problem:
        raise registry.RunError(f"{run.name} is broken: {run.problem}")
    if not run.has_weights:
        raise registry.RunError(f"{run.name} has no model file (comparison-only run)")
    if run.state != "complete":
        raise registry.RunError(f"{run.name} is {run.state}, not complete: only finished runs can be members")
    if run.path.resolve().parent != registry.runs_root(root).resolve():
        # ensemble.json names members, and they are looked up beside the ensemble's folder
        raise registry.RunError(f"{run.name} is outside the registry {registry.runs_root(root)}: move it there first")
    return run


def _check_compatible(runs: list[registry.Run]) -> None:
    first = runs[0]
    for run in runs[1:]:
        if run.info.get("input_shape") != first.info.get("input_shape"):
            raise ValueError(f"{run.name} takes {run.info.get('input_shape')} but {first.name} takes "
                             f"{first.info.get('input_shape')}: members must take the same input")
        if run.classes != first.classes:
            raise ValueError(f"{run.name} predicts {', '.join(run.classes)} but {first.name} predicts "
                             f"{', '.join(first.classes)}: members must predict the same classes")
