"""emotion_core.valence: the one mapping of emotions to positive, neutral and negative, and its overrides."""

import pytest

from emotion_core.labels import EMOTIONS
from emotion_core.valence import VALENCE, VALENCES, valence_mapping, valence_probabilities, valences_of


def test_the_table_gives_every_emotion_the_documented_valence():
    assert set(VALENCE) == set(EMOTIONS) and set(VALENCE.values()) == set(VALENCES)
    assert [name for name in EMOTIONS if VALENCE[name] == "positive"] == ["happy", "surprise"]
    assert [name for name in EMOTIONS if VALENCE[name] == "negative"] == ["angry", "disgust", "fear", "sad"]
    assert [name for name in EMOTIONS if VALENCE[name] == "neutral"] == ["neutral"]


def test_overrides_apply_in_turn_and_accept_class_aliases():
    mapping = valence_mapping({"Surprised": "neutral"}, None, {"surprise": "negative", "calm": "positive"})

    assert mapping["surprise"] == "negative" and mapping["neutral"] == "positive"
    assert mapping["happy"] == "positive" and VALENCE["surprise"] == "positive"  # the table itself is untouched


@pytest.mark.parametrize("override, message", [
    ({"boredom": "negative"}, "valence: unknown class 'boredom'"),
    ({"sad": "bad"}, "valence of sad must be one of positive, neutral, negative, not 'bad'"),
])
def test_a_bad_override_is_refused_in_one_line(override, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        valence_mapping(override)


def test_valence_probabilities_sum_a_faces_classes_per_valence():
    seven = dict(zip(EMOTIONS, [0.1, 0.05, 0.05, 0.4, 0.1, 0.2, 0.1]))
    assert valence_probabilities(seven) == pytest.approx({"positive": 0.6, "neutral": 0.1, "negative": 0.3})
    three = {"angry": 0.2, "sad": 0.5, "neutral": 0.3}
    assert valence_probabilities(three) == pytest.approx({"neutral": 0.3, "negative": 0.7})
    assert valences_of(three) == ("neutral", "negative")
