"""Emotions over time: the videos of a folder, .zip or single file, into the video tables.

    python -m emotion_core analyze videos/ --out results/ [--fps 5] [--faces large]

    summary = analyze_videos("videos/", "results/", Predictor.load("deployed"))
    seconds, facts = analyze_video(source, predictor, write_frames=rows.extend)   # one video

Each sampled frame goes the photo path (detect, align, crop: `analysis.pipeline.examine`'s steps,
`predictor.prepare`), faces of many frames are classified in one model call, and the Live page's
tracker (`live.tracking.FaceTracker`) gives each face the number of the viewer it belongs to.
Three things run at once: decoding (a thread, `reading.Video.sampled`), detection of the next
frames (here), and the model on the frames before (a thread): PyAV and the model's runtimes
release Python's lock, so on two cores the detection's time hides under the model's.
"""

from __future__ import annotations

import zipfile
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..analysis.pipeline import FACES_PER_BATCH
from ..analysis.sources import ImageSource, list_images
from ..faces import FACE_SIZES, crop_face
from ..images import IMAGE_SUFFIXES
from ..labels import EMOTIONS
from ..live.tracking import FaceTracker
from ..valence import VALENCE
from .defaults import VIDEO_FACES, VIDEO_FPS, VIEWER_FORGET
from .reading import VIDEO_SUFFIXES, VideoError, open_video
from .tables import SecondsTable, VideoTables, frame_columns, frame_face_rows, second_columns, unreadable_row

# Frames waiting for one model call: a call costs about the same for 1 face as for 64.
FRAMES_PER_BATCH = FACES_PER_BATCH
# Seconds the frames may end before a video's stated duration (an audio track a little longer,
# a container's rounding) before the video counts as truncated.
TRUNCATED_AFTER = 1.0


def list_videos(path: Path) -> list[ImageSource]:
    """The videos of a folder (recursively, groups as for photos), a .zip, or one video file."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
        return [ImageSource(path.name, path.parent, "")]
    return list_images(path, VIDEO_SUFFIXES)


def list_media(path: Path) -> tuple[list[ImageSource], list[ImageSource]]:
    """(photos, videos) of a folder or .zip, or ([], [the video]) of one video file.

    Raises ValueError when there is neither, naming the suffixes read.
    """
    path = Path(path)
    videos = list_videos(path)
    photos = [] if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES else list_images(path)
    if not photos and not videos:
        raise ValueError(f"No images ({', '.join(sorted(IMAGE_SUFFIXES))}) or videos "
                         f"({', '.join(sorted(VIDEO_SUFFIXES))}) found in {path}.")
    return photos, videos


def describe_video(facts: dict) -> str:
    """One line on a finished video: `ad_a/x.mp4: 62.0 s, 1 viewer, 310 frames analysed`, or its error."""
    if not facts.get("duration") and facts.get("error"):
        return f"{facts['file']}: error: {facts['error']}"
    viewers = facts["viewers"]
    line = (f"{facts['file']}: {facts['duration']:.1f} s, {viewers} viewer{'s' if viewers != 1 else ''}, "
            f"{facts['frames_analysed']} frames analysed")
    return line + (f" (stopped: {facts['error']})" if facts.get("error") else "")


def open_source(source: ImageSource, archive: zipfile.ZipFile | None = None):
    """What `open_video` reads for a listed video: its path, or its member of the zip as a seekable
    file (streamed, never unpacked whole)."""
    if source.container.is_dir():
        return source.container / source.name
    return (archive or zipfile.ZipFile(source.container)).open(source.name)


@dataclass
class _Pending:
    time: float
    index: int
    boxes: list
    prepared: list


def analyze_video(source: ImageSource, predictor, fps: float = VIDEO_FPS, min_face_fraction: float | None = None,
                  write_frames=None, progress=None, archive: zipfile.ZipFile | None = None,
                  opened=None) -> tuple[list[dict], dict]:
    """Analyse one video: its frames' rows go to `write_frames(rows)` as they are classified;
    returns (its seconds' rows, its facts). `opened` (a seekable binary file: an upload) is read in
    place of `source`'s file, which then only names it.

    `min_face_fraction` defaults to FACE_SIZES[VIDEO_FACES]. `progress(seconds)` is called with
    the time reached. A video that cannot be opened gives one unreadable row and its `error`; one
    that stops decoding partway keeps the frames before and says where it stopped in `error`.
    """
    classes = tuple(getattr(predictor, "classes", EMOTIONS))
    valence = getattr(predictor, "valence", VALENCE)
    model = predictor.run_name
    fraction = FACE_SIZES[VIDEO_FACES] if min_face_fraction is None else min_face_fraction
    write_frames = write_frames or (lambda rows: None)
    facts = {"file": source.name, "group": source.group, "model": model, "fps": fps, "faces": fraction}
    try:
        video = open_video(opened if opened is not None else open_source(source, archive), source.name)
    except (VideoError, OSError, zipfile.BadZipFile, KeyError) as error:
        problem = " ".join(str(error).split())
        write_frames([unreadable_row(source, problem, model)])
        return [], {**facts, "duration": 0.0, "frames_analysed": 0, "viewers": 0, "face_rows": 0, "error": problem}
    tracker = FaceTracker(half_life=0, forget_after=VIEWER_FORGET)
    seconds = SecondsTable(classes, valence)
    counts = {"frames_analysed": 0, "face_rows": 0}
    pending: list[_Pending] = []
    classified: list[tuple[list[_Pending], Future]] = []  # the batch on the model's thread, at most one
    model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="video-classify")

    def classify_pending():
        """Hands the waiting frames' faces to the model's thread, then writes the batch before them."""
        faces = [face for entry in pending for face in entry.prepared]
        if faces:  # (faces, classes): every face of every waiting frame in one model call
            future = model_thread.submit(predictor.classify, np.stack(faces))
        else:
            future = Future()
            future.set_result(np.zeros((0, len(classes))))
        write_classified()
        classified.append((list(pending), future))
        pending.clear()

    def write_classified():
        """Rows of the batch on the model's thread, once classified, in frame order (the tracker's order)."""
        if not classified:
            return
        entries, future = classified.pop()
        probabilities = future.result()
        rows, offset = [], 0
        for entry in entries:
            found = probabilities[offset: offset + len(entry.boxes)]
            offset += len(entry.boxes)
            tracks = tracker.update([(box, dict(zip(classes, row))) for box, row in zip(entry.boxes, found)],
                                    now=entry.time)
            viewer = {id(track.box): track.number for track in tracks if track.last_seen == entry.time}
            viewed = sorted(((viewer[id(box)], box, row) for box, row in zip(entry.boxes, found)),
                            key=lambda face: face[0])
            rows += frame_face_rows(source, entry.time, entry.index, viewed, classes, valence, model)
            seconds.add(entry.time, viewed)
            counts["frames_analysed"] += 1
            counts["face_rows"] += len(viewed)
        write_frames(rows)
        if progress and entries:
            progress(entries[-1].time)

    error = ""
    with video, model_thread:
        try:
            for frame in video.sampled(fps):
                boxes = predictor.detector.detect(frame.rgb, fraction)
                pending.append(_Pending(frame.time, frame.index, boxes,
                                        [predictor.prepare(crop_face(frame.rgb, box)) for box in boxes]))
                if len(pending) >= FRAMES_PER_BATCH or sum(len(entry.boxes) for entry in pending) >= FACES_PER_BATCH:
                    classify_pending()
        except VideoError as stopped:  # a damaged file: what decoded before stays
            error = str(stopped)
        classify_pending()
        write_classified()
        if not error and video.end + TRUNCATED_AFTER < video.facts.duration:
            # FFmpeg stops quietly at the end of a truncated file: the frames end before the stated duration.
            error = (f"the frames stop at {video.end:.1f} s of the {video.facts.duration:.1f} s the file states "
                     "(truncated?)")
        duration = video.duration
        facts.update({**video.facts.as_dict(), "duration": duration})
    facts.update({**counts, "viewers": len(seconds.viewers), "error": error})
    return seconds.rows(source, duration, model), facts


def analyze_videos(path: Path, out_dir: Path, predictor, fps: float = VIDEO_FPS, min_face_fraction: float | None = None,
                   progress=None) -> dict:
    """Analyse every video under `path` into `out_dir`'s video tables, skipping videos finished before.

    `progress(seconds_done, seconds_total, videos_done, videos_total)` follows the video time
    analysed (durations as the files state them). Returns {"videos", "skipped_as_done", "facts":
    {video: facts} of every finished video, this run's and earlier ones'}.
    Raises ValueError when `path` holds no video or the tables belong to another model.
    """
    path = Path(path)
    sources = list_videos(path)
    if not sources:
        raise ValueError(f"No videos ({', '.join(sorted(VIDEO_SUFFIXES))}) found in {path}.")
    classes = tuple(getattr(predictor, "classes", EMOTIONS))
    tables = VideoTables(Path(out_dir), classes)
    done = tables.keep_finished(predictor.run_name)
    todo = [source for source in sources if source.name not in done]
    archive = None if path.is_dir() or path.suffix.lower() in VIDEO_SUFFIXES else zipfile.ZipFile(path)
    with archive if archive is not None else nullcontext():
        durations = [probe_duration(source, archive) for source in todo] if progress else []
        total, finished_seconds = sum(durations), 0.0
        for position, source in enumerate(todo):
            def moved(time, before=finished_seconds, position=position):
                progress(before + min(time, durations[position]), total, position, len(todo))

            seconds, facts = analyze_video(
                source, predictor, fps, min_face_fraction, archive=archive, progress=moved if progress else None,
                write_frames=lambda rows: tables.append(tables.frames_csv, frame_columns(classes), rows))
            tables.append(tables.seconds_csv, second_columns(classes), seconds)
            tables.mark_finished(facts)
            done[source.name] = facts
            if progress:
                finished_seconds += durations[position]
                progress(finished_seconds, total, position + 1, len(todo))
    return {"videos": len(sources), "skipped_as_done": len(sources) - len(todo),
            "facts": {source.name: done[source.name] for source in sources}}


def probe_duration(source: ImageSource, archive=None) -> float:
    """A video's duration as its file states it; 0 for one that cannot be opened."""
    try:
        with open_video(open_source(source, archive), source.name) as video:
            return video.facts.duration
    except (VideoError, OSError, zipfile.BadZipFile, KeyError):
        return 0.0
