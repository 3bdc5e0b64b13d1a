"""The run registry: one folder per training run under `models/`, each describing itself.

    python -m emotion_core runs list
    python -m emotion_core runs show deployed
    python -m emotion_core runs deploy vgg_gap-20261121-140000

A run folder holds `config.json` (resolved config), `status.json` (state, epochs, times),
`history.json` (one row per epoch), `dataset.json` (fingerprint and counts), `model.keras`
(best epoch; optional: comparison-only runs ship without it), `info.json` (parameters,
multiply-adds, size, versions), `evaluation/<split>.json` and `MODEL_CARD.md` (see report.py), and
once calibrated `calibration.json` (the temperature every prediction path applies).
`deployed.json` in the registry root names the deployed run. Each alias of ALIASES (`deployed`,
`live`) is such a pointer, `<alias>.json`, and works as a run name everywhere; these are the only
shared pointers.

This module only writes, reads and scans run folders; report.py renders them (model cards, tables).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from .inference import tta_mode
from .labels import EMOTIONS, class_set_name
from .storage import now_iso, read_json, replacing, write_json_atomic
from .valence import VALENCE_FILE, valence_mapping

CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
HISTORY_FILE = "history.json"
DATASET_FILE = "dataset.json"
INFO_FILE = "info.json"
MODEL_FILE = "model.keras"
CHECKPOINT_FILE = "checkpoint.keras"
EVALUATION_DIR = "evaluation"
MODEL_CARD_FILE = "MODEL_CARD.md"
ENSEMBLE_FILE = "ensemble.json"  # an ensemble run's members (ensemble.py)
CALIBRATION_FILE = "calibration.json"  # the temperature `runs calibrate` fitted (scoring.calibrate_run)
DEPLOYED_FILE = "deployed.json"
DEPLOYED = "deployed"
LIVE = "live"
# Every alias, the one place that lists them (the CLI's choices, the Models page, any API): a name
# that works as a run name, pointing at a run through `<alias>.json` in the registry root. The
# value is the alias an unset one falls back to (None: none), so `live` serves the deployed model
# until someone picks a faster one for the camera.
ALIASES = {DEPLOYED: None, LIVE: DEPLOYED}


class RunError(ValueError):
    """A run that cannot be found or used, with the reason in one line."""


def runs_root(root: str | Path | None = None) -> Path:
    """The registry folder: `root` when given, else `EMOTION_RUNS_DIR`, else `models/` of the project."""
    if root:
        return Path(root)
    return Path(os.environ.get("EMOTION_RUNS_DIR", Path(__file__).resolve().parents[1] / "models"))


# --- Writing a run ------------------------------------------------------------------------------


def update_status(run_dir: Path, **changes) -> dict:
    """Merge `changes` into the run's status.json (atomically) and return the new status."""
    path = Path(run_dir) / STATUS_FILE
    status = read_json(path) if path.exists() else {}
    status.update(changes, updated=now_iso())
    write_json_atomic(path, status)
    return status


def add_training_seconds(run_dir: Path, seconds: float) -> None:
    total = read_training_seconds(run_dir) + seconds
    update_status(run_dir, training_seconds=round(total, 1))


def read_training_seconds(run_dir: Path) -> float:
    path = Path(run_dir) / STATUS_FILE
    return float(read_json(path).get("training_seconds", 0.0)) if path.exists() else 0.0


def save_model_atomic(model, path: Path) -> None:
    """Save a Keras model so that readers never see a half-written file."""
    with replacing(path, suffix=".keras") as temporary:  # Keras saves only to a name ending .keras
        model.save(temporary)


def remove_partial_files(run_dir: Path) -> list[str]:
    """Delete the temporary files a killed writer left in a run folder; returns their names.

    Only call this when no process writes to the run any more: the files are the atomic writers'
    `.<name>.<random>.tmp` and `.<stem>.<random>.keras`, whole files never have a leading dot.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        return []
    partial = [path for pattern in (".*.tmp", ".*.keras") for path in run_dir.glob(pattern) if path.is_file()]
    for path in partial:
        path.unlink(missing_ok=True)
    return sorted(path.name for path in partial)


def save_evaluation(run_dir: Path, split: str, report: dict) -> None:
    write_json_atomic(Path(run_dir) / EVALUATION_DIR / f"{split}.json", report)


def hardware() -> str:
    """This machine as a run's info.json records it ("x86_64 2 cores, Linux"), so runs can be compared
    by where they trained."""
    import platform

    return f"{platform.machine()} {os.cpu_count()} cores, {platform.processor() or platform.system()}"


def library_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("keras", "tensorflow", "jax", "numpy"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            pass
    return versions


# --- Reading runs ---------------------------------------------------------------------------------


@dataclass
class Run:
    """What the registry knows of one run folder; `problem` is set when it is broken."""

    name: str
    path: Path
    config: dict = field(default_factory=dict)
    status: dict = field(default_factory=dict)
    history: list = field(default_factory=list)
    dataset: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    evaluations: dict = field(default_factory=dict)
    problem: str = ""

    @property
    def weights_files(self) -> list[Path]:
        """The files its model is read from: its own model file, or an ensemble's members' (an
        ensemble is stored as its members' names, not as a second copy of their weights)."""
        own = self.path / MODEL_FILE
        if own.is_file() or not self.members:
            return [own]
        return [path for member in self.members for path in load_run(self.path.parent / member).weights_files]

    @property
    def has_weights(self) -> bool:
        return all(path.is_file() for path in self.weights_files)

    @property
    def model_mb(self) -> float | None:
        """The size of the files its model is read from, in MB as recorded when it was saved (an
        ensemble stored as its members' names: theirs together; `model_files` names which)."""
        size = self.info.get("model_bytes")
        return size / 2**20 if size else None

    @property
    def model_files(self) -> str:
        """What `model_mb` measures, as a label: "Model file", or "Members' files" for an ensemble that
        keeps no model file of its own."""
        own = self.path / MODEL_FILE
        return "Model file" if own.is_file() or not self.members else "Members' files"

    @property
    def weights_mtime(self) -> float:
        """When its weights last changed (0.0 when a file is gone): keys caches of its loaded model."""
        try:
            return max(path.stat().st_mtime for path in self.weights_files)
        except OSError:
            return 0.0

    @property
    def state(self) -> str:
        if self.problem:
            return "broken"
        return self.status.get("state", "unknown")

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_FILE

    @property
    def best_epoch(self) -> dict | None:
        """The history row of the epoch whose weights the model file holds: the best single-view
        validation accuracy, or the last epoch where it read better with the run's TTA (info.json's
        `best_epoch`, training.keep_the_better_ending)."""
        if not self.history:
            return None
        kept = self.info.get("best_epoch")
        return next((row for row in self.history if row["epoch"] == kept),
                    max(self.history, key=lambda row: row["val_accuracy"]))

    @property
    def validation(self) -> dict:
        return self.evaluations.get("validation", {})

    @property
    def color_mode(self) -> str | None:
        """"grayscale" or "rgb": the config's, else read from the model's input shape (a config's ""
        means "the architecture's own"); None when neither says."""
        if self.config.get("color_mode"):
            return self.config["color_mode"]
        channels = (self.info.get("input_shape") or [None])[-1]
        return {1: "grayscale", 3: "rgb"}.get(channels)

    @property
    def members(self) -> list[str]:
        """The runs an ensemble run averages (ensemble.py), or [] for a trained run."""
        path = self.path / ENSEMBLE_FILE
        return list(read_json(path).get("members", [])) if path.is_file() else []

    @property
    def calibration(self) -> dict:
        """What `runs calibrate` fitted ({} before it ran): temperature, split, TTA, ECE before and after.

        Kept beside config.json rather than in it: a retrain (`jobs start --from-run`) or an ensemble
        copies a config, and a temperature fitted to one model is wrong for another."""
        path = self.path / CALIBRATION_FILE
        return read_json(path) if path.is_file() else {}

    @property
    def temperature(self) -> float:
        """The temperature every path applies to this run's averaged probabilities (inference.calibrated);
        1.0 = as the model gives them."""
        return float(self.calibration.get("temperature", 1.0))

    @property
    def classes(self) -> tuple[str, ...]:
        """The classes the run learned, in its model's output order; a run from before class sets
        (no `classes` in its config) learned all seven."""
        return tuple(self.config.get("classes") or EMOTIONS)

    @property
    def valence(self) -> dict[str, str]:
        """valence.VALENCE, then the data set's overrides recorded at training, then the run's own
        `valence.json` (see valence.py); raises ValueError in one line for a bad override."""
        own = self.path / VALENCE_FILE
        return valence_mapping(self.dataset.get("valence"), read_json(own) if own.is_file() else None)

    @property
    def accuracy(self) -> float | None:
        """The run's headline validation accuracy: its saved evaluation's (TTA as recorded), else
        the best epoch's as Keras measured it while training (no TTA); None before either exists."""
        return self.validation.get("accuracy", (self.best_epoch or {}).get("val_accuracy"))

    @property
    def accuracy_source(self) -> str:
        """Where `accuracy` (and the run's other figures) come from, in a few words for a table cell."""
        if "accuracy" in self.validation:
            mode = tta_mode(self.validation["tta"]) if "tta" in self.validation else "as trained"
            source = f"evaluation, TTA {mode}"
        elif self.best_epoch:
            source = f"best epoch ({self.best_epoch['epoch']}), no TTA"
        else:
            source = "not evaluated yet"
        return f"{source}; epochs and curves: its members'" if self.members else source

    def summary_row(self) -> dict:
        """The flat row the runs table and `runs list` show."""
        best = self.best_epoch or {}
        validation = self.validation
        return {
            "run": self.name,
            "state": self.state,
            "accuracy": self.accuracy,
            "accuracy_from": self.accuracy_source,
            "architecture": f"ensemble of {len(self.members)}" if self.members else self.config.get("arch"),
            "optimizer": self.config.get("optimizer"),
            "batch_size": self.config.get("batch_size"),
            "color_mode": self.color_mode,
            "classes": class_set_name(self.classes),
            "augment": self.config.get("augment"),
            "members": ", ".join(self.members),
            "epochs": len(self.history),
            "epochs_planned": self.config.get("epochs"),
            "warm_start_from": self.config.get("init_from") or "",
            "best_val_accuracy": best.get("val_accuracy"),
            "best_epoch": best.get("epoch"),
            "best_val_loss": min((row["val_loss"] for row in self.history), default=None),
            "val_accuracy": validation.get("accuracy"),
            "val_macro_f1": validation.get("macro_f1"),
            "tta": tta_mode(validation["tta"]) if "tta" in validation else None,
            "parameters": self.info.get("parameters"),
            "multiply_adds": self.info.get("multiply_adds"),
            "model_mb": round(self.model_mb, 2) if self.model_mb else None,
            "training_minutes": round(self.status.get("training_seconds", 0) / 60, 1),
            "weights": self.has_weights,
            "problem": self.problem,
        }


def _read_optional(path: Path, default):
    return read_json(path) if path.exists() else default


def load_run(path: Path) -> Run:
    """Read a run folder; never raises for a broken run, it sets `problem` instead."""
    path = Path(path)
    run = Run(name=path.name, path=path)
    try:
        run.config = read_json(path / CONFIG_FILE)
        run.status = _read_optional(path / STATUS_FILE, {})
        run.history = _read_optional(path / HISTORY_FILE, [])
        run.dataset = _read_optional(path / DATASET_FILE, {})
        run.info = _read_optional(path / INFO_FILE, {})
        evaluation_dir = path / EVALUATION_DIR
        if evaluation_dir.is_dir():
            run.evaluations = {f.stem: read_json(f) for f in sorted(evaluation_dir.glob("*.json"))}
    except FileNotFoundError:
        run.problem = f"no {CONFIG_FILE}: not a complete run folder"
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as error:
        run.problem = f"unreadable file: {str(error).splitlines()[0]}"
    if not run.problem:
        run.problem = _weights_problem(run)
    return run


def _weights_problem(run: Run) -> str:
    """A complete run that claims weights must have a model file that looks like one."""
    model = run.path / MODEL_FILE
    if not model.exists() and run.members:
        missing = [member for member in run.members if not load_run(run.path.parent / member).has_weights]
        return f"its member {missing[0]} has no model file" if missing else ""
    if not model.exists():
        return ""  # comparison-only run, or still in its first epoch
    try:
        import zipfile

        with zipfile.ZipFile(model) as archive:
            if "config.json" not in archive.namelist():
                return f"{MODEL_FILE} is not a Keras model archive"
    except (zipfile.BadZipFile, OSError) as error:
        return f"{MODEL_FILE} is corrupt ({error})"
    return ""


def list_runs(root: Path | None = None) -> list[Run]:
    """Every run folder in the registry, newest first; broken ones included and marked."""
    root = runs_root(root)
    if not root.is_dir():
        return []
    runs = [load_run(child) for child in root.iterdir()
            if child.is_dir() and not child.name.startswith((".", "_"))]
    return sorted(runs, key=lambda run: run.status.get("started", ""), reverse=True)


def deployed_name(root: Path | None = None) -> str | None:
    """The run deployed.json names, None when there is none (see `usable_deployment` for serving)."""
    return deployment_record(root).get("run")


def deployment_record(root: Path | None = None) -> dict:
    """deployed.json as a dict; {} when it is missing or unreadable (hand-edited into garbage, say)."""
    return alias_record(DEPLOYED, root)


def alias_record(alias: str, root: Path | None = None) -> dict:
    """`<alias>.json` as a dict ({"run", "deployed_at", "history"}); {} when it is unset or unreadable."""
    try:
        record = read_json(alias_file(alias, root))
    except (OSError, ValueError):  # ValueError: bad JSON or bytes that are not UTF-8
        return {}
    return record if isinstance(record, dict) else {}


def alias_file(alias: str, root: Path | None = None) -> Path:
    if alias not in ALIASES:
        raise RunError(f"Unknown alias '{alias}': choose one of {', '.join(ALIASES)}.")
    return runs_root(root) / (DEPLOYED_FILE if alias == DEPLOYED else f"{alias}.json")


def aliases(root: Path | None = None) -> dict[str, str | None]:
    """Each alias and the run it names itself (None: unset, it falls back as ALIASES says)."""
    return {alias: alias_record(alias, root).get("run") for alias in ALIASES}


def alias_target(alias: str, root: Path | None = None) -> str | None:
    """The run `alias` stands for, following the fallback of an unset alias; None when nothing is set."""
    while alias:
        name = alias_record(alias, root).get("run")
        if name:
            return name
        alias = ALIASES[alias]
    return None


def usable_deployment(root: Path | None = None) -> tuple[str | None, str]:
    """The run to serve as `deployed`: the deployed run, or the latest earlier deployment still usable.

    Returns (run name or None, warning). The warning is one line saying why the deployed run is not
    the one served; it is "" when the deployed run is fine or when nothing was ever deployed.
    A run is usable when its folder reads without a problem and holds a model file.
    """
    return usable_alias(DEPLOYED, root)


def usable_alias(alias: str, root: Path | None = None) -> tuple[str | None, str]:
    """The run to serve as `alias`, as `usable_deployment` does for `deployed`: (run name or None, warning).

    An unset alias serves what its fallback serves; a broken one its latest earlier usable choice,
    else its fallback's run, with a one-line warning saying so.
    """
    root = runs_root(root)
    record = alias_record(alias, root)
    named = record.get("run")
    fallback = ALIASES[alias]
    if not named:
        return usable_alias(fallback, root) if fallback else (None, "")
    problem = _serving_problem(root, named)
    if not problem:
        return named, ""
    earlier = "deployment" if alias == DEPLOYED else f"{alias} model"
    fix = "deploy a working run" if alias == DEPLOYED else f"choose a working run for {alias} use"
    history = record.get("history", [])
    for entry in history if isinstance(history, list) else []:
        name = entry.get("run") if isinstance(entry, dict) else None
        if name and name != named and not _serving_problem(root, name):
            return name, (f"The {alias} run {named} is broken ({problem}); serving the previous "
                          f"{earlier} {name} instead. {fix.capitalize()} on the Models page.")
    served = usable_alias(fallback, root)[0] if fallback else None
    if served:
        return served, (f"The {alias} run {named} is broken ({problem}); serving the {fallback} run {served} "
                        f"instead. {fix.capitalize()} on the Models page.")
    return None, (f"The {alias} run {named} is broken ({problem}) and no earlier {earlier} is usable; "
                  f"{fix} on the Models page.")


def _serving_problem(root: Path, name) -> str:
    """Why the run `name` of the registry cannot serve predictions, "" when it can."""
    if not isinstance(name, str) or Path(name).name != name or name in (".", ".."):
        return f"'{name}' is not a run name"  # the pointer only ever holds a folder name of the registry
    if not (root / name).is_dir():
        return "its folder is gone"
    run = load_run(root / name)
    if run.problem:
        return run.problem
    if not run.has_weights:
        return f"{MODEL_FILE} is missing"
    return ""


def resolve_serving(name: str | Path = DEPLOYED, root: Path | None = None) -> tuple[Path, str]:
    """Like `resolve_run`, but an alias falls back as `usable_alias` does: (folder, warning)."""
    root = runs_root(root)
    if str(name) not in ALIASES:
        return resolve_run(name, root), ""
    served, warning = usable_alias(str(name), root)
    if served is None:
        raise RunError(warning or f"No run is deployed yet in {root}; deploy one with `runs deploy RUN`.")
    return root / served, warning


def resolve_run(name: str | Path, root: Path | None = None) -> Path:
    """The folder of a run given an alias (`deployed`, `live`), a run name, or a path to a run folder."""
    root = runs_root(root)
    if str(name) in ALIASES:
        target = alias_target(str(name), root)
        if not target:
            raise RunError(f"No run is deployed yet in {root}; deploy one with `runs deploy RUN`.")
        name = target
    candidate = Path(name)
    if candidate.is_dir() and (candidate / CONFIG_FILE).exists():
        return candidate
    if (root / str(name)).is_dir():
        return root / str(name)
    raise RunError(f"No run named '{name}' in {root}.")


def deploy(name: str, root: Path | None = None, alias: str = DEPLOYED) -> dict:
    """Point `alias` (`deployed` unless told) at a run with usable weights; the previous one is remembered."""
    root = runs_root(root)
    pointer = alias_file(alias, root)
    run_dir = resolve_run(name, root)
    if run_dir.resolve().parent != root.resolve():
        # The pointer holds a name, so only a run inside the registry can be found through it.
        raise RunError(f"Cannot deploy {run_dir.name}: it is outside the registry {root}; move it there first.")
    run = load_run(run_dir)
    if run.problem:
        raise RunError(f"Cannot deploy {run.name}: it is broken ({run.problem}).")
    if not run.has_weights:
        raise RunError(f"Cannot deploy {run.name}: it has no model file (comparison-only run).")
    if run.state != "complete":
        raise RunError(f"Cannot deploy {run.name}: it is {run.state}, not complete.")
    previous = alias_record(alias, root)
    history = previous.get("history", [])
    if previous.get("run"):
        history = ([{"run": previous["run"], "deployed_at": previous.get("deployed_at")}] + history)[:20]
    record = {"run": run.name, "deployed_at": now_iso(), "history": history}
    try:
        write_json_atomic(pointer, record)
    except OSError as error:  # disk full, read-only registry: the old pointer is still whole
        raise RunError(f"Cannot deploy {run.name}: could not write {pointer} "
                       f"({error.strerror or error}); {previous.get('run') or 'nothing'} stays {alias}.") from error
    return record
