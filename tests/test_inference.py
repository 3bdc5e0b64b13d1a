"""Tests for emotion_core.inference: the traced, batched path gives the eager model's numbers."""

import cv2
import keras
import numpy as np
import pytest

from emotion_core.inference import (TTA_MODES, autocontrast, bfloat16_copy, predict_probabilities, tta_mode,
                                    tta_view_count)
from emotion_core.predictor import Predictor


@pytest.fixture(scope="module")
def alpha_model(trained_run_template):
    """The tiny trained 'alpha' run (vgg_gap_small, gray 48x48): its outputs are not uniform."""
    return keras.models.load_model(trained_run_template / "models" / "alpha" / "model.keras")


def faces(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (count, 48, 48, 1)).astype(np.float32)


def eager(model, images):
    return np.asarray(model(images, training=False))


@pytest.mark.parametrize("count, batch_size", [(1, 256), (2, 256), (7, 3), (5, 5)])
def test_probabilities_match_the_eager_model_for_any_batching(alpha_model, count, batch_size):
    images = faces(count)
    probabilities = predict_probabilities(alpha_model, images, batch_size=batch_size)
    assert probabilities.shape == (count, 7) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities, eager(alpha_model, images), atol=1e-6)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_tta_is_the_mean_of_the_face_and_its_mirror(alpha_model):
    images = faces(3, seed=1)
    expected = (eager(alpha_model, images) + eager(alpha_model, images[:, :, ::-1])) / 2
    np.testing.assert_allclose(predict_probabilities(alpha_model, images, tta=True), expected, atol=1e-6)


def test_shifts_tta_averages_twelve_views_of_each_face(alpha_model):
    images = faces(3, seed=4)
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    moved = [padded[:, 2 + dy:50 + dy, 2 + dx:50 + dx] for dx, dy in ((2, 0), (-2, 0), (0, 2), (0, -2))]
    zoomed = np.stack([cv2.resize(image[2:46, 2:46], (48, 48)) for image in images])[..., None]
    upright = [images, *moved, zoomed]
    expected = np.mean([eager(alpha_model, view) for view in upright + [v[:, :, ::-1] for v in upright]], axis=0)

    shifted = predict_probabilities(alpha_model, images, tta="shifts")

    np.testing.assert_allclose(shifted, expected, atol=1e-6)
    assert not np.allclose(shifted, predict_probabilities(alpha_model, images, tta="flip"), atol=1e-4)
    np.testing.assert_allclose(predict_probabilities(alpha_model, images, tta="shifts", batch_size=2), shifted,
                               atol=1e-6)  # the views of a batch stay with their faces


def test_zoom_tta_averages_the_face_and_two_closer_views_each_mirrored(alpha_model):
    images = faces(2, seed=6)
    upright = [images] + [np.stack([cv2.resize(image[c:48 - c, c:48 - c], (48, 48)) for image in images])[..., None]
                          for c in (2, 3)]
    expected = np.mean([eager(alpha_model, view) for view in upright + [v[:, :, ::-1] for v in upright]], axis=0)
    np.testing.assert_allclose(predict_probabilities(alpha_model, images, tta="zoom"), expected, atol=1e-6)


def test_tta_modes_read_the_bools_older_runs_recorded():
    assert (tta_mode(True), tta_mode(False), tta_mode(None), tta_mode("shifts")) == ("flip", "off", "off", "shifts")
    assert [tta_view_count(mode) for mode in TTA_MODES] == [1, 2, 6, 12, 1, 2, 6, 12]
    with pytest.raises(ValueError, match="tta must be one of off, flip, zoom, shifts, off.autocontrast, .*, "
                                         "not 'crops'"):
        tta_mode("crops")


def test_autocontrast_reads_an_under_exposed_face_as_the_face_itself(alpha_model):
    images = faces(4, seed=8)
    dim = images * 0.4 + 30  # a dull, dark copy: a camera's exposure and contrast
    assert not np.allclose(predict_probabilities(alpha_model, dim, tta="zoom"),
                           predict_probabilities(alpha_model, images, tta="zoom"), atol=1e-3)
    np.testing.assert_allclose(predict_probabilities(alpha_model, dim, tta="zoom+autocontrast"),
                               predict_probabilities(alpha_model, images, tta="zoom+autocontrast"), atol=1e-4)


def test_autocontrast_maps_the_percentiles_to_black_and_white_and_leaves_a_flat_face():
    ramp = np.tile(np.linspace(50, 150, 48, dtype=np.float32), (48, 1))[None, ..., None]
    flat = np.full((1, 48, 48, 1), 128, np.float32)
    stretched = autocontrast(np.concatenate([ramp, flat]))
    assert stretched[0].min() == 0 and stretched[0].max() == 255
    assert np.all(np.diff(stretched[0, 0, :, 0]) >= 0)  # the order of the levels is kept
    np.testing.assert_array_equal(stretched[1], flat[0])


def test_no_faces_give_an_empty_table(alpha_model):
    assert predict_probabilities(alpha_model, np.zeros((0, 48, 48, 1), np.float32)).shape == (0, 7)


def test_progress_reaches_one(alpha_model):
    seen = []
    predict_probabilities(alpha_model, faces(5), batch_size=2, progress=seen.append)
    assert seen == pytest.approx([0.4, 0.8, 1.0])


def test_bfloat16_copy_stays_close_and_leaves_the_model_alone(alpha_model):
    images = faces(16, seed=2)
    copy = bfloat16_copy(alpha_model)
    assert copy.get_layer("last_conv").dtype_policy.name == "mixed_bfloat16"
    assert copy.get_layer("predictions").dtype_policy.name == "float32"  # softmax keeps its range
    assert alpha_model.get_layer("last_conv").dtype_policy.name == "float32"
    reduced = predict_probabilities(copy, images)
    assert reduced.dtype == np.float32
    np.testing.assert_allclose(reduced, eager(alpha_model, images), atol=0.03)  # bfloat16 keeps ~3 digits


def test_predictor_precision_is_checked_and_used(alpha_model):
    with pytest.raises(ValueError, match="precision must be one of float32, bfloat16"):
        Predictor(alpha_model, precision="float16")
    images = faces(2, seed=3)
    exact = Predictor(alpha_model).classify(images)
    fast = Predictor(alpha_model, precision="bfloat16").classify(images)
    np.testing.assert_allclose(exact, eager(alpha_model, images), atol=1e-6)
    np.testing.assert_allclose(fast, exact, atol=0.03)
