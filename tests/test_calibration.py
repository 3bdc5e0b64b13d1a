"""Tests for emotion_core.calibration and `runs calibrate`: temperature scaling fixes over-confidence
without moving a single top label, and every path that predicts with the run applies it."""

import json

import keras
import numpy as np
import pytest

from emotion_core import registry
from emotion_core.calibration import fit_temperature, negative_log_likelihood
from emotion_core.cli import main
from emotion_core.evaluation import reliability
from emotion_core.inference import calibrated, predict_probabilities
from emotion_core.predictor import Predictor
from emotion_core.scoring import calibrate_run, evaluate_run
from emotion_core.serving.export import ExportedModel, export_run


def _softmax(logits):
    scaled = np.exp(logits - logits.max(axis=1, keepdims=True))
    return scaled / scaled.sum(axis=1, keepdims=True)


def test_a_temperature_undoes_sharpened_logits_and_keeps_every_top_label():
    # Labels drawn from softmax(logits): those probabilities are calibrated; x4 makes them over-confident.
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 1.5, (3000, 7))
    y = np.array([rng.choice(7, p=row) for row in _softmax(logits)])
    over_confident = _softmax(4 * logits)

    temperature = fit_temperature(over_confident, y)
    fixed = calibrated(over_confident, temperature)

    assert temperature == pytest.approx(4, rel=0.1)
    assert reliability(y, fixed)["ece"] < 0.04 < 0.25 < reliability(y, over_confident)["ece"]
    assert negative_log_likelihood(fixed, y) < negative_log_likelihood(over_confident, y)
    assert np.array_equal(fixed.argmax(axis=1), over_confident.argmax(axis=1))
    np.testing.assert_allclose(fixed.sum(axis=1), 1, atol=1e-5)
    assert fit_temperature(_softmax(logits / 2), y) == pytest.approx(0.5, rel=0.1)  # under-confident: below 1


@pytest.fixture
def over_confident_alpha(trained_runs):
    """alpha, with flip TTA and its softmax's inputs multiplied by 8: a deliberately over-confident model."""
    run = trained_runs["alpha"]
    model = keras.models.load_model(run / registry.MODEL_FILE)
    output = model.get_layer("predictions")
    output.set_weights([8 * weight for weight in output.get_weights()])
    registry.save_model_atomic(model, run / registry.MODEL_FILE)
    config = json.loads((run / registry.CONFIG_FILE).read_text())
    (run / registry.CONFIG_FILE).write_text(json.dumps({**config, "tta": "flip"}))
    return run, model


def test_calibrating_an_over_confident_run_lowers_its_ece_and_keeps_its_accuracy(over_confident_alpha, capsys):
    run, _model = over_confident_alpha
    before = evaluate_run("alpha", save=False)
    config = (run / registry.CONFIG_FILE).read_bytes()

    assert main(["runs", "calibrate", "alpha"]) == 0

    record = json.loads((run / registry.CALIBRATION_FILE).read_text())
    after = json.loads((run / "evaluation" / "validation.json").read_text())
    assert record["temperature"] > 1.5  # over-confident: softened
    assert record["ece_after"] < record["ece_before"] == pytest.approx(before["reliability"]["ece"])
    assert after["reliability"]["ece"] == pytest.approx(record["ece_after"])
    assert after["temperature"] == record["temperature"] and after["uncalibrated_ece"] == pytest.approx(record["ece_before"])
    assert (after["accuracy"], after["confusion_matrix"]) == (before["accuracy"], before["confusion_matrix"])
    assert (run / registry.CONFIG_FILE).read_bytes() == config  # a retrain's copy of the config must not inherit it
    out = capsys.readouterr().out
    assert out.startswith(f"alpha: temperature {record['temperature']:.3f} on 21 validation images (flip TTA): "
                          f"ECE {record['ece_before']:.3f} -> {record['ece_after']:.3f}")
    card = (run / registry.MODEL_CARD_FILE).read_text()
    assert f"ECE {record['ece_before']:.3f} before, {record['ece_after']:.3f} after" in card


def test_the_predictor_and_an_exported_file_apply_the_runs_temperature(over_confident_alpha, tmp_path):
    run, model = over_confident_alpha
    calibrate_run("alpha")
    temperature = registry.load_run(run).temperature
    faces = np.random.default_rng(5).uniform(0, 255, (4, 48, 48, 1)).astype(np.float32)
    raw = predict_probabilities(model, faces, tta="flip")

    predicted = Predictor.load("alpha").classify(faces)

    np.testing.assert_allclose(predicted, calibrated(raw, temperature), atol=1e-6)
    assert temperature > 1.5 and predicted.max(axis=1).mean() < raw.max(axis=1).mean()  # softer than the raw average
    record = export_run("alpha", "litert", tmp_path, faces=20)
    exported = ExportedModel(record["path"])
    assert (exported.temperature, exported.tta) == (temperature, "flip")
    np.testing.assert_allclose(exported.classify(faces), predicted, atol=1e-4)


def test_a_new_tta_mode_refits_the_temperature_for_the_views_it_averages(over_confident_alpha):
    run, _model = over_confident_alpha
    calibrate_run("alpha")
    assert json.loads((run / registry.CALIBRATION_FILE).read_text())["tta"] == "flip"

    assert main(["runs", "tta", "alpha", "off"]) == 0

    record = json.loads((run / registry.CALIBRATION_FILE).read_text())
    saved = json.loads((run / "evaluation" / "validation.json").read_text())
    assert record["tta"] == saved["tta"] == "off" and saved["temperature"] == record["temperature"]


def test_the_live_pages_litert_path_and_an_earlier_exports_sidecar_follow_a_calibration(over_confident_alpha,
                                                                                        capsys):
    from emotion_core.serving.export import litert_file

    before = litert_file("alpha")  # exported (checked) before the calibration, as the Live page would have
    assert main(["runs", "calibrate", "alpha"]) == 0
    temperature = registry.load_run(over_confident_alpha[0]).temperature
    faces = np.random.default_rng(6).uniform(0, 255, (3, 48, 48, 1)).astype(np.float32)

    on_keras = Predictor.load("alpha").classify(faces)
    on_litert = Predictor.load("alpha", litert=litert_file("alpha")).classify(faces)

    np.testing.assert_allclose(on_litert, on_keras, atol=1e-4)
    assert f"exports: {before.name}.json now say so" in capsys.readouterr().err
    assert ExportedModel(before).temperature == temperature
    np.testing.assert_allclose(ExportedModel(before).classify(faces), on_keras, atol=1e-4)
