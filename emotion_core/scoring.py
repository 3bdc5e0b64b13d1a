"""Evaluate runs on a data set split, calibrate them, and save the figures into the run folders.

    python -m emotion_core evaluate deployed --data data/fer2013 --split validation --json
    python -m emotion_core evaluate deployed live --data my-photos-crops --split test
    python -m emotion_core evaluate --all --data my-holdout --split test --json
    python -m emotion_core runs calibrate deployed

A run is scored on the classes it learned. Images of other classes in the data set are left out
(a 3-class run on FER2013). Classes the run learned that the set has no images of (a set of posed
photos without neutral) are scored as they are: a prediction of one counts as wrong, and the
per-class table says "no images" (evaluation.classification_report). The report's `note` says
either in one line.

Every figure uses the run's probabilities as the app shows them: its TTA views averaged, then its
temperature applied (inference.calibrated; `runs calibrate` fits it on the validation split).

A saved report is `evaluation/<key>.json` in the run folder (`evaluation_key`: `validation`, `test`,
or `<data set>-<split>` for any other set) and records what it measured: the split's content
(`content_fingerprint`) and the run's weights (`model_fingerprint`), so a changed set or a retrained
run can be told from an unchanged one (testsets/ rescores only those).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from . import registry
from .config import TrainConfig, config_from_dict
from .datasets import Dataset, DatasetError, keep_classes, load_split, open_dataset
from .ensemble import load_run_model
from .evaluation import classification_report, reliability
from .inference import calibrated, predict_probabilities, tta_mode
from .labels import EMOTIONS
from .report import write_model_card
from .storage import now_iso, read_json, write_json_atomic


@dataclass
class _Scored:
    """A run's raw (uncalibrated) probabilities on one split, with what they were measured on."""

    run: registry.Run
    config: TrainConfig
    dataset: Dataset
    split: str
    tta: str
    y: np.ndarray  # positions in config.classes
    raw: np.ndarray  # (n, classes): the TTA views averaged, no temperature
    note: str
    content_fingerprint: str | None = None


class _Splits:
    """Data sets opened and splits decoded once for several runs (by image size and colour)."""

    def __init__(self):
        self._datasets: dict[str, Dataset] = {}
        self._arrays: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self._fingerprints: dict[tuple, str | None] = {}

    def dataset(self, name_or_path: str) -> Dataset:
        if name_or_path not in self._datasets:  # a hold-out folder may have test/ only
            self._datasets[name_or_path] = open_dataset(name_or_path, require_train=False)
        return self._datasets[name_or_path]

    def load(self, dataset: Dataset, split: str, size: int, color_mode: str) -> tuple[np.ndarray, np.ndarray]:
        key = (str(dataset.path), split, size, color_mode)
        if key not in self._arrays:
            self._arrays[key] = load_split(dataset, split, size, color_mode)
        return self._arrays[key]

    def content_fingerprint(self, dataset: Dataset, split: str) -> str | None:
        key = (str(dataset.path), split)
        if key not in self._fingerprints:
            self._fingerprints[key] = content_fingerprint(dataset, split)
        return self._fingerprints[key]


def content_fingerprint(dataset: Dataset, split: str) -> str | None:
    """A short hash of what a split holds: every image's name, label and bytes (a .csv data set: the
    file's bytes). An image replaced by another of the same size changes it, where
    `Dataset.fingerprint` (names and sizes) does not. None for a split the set does not have (a
    validation part carved from train)."""
    if split not in dataset.items:
        return None
    digest = hashlib.sha256()
    if dataset.kind == "csv":
        digest.update(_file_digest(dataset.path))
    for relative, label in dataset.items[split] if dataset.kind == "folders" else []:
        digest.update(f"{relative}:{label}:".encode() + _file_digest(dataset.path / relative))
    return digest.hexdigest()[:16]


def model_fingerprint(run: registry.Run) -> str:
    """A short hash of the bytes of the files the run's model is read from (`Run.weights_files`: an
    ensemble's are its members'): retraining or resuming a run changes it, re-reading them does not."""
    digest = hashlib.sha256()
    for path in run.weights_files:
        digest.update(_file_digest(path))
    return digest.hexdigest()[:16]


def _file_digest(path) -> bytes:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").digest()


def evaluation_key(run: registry.Run, data: str, split: str, fingerprint: str | None) -> str:
    """The name a run's report on `split` of data set `data` is saved under: the bare split on the run's
    own data set (same `Dataset.fingerprint`), `<data>-<split>` on any other, so figures on another
    set never overwrite the ones on its own. Every writer and reader of saved reports asks here."""
    return split if fingerprint == run.dataset.get("fingerprint") else f"{data}-{split}"


def save_report(run: registry.Run, key: str, report: dict) -> None:
    """Save a report into the run folder as `key`, and rewrite the model card when it states the
    figures (validation, other labelled sets): a stale card would contradict them."""
    registry.save_evaluation(run.path, key, report)
    if key != "test":
        write_model_card(run.path)


def _score(run: str, data: str | None, split: str, tta, splits: _Splits, progress=None) -> _Scored:
    """Load the run's model once and score it on the split: raw probabilities, labels, the note."""
    from .training import load_training_data

    run_dir = registry.resolve_run(run)
    run_info = registry.load_run(run_dir)
    if run_info.problem:
        raise registry.RunError(f"{run_info.name} is broken: {run_info.problem}")
    if not run_info.has_weights:
        raise registry.RunError(f"{run_info.name} has no model file to evaluate (comparison-only run).")
    config = config_from_dict(read_json(run_dir / registry.CONFIG_FILE))
    tta = tta_mode(config.tta if tta is None else tta)
    dataset = splits.dataset(data or config.data)
    if split not in dataset.items and not (split == "validation" and "train" in dataset.items):
        raise DatasetError(f"{dataset.name} has no {split} split (it has {', '.join(dataset.splits)})")
    if split == "validation" and "validation" not in dataset.items:
        _, _, x, y, _source = load_training_data(dataset, config)  # the part of train held out
        left_out = 0  # not counted: the held-out part is carved after the other classes are dropped
    else:
        x, y = splits.load(dataset, split, config.image_size, config.resolved_color_mode())
        total = len(y)
        x, y = keep_classes(x, y, config.classes)
        left_out = total - len(y)
    if len(y) == 0:
        raise DatasetError(f"{dataset.name} {split} has no images of {run_info.name}'s classes "
                           f"({', '.join(config.classes)})")
    model = load_run_model(run_info)
    raw = predict_probabilities(model, x, tta=tta, progress=progress)
    return _Scored(run_info, config, dataset, split, tta, y, raw, _note(run_info.name, config.classes, dataset, y, left_out),
                   splits.content_fingerprint(dataset, split))


def _note(run_name: str, classes, dataset: Dataset, y: np.ndarray, left_out: int) -> str:
    """One line on what was not scored as usual: classes the run did not learn, classes with no images."""
    parts = []
    others = [name for name in dataset.classes if name not in classes]
    if others:
        counted = f"{left_out:,} images" if left_out else "the images"
        parts.append(f"mapped: scored on the run's classes ({', '.join(classes)}); {counted} of "
                     f"{', '.join(others)} left out, classes {run_name} did not learn")
    absent = [name for index, name in enumerate(classes) if not np.any(y == index)]
    if absent:
        them = "it" if len(absent) == 1 else "one of them"
        parts.append(f"{dataset.name} has no images of {', '.join(absent)}: scored on the {len(y):,} images of "
                     f"the other {len(classes) - len(absent)} classes, a prediction of {them} counts as wrong")
    return "; ".join(parts)


def _report(scored: _Scored, temperature: float) -> dict:
    """The classification report of the scored probabilities with `temperature` applied."""
    report = classification_report(scored.y, calibrated(scored.raw, temperature), class_names=scored.config.classes)
    report.update(split=scored.split, tta=scored.tta, temperature=temperature, data=scored.dataset.name,
                  fingerprint=scored.dataset.fingerprint(), content_fingerprint=scored.content_fingerprint,
                  model_fingerprint=model_fingerprint(scored.run), evaluated=now_iso(),
                  **({"note": scored.note} if scored.note else {}))
    if temperature != 1.0:  # the model card shows calibration's effect
        report["uncalibrated_ece"] = reliability(scored.y, scored.raw)["ece"]
    return report


def _save(scored: _Scored, report: dict) -> None:
    save_report(scored.run, evaluation_key(scored.run, scored.dataset.name, scored.split, report["fingerprint"]), report)


def evaluate_runs(runs: list[str], data: str | None = None, split: str = "validation", tta: str | bool | None = None,
                  save: bool = True, progress=None, errors: dict | None = None) -> list[dict]:
    """`evaluate_run` for several runs in one go: each model loaded once, each split decoded once
    (per image size and colour), one report per run in the order given. `progress(run, fraction)`.
    With `errors` (a dict), a run that cannot be scored on the set is recorded there (run: one line)
    and left out of the reports, instead of stopping the others."""
    splits = _Splits()
    reports = []
    for name in runs:
        try:
            scored = _score(name, data, split, tta, splits,
                            progress=(lambda fraction, name=name: progress(name, fraction)) if progress else None)
        except (registry.RunError, DatasetError) as error:
            if errors is None:
                raise
            errors[name] = str(error)
            continue
        report = _report(scored, scored.run.temperature)
        report["run"] = scored.run.name
        if save:
            _save(scored, report)
        reports.append(report)
    return reports


def evaluate_run(run: str, data: str | None = None, split: str = "validation", tta: str | bool | None = None,
                 save: bool = True, progress=None) -> dict:
    """Accuracy, macro-F1, per-class scores, confusion matrix, ROC and calibration of a run on one split.

    `tta=None` uses what the run recorded, and the run's temperature applies, so the figures match
    the ones the app shows. Without a validation split, 'validation' means the same stratified part
    of train that training held out.
    """
    return evaluate_runs([run], data, split, tta, save, (lambda _name, fraction: progress(fraction)) if progress else None)[0]


def evaluable_runs() -> list[str]:
    """Every run of the registry that can be evaluated (not broken, with a model file): `evaluate --all`."""
    return [run.name for run in registry.list_runs() if run.has_weights and not run.problem]


def calibrate_run(run: str, data: str | None = None, progress=None) -> dict:
    """Fit the run's temperature on its own validation split (Guo et al. 2017) and store it.

    The temperature divides the log of the TTA-averaged probabilities (inference.calibrated); it
    is the one minimising their negative log-likelihood on validation. `calibration.json` records
    it with the ECE and NLL before and after, and a two-fold check (fitted on one half of the
    split, ECE measured on the other), since the figures after are measured on the images the
    temperature was fitted to. The validation evaluation and the model card are rewritten with it.
    """
    from .calibration import cross_checked_ece, fit_temperature, negative_log_likelihood

    scored = _score(run, data, "validation", None, _Splits(), progress)
    if scored.dataset.fingerprint() != scored.run.dataset.get("fingerprint"):
        raise DatasetError(f"{scored.dataset.name} is not the data set {scored.run.name} trained on: a run's "
                           "temperature is fitted on its own validation split")
    temperature = round(fit_temperature(scored.raw, scored.y), 4)  # as stored, so the figures are the stored T's
    before, after = reliability(scored.y, scored.raw), reliability(scored.y, calibrated(scored.raw, temperature))
    record = {
        "temperature": temperature,
        "applied_to": "log of the probabilities averaged over the TTA views: softmax(log(p) / temperature)",
        "split": "validation", "images": int(len(scored.y)), "tta": scored.tta, "fingerprint": scored.run.dataset.get("fingerprint"),
        "ece_before": before["ece"], "ece_after": after["ece"],
        "nll_before": negative_log_likelihood(scored.raw, scored.y),
        "nll_after": negative_log_likelihood(calibrated(scored.raw, temperature), scored.y),
        "mean_confidence_before": before["mean_confidence"], "mean_confidence_after": after["mean_confidence"],
        "accuracy": after["accuracy"],
        "ece_after_two_fold": cross_checked_ece(scored.raw, scored.y),
        "fitted": now_iso(),
    }
    write_json_atomic(scored.run.path / registry.CALIBRATION_FILE, record)
    scored.run = registry.load_run(scored.run.path)  # with its new temperature
    report = _report(scored, scored.run.temperature)
    _save(scored, report)
    return {"run": scored.run.name, **record}


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
    if before.calibration:  # a temperature fitted to the old views' average does not fit the new one's
        calibrate_run(str(run_dir), data, progress)
    return {"run": before.name, "tta": mode, "accuracy": report["accuracy"], "macro_f1": report["macro_f1"],
            "previous_tta": before.summary_row()["tta"], "previous_accuracy": before.validation.get("accuracy")}


def evaluate_photos(run: str, data: str, split: str = "test", detector: str | None = None,
                    face_size: str = "any", progress=None) -> dict:
    """The whole photo pipeline (detect, align, crop, classify) on labelled photos, not face crops.

    Each photo counts once: its most confident face is its prediction. Photos where no face is
    found are counted in `no_face` and scored as wrong in `accuracy_all_photos`; the usual figures
    (accuracy, macro-F1, per class) are over the photos where a face was found. Not saved.
    """
    return evaluate_photos_runs([run], data, split, detector, face_size, progress)[0]


def evaluate_photos_runs(runs: list[str], data: str, split: str = "test", detector: str | None = None,
                         face_size: str = "any", progress=None, save: bool = False,
                         errors: dict | None = None) -> list[dict]:
    """`evaluate_photos` for several runs: each photo decoded and its faces found once, then each
    model loaded in turn (one in memory at a time); one report per run. `progress(done, total)`
    counts photos. `save` keeps each report in its run folder as `<data set>-<split>`
    (`evaluation_key`), where the Models page's table of test sets reads it. `errors` as in
    `evaluate_runs`."""
    from .faces import DEFAULT_DETECTOR, FACE_SIZES, FaceDetector, crop_face
    from .images import ImageError, load_rgb
    from .predictor import Predictor

    run_infos = [registry.load_run(registry.resolve_run(run)) for run in runs]
    dataset = open_dataset(data, require_train=False)
    if split not in dataset.items or dataset.kind != "folders":
        raise DatasetError(f"{dataset.name} has no {split} folder of photos (it has {', '.join(dataset.splits)})")
    finder = FaceDetector(detector or DEFAULT_DETECTOR)
    wanted = {name for run in run_infos for name in run.classes}
    items = [(name, label) for name, label in dataset.items[split] if EMOTIONS[label] in wanted]
    crops, unreadable = {}, set()  # photo -> its most confident face's crop (None: no face)
    for done, (name, _label) in enumerate(items, start=1):
        try:
            rgb = load_rgb(dataset.path / name)
        except (ImageError, OSError):
            unreadable.add(name)
            continue
        boxes = finder.detect(rgb, FACE_SIZES[face_size])
        crops[name] = crop_face(rgb, max(boxes, key=lambda box: box.score)) if boxes else None
        if progress:
            progress(done, len(items))
    fingerprint, content = dataset.fingerprint(), content_fingerprint(dataset, split)
    reports = []
    for run in runs:
        try:
            predictor = Predictor.load(run, detector=finder.name)
            classes = predictor.classes
            mine = [(name, label) for name, label in items if EMOTIONS[label] in classes]
            found = [(name, label) for name, label in mine if crops.get(name) is not None]
            if not mine:
                raise DatasetError(f"{dataset.name} {split} has no photos of {predictor.run_name}'s classes "
                                   f"({', '.join(classes)})")
            if not found:
                raise DatasetError(f"no face was found in any of the {len(mine)} photos of {dataset.name}/{split}")
        except (registry.RunError, DatasetError) as error:
            if errors is None:
                raise
            errors[run] = str(error)
            continue
        inputs = np.stack([predictor.prepare(crops[name]) for name, _ in found])
        labels = np.array([classes.index(EMOTIONS[label]) for _, label in found])
        report = classification_report(labels, predictor.classify(inputs), class_names=classes)
        counted = len([name for name, _ in mine if name not in unreadable])
        no_face = counted - len(found)
        correct = int(round(report["accuracy"] * len(found)))
        left_out = sum(EMOTIONS[label] not in classes for _, label in dataset.items[split])
        note = _note(predictor.run_name, classes, dataset, labels, left_out)
        if note:
            report["note"] = note
        run_info = registry.load_run(registry.resolve_run(predictor.run_name))
        report.update(run=predictor.run_name, split=split, data=dataset.name, faces="detect",
                      detector=finder.name, face_size=face_size, photos=len(mine), no_face=no_face,
                      no_face_rate=no_face / max(1, counted), unreadable=len(mine) - counted,
                      accuracy_all_photos=correct / max(1, counted), tta=tta_mode(predictor.tta),
                      temperature=predictor.temperature, fingerprint=fingerprint, content_fingerprint=content,
                      model_fingerprint=model_fingerprint(run_info), evaluated=now_iso())
        if save:
            save_report(run_info, evaluation_key(run_info, dataset.name, split, fingerprint), report)
        reports.append(report)
        del predictor  # the next run's model takes its place
    return reports
