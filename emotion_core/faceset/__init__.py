"""Face sets: a user's own labelled faces as a data set like any other.

    python -m emotion_core data faces PHOTOS --out DATASET     # detect and align labelled photos
    python -m emotion_core data summary DATASET
    python -m emotion_core evaluate deployed live --data DATASET --split test

A face set is a data set folder (`<split>/<class>/<file>.png`, aligned face crops framed as
FER2013 frames its faces) plus `manifest.csv`: for every crop its source file, box, landmarks,
time in the video (empty for photos), the model's guess (empty when no model guessed) and when it
was labelled; `faceset.json` holds the counts. `writer.FaceSetWriter` writes one, `photos` fills
one from folders of labelled photos, `labelling.Labelling` from a finished analysis's faces, one
answer at a time (the Label page).
"""

from .labelling import (ANSWERS, NOT_A_FACE, SKIP, Labelling, LabellingError, face_sets, faceset_summary,
                        labelling_outputs)
from .photos import faces_from_photos
from .writer import MANIFEST_CSV, MANIFEST_COLUMNS, SUMMARY_JSON, FaceSetWriter, read_manifest

__all__ = ["ANSWERS", "MANIFEST_COLUMNS", "MANIFEST_CSV", "NOT_A_FACE", "SKIP", "SUMMARY_JSON", "FaceSetWriter", "Labelling",
           "LabellingError", "face_sets", "faces_from_photos", "faceset_summary", "labelling_outputs", "read_manifest"]
