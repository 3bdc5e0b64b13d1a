"""Train an architecture on a data set into a self-describing run folder.

    python -m emotion_core train --arch vgg_gap --data data/fer2013 --epochs 60
    python -m emotion_core train --config recipes/deployed.json
    python -m emotion_core train --resume vgg_gap-20261121-140000
    python -m emotion_core train --own-faces my-faces --epochs 3 --learning-rate 0.001 --name mine-e3

Every epoch appends to `history.json` and rewrites `checkpoint.keras` (model + optimizer), so
another process can follow progress and an interrupted run continues with `--resume`. The best
epoch on validation is kept as `model.keras`; at the end it is evaluated on the validation split
and the metrics, the model card and the run's facts are written beside it. With `own_faces` (a
fine-tune on your own faces, from the deployed run unless `init_from` names another), a seeded part
of those faces is held out, the rest is repeated into training, and `adaptation.json` holds both
figures, your held-out faces and validation, before (the start run) and after.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import keras
import numpy as np

from . import registry
from .architectures import ARCHITECTURES, build_model, count_multiply_adds, same_family
from .config import ADAPTATION_FILE, TrainConfig, config_from_dict
from .datasets import (Dataset, DatasetError, class_counts, is_grayscale, keep_classes, load_split, open_dataset,
                       stratified_split)
from .ensemble import load_run_model
from .evaluation import classification_report
from .inference import predict_probabilities
from .labels import EMOTIONS, class_set_name
from .pruning import narrows_into, prunable_into, prune_into
from .report import write_model_card
from .storage import now_iso, read_json, write_json_atomic


# --- Data ---------------------------------------------------------------------------------------


def load_training_data(dataset: Dataset, config: TrainConfig):
    """(x_train, y_train, x_val, y_val, where validation came from), of the config's classes only.

    Labels are positions in `config.classes`: images of the other classes are left out.
    """
    color_mode = config.resolved_color_mode()
    x_train, y_train = keep_classes(*load_split(dataset, "train", config.image_size, color_mode), config.classes)
    if "validation" in dataset.items:
        x_val, y_val = keep_classes(*load_split(dataset, "validation", config.image_size, color_mode), config.classes)
        return x_train, y_train, x_val, y_val, "validation split"
    # Never validate on the test split: carve a stratified part of train instead, and say so.
    kept, held_out = stratified_split(y_train, config.val_fraction, config.seed)
    source = f"{config.val_fraction:.0%} of train, stratified (seed {config.seed})"
    return x_train[kept], y_train[kept], x_train[held_out], y_train[held_out], source


@dataclass(frozen=True)
class OwnFaces:
    """A face set of the user's own faces, split for a fine-tune: labels are positions in the run's classes."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_held: np.ndarray  # held out: never trained on, scored before and after
    y_held: np.ndarray
    facts: dict  # what dataset.json records: the set, its fingerprint, the split and its seed, held-out files


def load_own_faces(config: TrainConfig) -> OwnFaces:
    """The face set `config.own_faces` (all its splits together), of the run's classes, split into
    train and held out by `config.own_holdout` of each emotion, drawn with `config.seed`."""
    faces = open_dataset(config.own_faces, require_train=False)
    color_mode = config.resolved_color_mode()
    xs, ys, names = [], [], []
    for split in faces.splits:
        x, y = load_split(faces, split, config.image_size, color_mode)
        xs.append(x)
        ys.append(y)
        names += [relative for relative, _label in faces.items[split]]
    x, y = np.concatenate(xs), np.concatenate(ys)
    names = names if len(names) == len(y) else []  # an unreadable file shifts them: not recorded then
    wanted = np.isin(y, [EMOTIONS.index(name) for name in config.classes])
    x, y = keep_classes(x, y, config.classes)
    names = [name for name, keep in zip(names, wanted) if keep]
    if len(y) < 2:
        raise DatasetError(f"{faces.name} has {len(y)} face{'' if len(y) == 1 else 's'} of the run's classes: "
                           "label a few more to train on some and hold out the others")
    kept, held = stratified_split(y, config.own_holdout, config.seed)
    if not len(kept):
        raise DatasetError(f"{faces.name} has one face of each emotion at most: all are held out, none is left "
                           "to train on; label more, or lower own_holdout")
    facts = {"name": faces.name, "path": str(faces.path), "fingerprint": faces.fingerprint(),
             "holdout": config.own_holdout, "seed": config.seed,
             "trained": class_counts(y[kept], config.classes), "held_out": class_counts(y[held], config.classes),
             "held_out_files": [names[index] for index in held] if names else None}
    return OwnFaces(x[kept], y[kept], x[held], y[held], facts)


# Times one of the user's faces may be repeated in an epoch: a face seen more often is learnt by heart
# rather than read (FER2013's augmentation varies it only a little). A few dozen faces reach a 20%
# share of FER2013 below this; a handful reach a smaller share, which dataset.json records.
MAX_OWN_REPEATS = 250


def mix_own_faces(x: np.ndarray, y: np.ndarray, own: OwnFaces, share: float, seed: int):
    """(x, y, repeats): the data set's training images and the user's faces repeated until they are
    `share` of the whole (each face as often as the others, give or take one; at least once each,
    at most MAX_OWN_REPEATS times)."""
    count = len(own.y_train)
    target = min(max(count, round(share / (1 - share) * len(y))), count * MAX_OWN_REPEATS)
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(count) for _ in range(math.ceil(target / count))])[:target]
    return (np.concatenate([x, own.x_train[order].astype(x.dtype)]), np.concatenate([y, own.y_train[order]]),
            round(target / count, 2))


def check_classes(dataset: Dataset, config: TrainConfig) -> None:
    """Refuse, in one line, a class set with a class the data set has no train images of."""
    present = {name for name, count in dataset.counts()["train"].items() if count}
    missing = [name for name in config.classes if name not in present]
    if missing:
        have = [name for name in config.classes if name in present] or sorted(present)
        raise DatasetError(f"{dataset.name} has no train images of {', '.join(missing)}; leave them out of the "
                           f"classes (for example --classes {','.join(have)})")


def class_weights(labels: np.ndarray, method: str, num_classes: int) -> dict | None:
    """Per-class loss weights with mean 1 over the samples: none, sqrt-inverse or inverse frequency."""
    if method == "none":
        return None
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    # An absent class gets a finite weight but must not count as a sample in the mean below.
    weights = (counts.sum() / np.maximum(counts, 1)) ** (0.5 if method == "sqrt" else 1.0)
    weights /= (weights * counts).sum() / counts.sum()  # keep the loss scale (and so the LR) unchanged
    return {index: float(w) for index, w in enumerate(weights)}


# --- Model and optimisation ----------------------------------------------------------------------


def augmentation_layers(config: TrainConfig) -> list:
    """Random transforms applied to training batches only (inactive at inference)."""
    if not config.augment:
        return []
    framing = 0.2 if config.photo_augment else 0.1  # a photo's aligned crop is framed less exactly than FER2013's
    augment = [
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomRotation(10 / 360, fill_mode="reflect"),  # head tilt of up to 10 degrees
        keras.layers.RandomTranslation(framing, framing, fill_mode="reflect"),  # detector boxes are off by ~10%
        keras.layers.RandomZoom(framing, fill_mode="reflect"),
    ]
    if config.photo_augment:
        augment += [
            keras.layers.RandomBrightness(0.2, value_range=(0, 255)),  # exposure: up to a fifth of the range
            keras.layers.RandomContrast(0.3, value_range=(0, 255)),
            keras.layers.RandomGaussianBlur(factor=0.6, kernel_size=5, sigma=1.0, value_range=(0, 255)),  # focus
            CameraResponse(),  # gamma and sensor noise
        ]
    if config.random_erasing > 0:
        augment.append(keras.layers.RandomErasing(factor=config.random_erasing, value_range=(0, 255)))
    return augment


@keras.saving.register_keras_serializable(package="emotion_core")
class CameraResponse(keras.layers.Layer):
    """A random gamma (0.7-1.4) and Gaussian sensor noise (0-8 grey levels) per training image.

    Keras has no gamma layer, and its GaussianNoise takes a standard deviation of at most 1 (a
    0-1 image's scale); FER2013 images are 0-255. Inactive at inference, as every augmentation.
    """

    def __init__(self, gamma=(0.7, 1.4), noise=8.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.gamma, self.noise, self.seed = tuple(gamma), float(noise), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        dtype = images.dtype  # bfloat16 under mixed precision; draw the randomness in float32 and cast back
        images = keras.ops.cast(images, "float32")
        shape = keras.ops.shape(images)
        per_image = (shape[0], 1, 1, 1)
        # log-uniform gamma, so brightening and darkening are equally likely
        log_gamma = keras.random.uniform(per_image, math.log(self.gamma[0]), math.log(self.gamma[1]),
                                         seed=self.seed_generator)
        scaled = keras.ops.clip(images / 255.0, 0.0, 1.0) ** keras.ops.exp(log_gamma) * 255.0
        sigma = keras.random.uniform(per_image, 0.0, self.noise, seed=self.seed_generator)
        noisy = scaled + sigma * keras.random.normal(shape, seed=self.seed_generator)
        return keras.ops.cast(keras.ops.clip(noisy, 0.0, 255.0), dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma, "noise": self.noise, "seed": self.seed}


def make_optimizer(config: TrainConfig):
    kwargs = {"learning_rate": config.learning_rate, "weight_decay": config.weight_decay or None}
    if config.optimizer == "sgd":
        optimizer = keras.optimizers.SGD(momentum=config.momentum, nesterov=True, **kwargs)
    elif config.optimizer == "rmsprop":
        optimizer = keras.optimizers.RMSprop(**kwargs)
    elif config.optimizer == "adamw":
        optimizer = keras.optimizers.AdamW(**kwargs)
    else:
        optimizer = keras.optimizers.Adam(**kwargs)
    # Decaying BN scales and biases towards zero only hurts; decay the kernels alone.
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def learning_rate_at(epoch: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine to zero over the remaining epochs (per epoch, resume-safe)."""
    warmup = min(config.warmup_epochs, config.epochs - 1)
    if epoch < warmup:
        return config.learning_rate * (epoch + 1) / (warmup + 1)
    if config.schedule != "cosine":
        return config.learning_rate
    progress = (epoch - warmup) / max(1, config.epochs - warmup)
    return config.learning_rate * 0.5 * (1 + math.cos(math.pi * progress))


def build_training_model(config: TrainConfig, input_shape) -> tuple[keras.Model, keras.Model]:
    """(the model that is saved and served, the same model behind the augmentation layers)."""
    keras.mixed_precision.set_global_policy(config.resolved_precision())
    model = build_model(config.arch, input_shape, len(config.classes))
    scale_dropout(model, config.dropout_scale)
    trainer = keras.Sequential([keras.Input(input_shape), *augmentation_layers(config), model],
                               name="trainer")
    trainer.compile(
        optimizer=make_optimizer(config),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        metrics=["accuracy"],
    )
    return model, trainer


def scale_dropout(model: keras.Model, scale: float) -> None:
    """Multiply every dropout rate (dropout is inactive at inference, so the served model is unchanged)."""
    if scale == 1:
        return
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = min(0.9, layer.rate * scale)


def warm_start_source(config: TrainConfig, runs_dir: Path) -> Path | None:
    """The model file of the run named by `init_from`, or a one-line error saying why it cannot serve.

    An ensemble (the deployed run may be one) starts the run from its first member's weights: one
    net is trained, whose outputs the ensemble averaged with the others'."""
    if not config.init_from:
        return None
    source = registry.resolve_run(config.init_from, runs_dir)
    source_run = registry.load_run(source)
    if source_run.members:
        source = registry.resolve_run(source_run.members[0], source.parent)
        source_run = registry.load_run(source)
    model_file = source / registry.MODEL_FILE
    if not model_file.exists():
        raise ValueError(f"init_from run {source.name} has no {registry.MODEL_FILE} to start from")
    source_arch = source_run.config.get("arch")
    if source_arch != config.arch and not same_family(source_arch, config.arch):
        raise ValueError(f"init_from run {source.name} is a {source_arch}, not a {config.arch}")
    if source_arch != config.arch and not narrows_into(source_arch, config.arch):
        raise ValueError(f"init_from run {source.name} is a {source_arch}, narrower than a {config.arch}: "
                         f"only a wider net of its family can be cut down to it")
    if not set(config.classes) <= set(source_run.classes):
        raise ValueError(f"init_from run {source.name} learned {class_set_name(source_run.classes)} classes, "
                         f"not {class_set_name(config.classes)}: its outputs do not fit")
    return model_file


def distillation_teacher(config: TrainConfig, runs_dir: Path) -> Path | None:
    """The model file of the run named by `distill_from`, or a one-line error saying why it cannot teach."""
    if not config.distill_from:
        return None
    source = registry.resolve_run(config.distill_from, runs_dir)
    teacher = registry.load_run(source)
    if not teacher.has_weights or teacher.problem:
        raise ValueError(f"distill_from run {source.name} has no usable {registry.MODEL_FILE}"
                         + (f": {teacher.problem}" if teacher.problem else ""))
    if not set(config.classes) <= set(teacher.classes):
        raise ValueError(f"distill_from run {source.name} learned {class_set_name(teacher.classes)} classes, "
                         f"not {class_set_name(config.classes)}: its probabilities do not fit")
    return teacher.model_path


def class_positions(model_file: Path, classes) -> list[int]:
    """Where each of `classes` sits among the outputs of the run that saved `model_file`.

    A run may start from, or learn from, a run of more classes: a 3-class head keeps those three
    outputs of a 7-class one (softmax over the kept logits is the teacher's renormalised reading).
    """
    source_classes = registry.load_run(model_file.parent).classes
    return [source_classes.index(name) for name in classes]


def distilled_targets(teacher_file: Path, x_train: np.ndarray, one_hot: np.ndarray, weight: float,
                      outputs: list[int] | None = None) -> np.ndarray:
    """Training targets mixing the teacher's flip-averaged probabilities (share `weight`) with the labels.

    `outputs`: the teacher's outputs this run learns (a subset of its classes, renormalised).

    Computed once, on the un-augmented images: augmentation here (flips, small turns and shifts)
    keeps a face's expression, so the teacher's reading of the original still fits.
    """
    teacher = load_run_model(registry.load_run(teacher_file.parent), compile=False)
    if tuple(teacher.input_shape[1:]) != tuple(x_train.shape[1:]):
        raise ValueError(f"distill_from run {teacher_file.parent.name} reads {tuple(teacher.input_shape[1:])} "
                         f"images, not {tuple(x_train.shape[1:])}")
    probabilities = predict_probabilities(teacher, x_train, tta="flip")
    if outputs is not None:
        probabilities = probabilities[:, outputs]
        probabilities /= probabilities.sum(axis=1, keepdims=True)
    return (weight * probabilities + (1 - weight) * one_hot).astype(np.float32)


def load_warm_start(model: keras.Model, model_file: Path, outputs: list[int] | None = None) -> None:
    """Start from a run's weights: as they are, or cut to this narrower net's widths and to the
    classifier `outputs` it keeps (pruning.py)."""
    source = keras.models.load_model(model_file, compile=False, safe_mode=True)
    keeps_all = outputs is None or list(outputs) == list(range(source.output_shape[-1]))
    if keeps_all and [w.shape for w in source.weights] == [w.shape for w in model.weights]:
        model.set_weights(source.get_weights())
    elif prunable_into(source, model):
        prune_into(source, model, None if keeps_all else outputs)
    else:
        raise ValueError(f"{model_file.parent.name}'s weights do not fit this model (another input colour or size, "
                         f"or a narrower net than this one?)")


def adaptation_report(run_dir: Path, config: TrainConfig, model: keras.Model, own: OwnFaces, x_val: np.ndarray,
                      y_val: np.ndarray) -> dict:
    """Accuracy and macro-F1 on the user's held-out faces and on validation, of the run it started
    from (`before`) and of this run (`after`), the same views (the run's TTA) and the same faces."""
    start_file = warm_start_source(config, run_dir.parent)
    start = keras.models.load_model(start_file, compile=False, safe_mode=True)
    outputs = class_positions(start_file, config.classes)
    figures = {}
    for when, net, kept in (("before", start, outputs), ("after", model, None)):
        figures[when] = {}
        for name, x, y in (("own_faces", own.x_held, own.y_held), ("validation", x_val, y_val)):
            probabilities = predict_probabilities(net, x.astype(np.float32), tta=config.tta)
            if kept is not None:  # a start run of more classes: its outputs of this run's, renormalised
                probabilities = probabilities[:, kept]
                probabilities /= probabilities.sum(axis=1, keepdims=True)
            report = classification_report(y, probabilities, class_names=config.classes)
            figures[when][name] = {"accuracy": report["accuracy"], "macro_f1": report["macro_f1"], "n": report["n"]}
    return {"own_faces": own.facts["name"], "start_run": start_file.parent.name, "held_out": len(own.y_held),
            "trained_on": len(own.y_train), "share": own.facts.get("share_reached", config.own_share),
            "seed": config.seed, "tta": config.tta,
            **figures, "evaluated": now_iso()}


# --- Callbacks that make a run folder followable and resumable ----------------------------------


class RunRecorder(keras.callbacks.Callback):
    """Per epoch: history line, checkpoint, best model, status; all written atomically."""

    def __init__(self, run_dir: Path, model: keras.Model, config: TrainConfig, history: list):
        super().__init__()
        self.run_dir, self.served_model, self.config = run_dir, model, config
        self.history = history
        self.best = max((row["val_accuracy"] for row in history), default=-1.0)
        self.epoch_started = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = time.monotonic()
        # reason="": a resumed run is no longer stopped for the reason its last session gave.
        registry.update_status(self.run_dir, state="running", epoch=epoch, epochs=self.config.epochs,
                               pid=os.getpid(), reason="")

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training:
            # Only StopOnSignal sets this during an epoch (EarlyStopping runs after this callback):
            # the epoch was cut short, so keep the last full one, which `resume` continues from.
            return
        logs = logs or {}
        row = {
            "epoch": epoch + 1,
            "loss": float(logs["loss"]),
            "accuracy": float(logs["accuracy"]),
            "val_loss": float(logs["val_loss"]),
            "val_accuracy": float(logs["val_accuracy"]),
            "lr": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
            "seconds": round(time.monotonic() - self.epoch_started, 2),
        }
        self.history.append(row)
        if row["val_accuracy"] > self.best:
            self.best = row["val_accuracy"]
            registry.save_model_atomic(self.served_model, self.run_dir / registry.MODEL_FILE)
        registry.save_model_atomic(self.model, self.run_dir / registry.CHECKPOINT_FILE)
        # History last: a reader that sees epoch N can rely on its checkpoint existing.
        write_json_atomic(self.run_dir / registry.HISTORY_FILE, self.history)
        registry.update_status(self.run_dir, state="running", epoch=epoch + 1, epochs=self.config.epochs)


class StopOnSignal(keras.callbacks.Callback):
    """Turn SIGTERM (cancel) into a clean stop after the current batch, keeping the last full epoch."""

    def __init__(self):
        super().__init__()
        self.requested = False
        if hasattr(signal, "SIGTERM"):
            signal.signal(signal.SIGTERM, self._request)

    def _request(self, *_):
        self.requested = True

    def on_train_batch_end(self, batch, logs=None):
        if self.requested:
            self.model.stop_training = True


# --- The run --------------------------------------------------------------------------------------


def new_run_name(config: TrainConfig) -> str:
    return config.name or f"{config.arch}-{datetime.now():%Y%m%d-%H%M%S}"


def train(config: TrainConfig, runs_dir: Path | None = None, verbose: int | None = None) -> Path:
    """Train a new run from `config`; returns its folder."""
    config.validate()
    runs_dir = registry.runs_root(runs_dir)
    run_dir = runs_dir / new_run_name(config)
    if run_dir.exists():
        raise FileExistsError(f"run folder {run_dir} already exists; pick another --name")
    if config.own_faces and not config.init_from:
        config.init_from = registry.DEPLOYED  # adapting the model in use to your faces
    source = warm_start_source(config, runs_dir)  # refuse a bad init_from before a run folder exists
    if source is not None and source.parent.parent.resolve() == runs_dir.resolve():
        config.init_from = source.parent.name  # record which run `deployed` (or a path) meant at the time
    teacher = distillation_teacher(config, runs_dir)  # the same for distill_from
    if teacher is not None and teacher.parent.parent.resolve() == runs_dir.resolve():
        config.distill_from = teacher.parent.name
    dataset = open_dataset(config.data)
    check_classes(dataset, config)
    dataset.valence()  # a bad valence.json is refused before a run folder exists too
    if config.own_faces:
        load_own_faces(config)  # and a face set that cannot be split
    run_dir.mkdir(parents=True)
    write_json_atomic(run_dir / registry.CONFIG_FILE, config.to_dict())
    registry.update_status(run_dir, state="starting", epoch=0, epochs=config.epochs, started=now_iso())
    return _fit(run_dir, config, dataset, history=[], checkpoint=None, verbose=verbose)


def resume(run: str | Path, verbose: int | None = None, epochs: int | None = None) -> Path:
    """Continue an interrupted run from its last checkpoint (optionally with more epochs)."""
    run_dir = registry.resolve_run(run)
    config = config_from_dict(read_json(run_dir / registry.CONFIG_FILE))
    if epochs:
        config.epochs = epochs
        config.validate()
    history_file = run_dir / registry.HISTORY_FILE
    history = read_json(history_file) if history_file.exists() else []
    checkpoint = run_dir / registry.CHECKPOINT_FILE
    if len(history) >= config.epochs:
        return _finish_trained_run(run_dir, config)
    if history and not checkpoint.exists():
        raise FileNotFoundError(f"{run_dir.name} has no checkpoint to resume from")
    if epochs:  # only once the run will really continue: a refused resume leaves the run as it was
        write_json_atomic(run_dir / registry.CONFIG_FILE, config.to_dict())
    dataset = open_dataset(config.data)
    return _fit(run_dir, config, dataset, history, checkpoint if history else None, verbose)


def _finish_trained_run(run_dir: Path, config: TrainConfig) -> Path:
    """A run whose epochs all trained but whose final evaluation was cut short gets it now."""
    if registry.load_run(run_dir).state == "complete" or not (run_dir / registry.MODEL_FILE).exists():
        raise ValueError(f"{run_dir.name} already trained all {config.epochs} epochs; "
                         "retrain it with more epochs instead (a finished run keeps no checkpoint)")
    _, _, x_val, y_val, _source = load_training_data(open_dataset(config.data), config)
    finish_run(run_dir, config, x_val, y_val, load_own_faces(config) if config.own_faces else None)
    return run_dir


def _fit(run_dir: Path, config: TrainConfig, dataset: Dataset, history: list, checkpoint, verbose) -> Path:
    keras.utils.set_random_seed(config.seed + len(history))
    started = time.monotonic()
    try:
        x_train, y_train, x_val, y_val, val_source = load_training_data(dataset, config)
        own = load_own_faces(config) if config.own_faces else None
        if own is not None:
            x_train, y_train, repeats = mix_own_faces(x_train, y_train, own, config.own_share, config.seed)
            own.facts.update(share=config.own_share, repeats=repeats,
                             share_reached=round(repeats * len(own.y_train) / len(y_train), 4))
        valence = dataset.valence()  # a data set's own reading of its emotions, kept with the run
        write_json_atomic(run_dir / registry.DATASET_FILE, {
            "name": dataset.name, "path": str(dataset.path), "fingerprint": dataset.fingerprint(),
            # `counts` is what the data set holds; `used_counts` what this run trained and validated on.
            "counts": dataset.counts(), "classes": list(config.classes),
            "used_counts": {"train": class_counts(y_train, config.classes),
                            "validation": class_counts(y_val, config.classes)},
            "train_images": int(len(y_train)),
            "validation_images": int(len(y_val)), "validation_source": val_source,
            **({"valence": valence} if valence else {}),
            # A sample of ~500 images says whether colour photos must be shown to the model in gray.
            "grayscale_source": is_grayscale(x_train[:: max(1, len(x_train) // 500)]),
            **({"own_faces": own.facts} if own is not None else {}),
        })
        input_shape = x_train.shape[1:]
        model, trainer = build_training_model(config, input_shape)
        if checkpoint is not None:
            keras.mixed_precision.set_global_policy(config.resolved_precision())
            trainer = keras.models.load_model(checkpoint, safe_mode=True)
            model = trainer.layers[-1]
        elif config.init_from:
            source = warm_start_source(config, run_dir.parent)
            load_warm_start(model, source, class_positions(source, config.classes))
        num_classes = len(config.classes)
        recorder = RunRecorder(run_dir, model, config, history)
        stopper = StopOnSignal()
        callbacks = [recorder, stopper, keras.callbacks.LearningRateScheduler(lambda e, _: learning_rate_at(e, config))]
        if config.schedule == "plateau":
            callbacks[-1] = keras.callbacks.ReduceLROnPlateau(factor=0.2, patience=config.plateau_patience, min_lr=1e-6)
        if config.early_stopping:
            callbacks.append(keras.callbacks.EarlyStopping("val_accuracy", patience=config.early_stopping))
        targets = keras.utils.to_categorical(y_train, num_classes)
        teacher = distillation_teacher(config, run_dir.parent)
        if teacher is not None:
            targets = distilled_targets(teacher, x_train.astype(np.float32), targets, config.distill_weight,
                                        class_positions(teacher, config.classes))
        trainer.fit(
            x_train.astype(np.float32), targets,
            validation_data=(x_val.astype(np.float32), keras.utils.to_categorical(y_val, num_classes)),
            epochs=config.epochs, initial_epoch=len(history), batch_size=config.batch_size,
            class_weight=class_weights(y_train, config.class_weights, num_classes),
            callbacks=callbacks, verbose=_fit_verbosity(verbose), shuffle=True,
        )
    except BaseException as error:  # record why, keep the checkpoint, and let the caller see it
        reason = "interrupted" if isinstance(error, KeyboardInterrupt) else f"{type(error).__name__}: {error}"
        registry.update_status(run_dir, state="interrupted" if isinstance(error, KeyboardInterrupt) else "failed",
                               reason=reason.splitlines()[0], ended=now_iso())
        raise
    finally:
        registry.add_training_seconds(run_dir, time.monotonic() - started)

    if stopper.requested:
        registry.update_status(run_dir, state="interrupted", reason="cancelled", ended=now_iso())
        return run_dir
    finish_run(run_dir, config, x_val, y_val, own)
    return run_dir


def _fit_verbosity(verbose):
    if verbose is not None:
        return verbose
    return 1 if sys.stdout.isatty() else 2  # a bar on a terminal, one line per epoch in logs


def export_float32(model_path: Path, config: TrainConfig) -> keras.Model:
    """Rewrite the served model with float32 compute, so it runs the same on any CPU."""
    trained = keras.models.load_model(model_path, safe_mode=True)
    keras.mixed_precision.set_global_policy("float32")
    model = build_model(config.arch, trained.input_shape[1:], len(config.classes))
    model.set_weights(trained.get_weights())
    registry.save_model_atomic(model, model_path)
    return model


def keep_the_better_ending(run_dir: Path, config: TrainConfig, x_val: np.ndarray, y_val: np.ndarray,
                           history: list) -> tuple[keras.Model, np.ndarray, dict | None]:
    """The model the run keeps, its validation probabilities with the run's TTA, and the comparison
    behind the choice (None when there was none to make).

    While training, the best epoch is the one with the best single-view validation accuracy. Early
    in a restart at a high learning rate, an epoch can win that by luck and read worse with the
    run's TTA than the last, settled epoch (vgg_gap_slim-photo-snap3-e20: epoch 7 of 20 kept, 64.95%
    with zoom, where its parent's last epoch gave 66.01%). So when the last epoch is not the best and
    its checkpoint is still here, both are scored with the run's TTA and the better is kept; a tie
    keeps the best epoch.
    """
    model = export_float32(run_dir / registry.MODEL_FILE, config)
    probabilities = predict_probabilities(model, x_val, tta=config.tta)
    best, last = max(history, key=lambda row: row["val_accuracy"]), history[-1]
    checkpoint = run_dir / registry.CHECKPOINT_FILE
    if best["epoch"] == last["epoch"] or not checkpoint.is_file():
        return model, probabilities, None
    trainer = keras.models.load_model(checkpoint, safe_mode=True, compile=False)  # its weights only
    last_model = build_model(config.arch, model.input_shape[1:], len(config.classes))  # float32, as exported
    last_model.set_weights(trainer.layers[-1].get_weights())  # the served net behind the augmentation layers
    last_probabilities = predict_probabilities(last_model, x_val, tta=config.tta)
    scores = {epoch: float(np.mean(np.argmax(p, axis=1) == y_val))
              for epoch, p in ((best["epoch"], probabilities), (last["epoch"], last_probabilities))}
    choice = {"tta": config.tta, "best_single_view_epoch": best["epoch"], "last_epoch": last["epoch"],
              "accuracy": {str(epoch): score for epoch, score in scores.items()}}
    if scores[last["epoch"]] > scores[best["epoch"]]:
        registry.save_model_atomic(last_model, run_dir / registry.MODEL_FILE)
        return last_model, last_probabilities, {**choice, "kept": last["epoch"]}
    return model, probabilities, {**choice, "kept": best["epoch"]}


def finish_run(run_dir: Path, config: TrainConfig, x_val: np.ndarray, y_val: np.ndarray,
               own: OwnFaces | None = None) -> None:
    """Evaluate the epoch the run keeps (`keep_the_better_ending`) on validation and write metrics,
    facts and the model card (with `own`, the figures before and after on the user's held-out faces
    too: `adaptation.json`)."""
    history = read_json(run_dir / registry.HISTORY_FILE)
    model, probabilities, choice = keep_the_better_ending(run_dir, config, x_val, y_val, history)
    report = classification_report(y_val, probabilities, class_names=config.classes)
    report.update(split="validation", tta=config.tta, evaluated=now_iso())
    registry.save_evaluation(run_dir, "validation", report)
    if own is not None:
        write_json_atomic(run_dir / ADAPTATION_FILE, adaptation_report(run_dir, config, model, own, x_val, y_val))
    write_json_atomic(run_dir / registry.INFO_FILE, {
        "architecture": config.arch,
        "description": ARCHITECTURES[config.arch].description,
        "parameters": int(model.count_params()),
        "multiply_adds": count_multiply_adds(model),
        "input_shape": list(model.input_shape[1:]),
        "model_bytes": (run_dir / registry.MODEL_FILE).stat().st_size,
        # The epoch whose weights model.keras holds (registry.Run.best_epoch reads it), and why.
        "best_epoch": choice["kept"] if choice else max(history, key=lambda row: row["val_accuracy"])["epoch"],
        **({"epoch_choice": choice} if choice else {}),
        "training_seconds": registry.read_training_seconds(run_dir),
        "hardware": registry.hardware(),
        "backend": keras.backend.backend(),
        # What "auto" resolved to here (bfloat16 where the CPU has it: 1.35x float32 in
        # `bench/train_throughput.py --matrix`); a resumed run records its last machine's.
        "precision": config.resolved_precision(),
        "versions": registry.library_versions(),
    })
    (run_dir / registry.CHECKPOINT_FILE).unlink(missing_ok=True)  # only needed to resume
    write_model_card(run_dir)
    registry.update_status(run_dir, state="complete", reason="", ended=now_iso())
