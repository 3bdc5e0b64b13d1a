"""Training configuration: every default in one place, each with its reason.

A config comes from defaults, then an optional JSON file, then command-line flags; the resolved
config is saved in the run folder so the run can be resumed or explained later. Each field's
reason is its `help` metadata: the CLI's flag help and the Train page's tooltips show it.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from .inference import TTA_MODES, tta_mode, tta_view_count
from .labels import EMOTIONS, class_set

OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")
SCHEDULES = ("cosine", "plateau", "constant")
CLASS_WEIGHTINGS = ("none", "sqrt", "balanced")
COLOR_MODES = ("grayscale", "rgb")
PRECISIONS = ("auto", "float32", "mixed_bfloat16")


# The fixed choices' names for people (the pages' select boxes, the Models page's recipe table).
CHOICE_LABELS = {
    "optimizer": {"sgd": "SGD with momentum", "adam": "Adam", "rmsprop": "RMSprop", "adamw": "AdamW"},
    "schedule": {"cosine": "Cosine decay", "plateau": "Cut on plateau", "constant": "Constant"},
    "class_weights": {"none": "None", "sqrt": "Square-root balanced", "balanced": "Fully balanced"},
    "color_mode": {"": "The architecture's own", "grayscale": "Grayscale", "rgb": "Colour (RGB)"},
    "precision": {"auto": "Automatic", "float32": "float32", "mixed_bfloat16": "bfloat16 compute"},
}


def choice_label(key: str, value) -> str:
    """A choice's name for people ("sgd": "SGD with momentum", "zoom": "zoom (6 views)"); other values as text."""
    if key == "tta" and value in TTA_MODES:
        views = tta_view_count(value)
        return f"{value} ({views} view{'s' if views > 1 else ''})"
    return CHOICE_LABELS.get(key, {}).get(value, str(value))


# Options naming a run, and what their empty value means.
_RUN_OPTIONS = {"init_from": "none", "distill_from": "none"}
# Settings for a fine-tune on your own faces (the Train page's "Fine-tune settings" fills them in):
# one epoch at 0.0001 kept validation accuracy (66.7% -> 66.6%) where one at 0.001 cost 0.8 points,
# from the deployed ensemble's first member on FER2013 (README, "Fine-tune on your own faces").
FINE_TUNE = {"epochs": 1, "learning_rate": 0.0001, "warmup_epochs": 0}
# What a run trained with own_faces records beside its config: the held-out faces and both figures
# (own faces held out, validation) for the run it started from and for itself (training.adapt_report).
ADAPTATION_FILE = "adaptation.json"


def value_text(key: str, value) -> str:
    """An option's value as people read it: choices by their labels, on/off, 0.001 not 1e-03, a data
    set by its name (a path or a name under the data root are the same), a recorded bool TTA as its mode."""
    if key == "tta":
        return choice_label(key, tta_mode(value))
    if key in ("data", "own_faces"):
        return Path(str(value)).name or "none"
    if key in _RUN_OPTIONS:
        return value or _RUN_OPTIONS[key]
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return choice_label(key, value)


def _option(default, reason: str, label: str):
    """A config field: its default, the one-line reason for it, and its name for people (the pages')."""
    return field(default=default, metadata={"help": reason, "label": label})


@dataclass
class TrainConfig:
    arch: str = _option("vgg_gap", "the network, by name in emotion_core/architectures.py; vgg_gap is the "
                                   "deployed model's", "Architecture")
    data: str = _option("fer2013", "a path, or a data set name under the data root", "Data set")
    classes: tuple = _option(EMOTIONS, "the emotions the run learns (all seven of FER2013); images of the others "
                                       "are left out of train and validation, e.g. angry,neutral,sad as in the "
                                       "first seed's 3-class experiment", "Classes")
    epochs: int = _option(60, "FER2013 nets keep improving past 50 epochs with augmentation", "Epochs")
    batch_size: int = _option(64, "small batches regularise and suit a 2-core CPU's caches", "Batch size")
    optimizer: str = _option("sgd", "SGD with Nesterov momentum generalises best on FER2013 in the literature",
                             "Optimizer")
    learning_rate: float = _option(0.01, "SGD's usual start for BN nets; use ~1e-3 for adam/rmsprop", "Learning rate")
    momentum: float = _option(0.9, "SGD's Nesterov momentum, the usual value (the other optimizers ignore it)",
                              "Momentum")
    weight_decay: float = _option(5e-4, "decoupled; strong regularisation suits a 28k-image data set", "Weight decay")
    schedule: str = _option("cosine", "cosine anneals to zero by the last epoch: no patience to tune",
                            "Learning-rate schedule")
    warmup_epochs: int = _option(1, "avoids early divergence of the high SGD learning rate with BN (capped at "
                                    "epochs - 1, so a one-epoch run still trains at the full rate)", "Warm-up epochs")
    color_mode: str = _option("", '"" = the architecture\'s own (the seeds\' RGB nets take RGB)', "Colour")
    image_size: int = _option(48, "FER2013's native size", "Image size (pixels)")
    augment: bool = _option(True, "flip, small rotation, shift and zoom: the biggest single gain on FER2013",
                            "Augmentation")
    photo_augment: bool = _option(False, "camera-like changes on top of augment: looser framing (zoom and shift "
                                         "up to 20%), brightness, contrast, gamma, blur and sensor noise, as faces "
                                         "from phones and webcams differ from FER2013's", "Photo-like augmentation")
    random_erasing: float = _option(0.0, "probability of erasing a patch (occlusion robustness)", "Random erasing")
    dropout_scale: float = _option(1.0, "multiplies every dropout rate of the architecture; below 1 when a short "
                                        "budget underfits (train accuracy no higher than validation), 0 = no dropout",
                                   "Dropout scale")
    init_from: str = _option("", "a run (name in the same registry, or folder) whose weights start training: a "
                                 "warm start that spends a second budget on top of the first instead of starting over; "
                                 "a wider net of the same family is cut down to its strongest channels",
                             "Begin with the weights of")
    distill_from: str = _option("", "a run (name in the same registry, or folder; an ensemble too) whose flip-"
                                    "averaged probabilities on the training images become soft targets: a small "
                                    "model learns from a stronger one and still costs its own per face",
                                "Learn from (teacher)")
    distill_weight: float = _option(0.5, "with distill_from: the teacher's share of each training target, the "
                                         "label's the rest (label smoothing applies on top)", "Teacher's share")
    own_faces: str = _option("", "a face set of your own labelled faces (a name under the data root, or a folder: "
                                 "the Label page or `data faces` makes one), mixed into training; a part of it is "
                                 "held out, and the run is scored on it and on validation before and after, so "
                                 "adapting shows what it gains and what it costs. Starts from the deployed run "
                                 "unless init_from says otherwise", "Your own faces")
    own_share: float = _option(0.2, "with own_faces: the share of the training images that are your faces, "
                                    "reached by repeating them (oversampling; every epoch still sees all of the "
                                    "data set): a few dozen faces among FER2013's 28,709 would otherwise be 0.1% "
                                    "of a batch and teach nothing, and the data set's faces keep the model from "
                                    "forgetting what it knew (no face is repeated over 250 times an epoch, so a "
                                    "handful of faces reach less)", "Your faces' share of training")
    own_holdout: float = _option(0.3, "with own_faces: the share of each emotion's faces held out (drawn with the "
                                      "seed, recorded in the run) to score the run on, never trained on",
                                 "Your faces held out")
    class_weights: str = _option("sqrt", "lifts disgust's recall without giving up much accuracy", "Class weights")
    label_smoothing: float = _option(0.1, "calibrates probabilities; FER2013 labels are noisy", "Label smoothing")
    early_stopping: int = _option(0, "patience in epochs on val_accuracy; 0 = off (cosine needs all epochs)",
                                  "Early stopping (patience)")
    plateau_patience: int = _option(5, "for schedule=plateau: epochs without val_loss gain before LR/5",
                                    "Plateau patience")
    val_fraction: float = _option(0.1, "carved from train (stratified) when the data set has no validation",
                                  "Validation fraction")
    tta: str = _option("flip", "test-time augmentation, the views of each face averaged: off; flip (the mirror "
                               "too: faces are symmetric); zoom (6 views, 3x flip's cost a face) or shifts (12 "
                               "views, 6x): each about +0.8 points on FER2013 validation over flip; "
                               "+autocontrast stretches each face's levels first (photos' exposure)",
                       "Test-time augmentation")
    precision: str = _option("auto", '"auto" = bfloat16 compute where the CPU has AVX512-BF16/AMX (about 2x '
                                     "faster here) or on a GPU; weights stay float32 and the saved model is "
                                     "float32 either way", "Numeric precision")
    seed: int = _option(1337, "fixes the validation split, initial weights and augmentation, so a run repeats",
                        "Random seed")
    name: str = _option("", 'run folder name; "" = <arch>-<date>-<time>', "Run name")

    def validate(self) -> "TrainConfig":
        """Raise ValueError with a one-line reason when a value is out of range."""
        from .architectures import ARCHITECTURES  # late: keeps config importable without keras

        if isinstance(self.tta, bool):
            self.tta = tta_mode(self.tta)  # a recorded bool (before the modes): True was flip
        checks = [
            (self.arch in ARCHITECTURES, f"arch must be one of {', '.join(ARCHITECTURES)}"),
            (1 <= self.epochs <= 1000, "epochs must be between 1 and 1000"),
            (1 <= self.batch_size <= 4096, "batch_size must be between 1 and 4096"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}"),
            (0 < self.learning_rate <= 1, "learning_rate must be in (0, 1]"),
            (0 <= self.momentum < 1, "momentum must be in [0, 1)"),
            (0 <= self.weight_decay < 1, "weight_decay must be in [0, 1)"),
            (self.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}"),
            (0 <= self.warmup_epochs <= 20, "warmup_epochs must be between 0 and 20"),
            (self.color_mode in ("",) + COLOR_MODES, "color_mode must be grayscale or rgb"),
            (16 <= self.image_size <= 256, "image_size must be between 16 and 256"),
            (0 <= self.random_erasing <= 1, "random_erasing must be in [0, 1]"),
            (0 <= self.dropout_scale <= 2, "dropout_scale must be between 0 and 2"),
            (0 <= self.distill_weight <= 1, "distill_weight must be in [0, 1]"),
            (self.class_weights in CLASS_WEIGHTINGS, f"class_weights must be one of {', '.join(CLASS_WEIGHTINGS)}"),
            (0 <= self.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
            (self.early_stopping >= 0, "early_stopping must be 0 (off) or a patience in epochs"),
            (self.plateau_patience >= 1, "plateau_patience must be at least 1"),
            (0 < self.val_fraction < 0.5, "val_fraction must be in (0, 0.5)"),
            (0 <= self.own_share < 1, "own_share must be in [0, 1)"),
            (0 < self.own_holdout < 1, "own_holdout must be in (0, 1)"),
            (self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}"),
            (self.tta in TTA_MODES, f"tta must be one of {', '.join(TTA_MODES)}"),
            # numpy refuses seeds outside [0, 2**32), and a resumed run adds its epoch count
            (0 <= self.seed < 2**31, "seed must be between 0 and 2**31 - 1"),
        ]
        for ok, reason in checks:
            if not ok:
                raise ValueError(reason)
        if "/" in self.name or self.name.startswith("."):
            raise ValueError("name must be a plain folder name")
        self.classes = class_set(self.classes)  # canonical names in EMOTIONS order, so equal sets compare equal
        return self

    def resolved_color_mode(self) -> str:
        from .architectures import ARCHITECTURES

        return self.color_mode or ARCHITECTURES[self.arch].color_mode

    def resolved_precision(self) -> str:
        if self.precision != "auto":
            return self.precision
        return "mixed_bfloat16" if _fast_bfloat16_available() else "float32"

    def to_dict(self) -> dict:
        """The config as JSON holds it (the class set as a list)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


def field_choices() -> dict[str, tuple]:
    """The allowed values of the fields that have a fixed set (for CLI choices and UI select boxes)."""
    from .architectures import ARCHITECTURES

    return {"arch": tuple(ARCHITECTURES), "classes": EMOTIONS, "optimizer": OPTIMIZERS, "schedule": SCHEDULES,
            "class_weights": CLASS_WEIGHTINGS, "color_mode": ("",) + COLOR_MODES, "precision": PRECISIONS,
            "tta": tuple(TTA_MODES)}


def config_from_dict(values: dict) -> TrainConfig:
    """A TrainConfig from a dict; unknown keys and wrong types are errors, not surprises.

    `classes` is a list of class names (a JSON file's) or a comma-separated string (a flag's).
    """
    known = {f.name: f for f in fields(TrainConfig)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"unknown config key(s): {', '.join(unknown)}")
    converted = {}
    for key, value in values.items():
        expected = type(getattr(TrainConfig(), key))
        if key == "tta" and isinstance(value, bool):
            value = tta_mode(value)  # runs recorded before the modes hold true (flip) or false
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if expected is tuple and (isinstance(value, str) or
                                  isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)):
            value = class_set(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            wanted = "a list of class names" if expected is tuple else expected.__name__
            raise ValueError(f"config key '{key}' must be {wanted}, not {type(value).__name__}")
        converted[key] = value
    return TrainConfig(**converted).validate()


def training_options() -> list[dict]:
    """Every field as {name, label, default, choices, reason}: what a flag or a form needs to offer and explain it.

    A tuple default (`classes`) is a set of its choices: a multiselect, or a comma-separated flag.
    """
    choices = field_choices()
    return [{"name": f.name, "label": f.metadata["label"], "default": f.default, "choices": choices.get(f.name),
             "reason": f.metadata["help"]} for f in fields(TrainConfig)]


def option_label(key: str) -> str:
    """A config key's name for people ("init_from": "Begin with the weights of"); unknown keys as they are."""
    known = {f.name: f.metadata["label"] for f in fields(TrainConfig)}
    return known.get(key, key.replace("_", " "))


def add_train_options(parser: argparse.ArgumentParser) -> None:
    """`--config FILE` and one flag per field, each with its reason and default as the help.

    Flags default to None (not given), so a config file's values survive them; see `resolve_config`.
    """
    group = parser.add_argument_group("training options (defaults in emotion_core/config.py)")
    group.add_argument("--config", type=Path, help="JSON file of config values (flags override it)")
    for option in training_options():
        flag, default = "--" + option["name"].replace("_", "-"), option["default"]
        help_text = f"{option['reason']} (default: {default!r})".replace("%", "%%")  # argparse %-formats help
        if isinstance(default, bool):
            group.add_argument(flag, dest=option["name"], action=argparse.BooleanOptionalAction, default=None,
                               help=help_text)
        elif isinstance(default, tuple):  # checked by config_from_dict, so a bad name is one line too
            help_text = f"{option['reason']} (comma-separated; default: {','.join(default)})".replace("%", "%%")
            group.add_argument(flag, dest=option["name"], default=None, metavar="NAME,NAME,...", help=help_text)
        else:
            group.add_argument(flag, dest=option["name"], type=type(default), default=None,
                               choices=option["choices"], help=help_text)


def resolve_config(config_file: Path | None = None, flags: Mapping | None = None) -> TrainConfig:
    """Defaults, then the JSON `config_file`, then `flags` (values by field name; None = not given).

    Keys of `flags` that are not fields are ignored: a parsed command line also holds its other options.
    """
    values = load_config_file(config_file) if config_file else {}
    names = {f.name for f in fields(TrainConfig)}
    values.update({key: value for key, value in (flags or {}).items() if key in names and value is not None})
    return config_from_dict(values)


def load_config_file(path: Path) -> dict:
    try:
        values = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read config file {path}: {error}") from None
    if not isinstance(values, dict):
        raise ValueError(f"config file {path} must hold a JSON object")
    return values


def _fast_bfloat16_available() -> bool:
    """True on a GPU backend or a CPU with native bfloat16 instructions (else bf16 is emulated, slower)."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        if jax.default_backend() == "gpu":
            return True
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags
