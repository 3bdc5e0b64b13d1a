"""Start a narrower net from a trained wider one of the same family, keeping its strongest channels.

A net trained for hours holds features a narrower net would need as long to learn from scratch.
Keeping, in every conv and dense layer, the output channels whose batch-norm scale is largest
(the "network slimming" criterion: BN normalises each channel, so its scale |gamma| is what the
channel contributes downstream) and cutting the next layer's inputs to match gives the narrow net
a start close to where the wide one ended; fine-tuning, with the wide net's ensemble as teacher,
recovers the rest. The two nets must have the same layers in the same order; only widths differ.
"""

from __future__ import annotations

import numpy as np

from .architectures import build_model


def narrows_into(wide_arch: str, narrow_arch: str) -> bool:
    """Whether a trained `wide_arch` net can be cut down to a `narrow_arch` one (same layers, no wider)."""
    return prunable_into(build_model(wide_arch), build_model(narrow_arch))


def prunable_into(source, target) -> bool:
    """Whether `target` has `source`'s layers in order, each weight no larger on any axis."""
    if [type(layer) for layer in source.layers] != [type(layer) for layer in target.layers]:
        return False
    return all(
        len(s.shape) == len(t.shape) and all(ts <= ss for ss, ts in zip(s.shape, t.shape))
        for s, t in zip(source.weights, target.weights)
    )


def strongest_channels(scales: np.ndarray, count: int) -> np.ndarray:
    """Indices of the `count` largest |scale| values, in their original order."""
    return np.sort(np.argsort(-np.abs(scales), kind="stable")[:count])


def pruned_weights(source, target, outputs=None) -> list[list[np.ndarray]]:
    """Per layer of `target`, the weights cut from `source` (see the module docstring).

    Conv2D kernels are (h, w, in, out) and Dense kernels (in, out); the batch norm after a layer
    decides which of its outputs stay, and the same channels stay in every weight of that norm.
    `outputs`: the classifier's outputs (classes) that stay, in order; None keeps them all.
    """
    layers = list(zip(source.layers, target.layers))
    classifier = max(i for i, (src, _) in enumerate(layers) if type(src).__name__ in ("Conv2D", "Dense"))
    kept_inputs = None  # channels of the previous weighted layer's output that were kept
    result = []
    for index, (src, dst) in enumerate(layers):
        weights = src.get_weights()
        if not weights:
            result.append([])
            continue
        kind = type(src).__name__
        if kind in ("Conv2D", "Dense"):
            kernel = weights[0] if kept_inputs is None else np.take(weights[0], kept_inputs, axis=-2)
            width = dst.weights[0].shape[-1]
            if index == classifier and outputs is not None:
                kept_outputs = np.asarray(outputs)
            else:
                kept_outputs = _outputs_to_keep(layers, index, width)
            cut = [np.take(kernel, kept_outputs, axis=-1)]
            cut += [np.take(bias, kept_outputs) for bias in weights[1:]]
            kept_inputs = kept_outputs
        elif kind == "BatchNormalization":
            cut = [np.take(weight, kept_inputs) for weight in weights]
        else:
            raise ValueError(f"cannot cut a {kind} layer ({src.name}) to a narrower width")
        result.append(cut)
    return result


def _outputs_to_keep(layers, index, width) -> np.ndarray:
    """The `width` channels of layer `index` that stay: by the following batch norm's |gamma|,
    or all of them in order where no norm follows (the classifier keeps every class)."""
    source = layers[index][0]
    if width == source.weights[0].shape[-1]:
        return np.arange(width)
    following = layers[index + 1][0] if index + 1 < len(layers) else None
    if type(following).__name__ != "BatchNormalization":
        raise ValueError(f"layer {source.name} has no batch norm to choose its channels by")
    return strongest_channels(following.get_weights()[0], width)  # gamma comes first


def prune_into(source, target, outputs=None) -> None:
    """Set `target`'s weights from the wider trained `source` (keeping the classifier `outputs`
    given, or all), or raise ValueError saying why not."""
    if not prunable_into(source, target):
        raise ValueError(f"{source.name} cannot be narrowed into {target.name}: their layers differ")
    for layer, weights in zip(target.layers, pruned_weights(source, target, outputs)):
        if weights:
            layer.set_weights(weights)
