"""Tests for emotion_core.pruning: a narrower net cut from a wider trained one keeps what mattered."""

import numpy as np
import pytest

from emotion_core.architectures import build_model
from emotion_core.pruning import narrows_into, prune_into, strongest_channels


def _silence_all_but(model, keep_fraction, rng):
    """Zero the BN scale and shift of all but a random `keep_fraction` of every norm's channels, so
    the silenced channels output exactly 0 after ReLU."""
    for layer in model.layers:
        if type(layer).__name__ != "BatchNormalization":
            continue
        width = layer.weights[0].shape[0]
        silent = np.setdiff1d(np.arange(width), rng.choice(width, int(width * keep_fraction), replace=False))
        gamma = rng.uniform(0.5, 1.5, width).astype(np.float32)
        beta = rng.uniform(-0.2, 0.2, width).astype(np.float32)
        gamma[silent], beta[silent] = 0.0, 0.0
        layer.set_weights([gamma, beta, rng.uniform(-0.1, 0.1, width).astype(np.float32),
                           rng.uniform(0.5, 2.0, width).astype(np.float32)])


def test_cutting_away_channels_that_contribute_nothing_leaves_the_predictions_unchanged():
    rng = np.random.default_rng(0)
    wide = build_model("vgg_gap", (48, 48, 1), 7)
    _silence_all_but(wide, 0.5, rng)  # vgg_gap_small is vgg_gap at half width
    narrow = build_model("vgg_gap_small", (48, 48, 1), 7)

    prune_into(wide, narrow)

    faces = rng.uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    wide_probabilities = np.asarray(wide(faces, training=False))
    np.testing.assert_allclose(np.asarray(narrow(faces, training=False)), wide_probabilities, atol=1e-4)
    assert not np.allclose(wide_probabilities, 1 / 7, atol=1e-3)  # the check would catch a dead net


def test_the_strongest_channels_are_the_largest_scales_in_their_order():
    assert strongest_channels(np.array([0.1, -2.0, 0.5, 1.0]), 2).tolist() == [1, 3]


@pytest.mark.parametrize("wide, narrow, possible", [
    ("vgg_gap", "vgg_gap_slim", True),
    ("vgg_gap", "vgg_gap_small", True),
    ("vgg_gap_slim", "vgg_gap_small", True),
    ("vgg_gap_small", "vgg_gap", False),  # only downwards
    ("vgg_gap", "mini_xception", False),  # other layers
])
def test_only_a_wider_net_with_the_same_layers_can_be_cut_down(wide, narrow, possible):
    assert narrows_into(wide, narrow) is possible


def test_a_net_that_does_not_fit_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="vgg_gap_small cannot be narrowed into vgg_gap: their layers differ"):
        prune_into(build_model("vgg_gap_small"), build_model("vgg_gap"))


def test_a_head_of_fewer_classes_reads_the_wide_nets_kept_classes_renormalised():
    rng = np.random.default_rng(1)
    wide = build_model("vgg_gap", (48, 48, 1), 7)
    _silence_all_but(wide, 0.5, rng)
    narrow = build_model("vgg_gap_small", (48, 48, 1), 3)
    kept = [0, 6, 4]  # angry, neutral, sad out of FER2013's order, in the narrow run's order

    prune_into(wide, narrow, outputs=kept)

    faces = rng.uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    wide_probabilities = np.asarray(wide(faces, training=False))[:, kept]
    expected = wide_probabilities / wide_probabilities.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(np.asarray(narrow(faces, training=False)), expected, atol=1e-4)
