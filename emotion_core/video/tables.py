"""The video tables of an output folder, their rows, and which videos an earlier run finished.

    DIR/video_frames.csv    one row per face per analysed frame, and one per analysed frame without a face
    DIR/video_seconds.csv   one row per video, viewer and whole second: mean probabilities, face share
    DIR/videos.jsonl        one line of facts per finished video, written after its rows: the resume mark

A video's rows are written as it is analysed, its line in videos.jsonl last. A run cut short
leaves rows of a video without that line: the next run drops them and analyses the video
again, whole. A video with a line is never analysed again.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.results import STATUS_NO_FACE, STATUS_OK, STATUS_UNREADABLE
from ..labels import EMOTIONS
from ..predictor import face_columns, face_row
from ..storage import write_bytes_atomic
from ..valence import VALENCE

FRAMES_CSV = "video_frames.csv"
SECONDS_CSV = "video_seconds.csv"
FINISHED_JSONL = "videos.jsonl"


def frame_columns(classes=EMOTIONS) -> list[str]:
    """video_frames.csv: where in which video, then the analysis CSV's face columns (`predictor.face_row`);
    `face` is the viewer's number, the same for one person all through the video."""
    return ["file", "group", "time", "frame", *face_columns(classes), "model", "status"]


def second_columns(classes=EMOTIONS) -> list[str]:
    """video_seconds.csv: `frames` analysed in that second, `face_share` the share of them the
    viewer's face was found in; emotion, confidence, valence and probabilities from the mean of
    those faces' probabilities (empty when the face was in none)."""
    return ["file", "group", "face", "second", "frames", "face_share", "emotion", "confidence", "valence",
            *classes, "model"]


def frame_face_rows(source, time: float, index: int, faces, classes, valence, model: str) -> list[dict]:
    """The rows of one analysed frame: `faces` is [(viewer, box, probabilities)], or [] for no face."""
    where = {"file": source.name, "group": source.group, "time": time, "frame": index}
    if not faces:
        return [{**where, "model": model, "status": STATUS_NO_FACE}]
    return [{**where, **face_row(viewer, box, probabilities, classes, valence), "model": model, "status": STATUS_OK}
            for viewer, box, probabilities in faces]


def unreadable_row(source, problem: str, model: str) -> dict:
    """The one frames row of a video that could not be read at all."""
    return {"file": source.name, "group": source.group, "model": model, "status": f"{STATUS_UNREADABLE}: {problem}"}


TEXT_COLUMNS = ["file", "group", "landmarks", "emotion", "valence", "model", "status"]


def read_table(path: Path) -> pd.DataFrame:
    """video_frames.csv or video_seconds.csv as a DataFrame: numbers as numbers (NaN where empty),
    text as text ('' where empty, and a file or group named 'NA' kept)."""
    header = pd.read_csv(path, nrows=0).columns
    numbers = [column for column in header if column not in TEXT_COLUMNS]
    return pd.read_csv(path, keep_default_na=False, na_values={column: [""] for column in numbers},
                       dtype={column: str for column in header if column in TEXT_COLUMNS})


class SecondsTable:
    """Per-second means of each viewer's probabilities, gathered frame by frame (memory: one
    vector per viewer and second, whatever the frame rate)."""

    def __init__(self, classes=EMOTIONS, valence: dict | None = None):
        self.classes = tuple(classes)
        self.valence = valence or VALENCE
        self.frames: dict[int, int] = {}  # second -> analysed frames
        self.sums: dict[tuple[int, int], np.ndarray] = {}  # (viewer, second) -> summed probabilities
        self.counts: dict[tuple[int, int], int] = {}

    def add(self, time: float, faces) -> None:
        """One analysed frame at `time`: its [(viewer, box, probabilities)]."""
        second = int(time)
        self.frames[second] = self.frames.get(second, 0) + 1
        for viewer, _box, probabilities in faces:
            key = (viewer, second)
            self.sums[key] = self.sums.get(key, 0) + np.asarray(probabilities, np.float64)
            self.counts[key] = self.counts.get(key, 0) + 1

    @property
    def viewers(self) -> list[int]:
        return sorted({viewer for viewer, _ in self.sums})

    def rows(self, source, duration: float, model: str) -> list[dict]:
        """Every viewer's every second of the video (viewer, then second); one row a second with no
        viewer for a video without a face."""
        seconds = max(math.ceil(round(duration, 3)), max(self.frames, default=-1) + 1)
        rows = []
        for viewer in self.viewers or [""]:
            for second in range(seconds):
                frames = self.frames.get(second, 0)
                row = {"file": source.name, "group": source.group, "face": viewer, "second": second,
                       "frames": frames, "model": model}
                found = self.counts.get((viewer, second), 0)
                row["face_share"] = round(found / frames, 4) if frames else ""
                if found:
                    mean = self.sums[(viewer, second)] / found
                    best = int(np.argmax(mean))
                    row.update({"emotion": self.classes[best], "confidence": round(float(mean[best]), 4),
                                "valence": self.valence[self.classes[best]],
                                **{name: round(float(p), 4) for name, p in zip(self.classes, mean)}})
                rows.append(row)
        return rows


@dataclass(frozen=True)
class VideoTables:
    """The video tables of one output folder (`folder`): paths, appending, resuming."""

    folder: Path
    classes: tuple[str, ...] = EMOTIONS

    @property
    def frames_csv(self) -> Path:
        return self.folder / FRAMES_CSV

    @property
    def seconds_csv(self) -> Path:
        return self.folder / SECONDS_CSV

    @property
    def finished_jsonl(self) -> Path:
        return self.folder / FINISHED_JSONL

    def finished(self) -> dict[str, dict]:
        """{video: facts} of the videos an earlier run finished (complete lines of videos.jsonl)."""
        if not self.finished_jsonl.exists():
            return {}
        facts = {}
        for line in self.finished_jsonl.read_text().splitlines(keepends=True):
            if not line.endswith("\n"):
                break  # a line cut short: that video was not finished
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                break
            facts[entry["file"]] = entry
        return facts

    def keep_finished(self, model: str) -> dict[str, dict]:
        """The finished videos' facts; drops every other row (of videos cut short) from the tables.

        Raises ValueError when the tables hold another model's videos or other columns.
        """
        finished = self.finished()
        others = sorted({entry.get("model") for entry in finished.values()} - {model})
        if others:
            raise ValueError(f"{self.finished_jsonl} holds videos analysed with model {others[0]}, not {model}: "
                             "analyse with that model to continue it, or choose a new output folder.")
        self.folder.mkdir(parents=True, exist_ok=True)
        _rewrite(self.finished_jsonl, "".join(json.dumps(entry) + "\n" for entry in finished.values()), None)
        for path, columns in ((self.frames_csv, frame_columns(self.classes)),
                              (self.seconds_csv, second_columns(self.classes))):
            _keep_rows(path, columns, set(finished))
        return finished

    def append(self, path: Path, columns: list[str], rows: list[dict]) -> None:
        new = not path.exists() or path.stat().st_size == 0
        with open(path, "a", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            if new:
                writer.writeheader()
            writer.writerows(rows)

    def mark_finished(self, facts: dict) -> None:
        """The video's line in videos.jsonl, after its rows: from now on it counts as done."""
        with open(self.finished_jsonl, "a") as handle:
            handle.write(json.dumps(facts) + "\n")
            handle.flush()


def _keep_rows(path: Path, columns: list[str], files: set[str]) -> None:
    """Rewrite a table with only the rows of `files` (when it holds anything else)."""
    if not path.exists():
        return
    text = _read(path)
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]  # half a row, from a run killed mid-write
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if text and reader.fieldnames != columns:
        raise ValueError(f"{path} is not a video table of this analysis (other columns); choose a new output folder.")
    rows = [row for row in reader if row["file"] in files]
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    _rewrite(path, buffer.getvalue(), text)


def _rewrite(path: Path, text: str, old: str | None) -> None:
    current = old if old is not None else (_read(path) if path.exists() else "")
    if text != current:
        write_bytes_atomic(path, text.encode())


def _read(path: Path) -> str:
    with open(path, newline="") as handle:  # the CSV's own line ends, as written
        return handle.read()
