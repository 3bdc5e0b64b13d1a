"""A stand-in predictor for the live tests: the real face detector, fixed probabilities, a call count."""

from __future__ import annotations

import numpy as np
import pytest

from emotion_core.faces import FaceDetector
from emotion_core.labels import EMOTIONS
from emotion_core.predictor import FacePrediction


class StubPredictor:
    """Finds faces with YuNet (no model to load) and calls each one `label`; counts its calls."""

    def __init__(self, label: str = "happy", fail: bool = False, classes=EMOTIONS):
        self.detector = FaceDetector()
        self.classes = tuple(classes)
        self.scores = np.full(len(classes), 0.3 / (len(classes) - 1))
        self.scores[self.classes.index(label)] = 0.7
        self.fail = fail
        self.calls = 0

    def predict(self, rgb, min_face_fraction=None):
        self.calls += 1
        if self.fail:
            raise RuntimeError("the model is gone\nsecond line")
        return [FacePrediction(box, dict(zip(self.classes, self.scores.tolist())), np.zeros((48, 48, 1), np.float32))
                for box in self.detector.detect(rgb, min_face_fraction)]


@pytest.fixture
def stub_predictor():
    return StubPredictor()
