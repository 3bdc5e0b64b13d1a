"""What an app shows of a finished analysis, held in memory: the results and crops of the faces shown.

    analysis = load_analysis("photos/", "results.csv", predictor, per_emotion=24)
    analysis.thumbnails[row]     # a 128x128 RGB crop of the face in row `row` of analysis.results
"""

from __future__ import annotations

import io
import zipfile
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..faces import crop_face
from ..predictor import box_from_row
from ..images import load_rgb
from .outputs import Output
from .results import read_results
from .sources import ImageSource
from .summary import shown_faces

# Side of the face thumbnails an `Analysis` holds: the app's grid shows them 96 px wide, and at
# 49 kB each, the faces it can show (a few dozen per emotion and folder) stay within a few MB.
THUMBNAIL_PIXELS = 128


def face_crops(path: Path, faces: pd.DataFrame) -> list[np.ndarray]:
    """The square RGB crop of each face row (file, x, y, width, height), as the model saw it in colour.

    `path` is the folder or .zip that was analysed; each file is decoded once, as `analyze` did.
    """
    path = Path(path)
    archive = None if path.is_dir() else zipfile.ZipFile(path)
    crops, decoded = [], {}
    with archive if archive is not None else nullcontext():
        for row in faces.itertuples(index=False):
            if row.file not in decoded:
                decoded[row.file] = load_rgb(ImageSource(row.file, path).read(archive))
            crops.append(crop_face(decoded[row.file], box_from_row(row._asdict())))
    return crops


@dataclass(frozen=True, eq=False)
class Analysis:
    """A finished analysis held in memory, so showing it again needs no photo on disk."""

    csv: bytes  # the results CSV, byte for byte as `analyze` wrote it
    results: pd.DataFrame  # `read_results` of it
    # Keyed by the row of `results`, for the faces of `shown_faces` only:
    thumbnails: dict[int, np.ndarray]  # (THUMBNAIL_PIXELS, THUMBNAIL_PIXELS, 3) uint8 face crops
    model_inputs: dict[int, np.ndarray]  # each face as the model saw it (`predictor.seen`)


def load_analysis(path: Path, csv_path: Path, predictor, per_emotion: int) -> Analysis:
    """Read a finished analysis of `path` (folder or .zip) into memory, with the faces an app shows.

    `per_emotion` is how many faces of each emotion (overall and per group) the app can show.
    """
    data = Path(csv_path).read_bytes()
    frame = read_results(io.BytesIO(data))
    faces = shown_faces(frame, per_emotion)
    crops = face_crops(path, faces)
    return Analysis(
        data, frame,
        thumbnails={row: _thumbnail(crop) for row, crop in zip(faces.index, crops)},
        model_inputs={row: predictor.seen(crop) for row, crop in zip(faces.index, crops)})


def _thumbnail(crop: np.ndarray) -> np.ndarray:
    image = Image.fromarray(crop).resize((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS), Image.Resampling.LANCZOS)
    return np.asarray(image)


def load_output(output: Output, predictor, per_emotion: int) -> Analysis:
    """A finished output folder (`analyze --out`, either engine) in memory.

    Its faces come too when its photos (the manifest's source) are a folder or .zip on this
    machine and `predictor` (of the run that analysed them) is given; otherwise the Analysis holds
    the results only (no thumbnails). Raises ImageError or OSError when the photos changed since.
    """
    source = str(output.manifest.get("source", ""))
    if predictor is not None and source and "://" not in source and Path(source).exists():
        return load_analysis(Path(source), output.csv_path, predictor, per_emotion)
    data = output.csv_path.read_bytes()
    return Analysis(data, read_results(io.BytesIO(data)), thumbnails={}, model_inputs={})
