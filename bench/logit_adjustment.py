"""Class balance at the decision (issue 32's lever): is the drift toward neutral a prior effect?

    python bench/logit_adjustment.py                 # the deployed and live runs
    python bench/logit_adjustment.py RUN ...

Each run's probabilities are computed once on FER2013 validation (its recorded TTA) and on the
real-face proxy through the whole pipeline (`data/fer2013-proxy`; a photo without a face found
counts as wrong), then re-decided two ways, nothing retrained:
- logit adjustment: argmax of log p - tau * log(training prior), for a grid of tau;
- a neutral penalty: log p(neutral) - beta.
The table gives accuracy, macro-F1 and how often a face of another emotion reads as neutral.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import pylibsrtp  # noqa: E402,F401  (before TensorFlow: see app.py)

import numpy as np  # noqa: E402

from emotion_core.datasets import open_dataset  # noqa: E402
from emotion_core.faces import FACE_SIZES, crop_face  # noqa: E402
from emotion_core.images import load_rgb  # noqa: E402
from emotion_core.labels import EMOTIONS  # noqa: E402
from emotion_core.predictor import Predictor  # noqa: E402
from emotion_core.serving.export import litert_file  # noqa: E402

TAUS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0)
BETAS = (0.1, 0.2, 0.3, 0.5)


def probabilities(predictor: Predictor, data: str, find_faces: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probabilities, true class, face found) for every validation image of `data`."""
    dataset = open_dataset(data, require_train=False)
    faces, labels, found = [], [], []
    for name, label in dataset.items["validation"]:
        rgb = load_rgb(dataset.path / name)
        if find_faces:
            boxes = predictor.detector.detect(rgb, FACE_SIZES["any"])
            if boxes:
                rgb = crop_face(rgb, max(boxes, key=lambda box: box.score))
        labels.append(label)
        found.append(not find_faces or bool(boxes))
        if found[-1]:
            faces.append(predictor.prepare(rgb))
    found = np.array(found)
    every = np.zeros((len(labels), len(predictor.classes)))
    every[found] = predictor.classify(np.stack(faces))
    return every, np.array(labels), found


def macro_f1(y: np.ndarray, predicted: np.ndarray) -> float:
    """Macro-F1 over the seven classes; a photo without a face (-1) is a miss of its class."""
    f1 = []
    for k in range(len(EMOTIONS)):
        hits = ((predicted == k) & (y == k)).sum()
        f1.append(2 * hits / max(1, (predicted == k).sum() + (y == k).sum()))
    return float(np.mean(f1))


def scores(log_p: np.ndarray, y: np.ndarray, found: np.ndarray) -> str:
    neutral = EMOTIONS.index("neutral")
    predicted = np.where(found, log_p.argmax(axis=1), -1)
    others = y != neutral
    return (f"{(predicted == y).mean():.2%} | {macro_f1(y, predicted):.3f} "
            f"| {(predicted[others] == neutral).mean():.1%}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", default=["deployed", "live"])
    parser.add_argument("--data", default="data/fer2013")
    parser.add_argument("--proxy", default="data/fer2013-proxy")
    args = parser.parse_args()
    counts = open_dataset(args.data).counts()["train"]
    prior = np.array([counts[name] for name in EMOTIONS], float)
    prior /= prior.sum()
    print("training prior: " + ", ".join(f"{name} {share:.3f}" for name, share in zip(EMOTIONS, prior)) + "\n")
    for run in args.runs:
        predictor = Predictor.load(run, litert=litert_file(run), litert_only=True)
        if list(predictor.classes) != list(EMOTIONS):
            print(f"{run}: not a seven-class run, skipped")
            continue
        predictor.temperature = 1.0  # the decision alone: a temperature only scales tau
        sets = {"validation": probabilities(predictor, args.data, False),
                "proxy": probabilities(predictor, args.proxy, True)}
        print(f"### {predictor.run_name}\n")
        print("| decision | validation accuracy | macro-F1 | read as neutral | proxy accuracy | macro-F1 "
              "| read as neutral |\n|---|--:|--:|--:|--:|--:|--:|")
        shifts = {f"logit adjustment tau {tau}": -tau * np.log(prior) for tau in TAUS}
        shifts |= {f"neutral - {beta}": -beta * (np.arange(len(EMOTIONS)) == EMOTIONS.index("neutral"))
                   for beta in BETAS}
        for label, shift in shifts.items():
            cells = [scores(np.log(np.maximum(p, 1e-12)) + shift, y, found) for p, y, found in sets.values()]
            print(f"| {label} | " + " | ".join(cells) + " |")
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
