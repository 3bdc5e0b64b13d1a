"""emotion_core.architectures: every registered net builds, predicts probabilities and names its layers."""

import keras
import numpy as np
import pytest
from keras import layers

from emotion_core.architectures import (ARCHITECTURES, LAST_CONV, OUTPUT, build_model,
                                        count_multiply_adds)
from emotion_core.config import COLOR_MODES
from emotion_core.labels import EMOTIONS

OUR_OWN = ("vgg_gap", "vgg_gap_small", "vgg_gap_slim", "mini_xception")
MAX_SAVED_BYTES = 10 * 1024 * 1024  # small enough to ship in the repository and load fast


def input_shape(name: str) -> tuple[int, int, int]:
    return (48, 48, 1 if ARCHITECTURES[name].color_mode == "grayscale" else 3)


@pytest.fixture(scope="module")
def built():
    """Each registered architecture built once for the module (the seed nets take a while)."""
    cache = {}

    def get(name: str) -> keras.Model:
        if name not in cache:
            cache[name] = build_model(name, input_shape(name), len(EMOTIONS))
        return cache[name]

    return get


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_architecture_predicts_probabilities_for_its_colour_mode(built, name):
    model = built(name)
    # Pixel values as loaded, 0..255: the model rescales them itself.
    images = np.random.default_rng(0).uniform(0, 255, (2, *input_shape(name))).astype("float32")

    probabilities = keras.ops.convert_to_numpy(model(images, training=False))

    assert ARCHITECTURES[name].color_mode in COLOR_MODES
    assert model.input_shape == (None, *input_shape(name))
    assert isinstance(model.layers[1], layers.Rescaling)
    assert probabilities.shape == (2, len(EMOTIONS))
    assert (probabilities >= 0).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_every_architecture_names_the_layers_grad_cam_needs(built, name):
    model = built(name)

    last_conv = model.get_layer(LAST_CONV).output
    output = model.get_layer(OUTPUT)

    assert len(last_conv.shape) == 4 and all(side >= 1 for side in last_conv.shape[1:])
    assert output is model.layers[-1]
    assert output.units == len(EMOTIONS)
    assert ARCHITECTURES[name].name == name and ARCHITECTURES[name].description


def test_the_number_of_classes_is_a_parameter():
    model = build_model("vgg_gap_small", (48, 48, 1), num_classes=3)

    assert model.output_shape == (None, 3)


def test_an_unknown_architecture_lists_the_known_ones():
    with pytest.raises(ValueError, match="Unknown architecture 'resnet50'") as raised:
        build_model("resnet50")

    assert all(name in str(raised.value) for name in ARCHITECTURES)


@pytest.mark.parametrize("name", OUR_OWN)
def test_our_architectures_save_to_under_10_mb(built, name, tmp_path):
    path = tmp_path / f"{name}.keras"

    built(name).save(path)

    assert 0 < path.stat().st_size < MAX_SAVED_BYTES


def test_count_multiply_adds_of_a_hand_built_model():
    inputs = keras.Input((8, 8, 2))
    x = layers.Conv2D(4, 3)(inputs)  # valid padding: 6x6x4 outputs, each 3*3*2 multiply-adds
    x = layers.Flatten()(x)  # 144 values
    outputs = layers.Dense(5)(x)
    model = keras.Model(inputs, outputs)

    assert count_multiply_adds(model) == 6 * 6 * 4 * (3 * 3 * 2) + 144 * 5  # 2592 + 720


def test_count_multiply_adds_of_strided_and_separable_convolutions():
    inputs = keras.Input((8, 8, 2))
    x = layers.Conv2D(4, 3, strides=2, padding="same")(inputs)  # 4x4x4 outputs
    outputs = layers.SeparableConv2D(6, 3, padding="same")(x)  # depthwise 3x3 on 4 maps, then 1x1 to 6
    model = keras.Model(inputs, outputs)

    conv = 4 * 4 * 4 * (3 * 3 * 2)
    separable = 4 * 4 * (4 * 3 * 3 + 4 * 6)
    assert count_multiply_adds(model) == conv + separable


@pytest.mark.parametrize("narrow", ["vgg_gap_small", "vgg_gap_slim"])
def test_the_live_sized_vggs_cost_at_most_a_third_of_the_full_one(built, narrow):
    full = count_multiply_adds(built("vgg_gap"))

    assert 0 < count_multiply_adds(built(narrow)) <= full / 3
