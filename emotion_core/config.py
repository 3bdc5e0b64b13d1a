"""Training configuration: every default in one place, each with its reason.

A config comes from defaults, then an optional JSON file, then command-line flags; the resolved
config is saved in the run folder so the run can be resumed or explained later.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")
SCHEDULES = ("cosine", "plateau", "constant")
CLASS_WEIGHTINGS = ("none", "sqrt", "balanced")
COLOR_MODES = ("grayscale", "rgb")
PRECISIONS = ("auto", "float32", "mixed_bfloat16")


@dataclass
class TrainConfig:
    arch: str = "vgg_gap"
    data: str = "fer2013"  # a path, or a data set name under the data root
    epochs: int = 60  # FER2013 nets keep improving past 50 epochs with augmentation
    batch_size: int = 64  # small batches regularise and suit a 2-core CPU's caches
    optimizer: str = "sgd"  # SGD with Nesterov momentum generalises best on FER2013 in the literature
    learning_rate: float = 0.01  # SGD's usual start for BN nets; use ~1e-3 for adam/rmsprop
    momentum: float = 0.9
    weight_decay: float = 5e-4  # decoupled; strong regularisation suits a 28k-image data set
    schedule: str = "cosine"  # cosine anneals to zero by the last epoch: no patience to tune
    warmup_epochs: int = 1  # avoids early divergence of the high SGD learning rate with BN
    # (capped at epochs - 1, so a one-epoch run still trains at the full rate)
    color_mode: str = ""  # "" = the architecture's own (the seeds' RGB nets take RGB)
    image_size: int = 48  # FER2013's native size
    augment: bool = True  # flip, small rotation, shift and zoom: the biggest single gain on FER2013
    random_erasing: float = 0.0  # probability of erasing a patch (occlusion robustness)
    dropout_scale: float = 1.0  # multiplies every dropout rate of the architecture; below 1 when a
    # short budget underfits (train accuracy no higher than validation), 0 = no dropout
    init_from: str = ""  # a run (name in the same registry, or folder) whose weights start training:
    # a warm start that spends a second budget on top of the first instead of starting over
    class_weights: str = "sqrt"  # lifts disgust's recall without giving up much accuracy
    label_smoothing: float = 0.1  # calibrates probabilities; FER2013 labels are noisy
    early_stopping: int = 0  # patience in epochs on val_accuracy; 0 = off (cosine needs all epochs)
    plateau_patience: int = 5  # for schedule=plateau: epochs without val_loss gain before LR/5
    val_fraction: float = 0.1  # carved from train (stratified) when the data set has no validation
    tta: bool = True  # evaluate with horizontal-flip test-time augmentation (faces are symmetric)
    precision: str = "auto"  # "auto" = bfloat16 compute where the CPU has AVX512-BF16/AMX (about 2x
    # faster here) or on a GPU; weights stay float32 and the saved model is float32 either way
    seed: int = 1337
    name: str = ""  # run folder name; "" = <arch>-<date>-<time>

    def validate(self) -> "TrainConfig":
        """Raise ValueError with a one-line reason when a value is out of range."""
        from .architectures import ARCHITECTURES  # late: keeps config importable without keras

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
            (self.class_weights in CLASS_WEIGHTINGS, f"class_weights must be one of {', '.join(CLASS_WEIGHTINGS)}"),
            (0 <= self.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
            (self.early_stopping >= 0, "early_stopping must be 0 (off) or a patience in epochs"),
            (self.plateau_patience >= 1, "plateau_patience must be at least 1"),
            (0 < self.val_fraction < 0.5, "val_fraction must be in (0, 0.5)"),
            (self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}"),
            # numpy refuses seeds outside [0, 2**32), and a resumed run adds its epoch count
            (0 <= self.seed < 2**31, "seed must be between 0 and 2**31 - 1"),
        ]
        for ok, reason in checks:
            if not ok:
                raise ValueError(reason)
        if "/" in self.name or self.name.startswith("."):
            raise ValueError("name must be a plain folder name")
        return self

    def resolved_color_mode(self) -> str:
        from .architectures import ARCHITECTURES

        return self.color_mode or ARCHITECTURES[self.arch].color_mode

    def resolved_precision(self) -> str:
        if self.precision != "auto":
            return self.precision
        return "mixed_bfloat16" if _fast_bfloat16_available() else "float32"

    def to_dict(self) -> dict:
        return asdict(self)


def field_choices() -> dict[str, tuple]:
    """The allowed values of the fields that have a fixed set (for CLI choices and UI select boxes)."""
    from .architectures import ARCHITECTURES

    return {"arch": tuple(ARCHITECTURES), "optimizer": OPTIMIZERS, "schedule": SCHEDULES,
            "class_weights": CLASS_WEIGHTINGS, "color_mode": ("",) + COLOR_MODES, "precision": PRECISIONS}


def config_from_dict(values: dict) -> TrainConfig:
    """A TrainConfig from a dict; unknown keys and wrong types are errors, not surprises."""
    known = {f.name: f for f in fields(TrainConfig)}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"unknown config key(s): {', '.join(unknown)}")
    converted = {}
    for key, value in values.items():
        expected = type(getattr(TrainConfig(), key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ValueError(f"config key '{key}' must be {expected.__name__}, not {type(value).__name__}")
        converted[key] = value
    return TrainConfig(**converted).validate()


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
