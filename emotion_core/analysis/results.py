"""The results CSV: its columns and rows, reading it, and which files an earlier run finished.

One row per face (file, face number from 1, box, landmarks, emotion, valence, one probability
per class of the model's run, detection score); an image without a face or that cannot be read
gets one row saying so. A run cut short leaves
complete rows of the files it finished (and maybe part of one): `keep_finished_rows` keeps
those, so the next run continues where it stopped.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from ..faces import FaceBox
from ..labels import EMOTIONS
from ..predictor import face_columns, face_row
from ..storage import write_bytes_atomic
from .sources import ImageSource


def csv_columns(classes=EMOTIONS) -> list[str]:
    """The results CSV's columns for a model of these classes (the run's, in its output order)."""
    # `faces_in_image` lets a rerun tell a file whose rows were all written from one cut short mid-write.
    return ["file", "group", "face", "faces_in_image", *face_columns(classes)[1:], "model", "status"]


CSV_COLUMNS = csv_columns()  # a seven-class run's
INTEGER_COLUMNS = ["face", "faces_in_image", "x", "y", "width", "height"]
NUMERIC_COLUMNS = [*INTEGER_COLUMNS, "detection_score", "confidence", *EMOTIONS]


def result_classes(frame_or_columns) -> tuple[str, ...]:
    """The classes a results table has a probability column for, in canonical (the model's) order."""
    columns = set(getattr(frame_or_columns, "columns", frame_or_columns))
    return tuple(name for name in EMOTIONS if name in columns)

STATUS_OK = "ok"
STATUS_NO_FACE = "no face found"
STATUS_UNREADABLE = "unreadable"  # written as "unreadable: <reason>"


def face_rows(source: ImageSource, boxes: list[FaceBox], probabilities, model: str, classes=EMOTIONS,
              valence: dict | None = None) -> list[dict]:
    """The CSV rows of one image's faces: `probabilities` is (faces, classes), in the order of `boxes`;
    `classes` and `valence` are the predictor's (see `predictor.face_row`)."""
    return [{"file": source.name, "group": source.group, "faces_in_image": len(boxes),
             **face_row(number, box, row, classes, valence), "model": model, "status": STATUS_OK}
            for number, (box, row) in enumerate(zip(boxes, probabilities), start=1)]


def status_row(source: ImageSource, status: str, model: str, faces_in_image: int | str = "") -> dict:
    """The one CSV row of an image without a face, or that could not be read."""
    return {"file": source.name, "group": source.group, "faces_in_image": faces_in_image, "model": model,
            "status": status}


def read_results(csv_path: Path) -> pd.DataFrame:
    """The results CSV as a DataFrame: numbers as numbers, and a group or file named 'NA' kept as text."""
    frame = pd.read_csv(csv_path, keep_default_na=False, na_values={column: [""] for column in NUMERIC_COLUMNS},
                        dtype={"file": str, "group": str, "emotion": str, "valence": str, "model": str,
                               "status": str})
    return frame


def results_table(rows: list[dict], classes=EMOTIONS) -> pd.DataFrame:
    """Rows as a typed table (nullable integers, floats, text ''), the same schema for any rows.

    Ray writes each batch's table as a Parquet file of its own, so a batch of unreadable files
    only (no probability) must still have float probability columns; written with `to_csv`, the
    table gives the local engine's CSV text.
    """
    columns = csv_columns(classes)
    frame = pd.DataFrame(rows, columns=columns)
    for column in columns:
        if column in INTEGER_COLUMNS:
            frame[column] = pd.to_numeric(frame[column].replace("", None)).astype("Int64")
        elif column in NUMERIC_COLUMNS:
            frame[column] = pd.to_numeric(frame[column].replace("", None)).astype("float64")
        else:
            frame[column] = frame[column].fillna("").astype(str)
    return frame


# --- Resuming ---------------------------------------------------------------------------------------


def finished_files(csv_path: Path) -> set[str]:
    """Files whose rows an earlier, possibly interrupted, run wrote completely to `csv_path`."""
    return set(_complete_rows(Path(csv_path))[1])


def keep_finished_rows(csv_path: Path, model: str, classes=EMOTIONS) -> set[str]:
    """The files already done; rewrites the CSV without the rows of files cut short.

    Raises ValueError when `csv_path` is not a results file of a model of `classes` or holds
    another model's results.
    """
    columns = csv_columns(classes)
    rows, models, dropped = _complete_rows(csv_path, columns)
    others = sorted(set(models.values()) - {model})
    if others:
        raise ValueError(f"{csv_path} holds results of model {others[0]}, not {model}: "
                         f"analyse with that model to continue it, or choose a new CSV path.")
    if dropped:
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        write_bytes_atomic(csv_path, buffer.getvalue().encode())
    return set(models)


def _complete_rows(csv_path: Path, columns: list[str] | None = None) -> tuple[list[dict], dict[str, str], bool]:
    """(rows of completely written files, {file: model}, whether anything else was in the file).

    The header must be `columns`; None accepts the columns of any class set.
    """
    if not csv_path.exists():
        return [], {}, False
    with open(csv_path, newline="") as handle:
        text = handle.read()
    # A run killed mid-write can leave half a line; status messages are one line, so a file
    # not ending in a newline ends in a partial row.
    partial = bool(text) and not text.endswith("\n")
    if partial:
        text = text[: text.rfind("\n") + 1]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    expected = columns or csv_columns(result_classes(reader.fieldnames or []))
    if text and reader.fieldnames != expected:
        raise ValueError(f"{csv_path} is not a results file of this analysis (other columns); "
                         "choose a new CSV path.")
    by_file: dict[str, list[dict]] = {}
    for row in reader:
        by_file.setdefault(row["file"], []).append(row)
    complete = {name: rows for name, rows in by_file.items() if file_rows_complete(rows)}
    kept = [row for rows in complete.values() for row in rows]
    models = {name: rows[0]["model"] for name, rows in complete.items()}
    return kept, models, partial or len(complete) < len(by_file)


def file_rows_complete(rows: list[dict]) -> bool:
    """Whether one file's rows (CSV text values) are all there: its one status row, or faces 1..n."""
    if rows[0]["status"] != STATUS_OK:
        return len(rows) == 1
    try:
        expected = int(rows[0]["faces_in_image"])
    except (TypeError, ValueError):
        return False
    # As numbers: compared as text, an 11-face image's "10" sorts before "2" and it never counts as done.
    numbers = sorted(int(row["face"]) for row in rows if row["status"] == STATUS_OK and str(row["face"]).isdigit())
    return numbers == list(range(1, expected + 1))
