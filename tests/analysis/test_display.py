"""Tests for emotion_core.analysis.display: the face crops an app shows of a finished analysis."""

from __future__ import annotations

import numpy as np

from emotion_core.analysis import face_crops, read_results
from emotion_core.faces import face_transform
from emotion_core.predictor import box_from_row
from emotion_core.labels import EMOTIONS
from tests.analysis.photos import BrightnessPredictor
from tests.conftest import needs_photos


@needs_photos
def test_face_crops_are_the_squares_the_model_saw(reference, photo_folder):
    frame = read_results(reference[0])
    faces = frame[frame["status"] == "ok"].head(3)
    crops = face_crops(photo_folder, faces)
    # Cut again from the box and landmarks the CSV keeps: aligned squares, as large as the model's crop.
    sides = [face_transform(box_from_row(row))[1] for row in faces.to_dict("records")]
    assert all(row["landmarks"] for row in faces.to_dict("records"))
    assert [crop.shape for crop in crops] == [(side, side, 3) for side in sides]
    predictor = BrightnessPredictor()
    again = predictor.classify(np.stack([predictor.prepare(crop) for crop in crops]))
    assert np.allclose(again, faces[list(EMOTIONS)].to_numpy(), atol=1e-4)
