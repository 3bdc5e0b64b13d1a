"""Facial emotion recognition: data sets, architectures, training, evaluation and prediction.

The package imports Keras only when a model is needed, so data and registry tools start fast.
"""

from .labels import EMOTIONS

__all__ = ["EMOTIONS", "Predictor"]


def __getattr__(name):
    if name == "Predictor":
        from .predictor import Predictor

        return Predictor
    raise AttributeError(f"module 'emotion_core' has no attribute {name!r}")
