"""Canonical emotion labels, their colours, and the aliases found in the data sets users actually have."""

# The order of FER2013's `emotion` column; every model output follows it.
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# One colour per emotion, shared by the boxes drawn on photos and the app's charts
# (Tableau 10: distinct hues, readable on light and dark backgrounds).
EMOTION_COLORS = {
    "angry": "#e15759", "disgust": "#59a14f", "fear": "#b07aa1", "happy": "#edc948",
    "sad": "#4e79a7", "surprise": "#f28e2b", "neutral": "#9c9c9c",
}

_CLASS_ALIASES = {
    "angry": "angry", "anger": "angry", "mad": "angry",
    "disgust": "disgust", "disgusted": "disgust", "contempt": None,
    "fear": "fear", "fearful": "fear", "afraid": "fear", "scared": "fear",
    "happy": "happy", "happiness": "happy", "joy": "happy",
    "sad": "sad", "sadness": "sad",
    "surprise": "surprise", "surprised": "surprise",
    "neutral": "neutral", "calm": "neutral",
}

# Canonical split names: what the app calls them, whatever the folder is called.
_SPLIT_ALIASES = {
    "train": "train", "training": "train",
    "validation": "validation", "val": "validation", "valid": "validation",
    "publictest": "validation",
    "test": "test", "testing": "test", "privatetest": "test",
}

SPLITS = ("train", "validation", "test")


def canonical_class(name: str) -> str | None:
    """The canonical emotion for a folder name like 'Happiness', or None if unknown."""
    return _CLASS_ALIASES.get(name.strip().lower())


def canonical_split(name: str) -> str | None:
    """The canonical split ('train', 'validation', 'test') for a folder name, or None."""
    return _SPLIT_ALIASES.get(name.strip().lower())


def class_set(names) -> tuple[str, ...]:
    """Class names (aliases welcome) as a class set: canonical names in EMOTIONS order, no repeats.

    Raises ValueError in one line for an unknown name or fewer than two classes (a classifier of
    one class has nothing to decide).
    """
    if isinstance(names, str):
        names = names.split(",")
    wanted = set()
    for name in names:
        canonical = canonical_class(str(name)) if str(name).strip() else None
        if canonical is None:
            raise ValueError(f"unknown class '{str(name).strip()}'; classes are {', '.join(EMOTIONS)}")
        wanted.add(canonical)
    if len(wanted) < 2:
        raise ValueError(f"a class set needs at least two of {', '.join(EMOTIONS)}")
    return tuple(name for name in EMOTIONS if name in wanted)


def class_set_name(classes) -> str:
    """How tables name a class set: "all 7", or its classes ("angry, sad, neutral")."""
    classes = tuple(classes)
    return f"all {len(EMOTIONS)}" if classes == EMOTIONS else ", ".join(classes)
