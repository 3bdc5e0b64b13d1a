"""Evaluate a run on a data set split, and save the figures into the run folder.

    python -m emotion_core evaluate deployed --data data/fer2013 --split validation --json
"""

from __future__ import annotations

from . import registry
from .config import config_from_dict
from .datasets import load_split, open_dataset
from .evaluation import classification_report
from .inference import predict_probabilities
from .storage import now_iso, read_json


def evaluate_run(run: str, data: str | None = None, split: str = "validation", tta: bool | None = None,
                 save: bool = True, progress=None) -> dict:
    """Accuracy, macro-F1, per-class scores, confusion matrix and ROC of a run on one split.

    `tta=None` uses what the run recorded, so the figures match the ones the app shows.
    Without a validation split, 'validation' means the same stratified part of train that
    training held out.
    """
    import keras

    from .training import load_training_data

    run_dir = registry.resolve_run(run)
    run_info = registry.load_run(run_dir)
    if run_info.problem:
        raise registry.RunError(f"{run_info.name} is broken: {run_info.problem}")
    if not run_info.has_weights:
        raise registry.RunError(f"{run_info.name} has no model file to evaluate (comparison-only run).")
    config = config_from_dict(read_json(run_dir / registry.CONFIG_FILE))
    tta = config.tta if tta is None else tta
    dataset = open_dataset(data or config.data)
    model = keras.models.load_model(run_dir / registry.MODEL_FILE, safe_mode=True)
    if split == "validation" and "validation" not in dataset.items:
        _, _, x, y, _source = load_training_data(dataset, config)  # the part of train held out
    else:
        x, y = load_split(dataset, split, config.image_size, config.resolved_color_mode())
    report = classification_report(y, predict_probabilities(model, x, tta=tta, progress=progress))
    report.update(split=split, tta=tta, data=dataset.name, fingerprint=dataset.fingerprint(),
                  evaluated=now_iso())
    if save:
        # Figures on another data set must not overwrite the ones on the run's own.
        same_data = dataset.fingerprint() == run_info.dataset.get("fingerprint")
        registry.save_evaluation(run_dir, split if same_data else f"{dataset.name}-{split}", report)
    return report
