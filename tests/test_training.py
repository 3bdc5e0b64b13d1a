"""Tests for emotion_core.training: what a run folder holds, resuming, carved validation, schedules.

Training is the slow part, so the complete-folder checks read the session's template run
'alpha' (two epochs, made by `train`); only tests about interrupting and carving train their own.
"""

import json
import math
import shutil
import signal

import keras
import numpy as np
import pytest

from emotion_core import registry, training
from emotion_core.architectures import OUTPUT
from emotion_core.config import TrainConfig, config_from_dict
from emotion_core.inference import predict_probabilities
from emotion_core.labels import EMOTIONS
from emotion_core.training import class_weights, learning_rate_at, resume
from tests.conftest import make_image_dataset, read_split_images
from tests.factories import TINY_CONFIG, train_tiny_run

RUN_FILES = ("config.json", "status.json", "history.json", "dataset.json", "info.json", "model.keras",
             "evaluation/validation.json", "MODEL_CARD.md")


def _read(path):
    return json.loads(path.read_text())


# --- A finished run ---------------------------------------------------------------------------


def test_finished_run_folder_holds_every_file_and_no_checkpoint(trained_runs):
    run = trained_runs["alpha"]

    for name in RUN_FILES:
        assert (run / name).is_file(), f"{name} missing"
    assert not (run / "checkpoint.keras").exists()
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")], "temporary files left behind"
    status = _read(run / "status.json")
    assert status["state"] == "complete"
    assert status["epoch"] == status["epochs"] == 2


def test_dataset_file_names_the_data_and_says_it_is_gray(trained_runs):
    dataset = _read(trained_runs["alpha"] / "dataset.json")

    assert (dataset["name"], dataset["train_images"], dataset["validation_images"]) == ("tiny", 42, 21)
    assert dataset["validation_source"] == "validation split"
    assert dataset["grayscale_source"] is True  # so the Predictor shows colour photos to it in gray


def test_history_has_one_row_per_epoch_following_the_schedule(trained_runs):
    history = _read(trained_runs["alpha"] / "history.json")
    config = config_from_dict(_read(trained_runs["alpha"] / "config.json"))

    assert [row["epoch"] for row in history] == [1, 2]
    for row in history:
        assert {"loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds"} <= set(row)
        assert 0 <= row["val_accuracy"] <= 1 and row["seconds"] > 0
    assert [row["lr"] for row in history] == pytest.approx(
        [learning_rate_at(epoch, config) for epoch in range(2)], rel=1e-6)


def test_info_describes_the_saved_model(trained_runs):
    run = trained_runs["alpha"]
    info = _read(run / "info.json")
    model = keras.models.load_model(run / "model.keras")
    history = _read(run / "history.json")

    assert info["architecture"] == "vgg_gap_small"
    assert info["parameters"] == model.count_params() > 0
    assert info["multiply_adds"] > info["parameters"]  # convolutions reuse each weight many times
    assert info["model_bytes"] == (run / "model.keras").stat().st_size
    assert info["input_shape"] == [48, 48, 1]
    # The precision it trained with, "auto" resolved on this machine.
    assert info["precision"] == config_from_dict(_read(run / "config.json")).resolved_precision()
    assert info["best_epoch"] == max(history, key=lambda row: row["val_accuracy"])["epoch"]


def test_validation_accuracy_matches_the_saved_model_on_the_validation_images(trained_runs):
    run = trained_runs["alpha"]
    model = keras.models.load_model(run / "model.keras")
    x, y = read_split_images(trained_runs["data"])

    predicted = np.asarray(model(x, training=False)).argmax(axis=1)
    validation = _read(run / "evaluation" / "validation.json")

    assert validation["n"] == len(y) == 21
    assert validation["tta"] == "off"
    assert validation["accuracy"] == pytest.approx(np.mean(predicted == y))


def _always(model, label: int):
    """`model` made to answer `label` for every face (its output layer's bias pushed that way)."""
    output = model.get_layer(OUTPUT)
    kernel, bias = output.get_weights()
    bias[label] += 1000.0
    output.set_weights([kernel, bias])
    return model


@pytest.mark.parametrize("last_reads_better", [True, False])
def test_a_run_keeps_its_last_epoch_only_where_that_reads_validation_better_with_its_tta(
        trained_runs, tmp_path, last_reads_better):
    source = trained_runs["alpha"]
    config = config_from_dict(_read(source / "config.json"))
    trained = keras.models.load_model(source / "model.keras")
    x, _ = read_split_images(trained_runs["data"])
    # Validation labels the template run reads all right (it is two tiny epochs, near chance on the
    # real ones); the other net answers the class it gives least for every face.
    y = predict_probabilities(trained, x, tta=config.tta).argmax(axis=1)
    rarest = int(np.argmin(np.bincount(y, minlength=len(EMOTIONS))))
    wrong = keras.models.clone_model(trained)
    wrong.set_weights(trained.get_weights())
    _always(wrong, rarest)
    good_acc, wrong_acc = 1.0, float(np.mean(y == rarest))

    run = tmp_path / "run"
    shutil.copytree(source, run)
    history = _read(run / "history.json")
    history[0]["val_accuracy"], history[1]["val_accuracy"] = 0.9, 0.1  # epoch 1 is the single-view best
    (run / "history.json").write_text(json.dumps(history))
    best_file, last_weights = (wrong, trained) if last_reads_better else (trained, wrong)
    registry.save_model_atomic(best_file, run / "model.keras")
    served, trainer = training.build_training_model(config, trained.input_shape[1:])
    served.set_weights(last_weights.get_weights())
    registry.save_model_atomic(trainer, run / "checkpoint.keras")  # what the last epoch left to resume from

    training.finish_run(run, config, x, y)

    info, validation = _read(run / "info.json"), _read(run / "evaluation" / "validation.json")
    kept = keras.models.load_model(run / "model.keras")
    assert info["best_epoch"] == (2 if last_reads_better else 1)
    assert info["epoch_choice"]["accuracy"] == pytest.approx(
        {"1": wrong_acc, "2": good_acc} if last_reads_better else {"1": good_acc, "2": wrong_acc})
    assert validation["accuracy"] == pytest.approx(good_acc)  # the figures are the kept model's
    np.testing.assert_allclose(np.asarray(kept(x, training=False)), np.asarray(trained(x, training=False)), atol=1e-5)
    assert registry.load_run(run).best_epoch["epoch"] == info["best_epoch"]
    assert f"best epoch {info['best_epoch']} of 2 (kept over epoch {3 - info['best_epoch']}" in (
        run / "MODEL_CARD.md").read_text()
    assert not (run / "checkpoint.keras").exists()


# --- Interrupting and resuming ----------------------------------------------------------------


@pytest.fixture
def sigterm_handler_kept():
    """Training leaves its SIGTERM handler installed (the jobs worker resets it): put this session's back."""
    handler = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, handler)


class CancelAfterFirstEpoch(training.StopOnSignal):
    """Sends SIGTERM to this process when epoch 1 ends, as `jobs cancel` does to a worker."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            # Never let a missing handler terminate the test session itself.
            assert signal.getsignal(signal.SIGTERM) == self._request, "StopOnSignal is not handling SIGTERM"
            signal.raise_signal(signal.SIGTERM)


def test_cancelled_run_keeps_its_last_full_epoch_and_resumes_to_the_end(isolated_dirs, tiny_dataset, monkeypatch,
                                                                         sigterm_handler_kept):
    stop_on_signal = training.StopOnSignal
    monkeypatch.setattr(training, "StopOnSignal", CancelAfterFirstEpoch)
    run = train_tiny_run(isolated_dirs["models"], tiny_dataset, "cancelled", epochs=3)

    status = _read(run / "status.json")
    assert (status["state"], status["reason"]) == ("interrupted", "cancelled")
    assert (run / "checkpoint.keras").is_file()
    # The epoch cut short by the cancel is not recorded: resuming redoes it in full.
    assert [row["epoch"] for row in _read(run / "history.json")] == [1]
    assert not (run / "evaluation" / "validation.json").exists()

    monkeypatch.setattr(training, "StopOnSignal", stop_on_signal)
    assert resume(run, verbose=0) == run

    history = _read(run / "history.json")
    config = config_from_dict(_read(run / "config.json"))
    assert [row["epoch"] for row in history] == [1, 2, 3]
    assert [row["lr"] for row in history] == pytest.approx(
        [learning_rate_at(epoch, config) for epoch in range(3)], rel=1e-6)  # the schedule continues
    assert _read(run / "status.json")["state"] == "complete"
    assert not (run / "checkpoint.keras").exists()
    assert (run / "evaluation" / "validation.json").is_file()


@pytest.mark.parametrize("epochs, error, message", [
    (None, ValueError, "alpha already trained all 2 epochs; retrain it with more epochs"),
    (5, FileNotFoundError, "alpha has no checkpoint to resume from"),
])
def test_resuming_a_finished_run_is_refused_and_leaves_it_as_it_was(trained_runs, epochs, error, message):
    config_before = (trained_runs["alpha"] / "config.json").read_text()

    with pytest.raises(error, match=message):
        resume("alpha", verbose=0, epochs=epochs)
    assert (trained_runs["alpha"] / "config.json").read_text() == config_before


def test_a_run_cut_short_in_its_final_evaluation_is_finished_by_resume(trained_runs):
    run = trained_runs["alpha"]
    (run / "evaluation" / "validation.json").unlink()
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "state": "interrupted", "reason": "cancelled"}))

    resume("alpha", verbose=0)

    assert json.loads((run / "status.json").read_text())["state"] == "complete"
    assert json.loads((run / "evaluation" / "validation.json").read_text())["n"] == 21


# --- Data without a validation split ------------------------------------------------------------


def test_data_without_validation_gets_a_stratified_part_of_train(isolated_dirs):
    data = make_image_dataset(isolated_dirs["data"] / "train_test", {"train": 10, "test": 2})
    run = train_tiny_run(isolated_dirs["models"], data, "carved", epochs=1)

    dataset = _read(run / "dataset.json")
    assert dataset["validation_source"] == "10% of train, stratified (seed 7)"
    assert (dataset["train_images"], dataset["validation_images"]) == (63, 7)
    validation = _read(run / "evaluation" / "validation.json")
    assert validation["n"] == 7  # not the 14 test images
    assert {name: scores["support"] for name, scores in validation["per_class"].items()} == dict.fromkeys(EMOTIONS, 1)


# --- Class weights and the learning-rate schedule -------------------------------------------------

# Four samples of class 0 and one of class 1 (five in all):
#   balanced: n / (classes * count) = 5/8 and 5/2;  sqrt: proportional to 1/sqrt(count) = 1/2 and 1,
#   scaled so the mean weight over the five samples is 1: 5/6 and 5/3.
LABELS = np.array([0, 0, 0, 0, 1])


@pytest.mark.parametrize("method, expected", [("balanced", [5 / 8, 5 / 2]), ("sqrt", [5 / 6, 5 / 3])])
def test_class_weights_on_a_hand_example(method, expected):
    weights = class_weights(LABELS, method, num_classes=2)

    assert [weights[0], weights[1]] == pytest.approx(expected)
    assert np.mean([weights[label] for label in LABELS]) == pytest.approx(1.0)


@pytest.mark.parametrize("method", ["balanced", "sqrt"])
def test_class_weights_keep_mean_one_when_a_class_is_absent(method):
    # A data set without, say, disgust images must not shrink the loss (and so the learning rate).
    weights = class_weights(LABELS, method, num_classes=3)

    assert np.mean([weights[label] for label in LABELS]) == pytest.approx(1.0)
    assert [weights[0], weights[1]] == pytest.approx([class_weights(LABELS, method, 2)[i] for i in (0, 1)])


def test_no_class_weights():
    assert class_weights(LABELS, "none", num_classes=2) is None


def test_learning_rate_warms_up_then_follows_a_cosine_to_near_zero():
    config = TrainConfig(epochs=10, warmup_epochs=2, learning_rate=0.1)

    assert learning_rate_at(0, config) == pytest.approx(0.1 / 3)
    assert learning_rate_at(1, config) == pytest.approx(0.2 / 3)
    assert learning_rate_at(2, config) == pytest.approx(0.1)  # full rate once warm
    assert learning_rate_at(6, config) == pytest.approx(0.05)  # half way through the cosine
    rates = [learning_rate_at(epoch, config) for epoch in range(2, 10)]
    assert all(later < earlier for earlier, later in zip(rates, rates[1:]))
    assert 0 < rates[-1] == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 7 / 8)))


def test_one_epoch_run_trains_at_the_full_rate():
    assert learning_rate_at(0, TrainConfig(epochs=1, warmup_epochs=3, learning_rate=0.01)) == pytest.approx(0.01)


def test_constant_schedule_keeps_the_rate_after_warm_up():
    config = TrainConfig(epochs=5, warmup_epochs=1, learning_rate=0.01, schedule="constant")
    assert [learning_rate_at(e, config) for e in range(5)] == pytest.approx([0.005] + [0.01] * 4)


# --- Refused configs ------------------------------------------------------------------------------


@pytest.mark.parametrize("values, reason", [
    ({"epochs": 0}, "epochs must be between 1 and 1000"),
    ({"learning_rate": 2.0}, r"learning_rate must be in \(0, 1\]"),
    ({"arch": "nope"}, "arch must be one of .*vgg_gap_small"),
    ({"val_fraction": 0.5}, r"val_fraction must be in \(0, 0.5\)"),
    ({"batch": 16}, r"unknown config key\(s\): batch"),
    ({"epochs": "3"}, "config key 'epochs' must be int, not str"),
    ({"augment": 1}, "config key 'augment' must be bool, not int"),
    ({"name": "../elsewhere"}, "name must be a plain folder name"),
])
def test_out_of_range_config_is_refused_with_its_reason(values, reason):
    with pytest.raises(ValueError, match=reason):
        config_from_dict(values)


def test_train_refuses_a_bad_config_before_making_a_folder(isolated_dirs, tiny_dataset):
    with pytest.raises(ValueError, match="epochs must be between"):
        training.train(TrainConfig(data=str(tiny_dataset), epochs=0, name="bad"), runs_dir=isolated_dirs["models"])
    assert list(isolated_dirs["models"].iterdir()) == []


def test_train_refuses_to_overwrite_an_existing_run(trained_runs, isolated_dirs):
    config = config_from_dict({"data": str(trained_runs["data"]), "name": "alpha"})
    with pytest.raises(FileExistsError, match="pick another --name"):
        training.train(config, runs_dir=isolated_dirs["models"])


# --- Warm starts and dropout ----------------------------------------------------------------------


def _trained_kernels(run):
    model = keras.models.load_model(run / "model.keras", compile=False, safe_mode=True)
    return [np.asarray(weight) for weight in model.trainable_weights if weight.path.endswith("kernel")]


def test_warm_start_begins_from_the_named_runs_weights(trained_runs, isolated_dirs):
    # At a vanishing learning rate one epoch leaves the kernels where they started:
    # alpha's with init_from, fresh random ones without.
    still = dict(epochs=1, learning_rate=1e-9, weight_decay=0.0, seed=99)
    registry.deploy("alpha")
    warm = train_tiny_run(isolated_dirs["models"], trained_runs["data"], "warm", init_from="deployed", **still)
    cold = train_tiny_run(isolated_dirs["models"], trained_runs["data"], "cold", **still)

    alpha = _trained_kernels(trained_runs["alpha"])
    for started, expected in zip(_trained_kernels(warm), alpha):
        np.testing.assert_allclose(started, expected, atol=1e-6)
    assert not np.allclose(_trained_kernels(cold)[0], alpha[0], atol=1e-3)
    assert _read(warm / "config.json")["init_from"] == "alpha"  # the run `deployed` meant, not the alias


@pytest.mark.parametrize("overrides, error, message", [
    ({"init_from": "nobody"}, ValueError, "No run named 'nobody'"),
    ({"init_from": "alpha", "arch": "mini_xception"}, ValueError,
     "init_from run alpha is a vgg_gap_small, not a mini_xception"),
    ({"init_from": "alpha", "arch": "vgg_gap"}, ValueError,
     "init_from run alpha is a vgg_gap_small, narrower than a vgg_gap: only a wider net of its family"),
])
def test_a_warm_start_that_cannot_work_is_refused_before_a_folder_exists(trained_runs, isolated_dirs,
                                                                          overrides, error, message):
    before = sorted(p.name for p in isolated_dirs["models"].iterdir())
    with pytest.raises(error, match=message):
        train_tiny_run(isolated_dirs["models"], trained_runs["data"], "refused", **overrides)
    assert sorted(p.name for p in isolated_dirs["models"].iterdir()) == before


def test_a_narrower_net_starts_from_a_wider_runs_strongest_channels(trained_runs, isolated_dirs):
    # vgg_gap_small is vgg_gap at half width: its first kernels are the wide run's filters whose
    # batch norm scale is largest (at a vanishing learning rate one epoch leaves them there).
    still = dict(epochs=1, learning_rate=1e-9, weight_decay=0.0, seed=99)
    wide = train_tiny_run(isolated_dirs["models"], trained_runs["data"], "wide", arch="vgg_gap", epochs=1)
    narrow = train_tiny_run(isolated_dirs["models"], trained_runs["data"], "narrow", init_from="wide", **still)

    wide_model = keras.models.load_model(wide / "model.keras", compile=False, safe_mode=True)
    first_conv, first_norm = wide_model.layers[2], wide_model.layers[3]  # after input and rescaling
    kept = np.sort(np.argsort(-np.abs(first_norm.get_weights()[0]))[:16])
    np.testing.assert_allclose(_trained_kernels(narrow)[0], first_conv.get_weights()[0][..., kept], atol=1e-6)
    assert _read(narrow / "config.json")["init_from"] == "wide"


def test_distillation_trains_on_the_teachers_probabilities_mixed_with_the_labels(trained_runs, isolated_dirs):
    registry.deploy("alpha")
    student = train_tiny_run(isolated_dirs["models"], trained_runs["data"], "student", epochs=1,
                             distill_from="deployed", distill_weight=0.7)
    config = _read(student / "config.json")
    assert (config["distill_from"], config["distill_weight"]) == ("alpha", 0.7)  # the run, not the alias
    assert "distilled from run `alpha` (its probabilities are 70% of each target)" in (student / "MODEL_CARD.md").read_text()

    x, y = read_split_images(trained_runs["data"], "train")
    teacher = keras.models.load_model(trained_runs["alpha"] / "model.keras")
    one_hot = keras.utils.to_categorical(y, len(EMOTIONS))
    targets = training.distilled_targets(trained_runs["alpha"] / "model.keras", x, one_hot, 0.7)
    from emotion_core.inference import predict_probabilities

    np.testing.assert_allclose(targets, 0.7 * predict_probabilities(teacher, x, tta=True) + 0.3 * one_hot, atol=1e-5)
    np.testing.assert_allclose(targets.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(training.distilled_targets(trained_runs["alpha"] / "model.keras", x, one_hot, 0.0),
                                  one_hot)


@pytest.mark.parametrize("overrides, message", [
    ({"distill_from": "nobody"}, "No run named 'nobody'"),
    ({"distill_from": "alpha", "distill_weight": 1.5}, "distill_weight must be in"),
])
def test_a_distillation_that_cannot_work_is_refused_before_a_folder_exists(trained_runs, isolated_dirs,
                                                                            overrides, message):
    before = sorted(p.name for p in isolated_dirs["models"].iterdir())
    with pytest.raises(ValueError, match=message):
        train_tiny_run(isolated_dirs["models"], trained_runs["data"], "refused", **overrides)
    assert sorted(p.name for p in isolated_dirs["models"].iterdir()) == before


def test_dropout_scale_multiplies_every_dropout_rate_of_the_architecture():
    config = TrainConfig(arch="vgg_gap", dropout_scale=0.5, precision="float32")
    model, _ = training.build_training_model(config, (48, 48, 1))

    rates = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert rates == pytest.approx([0.1, 0.1, 0.1, 0.2, 0.2])  # vgg_gap's own: 0.2 per stage, 0.4 in the head


def test_a_run_of_three_classes_starts_from_and_learns_from_a_run_of_all_seven(trained_runs, isolated_dirs):
    still = dict(epochs=1, learning_rate=1e-9, weight_decay=0.0, seed=99)
    three = train_tiny_run(isolated_dirs["models"], trained_runs["data"], "three", classes="angry,happy,neutral",
                           init_from="alpha", distill_from="alpha", distill_weight=0.7, **still)

    kept = [EMOTIONS.index(name) for name in ("angry", "happy", "neutral")]
    alpha = _trained_kernels(trained_runs["alpha"])
    started = _trained_kernels(three)
    np.testing.assert_allclose(started[0], alpha[0], atol=1e-6)  # the features as they were
    np.testing.assert_allclose(started[-1], alpha[-1][:, kept], atol=1e-6)  # the head keeps those classes' outputs

    x, y = read_split_images(trained_runs["data"], "train")
    model_file = trained_runs["alpha"] / "model.keras"
    targets = training.distilled_targets(model_file, x, np.zeros((len(x), 3)), 1.0,
                                         training.class_positions(model_file, ("angry", "happy", "neutral")))
    from emotion_core.inference import predict_probabilities

    teacher = predict_probabilities(keras.models.load_model(model_file), x, tta=True)[:, kept]
    np.testing.assert_allclose(targets, teacher / teacher.sum(axis=1, keepdims=True), atol=1e-5)

    # The other way round does not fit: a run of three classes cannot teach or start one of seven.
    with pytest.raises(ValueError, match="distill_from run three learned angry, happy, neutral classes, not all 7"):
        train_tiny_run(isolated_dirs["models"], trained_runs["data"], "seven", distill_from="three")


def test_photo_augmentation_changes_training_images_only_and_survives_a_checkpoint(tmp_path):
    config = config_from_dict({"photo_augment": True, "seed": 3})
    layers = training.augmentation_layers(config)
    assert {type(layer).__name__ for layer in layers} >= {"RandomBrightness", "RandomContrast", "RandomGaussianBlur",
                                                          "CameraResponse"}
    trainer = keras.Sequential([keras.Input((48, 48, 1)), *layers], name="trainer")
    faces = np.random.default_rng(0).uniform(0, 255, (8, 48, 48, 1)).astype(np.float32)

    np.testing.assert_array_equal(np.asarray(trainer(faces, training=False)), faces)  # served faces untouched
    bfloat16 = np.asarray(keras.ops.cast(training.CameraResponse()(keras.ops.cast(faces, "bfloat16"), training=True),
                                         "float32"))  # as under mixed precision, where the CPU has bfloat16
    assert bfloat16.shape == faces.shape and bfloat16.max() <= 255
    changed = np.asarray(trainer(faces, training=True))
    assert changed.min() >= 0 and changed.max() <= 255
    assert np.abs(changed - faces).mean() > 5  # a visible change, not a rounding one

    trainer.save(tmp_path / "checkpoint.keras")  # resuming loads the trainer with its layers, safely
    reloaded = keras.models.load_model(tmp_path / "checkpoint.keras", safe_mode=True)
    assert [type(layer).__name__ for layer in reloaded.layers] == [type(layer).__name__ for layer in layers]


# --- A fine-tune on your own faces -----------------------------------------------------------------


def test_a_fine_tune_on_your_own_faces_holds_some_out_and_reports_both_figures_before_and_after(trained_runs,
                                                                                                 isolated_dirs,
                                                                                                 tmp_path, capsys):
    from emotion_core.cli import main
    from emotion_core.ensemble import make_ensemble
    from emotion_core.evaluation import classification_report
    from emotion_core.inference import predict_probabilities

    faces = make_image_dataset(isolated_dirs["data"] / "mine", {"test": 4}, seed=5)  # as the Label page leaves one
    make_ensemble("pair", ["alpha", "beta"])
    registry.deploy("pair")  # the default start: an ensemble starts from its first member

    recipe = tmp_path / "tiny.json"
    recipe.write_text(json.dumps({**TINY_CONFIG, "data": str(trained_runs["data"]), "name": "mine"}))
    assert main(["train", "--config", str(recipe), "--own-faces", "mine", "--own-share", "0.5",
                 "--own-holdout", "0.25"]) == 0

    run = isolated_dirs["models"] / "mine"
    printed = capsys.readouterr().out
    assert "Adapted to your own faces `mine`: 21 of them trained on, 50.0% of the training images" in printed
    assert "| before: alpha |" in printed and "| change |" in printed
    assert _read(run / "status.json")["state"] == "complete"
    assert _read(run / "config.json")["init_from"] == "alpha"
    own = _read(run / "dataset.json")["own_faces"]
    assert own["held_out"] == dict.fromkeys(EMOTIONS, 1) and own["trained"] == dict.fromkeys(EMOTIONS, 3)
    assert (own["seed"], own["share"], own["repeats"], own["share_reached"]) == (7, 0.5, 2.0, 0.5)  # 21 faces twice
    assert _read(run / "dataset.json")["train_images"] == 42 + 42
    assert len(own["held_out_files"]) == 7 and all((faces / name).is_file() for name in own["held_out_files"])

    record = _read(run / "adaptation.json")
    assert (record["start_run"], record["held_out"], record["trained_on"]) == ("alpha", 7, 21)
    alpha_validation = _read(trained_runs["alpha"] / "evaluation" / "validation.json")
    assert record["before"]["validation"]["accuracy"] == pytest.approx(alpha_validation["accuracy"])
    assert record["after"]["validation"]["accuracy"] == pytest.approx(
        _read(run / "evaluation" / "validation.json")["accuracy"])
    # Before, on the held-out faces, checked by hand: alpha's own predictions on those seven files.
    alpha = keras.models.load_model(trained_runs["alpha"] / "model.keras")
    held = np.stack([np.asarray(keras.utils.load_img(faces / name, color_mode="grayscale"), np.float32)[..., None]
                     for name in own["held_out_files"]])
    labels = [EMOTIONS.index(name.split("/")[1]) for name in own["held_out_files"]]
    expected = classification_report(np.array(labels), predict_probabilities(alpha, held, tta="off"))
    assert record["before"]["own_faces"] == {"accuracy": pytest.approx(expected["accuracy"]),
                                             "macro_f1": pytest.approx(expected["macro_f1"]), "n": 7}
    card = (run / "MODEL_CARD.md").read_text()
    assert "Adapted to your own faces `mine`" in card and "| before: alpha |" in card and "| after: mine |" in card


def test_a_face_set_too_small_to_split_is_refused_before_a_folder_exists(trained_runs, isolated_dirs):
    make_image_dataset(isolated_dirs["data"] / "one-each", {"test": 1})
    registry.deploy("alpha")
    with pytest.raises(ValueError, match="one face of each emotion at most: all are held out"):
        train_tiny_run(isolated_dirs["models"], trained_runs["data"], "refused", own_faces="one-each")
    assert not (isolated_dirs["models"] / "refused").exists()


def test_a_handful_of_faces_is_repeated_to_the_share_but_never_learnt_by_heart():
    own = training.OwnFaces(np.arange(4).reshape(4, 1), np.array([0, 1, 2, 3]), np.zeros((1, 1)), np.zeros(1), {})
    x, y, repeats = training.mix_own_faces(np.zeros((12, 1)), np.zeros(12, np.int64), own, 0.25, seed=1)
    assert (len(y), repeats) == (16, 1.0)  # 4 of 16: the share, each face once
    x, y, repeats = training.mix_own_faces(np.zeros((1000, 1)), np.zeros(1000, np.int64), own, 0.5, seed=1)
    assert repeats == training.MAX_OWN_REPEATS and len(y) == 1000 + 4 * training.MAX_OWN_REPEATS
    assert sorted(np.bincount(x[1000:, 0].astype(int))) == [training.MAX_OWN_REPEATS] * 4  # each as often
