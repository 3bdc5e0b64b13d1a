"""Data sets: find them, describe them, and load them as arrays.

A data set is a folder of splits, each a folder of class folders of images, in any of the layouts
the public FER data sets ship with (`train/` + `validation/`, optionally under `images/`;
`train/` + `valid/` + `test/`; `train/` + `test/`), or the original `fer2013.csv`
(columns emotion, pixels, Usage). Split and class folder names are matched through aliases.

    python -m emotion_core data list
    python -m emotion_core data summary data/fer2013 [--json]
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .images import IMAGE_SUFFIXES
from .labels import EMOTIONS, canonical_class, canonical_split
from .storage import read_json, write_json_atomic
from .valence import VALENCE_FILE, valence_mapping
from .wording import percent

CSV_USAGES = {"Training": "train", "PublicTest": "validation", "PrivateTest": "test"}
# Folders a layout may nest its splits under (the Kaggle set ships `images/train`, ...).
NESTING_FOLDERS = ("images", "data", "dataset")
DUPLICATE_GROUPS_KEPT = 200  # enough to show examples without bloating the summary file


class DatasetError(ValueError):
    """A data set folder that cannot be used, with the reason in one line."""


@dataclass
class Dataset:
    """Where a data set's images are and which class each has; nothing decoded yet."""

    path: Path
    kind: str  # "folders" or "csv"
    # split -> list of (file path relative to `path`, class index); for csv, (row label, index)
    items: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    split_folders: dict[str, str] = field(default_factory=dict)
    unknown_classes: list[str] = field(default_factory=list)
    empty_classes: list[str] = field(default_factory=list)
    # csv rows left out of `items` (bad emotion or Usage): {"split", "file", "error"}, as in a summary
    skipped: list[dict] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.stem if self.kind == "csv" else self.path.name

    @property
    def splits(self) -> list[str]:
        return [split for split in ("train", "validation", "test") if split in self.items]

    @property
    def classes(self) -> tuple[str, ...]:
        """The emotions with at least one image in some split, in canonical order."""
        present = {label for items in self.items.values() for _, label in items}
        return tuple(name for index, name in enumerate(EMOTIONS) if index in present)

    def valence(self) -> dict[str, str]:
        """The valence overrides of a `valence.json` beside the splits (or the .csv); {} without one.

        Raises DatasetError in one line when the file cannot be read or holds an unknown class or valence.
        """
        path = (self.path if self.kind == "folders" else self.path.parent) / VALENCE_FILE
        if not path.is_file():
            return {}
        try:
            values = read_json(path)
            if not isinstance(values, dict):
                raise ValueError("it must hold a JSON object of class: valence")
            valence_mapping(values)  # checked here, so a bad file stops training before it starts
        except (OSError, ValueError) as error:
            raise DatasetError(f"{path}: {str(error).splitlines()[0]}") from None
        return values

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per class for each split, in canonical label order."""
        result = {}
        for split, items in self.items.items():
            per_class = Counter(label for _, label in items)
            result[split] = {name: per_class.get(index, 0) for index, name in enumerate(EMOTIONS)}
        return result

    def fingerprint(self) -> str:
        """A short hash of file names and sizes: the same data gives the same value anywhere."""
        digest = hashlib.sha256()
        if self.kind == "csv":
            digest.update(f"csv:{self.path.stat().st_size}".encode())
        for split in sorted(self.items):
            for relative, label in self.items[split]:
                size = 0 if self.kind == "csv" else (self.path / relative).stat().st_size
                digest.update(f"{split}/{relative}:{label}:{size}\n".encode())
        return digest.hexdigest()[:16]


def data_root(root: str | Path | None = None) -> Path:
    """The folder data sets are found under: `root` when given, else `EMOTION_DATA_DIR`, else `data/`
    of the project."""
    if root:
        return Path(root)
    return Path(os.environ.get("EMOTION_DATA_DIR", Path(__file__).resolve().parents[1] / "data"))


def cache_dir() -> Path:
    """Where decoded arrays and summaries are cached (`EMOTION_CACHE_DIR` to move it)."""
    default = Path.home() / ".cache" / "emotion_explorer"
    return Path(os.environ.get("EMOTION_CACHE_DIR", default))


def find_datasets(root: Path | None = None, require_train: bool = True) -> list[Path]:
    """Data sets directly under the data root (folders or .csv files that open as one); with
    `require_train=False` also labelled folders without train/ (a hold-out, your own faces)."""
    root = data_root(root)
    if not root.is_dir():
        return []
    found = []
    for candidate in sorted(root.iterdir()):
        if candidate.name.startswith("."):
            continue
        try:
            open_dataset(candidate, require_train)
        except DatasetError:
            continue
        found.append(candidate)
    return found


def dataset_version(path: Path) -> float:
    """The newest modification time of a data set, its entries and the folders below them.

    Adding or removing an image touches its class folder, so a listing or summary cached under
    this value is read again when images come or go (one overwritten in place goes unnoticed).
    """
    path = Path(path)
    entries = [path, *path.glob("*"), *(p for p in path.glob("*/*") if p.is_dir())]
    return max(entry.stat().st_mtime for entry in entries)


def resolve_dataset_path(name_or_path: str | Path) -> Path:
    """A path as given, or the name of a data set under the data root."""
    path = Path(name_or_path)
    if path.exists():
        return path
    under_root = data_root() / str(name_or_path)
    if under_root.exists():
        return under_root
    raise DatasetError(f"No data set at '{name_or_path}' (nor under the data root {data_root()}).")


def open_dataset(name_or_path: str | Path, require_train: bool = True) -> Dataset:
    """Detect the layout of a data set and list its labelled images, or raise DatasetError.

    Training needs a train split; scoring a model does not (`require_train=False`), so a user's
    own labelled hold-out folder with only test/ (or only validation/) can be evaluated.
    """
    path = resolve_dataset_path(name_or_path)
    if path.is_file():
        if path.suffix.lower() != ".csv":
            raise DatasetError(f"{path} is a file but not a fer2013-style .csv.")
        return _open_csv(path)
    csv_files = sorted(path.glob("*.csv"))
    split_parent = _find_split_parent(path, ("train",) if require_train else ("train", "validation", "test"))
    if split_parent is None:
        if csv_files:
            return _open_csv(csv_files[0])
        other_splits = [folder.name for folder in _split_folders(path).values()]
        if other_splits:
            raise DatasetError(f"{path} has {', '.join(other_splits)} but no train/ (or training/) folder.")
        raise DatasetError(
            f"{path} has no split folders (train/, validation/ or val/ or valid/, test/) "
            "and no fer2013.csv."
        )
    return _open_folders(path, split_parent, require_train)


def _split_folders(folder: Path) -> dict[str, Path]:
    found = {}
    for child in sorted(folder.iterdir()):
        split = canonical_split(child.name) if child.is_dir() else None
        if split and split not in found:
            found[split] = child
    return found


def _find_split_parent(path: Path, needed: tuple[str, ...] = ("train",)) -> Path | None:
    """The folder holding train/ etc. (one of `needed` at least): the data set folder, a known
    nesting, or its only child."""
    candidates = [path] + [path / name for name in NESTING_FOLDERS]
    children = [child for child in path.iterdir() if child.is_dir()]
    if len(children) == 1:
        candidates.append(children[0])
    for candidate in candidates:
        if candidate.is_dir() and set(needed) & set(_split_folders(candidate)):
            return candidate
    return None


def _open_folders(path: Path, split_parent: Path, require_train: bool = True) -> Dataset:
    dataset = Dataset(path=path, kind="folders")
    unknown, empty = set(), set()
    for split, split_path in _split_folders(split_parent).items():
        items = []
        for class_folder in sorted(p for p in split_path.iterdir() if p.is_dir()):
            label_name = canonical_class(class_folder.name)
            if label_name is None:
                unknown.add(class_folder.name)
                continue
            label = EMOTIONS.index(label_name)
            files = sorted(
                f for f in class_folder.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES
            )
            if not files:
                empty.add(f"{split_path.name}/{class_folder.name}")
            items.extend((str(f.relative_to(path)), label) for f in files)
        if not items:
            continue  # an empty validation/ must read as missing, or training validates on nothing
        dataset.items[split] = items
        dataset.split_folders[split] = str(split_path.relative_to(path))
    dataset.unknown_classes = sorted(unknown)
    dataset.empty_classes = sorted(empty)
    if require_train and not dataset.items.get("train"):
        raise DatasetError(f"{path}: the train split holds no images of known classes.")
    if not dataset.items:
        raise DatasetError(f"{path}: no split holds images of known classes.")
    return dataset


def _read_csv_rows(path: Path):
    """Yield (row number, emotion text, pixels text, usage) from a fer2013.csv."""
    # utf-8-sig: a csv re-saved by a spreadsheet starts with a byte-order mark.
    with path.open(newline="", encoding="utf-8-sig") as handle:
        try:
            reader = csv.DictReader(handle)
            missing = {"emotion", "pixels"} - set(reader.fieldnames or [])
            if missing:
                raise DatasetError(f"{path.name} lacks the column(s) {', '.join(sorted(missing))}.")
            for number, row in enumerate(reader, start=2):
                yield number, row["emotion"], row["pixels"], row.get("Usage") or "Training"
        except (UnicodeDecodeError, csv.Error) as error:
            raise DatasetError(f"{path.name} is not a readable text csv: {error}") from None


def _open_csv(path: Path) -> Dataset:
    dataset = Dataset(path=path, kind="csv")
    for number, emotion, _pixels, usage in _read_csv_rows(path):
        split = CSV_USAGES.get(usage.strip())
        if split is None or not emotion.strip().isdigit() or int(emotion) >= len(EMOTIONS):
            if split is None:
                problem = f"Usage '{usage}' is not one of {', '.join(CSV_USAGES)}"
            else:
                problem = f"emotion '{emotion}' is not 0-{len(EMOTIONS) - 1}"
            dataset.skipped.append({"split": split or usage, "file": f"row {number}", "error": problem})
            continue  # reported as unreadable by the summary
        dataset.items.setdefault(split, []).append((f"row {number}", int(emotion)))
        dataset.split_folders[split] = usage.strip()
    if not dataset.items.get("train"):
        raise DatasetError(f"{path.name} has no Training rows with a valid emotion.")
    return dataset


# ---------------------------------------------------------------------------------------------
# Decoding


def _decode_csv_pixels(text: str) -> np.ndarray:
    values = np.array(text.split(), dtype=np.int64)
    side = int(round(len(values) ** 0.5))
    if side * side != len(values) or len(values) == 0 or values.min() < 0 or values.max() > 255:
        raise ValueError(f"{len(values)} pixel values do not make a square 8-bit image")
    return values.astype(np.uint8).reshape(side, side)


def iter_decoded(dataset: Dataset, split: str):
    """Yield (item name, label, PIL image or None, error text or None) for every item of a split."""
    if dataset.kind == "csv":
        wanted = {name for name, _ in dataset.items.get(split, [])}
        for number, emotion, pixels, _usage in _read_csv_rows(dataset.path):
            name = f"row {number}"
            if name not in wanted:
                continue
            try:
                yield name, int(emotion), Image.fromarray(_decode_csv_pixels(pixels)), None
            except ValueError as error:
                yield name, int(emotion), None, str(error)
        return
    for relative, label in dataset.items.get(split, []):
        try:
            with Image.open(dataset.path / relative) as image:
                image.load()
                yield relative, label, image, None
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as error:
            yield relative, label, None, str(error).splitlines()[0] if str(error) else type(error).__name__


def _to_array(image: Image.Image, image_size: int, color_mode: str) -> np.ndarray:
    converted = image.convert("L" if color_mode == "grayscale" else "RGB")
    if converted.size != (image_size, image_size):
        # Area averaging when shrinking keeps faces from aliasing; bicubic when enlarging.
        shrinking = min(converted.size) > image_size
        converted = converted.resize(
            (image_size, image_size), Image.Resampling.BOX if shrinking else Image.Resampling.BICUBIC
        )
    array = np.asarray(converted, dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array


def load_split(
    dataset: Dataset, split: str, image_size: int = 48, color_mode: str = "grayscale"
) -> tuple[np.ndarray, np.ndarray]:
    """All images of a split as uint8 (n, size, size, channels) and int labels (n,).

    Decoding happens once per data set version: the arrays are cached under `cache_dir()`
    keyed by the data set's fingerprint, so later loads take a moment. Unreadable images are
    skipped (the summary lists them).
    """
    if split not in dataset.items:
        raise DatasetError(f"{dataset.name} has no '{split}' split (it has {', '.join(dataset.splits)}).")
    if color_mode not in ("grayscale", "rgb"):
        raise DatasetError(f"color mode must be grayscale or rgb, not '{color_mode}'.")
    cache_file = cache_dir() / f"{dataset.name}-{dataset.fingerprint()}-{split}-{image_size}-{color_mode}.npz"
    if cache_file.exists():
        with np.load(cache_file, allow_pickle=False) as cached:
            return cached["x"], cached["y"]
    images, labels = [], []
    for _name, label, image, _error in iter_decoded(dataset, split):
        if image is not None:
            images.append(_to_array(image, image_size, color_mode))
            labels.append(label)
    channels = 1 if color_mode == "grayscale" else 3
    x = np.stack(images) if images else np.zeros((0, image_size, image_size, channels), np.uint8)
    y = np.asarray(labels, dtype=np.int64)
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    partial = cache_file.with_suffix(".partial.npz")
    np.savez(partial, x=x, y=y)
    partial.replace(cache_file)  # a killed process never leaves a half-written cache behind
    return x, y


def keep_classes(x: np.ndarray, y: np.ndarray, classes) -> tuple[np.ndarray, np.ndarray]:
    """The images of `classes` only, labelled by their position in `classes` (0..len(classes) - 1).

    `y` holds EMOTIONS indices, as `load_split` returns them; a run trained on (angry, sad, neutral)
    learns labels 0, 1, 2, and its model's outputs follow that order.
    """
    positions = np.full(len(EMOTIONS), -1, dtype=np.int64)
    positions[[EMOTIONS.index(name) for name in classes]] = np.arange(len(classes))
    mapped = positions[y]
    kept = mapped >= 0
    return x[kept], mapped[kept]


def class_counts(y: np.ndarray, classes) -> dict[str, int]:
    """Images per class of labels `y` given as positions in `classes` (what `keep_classes` returns)."""
    counts = np.bincount(y, minlength=len(classes))
    return {name: int(count) for name, count in zip(classes, counts)}


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out) holding out `fraction` of every class, for data sets without
    a validation split."""
    rng = np.random.default_rng(seed)
    held_out = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        held_out.extend(members[: max(1, round(len(members) * fraction))])
    held_out = np.sort(np.asarray(held_out, dtype=np.int64))
    kept = np.setdiff1d(np.arange(len(labels)), held_out)
    return kept, held_out


# ---------------------------------------------------------------------------------------------
# Summary


def summarize(dataset: Dataset, use_cache: bool = True) -> dict:
    """Counts per split and class, colour, sizes, unreadable files and exact duplicates.

    Every image is decoded once (duplicates are found by a hash of the pixels, so the same
    face saved twice is caught even if the files differ); the result is cached by fingerprint.
    """
    fingerprint = dataset.fingerprint()
    cache_file = _summary_file(dataset.name, fingerprint)
    if use_cache and (cached := recorded_summary(dataset.name, fingerprint)) is not None:
        return cached

    color, sizes = Counter(), Counter()
    unreadable, by_hash = list(dataset.skipped), defaultdict(list)
    for split in dataset.splits:
        for name, label, image, error in iter_decoded(dataset, split):
            if image is None:
                unreadable.append({"split": split, "file": name, "error": error})
                continue
            sizes[f"{image.width}x{image.height}"] += 1
            pixels = np.asarray(image.convert("RGB") if image.mode not in ("L", "RGB") else image)
            color["grayscale" if is_grayscale(pixels) else "color"] += 1
            digest = hashlib.blake2b(pixels.tobytes(), digest_size=12).hexdigest()
            by_hash[f"{pixels.shape}:{digest}"].append((split, name, EMOTIONS[label]))

    counts = dataset.counts()
    summary = {
        "name": dataset.name,
        "path": str(dataset.path),
        "layout": dataset.kind,
        "fingerprint": fingerprint,
        "classes": list(EMOTIONS),
        "splits": {
            split: {"folder": dataset.split_folders.get(split), "total": sum(counts[split].values()),
                    "counts": counts[split]}
            for split in dataset.splits
        },
        "missing_splits": [s for s in ("validation", "test") if s not in dataset.items],
        "unknown_classes": dataset.unknown_classes,
        "empty_classes": dataset.empty_classes,
        "color": {"grayscale": color["grayscale"], "color": color["color"]},
        "sizes": dict(sizes.most_common()),
        "unreadable": unreadable,
        "duplicates": _describe_duplicates(by_hash),
    }
    write_json_atomic(cache_file, summary)
    return summary


def is_grayscale(pixels: np.ndarray) -> bool:
    """Whether an image (HxW, HxWxC) or a stack of them (n, h, w, c) holds no colour: one channel,
    or three equal ones (a gray photo saved as RGB)."""
    if pixels.ndim == 2 or pixels.shape[-1] == 1:
        return True
    return bool(np.array_equal(pixels[..., 0], pixels[..., 1]) and np.array_equal(pixels[..., 1], pixels[..., 2]))


def _describe_duplicates(by_hash: dict) -> dict:
    groups = [members for members in by_hash.values() if len(members) > 1]
    groups.sort(key=len, reverse=True)
    within = Counter()
    across = conflicting = 0
    for members in groups:
        splits = {split for split, _, _ in members}
        if len(splits) > 1:
            across += 1
        else:
            within[next(iter(splits))] += 1
        if len({label for _, _, label in members}) > 1:
            conflicting += 1
    return {
        "groups": len(groups),
        "extra_copies": sum(len(members) - 1 for members in groups),
        "within_split": dict(within),
        "across_splits": across,
        "conflicting_labels": conflicting,
        "examples": [
            [{"split": s, "file": f, "label": label} for s, f, label in members]
            for members in groups[:DUPLICATE_GROUPS_KEPT]
        ],
    }


def structure_notes(summary: dict) -> list[tuple[bool, str]]:
    """What each structural fact of a summary means for training: (whether it is a problem, one line)."""
    notes = []
    missing = summary.get("missing_splits", [])
    if "validation" in missing:
        also = " and no test split" if "test" in missing else ""
        notes.append((True, f"No validation split{also}: training sets aside part of train to measure accuracy on."))
    elif "test" in missing:
        notes.append((False, "No test split (train and validation are here): accuracy is measured on validation."))
    if summary.get("unknown_classes"):
        notes.append((True, "Skipped class folders that are not one of the seven emotions: "
                            + ", ".join(summary["unknown_classes"])))
    if summary.get("empty_classes"):
        notes.append((True, "Empty class folders: " + ", ".join(summary["empty_classes"])))
    return notes


def shared_images_note(summary: dict) -> str | None:
    """The sentence an accuracy measured on validation needs when validation holds exact copies of
    training images (the model has seen those); None when it holds none."""
    shared = summary.get("duplicates", {}).get("across_splits", 0)
    validation = summary.get("splits", {}).get("validation", {}).get("total")
    if not shared or not validation:
        return None
    copies = "is an exact copy of a training image" if shared == 1 else "are exact copies of training images"
    return (f"{shared:,} of the {validation:,} validation images ({percent(shared / validation)}) {copies}, "
            "which the model has seen, so its validation accuracy reads a little high.")


def recorded_summary(name: str | None, fingerprint: str | None) -> dict | None:
    """The summary `summarize` cached for data set `name` at `fingerprint` (a run's `dataset.json`
    records both), or None when it was never computed here: reading it is instant, computing it
    decodes every image."""
    if not name or not fingerprint:
        return None
    try:
        return json.loads(_summary_file(name, fingerprint).read_text())
    except (OSError, ValueError):
        return None


def _summary_file(name: str, fingerprint: str) -> Path:
    return cache_dir() / f"{name}-{fingerprint}-summary.json"


def format_summary(summary: dict) -> str:
    """A plain-text report of a summary for the command line."""
    splits = list(summary["splits"])
    lines = [f"Data set {summary['name']} ({summary['layout']}) at {summary['path']}", ""]
    lines.append(f"{'class':<10}" + "".join(f"{split:>12}" for split in splits))
    for name in summary["classes"]:
        lines.append(f"{name:<10}" + "".join(f"{summary['splits'][s]['counts'][name]:>12,}" for s in splits))
    lines.append(f"{'total':<10}" + "".join(f"{summary['splits'][s]['total']:>12,}" for s in splits))
    lines.append("")
    color = summary["color"]
    lines.append(f"grayscale {color['grayscale']:,}, colour {color['color']:,}")
    sizes = ", ".join(f"{size} ({n:,})" for size, n in list(summary["sizes"].items())[:5])
    lines.append(f"sizes: {sizes}")
    duplicates = summary["duplicates"]
    lines.append(
        f"exact duplicates: {duplicates['groups']:,} groups ({duplicates['extra_copies']:,} extra copies); "
        f"within splits {duplicates['within_split']}, across splits {duplicates['across_splits']:,}, "
        f"with conflicting labels {duplicates['conflicting_labels']:,}"
    )
    if summary["missing_splits"]:
        lines.append(f"missing splits: {', '.join(summary['missing_splits'])}")
    if summary["unknown_classes"]:
        lines.append(f"skipped unknown class folders: {', '.join(summary['unknown_classes'])}")
    if summary["empty_classes"]:
        lines.append(f"empty class folders: {', '.join(summary['empty_classes'])}")
    lines.append(f"unreadable files: {len(summary['unreadable'])}")
    for entry in summary["unreadable"][:10]:
        lines.append(f"  {entry['file']}: {entry['error']}")
    return "\n".join(lines)
