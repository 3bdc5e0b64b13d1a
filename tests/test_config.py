"""emotion_core.config and the train flags: defaults, refusals with reasons, file and flag precedence."""

import argparse
import json
import math
import re
from dataclasses import fields

import pytest

from emotion_core import cli
from emotion_core.architectures import ARCHITECTURES
from emotion_core.config import (TrainConfig, add_train_options, config_from_dict, load_config_file, resolve_config,
                                 training_options)
from emotion_core.labels import EMOTIONS
from tests.conftest import PROJECT


def train_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="train")
    add_train_options(parser)
    return parser


def parse_train(*flags: str) -> TrainConfig:
    """The config that `--config` and flags resolve to, as the train and jobs start commands get it."""
    args = train_parser().parse_args(list(flags))
    return resolve_config(args.config, vars(args))


def write_config(tmp_path, values) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(values))
    return str(path)


# --- defaults and ranges ----------------------------------------------------------------------------


def test_defaults_validate():
    config = TrainConfig()

    assert config.validate() is config
    assert config.arch in ARCHITECTURES
    assert config.resolved_color_mode() == ARCHITECTURES[config.arch].color_mode
    assert config_from_dict({}) == config


def test_a_saved_config_reads_back_unchanged():
    # A run folder stores `to_dict()`; resuming must rebuild exactly the same config.
    config = TrainConfig(arch="mini_xception", epochs=3, learning_rate=0.001, augment=False, name="run-1")

    assert config_from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.parametrize("key, value, reason", [
    ("arch", "resnet50", "arch must be one of"),
    ("epochs", 0, "epochs must be between 1 and 1000"),
    ("epochs", 1001, "epochs must be between 1 and 1000"),
    ("batch_size", 0, "batch_size must be between 1 and 4096"),
    ("batch_size", 8192, "batch_size must be between 1 and 4096"),
    ("optimizer", "lbfgs", "optimizer must be one of adam, sgd, rmsprop, adamw"),
    ("learning_rate", 0.0, "learning_rate must be in (0, 1]"),
    ("learning_rate", 1.5, "learning_rate must be in (0, 1]"),
    ("learning_rate", math.nan, "learning_rate must be in (0, 1]"),
    ("momentum", 1.0, "momentum must be in [0, 1)"),
    ("momentum", -0.1, "momentum must be in [0, 1)"),
    ("weight_decay", 1.0, "weight_decay must be in [0, 1)"),
    ("weight_decay", -1e-4, "weight_decay must be in [0, 1)"),
    ("schedule", "step", "schedule must be one of cosine, plateau, constant"),
    ("warmup_epochs", -1, "warmup_epochs must be between 0 and 20"),
    ("warmup_epochs", 21, "warmup_epochs must be between 0 and 20"),
    ("color_mode", "cmyk", "color_mode must be grayscale or rgb"),
    ("image_size", 8, "image_size must be between 16 and 256"),
    ("image_size", 512, "image_size must be between 16 and 256"),
    ("random_erasing", 1.5, "random_erasing must be in [0, 1]"),
    ("class_weights", "inverse", "class_weights must be one of none, sqrt, balanced"),
    ("label_smoothing", 1.0, "label_smoothing must be in [0, 1)"),
    ("early_stopping", -1, "early_stopping must be 0 (off) or a patience in epochs"),
    ("plateau_patience", 0, "plateau_patience must be at least 1"),
    ("val_fraction", 0.0, "val_fraction must be in (0, 0.5)"),
    ("val_fraction", 0.5, "val_fraction must be in (0, 0.5)"),
    ("precision", "float16", "precision must be one of auto, float32, mixed_bfloat16"),
    ("seed", -1, "seed must be between 0 and 2**31 - 1"),  # numpy refuses negative seeds
    ("seed", 2**32, "seed must be between 0 and 2**31 - 1"),
    ("name", "runs/new", "name must be a plain folder name"),
    ("name", "..", "name must be a plain folder name"),
])
def test_an_out_of_range_value_is_refused_with_its_reason(key, value, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        config_from_dict({key: value})


@pytest.mark.parametrize("values", [
    {"epochs": 1}, {"epochs": 1000}, {"batch_size": 1}, {"learning_rate": 1.0}, {"momentum": 0.0},
    {"warmup_epochs": 0}, {"image_size": 16}, {"image_size": 256}, {"random_erasing": 1.0},
    {"label_smoothing": 0.0}, {"val_fraction": 0.49}, {"seed": 0}, {"color_mode": "rgb"},
    {"arch": "vgg_gap_small", "optimizer": "adamw", "schedule": "plateau", "precision": "float32"},
])
def test_values_at_the_edges_of_their_range_are_accepted(values):
    config = config_from_dict(values)

    assert all(getattr(config, key) == value for key, value in values.items())


# --- config_from_dict ---------------------------------------------------------------------------------


def test_unknown_keys_are_refused_by_name():
    with pytest.raises(ValueError, match=r"^unknown config key\(s\): colour, epoch$"):
        config_from_dict({"epoch": 3, "colour": "rgb", "batch_size": 32})


@pytest.mark.parametrize("key, value, message", [
    ("epochs", "3", "config key 'epochs' must be int, not str"),
    ("epochs", 3.5, "config key 'epochs' must be int, not float"),
    ("epochs", True, "config key 'epochs' must be int, not bool"),
    ("augment", 1, "config key 'augment' must be bool, not int"),
    ("augment", "false", "config key 'augment' must be bool, not str"),
    ("learning_rate", "0.01", "config key 'learning_rate' must be float, not str"),
    ("learning_rate", True, "config key 'learning_rate' must be float, not bool"),
    ("arch", None, "config key 'arch' must be str, not NoneType"),
])
def test_wrong_types_are_refused(key, value, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        config_from_dict({key: value})


def test_an_int_is_accepted_where_a_float_is_expected():
    config = config_from_dict({"learning_rate": 1, "weight_decay": 0})

    assert config.learning_rate == 1.0 and isinstance(config.learning_rate, float)
    assert config.weight_decay == 0.0 and isinstance(config.weight_decay, float)


@pytest.mark.parametrize("content, message", [
    ("{epochs: 3}", "cannot read config file"),
    ("[1, 2]", "must hold a JSON object"),
])
def test_a_bad_config_file_is_refused(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)

    with pytest.raises(ValueError, match=message):
        load_config_file(path)


def test_a_missing_config_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match="cannot read config file"):
        load_config_file(tmp_path / "missing.json")


# --- flags --------------------------------------------------------------------------------------------


def test_flags_override_the_file_which_overrides_the_defaults(tmp_path):
    path = write_config(tmp_path, {"epochs": 10, "batch_size": 32, "optimizer": "adam"})

    config = parse_train("--config", path, "--epochs", "3")

    assert config.epochs == 3  # flag beats file
    assert config.batch_size == 32 and config.optimizer == "adam"  # file beats defaults
    assert config.learning_rate == TrainConfig().learning_rate  # untouched default
    assert parse_train("--config", path).epochs == 10
    assert parse_train() == TrainConfig()


def test_tta_is_a_mode_and_older_configs_bools_still_load(tmp_path):
    assert parse_train("--tta", "shifts").tta == "shifts" and TrainConfig().tta == "flip"
    assert config_from_dict({"tta": True}).tta == "flip" and config_from_dict({"tta": False}).tta == "off"
    with pytest.raises(ValueError, match="tta must be one of off, flip, zoom, shifts"):
        config_from_dict({"tta": "crops"})


def test_boolean_flags_switch_both_ways(tmp_path):
    assert parse_train("--no-augment").augment is False
    path = write_config(tmp_path, {"augment": False})
    assert parse_train("--config", path).augment is False
    assert parse_train("--config", path, "--augment").augment is True


def test_flags_are_converted_to_their_field_types():
    config = parse_train("--learning-rate", "0.001", "--color-mode", "rgb", "--val-fraction", "0.2",
                         "--batch-size", "16")

    assert (config.learning_rate, config.color_mode, config.val_fraction, config.batch_size) == (
        0.001, "rgb", 0.2, 16)


def test_the_classes_flag_takes_names_separated_by_commas_in_any_order(tmp_path):
    assert parse_train("--classes", "angry,neutral,sad").classes == ("angry", "sad", "neutral")
    assert parse_train().classes == TrainConfig().classes == EMOTIONS
    path = write_config(tmp_path, {"classes": ["happy", "neutral"]})
    assert parse_train("--config", path).classes == ("happy", "neutral")
    assert parse_train("--config", path, "--classes", "sad,fear").classes == ("fear", "sad")


def test_an_unknown_class_fails_the_train_command_in_one_line(capsys):
    assert cli.main(["train", "--classes", "angry,bored"]) == 2

    assert capsys.readouterr().err == ("error: unknown class 'bored'; classes are angry, disgust, fear, happy, sad, "
                                       "surprise, neutral\n")


def test_arch_choices_come_from_the_registry(capsys):
    with pytest.raises(SystemExit):
        parse_train("--arch", "resnet50")

    error = capsys.readouterr().err
    assert all(name in error for name in ARCHITECTURES)


def test_resolve_config_takes_defaults_then_the_file_then_the_given_flags(tmp_path):
    path = write_config(tmp_path, {"epochs": 10, "batch_size": 32})

    config = resolve_config(path, {"epochs": 3, "batch_size": None, "func": print, "runs_dir": "models"})

    assert (config.epochs, config.batch_size, config.optimizer) == (3, 32, TrainConfig().optimizer)
    assert resolve_config() == TrainConfig()
    assert resolve_config(None, {"augment": False}).augment is False


def test_an_unknown_key_in_the_config_file_is_refused_by_resolve_config(tmp_path):
    with pytest.raises(ValueError, match=r"^unknown config key\(s\): lr$"):
        resolve_config(write_config(tmp_path, {"lr": 0.1}), {"epochs": 3})


def test_every_field_has_a_reason_and_the_flag_help_shows_it_with_the_default(monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps to the terminal, and may break at a hyphen
    help_text = " ".join(train_parser().format_help().split())

    for field in fields(TrainConfig):
        reason = field.metadata.get("help", "")
        assert len(reason) > 10, f"{field.name} has no reason"
        flag = "--" + field.name.replace("_", "-")
        default = (f"comma-separated; default: {','.join(field.default)}" if isinstance(field.default, tuple)
                   else f"default: {field.default!r}")
        assert f"{' '.join(reason.split())} ({default})" in help_text, flag
        assert flag in help_text


def test_training_options_carry_each_default_and_its_reason():
    options = {option["name"]: option for option in training_options()}

    assert list(options) == [field.name for field in fields(TrainConfig)]
    assert options["epochs"]["default"] == 60
    assert "FER2013" in options["epochs"]["reason"]
    assert "weights stay float32" in options["precision"]["reason"]
    assert "vgg_gap_small" in options["arch"]["choices"]
    assert options["augment"]["choices"] is None and options["augment"]["default"] is True
    assert options["classes"]["default"] == options["classes"]["choices"] == EMOTIONS  # a multiselect of all seven


def test_a_bad_config_file_fails_the_train_command_in_one_line(tmp_path, capsys):
    path = write_config(tmp_path, {"epochs": 3, "lr": 0.1})

    assert cli.main(["train", "--config", path]) == 2

    captured = capsys.readouterr()
    assert captured.err == "error: unknown config key(s): lr\n"


RECIPES = sorted((PROJECT / "recipes").glob("*.json"))


def retrainable(run: str, seen: tuple = ()) -> bool:
    """A run someone can start from: shipped with weights, or retrainable from a recipe of its own
    whose warm start is itself retrainable (a lineage's early stages keep their records, not their
    weights, to hold models/ under its budget)."""
    if (PROJECT / "models" / run / "model.keras").is_file():
        return True
    recipe = PROJECT / "recipes" / f"{run}.json"
    if run in seen or not recipe.is_file():
        return False
    start = config_from_dict(load_config_file(recipe)).init_from
    return not start or retrainable(start, seen + (run,))


@pytest.mark.parametrize("recipe", RECIPES, ids=[path.stem for path in RECIPES])
def test_every_recipe_is_a_valid_config_whose_warm_start_ships_or_can_be_retrained(recipe):
    config = config_from_dict(load_config_file(recipe))

    if config.init_from:
        assert retrainable(config.init_from), \
            f"{recipe.name} starts from {config.init_from}, which is neither shipped with weights nor has a recipe"


def test_values_read_as_people_say_them():
    from emotion_core.config import value_text

    assert value_text("optimizer", "sgd") == "SGD with momentum"
    assert value_text("augment", True) == "on" and value_text("photo_augment", False) == "off"
    assert value_text("tta", True) == "flip (2 views)" and value_text("tta", "zoom") == "zoom (6 views)"
    assert value_text("learning_rate", 0.001) == "0.001" and value_text("weight_decay", 5e-4) == "0.0005"
    assert value_text("init_from", "") == "none" and value_text("data", "/abs/data/fer2013") == "fer2013"
