"""Temperature scaling (Guo et al. 2017): one number that makes a run's probabilities mean what they say.

    python -m emotion_core runs calibrate deployed        # fits, stores calibration.json, rewrites the card

A run's probabilities p (its TTA views averaged) become softmax(log(p) / T) (inference.calibrated).
T is chosen to minimise the negative log-likelihood of the true classes on the validation split;
the top class, and so accuracy, never changes. Label smoothing and averaging over views and
ensemble members flatten probabilities (T < 1 sharpens them again); an over-fitted net is
over-confident (T > 1 softens it).
"""

from __future__ import annotations

import numpy as np

from .evaluation import reliability
from .inference import calibrated

# The search range of T: far beyond any run seen here (0.5-2), and finite, so a degenerate set
# (every face right, or every face wrong) stops at an edge instead of running off to 0 or infinity.
TEMPERATURE_RANGE = (0.05, 20.0)


def negative_log_likelihood(probabilities, y_true) -> float:
    """Mean -log p(true class) over the faces: what temperature scaling minimises."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    picked = probabilities[np.arange(len(y_true)), np.asarray(y_true)]
    return float(-np.mean(np.log(np.maximum(picked, 1e-12))))


def fit_temperature(probabilities, y_true) -> float:
    """The temperature minimising the NLL of `calibrated(probabilities, T)` on (probabilities, y_true).

    The NLL is convex in 1/T (a log-sum-exp of a line in it, minus a line), so a bounded
    one-dimensional search over log T finds its single minimum.
    """
    from scipy.optimize import minimize_scalar

    probabilities, y_true = np.asarray(probabilities, dtype=np.float64), np.asarray(y_true)
    if len(y_true) == 0:
        raise ValueError("cannot fit a temperature on no images")
    low, high = np.log(TEMPERATURE_RANGE)
    result = minimize_scalar(lambda log_t: negative_log_likelihood(calibrated(probabilities, np.exp(log_t)), y_true),
                             bounds=(low, high), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


def cross_checked_ece(probabilities, y_true, seed: int = 0) -> float | None:
    """ECE after temperature scaling, each half of the faces scored with the temperature fitted on
    the other half: how well the temperature carries to faces it was not fitted to. None for a
    set too small to halve (under 20 faces)."""
    y_true = np.asarray(y_true)
    if len(y_true) < 20:
        return None
    order = np.random.default_rng(seed).permutation(len(y_true))
    halves = order[: len(order) // 2], order[len(order) // 2:]
    scaled = np.empty_like(np.asarray(probabilities, dtype=np.float32))
    for fit_on, apply_to in (halves, halves[::-1]):
        temperature = fit_temperature(probabilities[fit_on], y_true[fit_on])
        scaled[apply_to] = calibrated(probabilities[apply_to], temperature)
    return reliability(y_true, scaled)["ece"]
