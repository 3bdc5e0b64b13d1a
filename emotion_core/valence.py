"""Valence: each emotion read as positive, negative or neutral, the way ads are usually judged.

    from emotion_core.valence import VALENCE, valence_probabilities
    VALENCE["surprise"]                                      # "positive"
    valence_probabilities({"happy": 0.6, "sad": 0.3, "neutral": 0.1}, VALENCE)
    # {"positive": 0.6, "neutral": 0.1, "negative": 0.3}

The table below is the one mapping in the project. A data set or a run changes it with a
`valence.json` in its folder holding only the classes it reads otherwise, e.g.
`{"surprise": "neutral"}` where surprise at an ad is not a compliment. Training records the
data set's file in the run (dataset.json); a run's own file wins over both (registry.Run.valence).
A face's valence is the valence of its predicted emotion, so valence shares are sums of emotion
shares; its valence probabilities are the sums of its class probabilities per valence.
"""

from __future__ import annotations

from collections.abc import Mapping

from .labels import EMOTIONS, canonical_class

VALENCES = ("positive", "neutral", "negative")
VALENCE_FILE = "valence.json"

# Surprise counts as positive, as in most ad-testing practice (it reads as engagement); FER2013's
# surprise faces are mostly pleasant ones. Every other emotion but happy and neutral is negative.
VALENCE = {
    "angry": "negative", "disgust": "negative", "fear": "negative", "happy": "positive",
    "sad": "negative", "surprise": "positive", "neutral": "neutral",
}


def valence_mapping(*overrides: Mapping | None) -> dict[str, str]:
    """VALENCE with each override applied in turn (later ones win), every key and value checked.

    Raises ValueError in one line for a class or a valence it does not know.
    """
    mapping = dict(VALENCE)
    for override in overrides:
        for name, valence in (override or {}).items():
            canonical = canonical_class(str(name))
            if canonical is None:
                raise ValueError(f"valence: unknown class '{name}'; classes are {', '.join(EMOTIONS)}")
            if valence not in VALENCES:
                raise ValueError(f"valence of {canonical} must be one of {', '.join(VALENCES)}, not '{valence}'")
            mapping[canonical] = valence
    return mapping


def valences_of(classes, mapping: Mapping = VALENCE) -> tuple[str, ...]:
    """The valences a class set can express, in VALENCES order: (neutral, negative) for angry, sad, neutral."""
    present = {mapping[name] for name in classes}
    return tuple(valence for valence in VALENCES if valence in present)


def valence_probabilities(probabilities: Mapping[str, float], mapping: Mapping = VALENCE) -> dict[str, float]:
    """One face's class probabilities summed per valence, for the valences its classes express."""
    sums = {valence: 0.0 for valence in valences_of(probabilities, mapping)}
    for name, p in probabilities.items():
        sums[mapping[name]] += float(p)
    return sums
