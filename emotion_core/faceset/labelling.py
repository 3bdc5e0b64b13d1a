"""Label the faces of a finished analysis, one at a time, into a face set (the Label page).

    session = Labelling.open(output_dir, "data/my-faces")     # a new face set, or the one to continue
    face = session.next_face()                                  # None when every face has an answer
    crop = session.crop(face)                                   # HxWx3 RGB, aligned as the model saw it
    session.answer(face, "happy")                               # or NOT_A_FACE, or SKIP
    session.undo()                                              # a mis-click taken back
    session.progress()                                          # {"faces", "labelled", "not_a_face", ...}

The queue is the analysis's faces: every face of its photos (results.csv), and from its videos
(video_frames.csv) one face of each viewer a second, since neighbouring frames show nearly the same
face. An answer is on disk as soon as it is given: a label adds the aligned crop and its manifest
row through `FaceSetWriter` (the face set's counts rewritten), and every answer, skips and "not a
face" too, goes to `labelling.json` in the face set. Opening the same folder again continues: a
face with an answer is not shown again, except skipped ones, which come back after the rest.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..analysis.display import face_crops
from ..analysis.outputs import MANIFEST, OUTPUT_CSV, Output, finished_outputs
from ..analysis.results import STATUS_OK, read_results
from ..analysis.sources import ImageSource
from ..faces import FaceBox, crop_face
from ..labels import EMOTIONS
from ..predictor import box_from_row
from ..storage import now_iso, read_json, write_bytes_atomic, write_json_atomic
from ..video.pipeline import open_source
from ..video.reading import VIDEO_SUFFIXES, VideoError, open_video, upright_rgb
from ..video.tables import FRAMES_CSV, read_table
from .photos import DEFAULT_SPLIT
from .writer import MANIFEST_CSV, SUMMARY_JSON, FaceSetWriter, read_manifest

STATE_JSON = "labelling.json"  # the analysis labelled, and every answer by face
NOT_A_FACE = "not a face"
SKIP = "skip"
ANSWERS = (*EMOTIONS, NOT_A_FACE, SKIP)
# One face of a viewer per this many seconds of video: at 5 analysed frames a second, the other
# four show nearly the same face, and labelling them would cost four clicks for no new example.
VIDEO_FACE_EVERY = 1.0
# A video frame is found again by its time in the table (rounded to the millisecond there).
TIME_TOLERANCE = 0.002


class LabellingError(ValueError):
    """A face set that cannot be labelled into, or an analysis without faces; one line."""


@dataclass(frozen=True)
class FaceToLabel:
    """One face of the analysis: where it is and what the model said."""

    key: str  # "file#face" for a photo, "file@time#viewer" for a video frame
    file: str  # as the analysis names it (relative to the analysed folder or zip)
    face: int  # the face's number in its photo, or the viewer's in the video
    time_s: float | None  # seconds into the video; None for a photo
    box: FaceBox
    guess: str  # the model's emotion
    confidence: float  # its probability

    @property
    def where(self) -> str:
        """`ad_a/x.jpg, face 2` or `ad_a/clip.mp4 at 3.2 s, viewer 1`."""
        if self.time_s is None:
            return f"{self.file}, face {self.face}"
        return f"{self.file} at {self.time_s:.1f} s, viewer {self.face}"


def labelling_outputs(root: Path) -> list[Output]:
    """The finished analyses under `root` that have faces to label (photos' results.csv or videos'
    video_frames.csv), newest first, as the Analyze page lists its folders."""
    return finished_outputs(root, tables=(OUTPUT_CSV, FRAMES_CSV))


def faces_of_analysis(folder: Path) -> list[FaceToLabel]:
    """Every face of a finished analysis to label: its photos' faces, then one face of each viewer a
    second of its videos; in file, time and face order."""
    folder = Path(folder)
    faces = []
    if (folder / OUTPUT_CSV).is_file():
        photos = read_results(folder / OUTPUT_CSV)
        for row in photos[photos["status"] == STATUS_OK].to_dict("records"):
            faces.append(FaceToLabel(f"{row['file']}#{int(row['face'])}", row["file"], int(row["face"]), None,
                                     box_from_row(row), row["emotion"], float(row["confidence"])))
    if (folder / FRAMES_CSV).is_file():
        frames = read_table(folder / FRAMES_CSV)
        frames = frames[frames["status"] == STATUS_OK].sort_values(["file", "time", "face"], kind="stable")
        frames = frames.assign(slot=np.floor(frames["time"] / VIDEO_FACE_EVERY))
        for row in frames.drop_duplicates(["file", "face", "slot"]).to_dict("records"):
            time = float(row["time"])
            faces.append(FaceToLabel(f"{row['file']}@{time:.3f}#{int(row['face'])}", row["file"], int(row["face"]),
                                     time, box_from_row(row), row["emotion"], float(row["confidence"])))
    return faces


def analysed_path(manifest: dict) -> Path:
    """The folder or .zip (or single video file) the analysis read, from its analysis.json."""
    source = manifest.get("source")
    if not source:
        raise LabellingError("the analysis does not say which folder it read (no 'source' in analysis.json)")
    return Path(source)


def container_of(source: Path) -> Path:
    """Where the analysis's file names start: the folder or zip, or a single video's folder."""
    if source.is_file() and source.suffix.lower() in VIDEO_SUFFIXES:
        return source.parent
    return source


def video_frame(container: Path, name: str, time_s: float) -> np.ndarray:
    """The analysed frame of video `name` at `time_s`, upright RGB as the analysis saw it.

    Seeks to the key frame before it and decodes forward, so a face late in a long video is quick.
    """
    with zipfile.ZipFile(container) if container.is_file() else _no_archive() as archive:
        with open_video(open_source(ImageSource(name, container), archive), name) as video:
            stream = video.stream
            start = video.start or 0.0
            if stream.time_base:
                video.container.seek(int((start + time_s) / stream.time_base), stream=stream, backward=True)
            for frame in video.container.decode(stream):
                if frame.time is not None and frame.time - start >= time_s - TIME_TOLERANCE:
                    return upright_rgb(frame)
    raise VideoError(f"{name} has no frame at {time_s:.3f} s")


class _no_archive:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


class Labelling:
    """Labelling one analysis's faces into one face set folder (see the module docstring)."""

    def __init__(self, output: Path, out: Path, state: dict):
        self.output, self.out, self.state = Path(output), Path(out), state
        self.container = container_of(analysed_path(read_json(self.output / MANIFEST)))
        self.faces = faces_of_analysis(self.output)

    @classmethod
    def open(cls, output: str | Path, out: str | Path) -> "Labelling":
        """Start labelling `output` (a finished analysis folder) into the new face set `out`, or
        continue the labelling that `out` holds. Refuses, in one line, a folder that holds
        something else, or the labels of another analysis."""
        output, out = Path(output), Path(out)
        if not (output / MANIFEST).is_file():
            raise LabellingError(f"{output} is not a finished analysis (no {MANIFEST})")
        if (out / STATE_JSON).is_file():
            state = read_json(out / STATE_JSON)
            if Path(state.get("analysis", "")).resolve() != output.resolve():
                raise LabellingError(f"{out.name} holds the labels of another analysis ({Path(state['analysis']).name}); "
                                     "choose another name")
        elif out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise LabellingError(f"{out} already exists and holds other files; choose another name")
        else:
            state = {"analysis": str(output.resolve()), "split": DEFAULT_SPLIT, "answers": {}, "started": now_iso()}
        session = cls(output, out, state)
        if not session.faces:
            raise LabellingError(f"{output.name} found no face to label")
        if not (out / STATE_JSON).is_file():
            FaceSetWriter(out).abandon()  # an empty manifest: the folder is a face set from the start
        session._save_state()
        return session

    @property
    def answers(self) -> dict[str, str]:
        return self.state["answers"]

    def pending(self) -> list[FaceToLabel]:
        """The faces still to answer: those never shown first, then the skipped ones."""
        unseen = [face for face in self.faces if face.key not in self.answers]
        skipped = [face for face in self.faces if self.answers.get(face.key) == SKIP]
        return unseen + skipped

    def next_face(self) -> FaceToLabel | None:
        pending = self.pending()
        return pending[0] if pending else None

    def crop(self, face: FaceToLabel) -> np.ndarray:
        """The face turned upright and framed as FER2013 frames its faces (HxWx3 uint8 RGB)."""
        if face.time_s is None:
            row = pd.DataFrame([{"file": face.file, "x": face.box.x, "y": face.box.y, "width": face.box.width,
                                 "height": face.box.height, "detection_score": face.box.score,
                                 "landmarks": " ".join(f"{x} {y}" for x, y in face.box.landmarks)}])
            return face_crops(self.container, row)[0]
        return crop_face(video_frame(self.container, face.file, face.time_s), face.box)

    def answer(self, face: FaceToLabel, answer: str) -> Path | None:
        """Record the user's answer: an emotion saves the crop in the face set (returns its path);
        NOT_A_FACE and SKIP are only remembered. A face labelled before keeps its first label."""
        if answer not in ANSWERS:
            raise LabellingError(f"'{answer}' is not one of {', '.join(ANSWERS)}")
        if self.answers.get(face.key, SKIP) != SKIP:
            raise LabellingError(f"{face.where} already has an answer ({self.answers[face.key]})")
        crop = self.crop(face) if answer in EMOTIONS else None  # an unreadable source fails before any change
        self.answers.pop(face.key, None)  # a skipped face answered now: its answer is the latest
        self.answers[face.key] = answer
        self._save_state()
        return self._write(lambda writer: writer.add(crop, answer, self.state["split"], face.file, face.box,
                                                     face.face, face.time_s, face.guess) if crop is not None else None)

    def undo(self) -> FaceToLabel | None:
        """Take the latest answer back (a mis-click): a label's crop and manifest row go too. Returns
        that face, which is shown again, or None when nothing was answered yet."""
        if not self.answers:
            return None
        key, answer = list(self.answers.items())[-1]
        if answer in EMOTIONS:  # the latest label is the manifest's last row
            manifest = self.out / MANIFEST_CSV
            lines = manifest.read_text().splitlines(keepends=True)
            last = read_manifest(self.out).iloc[-1]
            (self.out / last["file"]).unlink(missing_ok=True)
            write_bytes_atomic(manifest, "".join(lines[:-1]).encode())
        del self.answers[key]
        self._save_state()
        self._write(lambda writer: None)
        return next(face for face in self.faces if face.key == key)

    def _write(self, change):
        """`change(writer)` on the face set opened for appending, then its counts rewritten."""
        writer = FaceSetWriter(self.out, append=True)
        try:
            return change(writer)
        finally:
            progress = self.progress()
            writer.close(source=str(self.container), analysis=self.state["analysis"],
                         **{key: progress[key] for key in ("not_a_face", "skipped", "left")})

    def progress(self) -> dict:
        """Counts of the queue: faces, labelled, not_a_face, skipped, left (never answered), and the
        labels given per emotion."""
        answers = [self.answers.get(face.key) for face in self.faces]
        labels = {name: answers.count(name) for name in EMOTIONS if answers.count(name)}
        return {"faces": len(self.faces), "labelled": sum(labels.values()), "not_a_face": answers.count(NOT_A_FACE),
                "skipped": answers.count(SKIP), "left": answers.count(None), "labels": labels}

    def _save_state(self) -> None:
        write_json_atomic(self.out / STATE_JSON, {**self.state, "updated": now_iso()})


def faceset_summary(folder: Path) -> dict | None:
    """A face set's faceset.json (counts and facts), or None when `folder` is not one."""
    path = Path(folder) / SUMMARY_JSON
    try:
        summary = read_json(path)
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def face_sets(root: Path) -> list[dict]:
    """The face sets directly under `root` (the data root), newest first: name, faces, each
    emotion's count over all splits, and what they came from (an analysis, or labelled photos)."""
    found = []
    for folder in Path(root).iterdir() if Path(root).is_dir() else []:
        summary = faceset_summary(folder)
        if summary is None or not isinstance(summary.get("counts"), dict):
            continue
        totals = {name: sum(split.get(name, 0) for split in summary["counts"].values()) for name in EMOTIONS}
        found.append({"name": folder.name, "faces": int(summary.get("faces", 0)),
                      **{name: count for name, count in totals.items()},
                      "from": Path(str(summary.get("analysis") or summary.get("source") or "")).name,
                      "updated": str(summary.get("finished", ""))})
    return sorted(found, key=lambda entry: entry["updated"], reverse=True)


__all__ = ["ANSWERS", "NOT_A_FACE", "SKIP", "STATE_JSON", "FaceToLabel", "Labelling", "LabellingError",
           "face_sets", "faces_of_analysis", "faceset_summary", "labelling_outputs"]
