"""Faces in, emotions out: the one prediction path shared by the app, the CLI and the benchmarks.

    from emotion_core.predictor import Predictor, results_frame
    predictor = Predictor.load("deployed")
    faces = predictor.predict("photo.jpg")
    for face in faces:
        print(face.label, face.valence, face.box, face.probabilities)
    results_frame(faces, "photo.jpg", classes=predictor.classes).to_csv("results.csv", index=False)

A run's classes (registry.Run.classes) name the model's outputs: a 3-class run's faces have three
probabilities, and every table of faces has a column for each of the run's classes only.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import registry
from .ensemble import load_run_model
from .faces import DEFAULT_DETECTOR, FaceBox, FaceDetector, crop_face, model_input, whole_image_box
from .images import load_rgb
from .inference import (PRECISIONS, LiteRTModel, as_seen, bfloat16_copy, classifier_facts, predict_probabilities,
                        tta_mode)
from .labels import EMOTIONS
from .valence import VALENCE


@dataclass
class FacePrediction:
    """One face: where it is, what the model thinks, and the input the model saw."""

    box: FaceBox
    probabilities: dict[str, float]  # one per class of the run, in its model's output order
    model_input: np.ndarray = field(repr=False)  # (size, size, channels) float32 in 0..255
    whole_image: bool = False  # True when no face was found and the whole image was classified
    valence: str = ""  # positive, neutral or negative: the valence of `label` (valence.py)

    @property
    def label(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]

    def as_dict(self) -> dict:
        return {"box": self.box.as_dict(), "label": self.label, "confidence": round(self.confidence, 4),
                "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
                "valence": self.valence, "whole_image": self.whole_image}


class Predictor:
    """A loaded model plus the face detector and the preprocessing its run was trained with."""

    def __init__(self, model, run_name: str = "", tta: bool = False, grayscale_source: bool = True,
                 detector: FaceDetector | None = None, precision: str = "float32", classes=EMOTIONS,
                 valence: dict | None = None, temperature: float = 1.0, litert: str | Path | None = None):
        """`precision` "bfloat16" classifies with `inference.bfloat16_copy` of the model: faster on
        CPUs with AVX512-BF16, probabilities within about 0.02 of float32 (`model` stays as given).
        `classes` names the model's outputs in order (the run's), `valence` maps each to a valence.
        `temperature` (the run's, `runs calibrate`) is applied to each face's averaged views.
        `litert`, a checked LiteRT export of the same model (`serving.export.litert_file`),
        classifies instead, on an interpreter that Keras's clear_session leaves alone; `model`
        stays for Grad-CAM. With `litert`, `model` may be None: the file alone, no Grad-CAM."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not '{precision}'.")
        if litert and precision != "float32":
            raise ValueError("a LiteRT file computes in float32: leave precision at float32.")
        if model is None and not litert:
            raise ValueError("a Predictor needs a model, a LiteRT file, or both.")
        model = LiteRTModel(litert) if model is None else model
        outputs = int(model.output_shape[-1])
        if outputs != len(classes):
            raise ValueError(f"the model has {outputs} outputs but {len(classes)} class names ({', '.join(classes)}).")
        self.model = model
        self.classes = tuple(classes)
        self.valence = dict(valence or VALENCE)
        self.precision = precision
        self._classifier = (model if isinstance(model, LiteRTModel) else LiteRTModel(litert) if litert
                            else bfloat16_copy(model) if precision == "bfloat16" else model)
        if (tuple(self._classifier.input_shape[1:]) != tuple(model.input_shape[1:])
                or int(self._classifier.output_shape[-1]) != outputs):
            raise ValueError(f"{Path(str(litert)).name} takes {self._classifier.input_shape[1:]} and gives "
                             f"{self._classifier.output_shape[-1]} outputs; the model {model.input_shape[1:]} and {outputs}.")
        self.runtime = "litert" if litert else "keras"  # what classifies
        self.run_name = run_name
        self.tta = tta
        self.temperature = float(temperature)
        self.size = int(model.input_shape[1])
        self.channels = int(model.input_shape[-1])
        # A model trained on gray faces fed as RGB (the seeds' RGB nets on FER2013) must see gray
        # faces at prediction time too, or colour photos would be out of its training distribution.
        self.grayscale_source = grayscale_source
        self.detector = detector or FaceDetector()
        self._lock = threading.Lock()  # one pass at a time: neither Keras models nor interpreters are re-entrant
        # Set by `load` when `deployed` is broken and an earlier deployment serves instead.
        self.warning = ""

    @classmethod
    def load(cls, run: str | Path = registry.DEPLOYED, root: Path | None = None,
             precision: str = "float32", detector: str = DEFAULT_DETECTOR,
             litert: str | Path | None = None, litert_only: bool = False) -> "Predictor":
        """The model of `deployed`, a run name, or a run folder, ready to predict.

        `detector` names the face detector (faces.DETECTORS: "yunet", the default, or "haar");
        `litert`, a LiteRT export of this run's model to classify with (see `__init__`). With
        `litert`, `litert_only` leaves the Keras model unloaded and TensorFlow unimported: no
        Grad-CAM, and 5-15 s sooner (what a command-line analysis needs).

        A broken deployed run is not served: the latest earlier deployment that is still usable
        is loaded instead, and `warning` says so.
        """
        run_dir, warning = registry.resolve_serving(run, root)
        info = registry.load_run(run_dir)
        if info.problem:
            raise registry.RunError(f"Run {info.name} is broken: {info.problem}")
        if not info.has_weights:
            raise registry.RunError(f"Run {info.name} has no model file (comparison-only run).")
        try:
            # safe_mode refuses Lambda layers and other saved Python code: loading never runs code from a file.
            model = None if litert and litert_only else load_run_model(info)
        except Exception as error:  # Keras raises many types for a file it cannot or must not read
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise registry.RunError(f"Keras refused {info.name}/{registry.MODEL_FILE}: {reason}") from error
        try:
            predictor = cls(model, run_name=info.name, tta=tta_mode(info.config.get("tta")),
                            grayscale_source=bool(info.dataset.get("grayscale_source", True)), precision=precision,
                            detector=FaceDetector(detector), classes=info.classes, valence=info.valence,
                            temperature=info.temperature, litert=litert)
        except ValueError as error:  # a model that does not fit its run's classes, a bad valence.json
            raise registry.RunError(f"Run {info.name}: {error}") from error
        predictor.warning = warning
        return predictor

    @property
    def classifier(self) -> dict:
        """What classifies (`inference.classifier_facts`): its LiteRT file's name and precision, or Keras."""
        return classifier_facts(self._classifier if isinstance(self._classifier, LiteRTModel) else None)

    def prepare(self, crop_rgb: np.ndarray) -> np.ndarray:
        """A face crop as this model's input (size, size, channels) float32 in 0..255."""
        return model_input(crop_rgb, self.size, self.channels, self.grayscale_source)

    def seen(self, crop_rgb: np.ndarray) -> np.ndarray:
        """A face crop as the model reads it: `prepare`d, its levels stretched where the run's TTA
        mode says (`inference.as_seen`). What the app shows as the model's view and explains."""
        return as_seen(self.prepare(crop_rgb)[None], self.tta)[0]

    def classify(self, faces: np.ndarray) -> np.ndarray:
        """Probabilities (n, classes) for prepared faces (n, size, size, channels), in `classes` order:
        the views of the run's TTA mode averaged, then its temperature applied."""
        with self._lock:
            return predict_probabilities(self._classifier, faces, tta=self.tta, temperature=self.temperature)

    def predict(self, image, whole_image_fallback: bool = False,
                min_face_fraction: float | None = None) -> list[FacePrediction]:
        """Every face found in `image` (path, bytes, PIL image or HxWx3 uint8 RGB array).

        With `whole_image_fallback`, an image without a detected face is classified as one face
        (marked `whole_image`), which suits photos that are already face crops.
        `min_face_fraction` (see faces.FACE_SIZES) overrides the detector's smallest face.
        """
        rgb = load_rgb(image)
        boxes = self.detector.detect(rgb, min_face_fraction)
        whole_image = not boxes and whole_image_fallback
        if whole_image:
            boxes = [whole_image_box(rgb)]
        if not boxes:
            return []
        inputs = np.stack([self.prepare(crop_face(rgb, box)) for box in boxes])
        probabilities = self.classify(inputs)
        faces = []
        for box, row, face_input in zip(boxes, probabilities, as_seen(inputs, self.tta)):
            face = FacePrediction(box, {name: float(p) for name, p in zip(self.classes, row)}, face_input, whole_image)
            face.valence = self.valence[face.label]
            faces.append(face)
        return faces


def face_columns(classes=EMOTIONS) -> list[str]:
    """The columns of one face (`face_row`), shared by the app's export and the analysis CSV: one
    probability column per class of the run."""
    return ["face", "x", "y", "width", "height", "detection_score", "landmarks", "emotion", "confidence", "valence",
            *classes]


FACE_COLUMNS = face_columns()  # a seven-class run's


def face_row(number: int, box: FaceBox, probabilities, classes=EMOTIONS, valence: dict | None = None) -> dict:
    """One face as a table row; `number` counts from 1, as the faces are numbered on the photo.

    `probabilities` are in `classes` order (the run's; `Predictor.classes`), `valence` maps a class
    to its valence (`Predictor.valence`; valence.VALENCE when None). `landmarks` is "x y x y ..."
    in LANDMARK_NAMES order (empty when the detector gives none), so a crop can be cut again
    exactly as the model saw it.
    """
    values = [float(p) for p in probabilities]
    if len(values) != len(classes):
        raise ValueError(f"{len(values)} probabilities for {len(classes)} classes")
    best = int(np.argmax(values))
    return {"face": number, "x": box.x, "y": box.y, "width": box.width, "height": box.height,
            "detection_score": round(box.score, 3),
            "landmarks": " ".join(f"{x:.1f} {y:.1f}" for x, y in box.landmarks),
            "emotion": classes[best], "confidence": round(values[best], 4),
            "valence": (valence or VALENCE)[classes[best]],
            **{name: round(p, 4) for name, p in zip(classes, values)}}


def box_from_row(row) -> FaceBox:
    """The FaceBox a `face_row` was made from (a dict or a pandas row)."""
    numbers = [float(v) for v in str(row.get("landmarks", "") or "").split()]
    landmarks = tuple(zip(numbers[0::2], numbers[1::2]))
    return FaceBox(int(row["x"]), int(row["y"]), int(row["width"]), int(row["height"]),
                   float(row["detection_score"]), landmarks)


def results_frame(faces, file_name: str, model: str = "", classes=None) -> pd.DataFrame:
    """One row per face: file, `face_row`'s columns, whether the whole image was classified, model.

    Column names follow the CSV of `python -m emotion_core analyze`, so the app's export and the
    command line's read alike. `classes` is the predictor's (`Predictor.classes`); without it, the
    faces' own, or all seven for no faces. Each face's valence is the one its predictor gave it.
    """
    classes = tuple(classes or (faces[0].probabilities if faces else EMOTIONS))
    columns = ["file", *face_columns(classes), "whole_image", "model"]
    rows = [{"file": file_name, **face_row(number, face.box, [face.probabilities[e] for e in classes], classes,
                                           {face.label: face.valence} if face.valence else None),
             "whole_image": face.whole_image, "model": model}
            for number, face in enumerate(faces, start=1)]
    return pd.DataFrame(rows, columns=columns)
