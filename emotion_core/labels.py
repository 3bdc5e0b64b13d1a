"""Canonical emotion labels and the aliases found in the data sets users actually have."""

# The order of FER2013's `emotion` column; every model output follows it.
EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

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
