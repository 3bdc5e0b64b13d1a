"""Classification metrics for an emotion model, in plain numpy.

`classification_report(y_true, probabilities)` returns one JSON-ready dict (accuracy, F1s,
per-class scores, confusion matrix, one-vs-rest ROC, calibration) that a run folder stores as-is
and the app reads back; `format_report` renders it as a text table for the CLI.

A labelled set need not hold every class the model predicts (a set of posed photos without
neutral): such a class has "no images" (its precision, recall and F1 are None), a prediction of it
counts as wrong, and the averages over classes (macro-F1, balanced accuracy) take the classes the
set has images of.
"""

import numpy as np

from emotion_core.labels import EMOTIONS


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts as a (num_classes, num_classes) int array: rows true class, columns predicted."""
    counts = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return counts


def row_normalised(confusion) -> np.ndarray:
    """Each row divided by its total, so rows sum to 1; a class with no samples stays all zero."""
    confusion = np.asarray(confusion, dtype=np.float64)
    totals = confusion.sum(axis=1, keepdims=True)
    return np.divide(confusion, totals, out=np.zeros_like(confusion), where=totals > 0)


def roc_curve(y_binary, scores) -> tuple[np.ndarray, np.ndarray]:
    """The full ROC curve (fpr, tpr), one point per distinct score plus the (0, 0) start.

    Tied scores become one point, so the curve crosses a tie diagonally and its area counts
    a tied positive/negative pair as half a win (the Mann-Whitney statistic).
    Raises ValueError when y_binary lacks positives or negatives: the curve is undefined.
    """
    y_binary = np.asarray(y_binary).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    num_positives = int(y_binary.sum())
    num_negatives = y_binary.size - num_positives
    if num_positives == 0 or num_negatives == 0:
        raise ValueError("ROC needs at least one positive and one negative sample")

    order = np.argsort(-scores, kind="stable")
    sorted_scores, hits = scores[order], y_binary[order]
    # Keep the last position of each run of equal scores: a threshold admits all ties at once.
    last_of_tie = np.r_[np.diff(sorted_scores) != 0, True]
    true_positives = np.cumsum(hits)[last_of_tie]
    false_positives = np.cumsum(~hits)[last_of_tie]
    fpr = np.r_[0.0, false_positives] / num_negatives
    tpr = np.r_[0.0, true_positives] / num_positives
    return fpr, tpr


def auc(fpr, tpr) -> float:
    """Area under a curve by the trapezoid rule; fpr must be non-decreasing."""
    fpr, tpr = np.asarray(fpr, dtype=np.float64), np.asarray(tpr, dtype=np.float64)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def _resampled(fpr, tpr, roc_points: int) -> tuple[np.ndarray, np.ndarray]:
    """At most roc_points points of the curve: (0, 0), then tpr at evenly spaced fpr in [0, 1]."""
    if len(fpr) <= roc_points:
        return fpr, tpr
    grid = np.linspace(0.0, 1.0, roc_points - 1)
    # Interpolate from the last curve point at or left of each grid fpr, so a vertical run
    # of equal fpr reads as its top; (0, 0) is kept separately so the curve still starts there.
    left = np.searchsorted(fpr, grid, side="right") - 1
    right = np.minimum(left + 1, len(fpr) - 1)
    span = fpr[right] - fpr[left]
    weight = np.divide(grid - fpr[left], span, out=np.zeros_like(grid), where=span > 0)
    grid_tpr = tpr[left] + weight * (tpr[right] - tpr[left])
    return np.r_[0.0, grid], np.r_[0.0, grid_tpr]


def _roc_entry(y_binary, scores, roc_points: int) -> dict:
    """{"fpr", "tpr", "auc"}: exact AUC, resampled curve; empty curve and None if undefined."""
    try:
        fpr, tpr = roc_curve(y_binary, scores)
    except ValueError:
        return {"fpr": [], "tpr": [], "auc": None}
    small_fpr, small_tpr = _resampled(fpr, tpr, roc_points)
    return {"fpr": small_fpr.tolist(), "tpr": small_tpr.tolist(), "auc": auc(fpr, tpr)}


def _validated(y_true, probabilities, class_names, roc_points) -> tuple[np.ndarray, np.ndarray]:
    """The inputs as arrays, or a one-line ValueError saying what is wrong with them."""
    y_true, probabilities = np.asarray(y_true), np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or y_true.ndim != 1:
        raise ValueError(f"expected y_true (n,) and probabilities (n, k), "
                         f"got {y_true.shape} and {probabilities.shape}")
    if y_true.size == 0:
        raise ValueError("cannot evaluate an empty set of samples")
    if len(y_true) != len(probabilities):
        raise ValueError(f"{len(y_true)} labels but {len(probabilities)} rows of probabilities")
    if probabilities.shape[1] != len(class_names):
        raise ValueError(f"{probabilities.shape[1]} probability columns "
                         f"but {len(class_names)} class names")
    if not np.issubdtype(y_true.dtype, np.integer):
        raise ValueError(f"y_true must hold integer class indices, got dtype {y_true.dtype}")
    if y_true.min() < 0 or y_true.max() >= len(class_names):
        raise ValueError(f"labels must lie in [0, {len(class_names) - 1}], "
                         f"got {y_true.min()}..{y_true.max()}")
    if not np.all(np.isfinite(probabilities)):
        raise ValueError("probabilities contain NaN or infinity")
    if roc_points < 3:
        raise ValueError(f"roc_points must be at least 3, got {roc_points}")
    return y_true, probabilities


def classification_report(y_true, probabilities, class_names=EMOTIONS,
                          roc_points: int = 101) -> dict:
    """Accuracy, F1s, per-class scores, confusion matrix, one-vs-rest ROC and calibration
    (`reliability`) as a JSON-ready dict.

    Predictions are the argmax of each row. A class absent from y_true has precision, recall
    and F1 None ("no images"); a class present but never predicted has precision 0.0. Macro-F1
    and balanced accuracy average the classes present in y_true: a class the set has no images
    of would otherwise add an F1 of 0 for a single stray prediction of it, which the recall of
    that image's true class already counts. A class with no positives or no negatives gets ROC
    auc None and is left out of macro_auc.
    """
    y_true, probabilities = _validated(y_true, probabilities, class_names, roc_points)
    num_classes = len(class_names)
    confusion = confusion_matrix(y_true, probabilities.argmax(axis=1), num_classes)

    correct = np.diag(confusion).astype(np.float64)
    support, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    precision = np.divide(correct, predicted, out=np.zeros(num_classes), where=predicted > 0)
    recall = np.divide(correct, support, out=np.zeros(num_classes), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros(num_classes), where=both > 0)
    present = support > 0

    one_hot = np.eye(num_classes, dtype=bool)[y_true]
    per_class_roc = {name: _roc_entry(one_hot[:, i], probabilities[:, i], roc_points)
                     for i, name in enumerate(class_names)}
    defined_aucs = [entry["auc"] for entry in per_class_roc.values() if entry["auc"] is not None]

    return {
        "n": int(len(y_true)),
        "accuracy": float(correct.sum() / len(y_true)),
        "macro_f1": float(f1[present].mean()),
        "weighted_f1": float(np.sum(f1 * support) / len(y_true)),
        "balanced_accuracy": float(recall[present].mean()),
        "per_class": {
            name: ({"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i])}
                   if present[i] else {"precision": None, "recall": None, "f1": None}) | {"support": int(support[i])}
            for i, name in enumerate(class_names)
        },
        "confusion_matrix": confusion.tolist(),
        "roc": {
            "per_class": per_class_roc,
            # Micro: every (sample, class) pair pooled into one binary problem.
            "micro": _roc_entry(one_hot.ravel(), probabilities.ravel(), roc_points),
            "macro_auc": float(np.mean(defined_aucs)) if defined_aucs else None,
        },
        "reliability": reliability(y_true, probabilities),
        "class_names": list(class_names),
    }


ECE_BINS = 15  # Guo et al. 2017's choice, so figures compare with the literature's


def reliability(y_true, probabilities, bins: int = ECE_BINS) -> dict:
    """The reliability diagram's data and the expected calibration error (ECE).

    Each face's confidence (its top probability) falls in one of `bins` equal-width bins of
    (0, 1]; per bin: faces, mean confidence and accuracy (None for an empty bin). ECE is the
    faces-weighted mean gap |accuracy - confidence| over the bins; `mean_confidence` against
    `accuracy` says which way the model errs (below: under-confident).
    """
    y_true, probabilities = np.asarray(y_true), np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == y_true
    # Bin i holds confidences in (i/bins, (i+1)/bins]; a confidence of exactly 0 joins the first.
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    sum_confidence = np.bincount(index, weights=confidence, minlength=bins)
    sum_correct = np.bincount(index, weights=correct, minlength=bins)
    filled = count > 0
    gap = np.abs(sum_correct - sum_confidence)  # per bin: count x |accuracy - confidence|
    return {
        "ece": float(gap[filled].sum() / len(y_true)),
        "mean_confidence": float(confidence.mean()),
        "accuracy": float(correct.mean()),
        "bins": [{"lower": i / bins, "upper": (i + 1) / bins, "count": int(count[i]),
                  "confidence": float(sum_confidence[i] / count[i]) if filled[i] else None,
                  "accuracy": float(sum_correct[i] / count[i]) if filled[i] else None}
                 for i in range(bins)],
    }


def _fixed(value) -> str:
    """A metric with three decimals, or 'n/a' where it is undefined."""
    return "n/a" if value is None else f"{value:.3f}"


def format_report(report: dict) -> str:
    """The report as a plain-text table: per-class scores, then the overall figures."""
    width = max(12, *(len(name) for name in report["class_names"]))
    lines = [f"{'':<{width}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>9}"]
    predicted = np.asarray(report["confusion_matrix"]).sum(axis=0)
    for index, name in enumerate(report["class_names"]):
        scores = report["per_class"][name]
        if scores["f1"] is None:
            guessed = f"  (predicted {predicted[index]:,} times, all wrong)" if predicted[index] else ""
            lines.append(f"{name:<{width}} {'no images':>29} {0:>9d}{guessed}")
            continue
        lines.append(f"{name:<{width}} {scores['precision']:>9.3f} {scores['recall']:>9.3f}"
                     f" {scores['f1']:>9.3f} {scores['support']:>9d}")
    roc = report["roc"]
    lines += [
        "",
        f"{'accuracy':<{width}} {report['accuracy']:>9.3f} {'':>19} {report['n']:>9d}",
        f"{'macro F1':<{width}} {report['macro_f1']:>9.3f}",
        f"{'micro AUC':<{width}} {_fixed(roc['micro']['auc']):>9}",
        f"{'macro AUC':<{width}} {_fixed(roc['macro_auc']):>9}",
    ]
    if "reliability" in report:  # reports saved before calibration was measured lack it
        calibration = report["reliability"]
        ece_label = f"ECE ({len(calibration['bins'])} bins)"
        lines.append(f"{ece_label:<{width}} {calibration['ece']:>9.3f}"
                     f"   mean confidence {calibration['mean_confidence']:.3f} at accuracy {calibration['accuracy']:.3f}")
    if report.get("temperature", 1.0) != 1.0:
        lines.append(f"{'temperature':<{width}} {report['temperature']:>9.3f}   (runs calibrate)")
    return "\n".join(lines)
