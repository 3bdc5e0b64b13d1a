"""Batch analysis: the emotional response to an ad, from a folder (or .zip) of face photos.

    python -m emotion_core analyze photos/ --csv results.csv [--model RUN]

One CSV row per face (file, face index, box, emotion, the 7 probabilities, detection score);
an image without a face or that cannot be read gets one row saying so. Rows are appended as
files finish, so an interrupted analysis continues where it stopped when run again.
Faces from many photos are classified together in one batch, which is what makes a folder
of a thousand photos take about a minute rather than several.
"""

from __future__ import annotations

import contextlib
import csv
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from .faces import crop_face
from .images import ImageError, load_rgb
from .labels import EMOTIONS

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
CSV_COLUMNS = ["file", "group", "face", "x", "y", "width", "height", "detection_score", "emotion",
               "confidence", *EMOTIONS, "status"]
FACES_PER_BATCH = 64  # faces gathered from several photos before one model call


@dataclass(frozen=True)
class ImageSource:
    """One image in a folder or a zip: its name as shown in the CSV and how to read its bytes."""

    name: str  # path relative to the folder or inside the zip, with '/' separators
    container: Path

    @property
    def group(self) -> str:
        """The first folder of the name (one per ad or campaign), '' for top-level files."""
        parts = PurePosixPath(self.name).parts
        return parts[0] if len(parts) > 1 else ""

    def read(self, archive: zipfile.ZipFile | None = None) -> bytes:
        """The file's bytes; pass the open archive when reading many files from one zip."""
        if self.container.is_dir():
            return (self.container / self.name).read_bytes()
        if archive is not None:
            return archive.read(self.name)
        with zipfile.ZipFile(self.container) as opened:
            return opened.read(self.name)


def list_images(path: Path) -> list[ImageSource]:
    """Every image file under a folder (recursively) or inside a .zip, in a stable order."""
    path = Path(path)
    if path.is_dir():
        names = [p.relative_to(path).as_posix() for p in path.rglob("*")
                 if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist()
                     if not info.is_dir() and PurePosixPath(info.filename).suffix.lower() in IMAGE_SUFFIXES
                     and not info.filename.startswith("__MACOSX/")]
    else:
        raise ValueError(f"{path} is neither a folder nor a .zip file.")
    return [ImageSource(name, path) for name in sorted(names)
            if not any(part.startswith(".") for part in PurePosixPath(name).parts)]


def finished_files(csv_path: Path) -> set[str]:
    """Files that already have rows in an earlier, possibly interrupted, CSV."""
    if not Path(csv_path).exists():
        return set()
    with open(csv_path, newline="") as handle:
        return {row["file"] for row in csv.DictReader(handle)}


def _face_rows(source: ImageSource, boxes, probabilities) -> list[dict]:
    rows = []
    for index, (box, row) in enumerate(zip(boxes, probabilities)):
        label = int(np.argmax(row))
        rows.append({"file": source.name, "group": source.group, "face": index, "x": box.x, "y": box.y,
                     "width": box.width, "height": box.height, "detection_score": round(box.score, 3),
                     "emotion": EMOTIONS[label], "confidence": round(float(row[label]), 4),
                     **{name: round(float(p), 4) for name, p in zip(EMOTIONS, row)}, "status": "ok"})
    return rows


def _status_row(source: ImageSource, status: str) -> dict:
    return {"file": source.name, "group": source.group, "status": status}


def analyze(path: Path, csv_path: Path, predictor, progress=None) -> dict:
    """Analyse every image under `path` into `csv_path`, skipping files done in an earlier run.

    `progress(done, total)` is called as files finish. Returns counts of what was done.
    """
    sources = list_images(path)
    done = finished_files(csv_path)
    todo = [source for source in sources if source.name not in done]
    csv_path = Path(csv_path)
    new_file = not csv_path.exists()
    counts = {"images": len(sources), "skipped_as_done": len(sources) - len(todo), "faces": 0,
              "no_face": 0, "unreadable": 0}
    archive = zipfile.ZipFile(path) if not Path(path).is_dir() else None
    with open(csv_path, "a", newline="") as handle, archive or contextlib.nullcontext():
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        if new_file:
            writer.writeheader()
        pending = []  # (source, boxes, prepared faces) waiting for one batched model call
        for position, source in enumerate(todo, start=1):
            try:
                rgb = load_rgb(source.read(archive))
            except (ImageError, OSError, zipfile.BadZipFile) as error:
                writer.writerow(_status_row(source, f"unreadable: {error}"))
                counts["unreadable"] += 1
            else:
                boxes = predictor.detector.detect(rgb)
                if not boxes:
                    writer.writerow(_status_row(source, "no face found"))
                    counts["no_face"] += 1
                else:
                    pending.append((source, boxes, [predictor.prepare(crop_face(rgb, box)) for box in boxes]))
            if sum(len(faces) for _, _, faces in pending) >= FACES_PER_BATCH or position == len(todo):
                counts["faces"] += _flush(pending, predictor, writer)
                handle.flush()  # rows on disk = files a rerun will skip
                pending = []
            if progress:
                progress(position, len(todo))
    return counts


def _flush(pending, predictor, writer) -> int:
    if not pending:
        return 0
    faces = np.stack([face for _, _, prepared in pending for face in prepared])
    probabilities = predictor.classify(faces)
    offset = 0
    for source, boxes, prepared in pending:
        writer.writerows(_face_rows(source, boxes, probabilities[offset: offset + len(prepared)]))
        offset += len(prepared)
    return len(faces)


# --- Summaries of a results CSV -------------------------------------------------------------------


def emotion_summary(frame, by: str | None = None):
    """Per emotion: faces predicted, their share, and the mean probability with a 95% interval.

    `frame` is the results CSV as a pandas DataFrame; `by="group"` gives one block per group.
    """
    import pandas as pd

    faces = frame[frame["status"] == "ok"]
    groups = [("all", faces)] if by is None else list(faces.groupby(by, sort=True))
    rows = []
    for group, members in groups:
        total = len(members)
        for emotion in EMOTIONS:
            values = members[emotion].astype(float).to_numpy()
            mean = float(values.mean()) if total else 0.0
            # Normal approximation; with few faces the interval is wide, which is the honest answer.
            half_width = 1.96 * float(values.std(ddof=1)) / math.sqrt(total) if total > 1 else float("nan")
            predicted = int((members["emotion"] == emotion).sum())
            rows.append({"group": group, "emotion": emotion, "faces": predicted,
                         "share": predicted / total if total else 0.0, "mean_probability": mean,
                         "ci_low": max(0.0, mean - half_width), "ci_high": min(1.0, mean + half_width)})
    return pd.DataFrame(rows)


def image_summary(frame) -> dict:
    """Images analysed, with faces, without faces, unreadable; faces found."""
    per_file = frame.groupby("file")["status"].first()
    return {
        "images": int(per_file.size),
        "with_faces": int((per_file == "ok").sum()),
        "no_face": int((per_file == "no face found").sum()),
        "unreadable": int(per_file.str.startswith("unreadable").sum()),
        "faces": int((frame["status"] == "ok").sum()),
    }
