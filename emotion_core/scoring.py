"""Evaluate a run on a data set split, and save the figures into the run folder.

    python -m emotion_core evaluate deployed --data data/fer2013 --split validation --json

A run is scored on the classes it learned. Images of other classes in the data set are left out,
and the report's `note` says how many (a 3-class run on FER2013); a data set lacking one of the
run's classes is refused (a 7-class run on a 3-class folder), since its scores would count classes
the data never shows.
"""

from __future__ import annotations

from . import registry
from .config import config_from_dict
from .datasets import DatasetError, keep_classes, load_split, open_dataset
from .evaluation import classification_report
from .inference import predict_probabilities, tta_mode
from .labels import EMOTIONS, class_set_name
from .report import write_model_card
from .storage import now_iso, read_json, write_json_atomic


def evaluate_run(run: str, data: str | None = None, split: str = "validation", tta: str | bool | None = None,
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
    tta = tta_mode(config.tta if tta is None else tta)
    dataset = open_dataset(data or config.data, require_train=False)  # a hold-out folder may have test/ only
    if split not in dataset.items and not (split == "validation" and "train" in dataset.items):
        raise DatasetError(f"{dataset.name} has no {split} split (it has {', '.join(dataset.splits)})")
    missing = [name for name in config.classes if name not in dataset.classes]
    if missing:
        raise DatasetError(f"refused: {run_info.name} learned {class_set_name(config.classes)} classes but "
                           f"{dataset.name} has no images of {', '.join(missing)}; evaluate it on a data set "
                           "that has all of them")
    model = keras.models.load_model(run_dir / registry.MODEL_FILE, safe_mode=True)
    if split == "validation" and "validation" not in dataset.items:
        _, _, x, y, _source = load_training_data(dataset, config)  # the part of train held out
        left_out = 0  # not counted: the held-out part is carved after the other classes are dropped
    else:
        x, y = load_split(dataset, split, config.image_size, config.resolved_color_mode())
        total = len(y)
        x, y = keep_classes(x, y, config.classes)
        left_out = total - len(y)
    report = classification_report(y, predict_probabilities(model, x, tta=tta, progress=progress),
                                   class_names=config.classes)
    others = [name for name in dataset.classes if name not in config.classes]
    note = ""
    if others:
        counted = f"{left_out:,} images" if left_out else "the images"
        note = (f"mapped: scored on the run's classes ({', '.join(config.classes)}); {counted} of "
                f"{', '.join(others)} left out, classes {run_info.name} did not learn")
    report.update(split=split, tta=tta, data=dataset.name, fingerprint=dataset.fingerprint(),
                  evaluated=now_iso(), **({"note": note} if note else {}))
    if save:
        # Figures on another data set must not overwrite the ones on the run's own.
        same_data = dataset.fingerprint() == run_info.dataset.get("fingerprint")
        registry.save_evaluation(run_dir, split if same_data else f"{dataset.name}-{split}", report)
        if same_data and split == "validation":
            write_model_card(run_dir)  # the card states these figures; a stale one would contradict them
    return report


def adopt_tta(run: str, mode: str, data: str | None = None, progress=None) -> dict:
    """Make `mode` the TTA the run predicts with, measured first on its own validation split.

    The mode is recorded in the run's config only after its figures are saved, so the app, the
    API, the model card and the figures never disagree on how the run sees a face. Returns the
    new and the previous validation accuracy with their modes.
    """
    mode = tta_mode(mode)
    run_dir = registry.resolve_run(run)
    before = registry.load_run(run_dir)
    report = evaluate_run(str(run_dir), data, "validation", tta=mode, save=False, progress=progress)
    if report["fingerprint"] != before.dataset.get("fingerprint"):
        raise DatasetError(f"{report['data']} is not the data set {before.name} trained on: a run's TTA is "
                           "chosen on its own validation split")
    registry.save_evaluation(run_dir, "validation", report)
    config = read_json(run_dir / registry.CONFIG_FILE)
    write_json_atomic(run_dir / registry.CONFIG_FILE, {**config, "tta": mode})
    write_model_card(run_dir)
    return {"run": before.name, "tta": mode, "accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
            "previous_tta": before.summary_row()["tta"], "previous_accuracy": before.validation.get("accuracy")}


def evaluate_photos(run: str, data: str, split: str = "test", detector: str | None = None,
                    face_size: str = "any", progress=None) -> dict:
    """The whole photo pipeline (detect, align, crop, classify) on labelled photos, not face crops.

    Each photo counts once: its most confident face is its prediction. Photos where no face is
    found are counted in `no_face` and scored as wrong in `accuracy_all_photos`; the usual figures
    (accuracy, macro-F1, per class) are over the photos where a face was found. Not saved into the
    run folder: the figures depend on the photos as much as on the model.
    """
    import numpy as np

    from .faces import DEFAULT_DETECTOR, FACE_SIZES
    from .images import ImageError
    from .predictor import Predictor

    predictor = Predictor.load(run, detector=detector or DEFAULT_DETECTOR)
    classes = registry.load_run(registry.resolve_run(run)).classes
    dataset = open_dataset(data, require_train=False)
    if split not in dataset.items or dataset.kind != "folders":
        raise DatasetError(f"{dataset.name} has no {split} folder of photos (it has {', '.join(dataset.splits)})")
    labels, rows, no_face, unreadable = [], [], 0, 0
    items = [(name, label) for name, label in dataset.items[split] if EMOTIONS[label] in classes]
    for done, (name, label) in enumerate(items, start=1):
        try:
            faces = predictor.predict(dataset.path / name, min_face_fraction=FACE_SIZES[face_size])
        except (ImageError, OSError):
            unreadable += 1
            continue
        if not faces:
            no_face += 1
        else:
            best = max(faces, key=lambda face: face.box.score)
            rows.append([best.probabilities[name] for name in classes])
            labels.append(classes.index(EMOTIONS[label]))
        if progress:
            progress(done, len(items))
    if not rows:
        raise DatasetError(f"no face was found in any of the {len(items)} photos of {dataset.name}/{split}")
    report = classification_report(np.array(labels), np.array(rows), class_names=classes)
    correct = int(round(report["accuracy"] * len(rows)))
    report.update(split=split, data=dataset.name, faces="detect", detector=predictor.detector.name,
                  face_size=face_size, photos=len(items), no_face=no_face, unreadable=unreadable,
                  accuracy_all_photos=correct / max(1, len(items) - unreadable), evaluated=now_iso())
    return report
