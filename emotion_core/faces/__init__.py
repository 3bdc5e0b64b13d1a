"""Faces in a photo, and each one as the 48x48 input an FER2013 model expects.

    detector = FaceDetector()                              # YuNet (default) or FaceDetector("haar")
    for box in detector.detect(rgb):                       # rgb from images.load_rgb
        face = prepare_face(crop_face(rgb, box))           # (48, 48, 1) float32 in 0..255

Layers: `boxes` (FaceBox, suppression), `yunet` and `haar` (the detectors), `detection` (choice
of detector and face size), `crops` (aligned crops and model input). `whole_image_box` is the
fallback for images that are already a face crop.
"""

from .boxes import LANDMARK_NAMES, FaceBox, whole_image_box
from .crops import FER_FRAMING, crop_face, face_transform, model_input, prepare_face
from .detection import (DEFAULT_DETECTOR, DETECTOR_DESCRIPTIONS, DETECTORS, FACE_SIZE_DESCRIPTIONS, FACE_SIZE_HELP,
                        FACE_SIZES, FaceDetector)

__all__ = ["DEFAULT_DETECTOR", "DETECTORS", "DETECTOR_DESCRIPTIONS", "FACE_SIZES", "FACE_SIZE_DESCRIPTIONS",
           "FACE_SIZE_HELP", "FER_FRAMING", "LANDMARK_NAMES", "FaceBox", "FaceDetector", "crop_face", "face_transform",
           "model_input", "prepare_face", "whole_image_box"]
