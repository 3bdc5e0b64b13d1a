"""The registry of model architectures, by name.

Every builder is `build_<name>(input_shape, num_classes) -> keras.Model`: a functional model
that takes pixel values in 0..255 (rescaling is its first layer, so callers never normalise),
whose last convolutional layer is named `last_conv` and whose softmax layer is `predictions`,
which is what Grad-CAM looks for. Pure Keras 3, so the same code trains on any backend.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable


class _LazyModule:
    """Imports a module on first attribute access: listing architectures (CLI help, the Train
    page's select box) must not pay TensorFlow's few seconds of import time."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute):
        return getattr(importlib.import_module(self._name), attribute)


keras = _LazyModule("keras")
layers = _LazyModule("keras.layers")

LAST_CONV = "last_conv"
OUTPUT = "predictions"


@dataclass(frozen=True)
class Architecture:
    name: str
    build: Callable[[tuple, int], keras.Model]
    description: str
    color_mode: str = "grayscale"  # the input the original recipe used
    # Nets of one family differ only in widths, so a trained wider one can start a narrower one
    # (emotion_core/pruning.py); empty: a family of its own.
    family: str = ""


def _inputs(input_shape):
    inputs = keras.Input(shape=input_shape, name="image")
    return inputs, layers.Rescaling(1.0 / 255, name="rescale")(inputs)


def _conv(x, filters, kernel=3, *, name=None, bn=True, padding="same", activation="relu"):
    """Conv (+ BN) + activation; `name` goes on the activation so Grad-CAM sees post-ReLU maps."""
    x = layers.Conv2D(filters, kernel, padding=padding, use_bias=not bn)(x)
    if bn:
        x = layers.BatchNormalization()(x)
    return layers.Activation(activation, name=name)(x)


def _classifier(x, num_classes):
    # float32 even under mixed precision: softmax and the loss need the range.
    return layers.Dense(num_classes, activation="softmax", name=OUTPUT, dtype="float32")(x)


# --- The seed projects' architectures, reproduced as they were published -----------------------


def build_seed000_shallow(input_shape, num_classes):
    inputs, x = _inputs(input_shape)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dropout(0.25)(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name=LAST_CONV)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dropout(0.25)(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(512, activation="relu")(x)
    return keras.Model(inputs, _classifier(x, num_classes), name="seed000_shallow")


def build_seed000_deep(input_shape, num_classes):
    inputs, x = _inputs(input_shape)
    blocks = [(64, 3), (128, 5), (512, 3), (512, 3)]
    for index, (filters, kernel) in enumerate(blocks):
        is_last = index == len(blocks) - 1
        x = layers.Conv2D(filters, kernel, padding="valid" if index == 0 else "same")(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu", name=LAST_CONV if is_last else None)(x)
        x = layers.MaxPooling2D()(x)
        x = layers.Dropout(0.25)(x)
    x = layers.Flatten()(x)
    for units in (256, 512):
        x = layers.Dense(units)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        x = layers.Dropout(0.25)(x)
    return keras.Model(inputs, _classifier(x, num_classes), name="seed000_deep")


def build_seed001_concept(input_shape, num_classes):
    inputs, x = _inputs(input_shape)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    for stage, filters in enumerate((64, 128, 256)):
        for repeat in range(2):
            is_last = stage == 2 and repeat == 1
            x = layers.Conv2D(filters, 3, padding="same", activation="relu",
                              name=LAST_CONV if is_last else None)(x)
        if stage < 2:
            x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(512, activation="relu")(x)
    x = layers.Dense(512, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    return keras.Model(inputs, _classifier(x, num_classes), name="seed001_concept")


def _seed001_best_family(input_shape, num_classes, *, dropout, batch_norm, name):
    """The second seed's best net and its ablations: 32-64, 128x2, 256x2 conv stages, dense 2048."""
    inputs, x = _inputs(input_shape)
    stages = [(32, 64), (128, 128), (256, 256)]
    for stage, widths in enumerate(stages):
        for repeat, filters in enumerate(widths):
            first_conv = stage == 0 and repeat == 0
            is_last = stage == len(stages) - 1 and repeat == len(widths) - 1
            x = _conv(x, filters, padding="valid" if first_conv else "same", bn=batch_norm,
                      name=LAST_CONV if is_last else None)
        x = layers.MaxPooling2D()(x)
        if dropout:
            x = layers.Dropout(0.25)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(2048, use_bias=not batch_norm)(x)
    if batch_norm:
        x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    if dropout:
        x = layers.Dropout(0.5)(x)
    return keras.Model(inputs, _classifier(x, num_classes), name=name)


def build_seed001_best(input_shape, num_classes):
    return _seed001_best_family(input_shape, num_classes, dropout=True, batch_norm=True,
                                name="seed001_best")


def build_seed001_nodropout(input_shape, num_classes):
    return _seed001_best_family(input_shape, num_classes, dropout=False, batch_norm=True,
                                name="seed001_nodropout")


def build_seed001_nodropout_nobn(input_shape, num_classes):
    return _seed001_best_family(input_shape, num_classes, dropout=False, batch_norm=False,
                                name="seed001_nodropout_nobn")


# --- Our own, built for accuracy per multiply-add on 48x48 faces ---------------------------------


def _vgg_gap(input_shape, num_classes, widths, name, dropout=0.2):
    """Stages of two 3x3 conv+BN+ReLU and a max-pool, then global average pooling.

    Global pooling instead of a big dense layer keeps the parameter count (and the saved file)
    small and regularises; the widths double as the maps halve so every stage costs about the same.
    """
    inputs, x = _inputs(input_shape)
    for stage, filters in enumerate(widths):
        is_last_stage = stage == len(widths) - 1
        x = _conv(x, filters)
        x = _conv(x, filters, name=LAST_CONV if is_last_stage else None)
        if not is_last_stage:
            x = layers.MaxPooling2D()(x)
            x = layers.Dropout(dropout)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.4)(x)
    x = layers.Dense(widths[-1], use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Dropout(0.4)(x)
    return keras.Model(inputs, _classifier(x, num_classes), name=name)


def build_vgg_gap(input_shape, num_classes):
    return _vgg_gap(input_shape, num_classes, widths=(32, 64, 128, 256), name="vgg_gap")


def build_vgg_gap_small(input_shape, num_classes):
    return _vgg_gap(input_shape, num_classes, widths=(16, 32, 64, 128), name="vgg_gap_small")


def build_vgg_gap_slim(input_shape, num_classes):
    # 0.5625 of vgg_gap's widths: just under a third of its multiply-adds (the live budget).
    return _vgg_gap(input_shape, num_classes, widths=(18, 36, 72, 144), name="vgg_gap_slim")


def _xception_block(x, filters):
    """Two separable convs and a pool, plus a strided 1x1 shortcut (residual, as in Xception)."""
    shortcut = layers.Conv2D(filters, 1, strides=2, padding="same", use_bias=False)(x)
    shortcut = layers.BatchNormalization()(shortcut)
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    return layers.Add()([x, shortcut])


def build_mini_xception(input_shape, num_classes, widths=(32, 64, 128, 256)):
    """Residual separable-conv net (after Arriaga et al.'s mini-Xception), wider for accuracy."""
    inputs, x = _inputs(input_shape)
    x = _conv(x, 16)
    x = _conv(x, 16)
    for filters in widths:
        x = _xception_block(x, filters)
    x = layers.Activation("relu", name=LAST_CONV)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.3)(x)
    return keras.Model(inputs, _classifier(x, num_classes), name="mini_xception")


ARCHITECTURES = {
    arch.name: arch
    for arch in [
        Architecture("seed000_shallow", build_seed000_shallow,
                     "First seed's shallow net: conv32, conv64, dense 512 (flatten)."),
        Architecture("seed000_deep", build_seed000_deep,
                     "First seed's deep net: conv 64/128(5x5)/512/512 with BN, dropout, pools; dense 256, 512."),
        Architecture("seed001_concept", build_seed001_concept,
                     "Second seed's concept net: conv 32-256 without BN or dropout, dense 512x2.", "rgb"),
        Architecture("seed001_best", build_seed001_best,
                     "Second seed's best net: conv 32-256 with BN and dropout, dense 2048.", "rgb"),
        Architecture("seed001_nodropout", build_seed001_nodropout,
                     "seed001_best without dropout.", "rgb"),
        Architecture("seed001_nodropout_nobn", build_seed001_nodropout_nobn,
                     "seed001_best without dropout or batch norm.", "rgb"),
        Architecture("vgg_gap", build_vgg_gap,
                     "Ours: VGG-style 32-256 filters, two convs a stage, global average pooling (accuracy).",
                     family="vgg_gap"),
        Architecture("vgg_gap_small", build_vgg_gap_small,
                     "Ours: vgg_gap at half width, about a quarter of the multiply-adds (live camera).",
                     family="vgg_gap"),
        Architecture("vgg_gap_slim", build_vgg_gap_slim,
                     "Ours: vgg_gap at 0.56 width, a third of the multiply-adds; starts well cut from a trained vgg_gap.",
                     family="vgg_gap"),
        Architecture("mini_xception", build_mini_xception,
                     "Ours: residual separable convs with global pooling, few parameters (fast)."),
    ]
}


def same_family(arch: str, other: str) -> bool:
    """Whether two registered nets share their layers and differ only in widths (see `family`)."""
    family = ARCHITECTURES[arch].family if arch in ARCHITECTURES else ""
    return bool(family) and other in ARCHITECTURES and ARCHITECTURES[other].family == family


def build_model(name: str, input_shape=(48, 48, 1), num_classes: int = 7) -> keras.Model:
    """Build a registered architecture, or raise ValueError naming the known ones."""
    if name not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture '{name}'; choose from {', '.join(ARCHITECTURES)}.")
    return ARCHITECTURES[name].build(tuple(input_shape), num_classes)


def count_multiply_adds(model: keras.Model) -> int:
    """Multiply-adds of one forward pass through the conv and dense layers (the bulk of the cost)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, layers.SeparableConv2D):
            out_h, out_w, out_c = layer.output.shape[1:]
            in_c = layer.input.shape[-1]
            kh, kw = layer.kernel_size
            total += out_h * out_w * (in_c * kh * kw + in_c * out_c)
        elif isinstance(layer, layers.Conv2D):
            out_h, out_w, out_c = layer.output.shape[1:]
            in_c = layer.input.shape[-1]
            kh, kw = layer.kernel_size
            total += out_h * out_w * out_c * in_c * kh * kw
        elif isinstance(layer, layers.Dense):
            total += layer.input.shape[-1] * layer.units
    return int(total)
