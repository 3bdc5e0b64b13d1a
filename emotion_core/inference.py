"""Batched class probabilities from a model, shared by evaluation, prediction and analysis."""

from __future__ import annotations

import numpy as np

INFERENCE_BATCH = 256  # large enough to amortise per-call overhead, small enough for any RAM


def predict_probabilities(model, images: np.ndarray, tta: bool = False, batch_size: int = INFERENCE_BATCH,
                          progress=None) -> np.ndarray:
    """Softmax outputs (n, classes) for images (n, h, w, c) in 0..255.

    With `tta`, the mirror image of each face is scored too and the two are averaged:
    faces are near-symmetric, so the flip is a free second opinion.
    """
    images = np.asarray(images, dtype=np.float32)
    if len(images) == 0:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    if tta:
        # One pass over [originals; mirrors] is cheaper than two passes.
        both = np.concatenate([images, images[:, :, ::-1, :]])
        probabilities = _batched_predict(model, both, batch_size, progress)
        probabilities = (probabilities[: len(images)] + probabilities[len(images):]) / 2
    else:
        probabilities = _batched_predict(model, images, batch_size, progress)
    return probabilities.astype(np.float32)


def _batched_predict(model, images: np.ndarray, batch_size: int, progress=None) -> np.ndarray:
    outputs = []
    for start in range(0, len(images), batch_size):
        outputs.append(np.asarray(model(images[start:start + batch_size], training=False)))
        if progress:
            progress(min(1.0, (start + batch_size) / len(images)))
    return np.concatenate(outputs)
