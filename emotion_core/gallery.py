"""Looking at a data set's images: a few samples per class, thumbnails, duplicate groups.

Item names are the ones `Dataset.items` and the summary use: a path relative to the data set
folder, or `row N` of a fer2013.csv, so a duplicate listed by the summary can be shown directly.

    from emotion_core import datasets, gallery
    tiny = datasets.open_dataset("tiny")
    picks = gallery.sample_items(tiny, "train", per_class=4, seed=0)   # {"angry": [...], ...}
    images = gallery.load_thumbnails(tiny, picks["happy"], size=96)
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import PurePath

import numpy as np
from PIL import Image, UnidentifiedImageError

from .datasets import Dataset, DatasetError, _decode_csv_pixels, _read_csv_rows
from .labels import EMOTIONS

DUPLICATE_KINDS = ("any", "conflicting", "across", "within")


def sample_items(dataset: Dataset, split: str, per_class: int = 6, seed: int = 0) -> dict[str, list[str]]:
    """Up to `per_class` item names per class of a split, drawn without replacement.

    The same seed gives the same picks, so a page redraws the same gallery until the user
    asks for another one. Every class is a key, with an empty list when the split has none.
    """
    if split not in dataset.items:
        raise DatasetError(f"{dataset.name} has no '{split}' split (it has {', '.join(dataset.splits)}).")
    by_label = defaultdict(list)
    for name, label in dataset.items[split]:
        by_label[label].append(name)
    rng = np.random.default_rng(seed)
    picks = {}
    for label, class_name in enumerate(EMOTIONS):
        names = by_label[label]
        chosen = rng.choice(len(names), size=min(per_class, len(names)), replace=False) if names else []
        picks[class_name] = [names[index] for index in sorted(chosen)]
    return picks


def _displayable(image: Image.Image, size: int | None) -> Image.Image:
    """A grayscale or RGB copy, scaled so its longer side is `size` (pixels kept sharp when enlarging)."""
    image = image.convert("L" if image.mode in ("1", "L", "LA", "I", "I;16", "F") else "RGB")
    if size is None or max(image.size) == size:
        return image.copy()
    scale = size / max(image.size)
    target = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # Nearest keeps 48x48 faces as crisp blocks instead of blur; box averaging when shrinking.
    resample = Image.Resampling.NEAREST if scale > 1 else Image.Resampling.BOX
    return image.resize(target, resample)


def _folder_image(dataset: Dataset, name: str) -> Image.Image:
    relative = PurePath(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise DatasetError(f"'{name}' is not a file inside {dataset.name}.")
    with Image.open(dataset.path / relative) as image:
        image.load()
        return image.copy()


def load_thumbnails(dataset: Dataset, names, size: int | None = None) -> dict[str, Image.Image | None]:
    """The images named, as PIL images (None for one that cannot be read), in the order asked.

    A csv data set is read once for the whole batch, stopping at the last row wanted, since
    seeking a row of fer2013.csv means reading every row before it.
    """
    names = list(names)
    found: dict[str, Image.Image | None] = dict.fromkeys(names)
    if dataset.kind == "csv":
        wanted = set(names)
        for number, _emotion, pixels, _usage in _read_csv_rows(dataset.path):
            name = f"row {number}"
            if name in wanted:
                try:
                    found[name] = _displayable(Image.fromarray(_decode_csv_pixels(pixels)), size)
                except ValueError:
                    pass
                wanted.discard(name)
                if not wanted:
                    break
        return found
    for name in names:
        try:
            found[name] = _displayable(_folder_image(dataset, name), size)
        except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
            pass  # the summary lists unreadable files; the gallery shows a gap
    return found


def load_thumbnail(dataset: Dataset, name: str, size: int | None = None) -> Image.Image:
    """One image of the data set by item name, or DatasetError when it cannot be read."""
    image = load_thumbnails(dataset, [name], size)[name]
    if image is None:
        raise DatasetError(f"{dataset.name}: '{name}' cannot be read as an image.")
    return image


def duplicate_examples(summary: dict, n: int = 4, kind: str = "any") -> list[list[dict]]:
    """Up to n groups of identical images from a summary, each a list of {split, file, label}.

    `kind` narrows them: 'conflicting' (the copies carry different labels), 'across' (the copies
    sit in different splits, so validation leaks into training) or 'within' (one split only).
    """
    if kind not in DUPLICATE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(DUPLICATE_KINDS)}, not '{kind}'")
    matches = {
        "any": lambda group: True,
        "conflicting": lambda group: len({member["label"] for member in group}) > 1,
        "across": lambda group: len({member["split"] for member in group}) > 1,
        "within": lambda group: len({member["split"] for member in group}) == 1,
    }[kind]
    groups = summary.get("duplicates", {}).get("examples", [])
    return [group for group in groups if matches(group)][:n]


def members_to_show(group: list[dict], limit: int = 6) -> list[dict]:
    """Up to `limit` copies of a duplicate group, one per distinct (split, label) first.

    A group of 40 blank frames labelled angry, plus 2 labelled fear, must show the fear ones:
    the disagreement is the point, not the 40th identical copy.
    """
    distinct, rest, seen = [], [], set()
    for member in group:
        kind = (member["split"], member["label"])
        (rest if kind in seen else distinct).append(member)
        seen.add(kind)
    return (distinct + rest)[:limit]


def caption_name(name: str) -> str:
    """An item's name for the caption under its thumbnail: no folder, no extension, and a line break
    allowed after each '_', '-' and '.' (a zero-width space), so a narrow caption wraps between the
    parts of a name ('Training_' then '10118481') instead of inside one."""
    return re.sub(r"([_.-])", "\\1\u200b", PurePath(name).stem)


def describe_group(group: list[dict]) -> str:
    """'3 copies: train · angry ×2, validation · sad ×1', largest share first."""
    kinds = Counter(f"{member['split']} · {member['label']}" for member in group)
    return f"{len(group)} copies: " + ", ".join(f"{kind} ×{count}" for kind, count in kinds.most_common())
