"""The real FER2013 data set, where it is present: the counts every FER2013 paper reports."""

import numpy as np

from emotion_core.datasets import load_split, open_dataset
from emotion_core.labels import EMOTIONS
from tests.conftest import FER2013, needs_fer2013

pytestmark = needs_fer2013


def test_fer2013_counts():
    counts = open_dataset(FER2013).counts()

    assert sum(counts["train"].values()) == 28_709
    assert sum(counts["validation"].values()) == 3_589  # the PublicTest rows
    assert (counts["train"]["disgust"], counts["validation"]["disgust"]) == (436, 56)
    assert counts["train"]["happy"] == max(counts["train"].values())


def test_fer2013_train_loads_as_48x48_gray_bytes():
    x, y = load_split(open_dataset(FER2013), "train")

    assert x.dtype == np.uint8 and x.shape == (28_709, 48, 48, 1)
    assert y.shape == (28_709,)
    assert np.bincount(y, minlength=len(EMOTIONS))[EMOTIONS.index("disgust")] == 436
