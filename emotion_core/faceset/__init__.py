"""Face sets: a user's own labelled faces as a data set like any other.

    python -m emotion_core data faces PHOTOS --out DATASET     # detect and align labelled photos
    python -m emotion_core data summary DATASET
    python -m emotion_core evaluate deployed live --data DATASET --split test

A face set is a data set folder (`<split>/<class>/<file>.png`, aligned face crops framed as
FER2013 frames its faces) plus `manifest.csv`: for every crop its source file, box, landmarks,
time in the video (empty for photos), the model's guess (empty when no model guessed) and when it
was labelled; `faceset.json` holds the counts. `writer.FaceSetWriter` writes one, `photos` fills
one from folders of labelled photos.
"""

from .photos import faces_from_photos
from .writer import MANIFEST_CSV, MANIFEST_COLUMNS, SUMMARY_JSON, FaceSetWriter, read_manifest

__all__ = ["MANIFEST_COLUMNS", "MANIFEST_CSV", "SUMMARY_JSON", "FaceSetWriter", "faces_from_photos", "read_manifest"]
