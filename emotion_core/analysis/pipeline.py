"""The analysis itself: every image of a folder or .zip, its faces found and classified, into a CSV.

    python -m emotion_core analyze photos/ --csv results.csv [--model RUN]

    counts = analyze("photos/", "results.csv", Predictor.load("deployed"))

Rows are appended as files finish, so an interrupted analysis continues where it stopped when
run again. Faces from many photos are classified together in one model call, so the model is
never the bottleneck: the cost is decoding and face detection (bench/analyze_folder.py times it).
For many photos with faces of any size that work runs in detection processes, one per CPU:
YuNet holds Python's lock while it runs, so threads cannot spread it over the cores. The
processes import no TensorFlow and start in about a second; the model stays in this process.
"""

from __future__ import annotations

import csv
import functools
import itertools
import multiprocessing
import os
import signal
import sys
import zipfile
import zlib
from collections import deque
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..faces import FACE_SIZES, FaceDetector, crop_face, model_input
from ..images import IMAGE_SUFFIXES, ImageError, load_rgb
from ..labels import EMOTIONS
from ..valence import VALENCE
from .results import STATUS_NO_FACE, STATUS_UNREADABLE, csv_columns, face_rows, keep_finished_rows, status_row
from .sources import ImageSource, list_images

# Faces (or photos without one) gathered before one model call and one write to the CSV: a model
# call costs about the same for 1 face as for 64, and an interruption loses at most this many.
FACES_PER_BATCH = 64
# In one process (a few photos, or `processes=1`): decoding releases the GIL and the detector is
# locked to one call at a time, so a second thread decodes the next photo while the first
# detects; more threads would only queue on the detector's lock.
WORKERS = 2
LOOKAHEAD = 4  # photos examined ahead of the writer, per worker: bounds memory to a few images
# Detection processes: at most this many by default (each holds its own detector, ~100 MB), and
# only for this many photos or more: below it, starting them costs more than they save.
MAX_PROCESSES = 8
PROCESS_MIN_PHOTOS = 40
# One thread per process: the processes already fill the cores, and OpenMP (YuNet) or
# TensorFlow spreading each over every core would only make them fight. Set before they load.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}


def analyze(path: Path, csv_path: Path, predictor, progress=None, min_face_fraction: float | None = None,
            processes: int | None = None) -> dict:
    """Analyse every image under `path` (folder or .zip) into `csv_path`, skipping files done before.

    `predictor` is a Predictor (anything with `detector`, `prepare`, `classify` and `run_name`; its
    `classes` and `valence` name the probability columns and the valence of each face, all seven
    and valence.VALENCE when it has none).
    `progress(done, total)` is called as files finish, counting files done in earlier runs.
    `min_face_fraction` overrides the detector's smallest face (faces.FACE_SIZES["large"] is
    several times faster on portraits and webcam shots).
    `processes`: how many detection processes decode, detect and crop (default: `default_processes`,
    one per CPU for many photos with faces of any size); 1 does it all in this process.
    Returns counts: images, skipped_as_done, faces, no_face, unreadable (the last three for this run).
    Raises ValueError when `path` holds no images or `csv_path` belongs to another model.
    """
    path, csv_path = Path(path), Path(csv_path)
    sources = list_images(path)
    if not sources:
        raise ValueError(f"No images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {path}.")
    classes = tuple(getattr(predictor, "classes", EMOTIONS))
    done = keep_finished_rows(csv_path, predictor.run_name, classes)
    todo = [source for source in sources if source.name not in done]
    counts = {"images": len(sources), "skipped_as_done": len(sources) - len(todo), "faces": 0,
              "no_face": 0, "unreadable": 0}
    if progress:
        progress(counts["skipped_as_done"], len(sources))
    new_file = not csv_path.exists() or csv_path.stat().st_size == 0
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    archive = None if path.is_dir() else zipfile.ZipFile(path)
    with open(csv_path, "a", newline="") as handle, archive if archive is not None else nullcontext(), \
            closing(_examined(todo, archive, predictor, min_face_fraction, processes)) as examined:
        writer = csv.DictWriter(handle, fieldnames=csv_columns(classes))
        if new_file:
            writer.writeheader()
        # Files wait here, in order, for one batched model call; rows are written in file order,
        # so a resumed run writes the same file as one that was never interrupted.
        pending = []
        for position, (source, boxes, faces, problem) in enumerate(examined, start=1):
            pending.append((source, boxes, faces, problem))
            waiting_faces = sum(len(entry[2]) for entry in pending)
            if max(waiting_faces, len(pending)) >= FACES_PER_BATCH or position == len(todo):
                _classify_and_write(pending, predictor, writer, counts)
                pending = []
                handle.flush()  # rows on disk = files a rerun will skip
            if progress:
                progress(counts["skipped_as_done"] + position, len(sources))
    return counts


def _examined(todo, archive, predictor, min_face_fraction, processes):
    """(source, boxes, prepared faces, problem) for each source, in order.

    Reading, decoding, detection and cropping run in detection processes, or on WORKERS threads
    here, a few files a worker ahead of the caller (and two batches more for processes).
    """
    if processes is None:
        fraction = getattr(predictor.detector, "min_face_fraction", 0.0) if min_face_fraction is None else min_face_fraction
        processes = default_processes(len(todo), fraction)
    if processes < 1:
        raise ValueError(f"processes must be at least 1, got {processes}")
    work = FaceWork.of(predictor) if processes > 1 else None
    if work is None:
        pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="analyze")
        submit = functools.partial(pool.submit, _examine, archive=archive, predictor=predictor,
                                   min_face_fraction=min_face_fraction)
        ahead = LOOKAHEAD
    else:
        # spawn, not fork: a forked copy of a process running TensorFlow's threads can hang.
        pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_start_detection_process, initargs=(work,))
        submit = functools.partial(pool.submit, _examine_in_process, min_face_fraction=min_face_fraction)
        # The processes keep working while this one classifies a batch; what waits is crops, not photos.
        ahead = LOOKAHEAD * processes + 2 * FACES_PER_BATCH
    queue, remaining = deque(), iter(todo)
    try:
        # The first submissions start the processes (one each, up to `processes`).
        with _caller_script_hidden() if work is not None else nullcontext():
            for source in itertools.islice(remaining, ahead):
                queue.append(submit(source))
        while queue:
            result = queue.popleft().result()
            for source in itertools.islice(remaining, 1):
                queue.append(submit(source))
            yield result
    except BrokenProcessPool:
        raise RuntimeError("a face detection process stopped unexpectedly (killed, or out of memory); the "
                           "finished files are saved: run the same analysis again to continue") from None
    finally:
        # An interrupted caller waits only for the files being examined right now.
        pool.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _caller_script_hidden():
    """While detection processes start, the caller's main module is hidden from them.

    A spawned process runs the parent's main module again (as `__mp_main__`) unless it is hidden:
    `python -m emotion_core analyze` would start the command again in each process, and so
    would a user's script without an `if __name__ == "__main__":` guard. The processes need
    nothing from it: their work is in this module.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    hidden = {key: main.__dict__.pop(key) for key in ("__spec__", "__file__") if key in main.__dict__}
    main.__spec__ = None  # multiprocessing reads it as an attribute
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(hidden)


def default_processes(photos: int, min_face_fraction: float = FACE_SIZES["any"]) -> int:
    """Detection processes for `photos` images: one per CPU this process may use, or 1 (this
    process) for a few photos, or when only large faces are sought: scanning a small copy then
    costs a few ms a photo, no more than handing the photo to another process (measured in
    bench/analyze_folder.py: 1,000 photos in 11 s in one process, 11-18 s in two)."""
    if photos < PROCESS_MIN_PHOTOS or min_face_fraction >= FACE_SIZES["large"]:
        return 1
    return max(1, min(MAX_PROCESSES, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


@dataclass(frozen=True)
class FaceWork:
    """What a detection process needs of a Predictor: its face detector and its model's input."""

    detector_name: str
    min_face_fraction: float
    detect_max_side: int
    size: int
    channels: int
    grayscale_source: bool

    @classmethod
    def of(cls, predictor) -> "FaceWork | None":
        """The predictor's face work; None for one that does not use a FaceDetector (a stand-in)."""
        detector = getattr(predictor, "detector", None)
        if not isinstance(detector, FaceDetector) or not all(hasattr(predictor, key) for key in ("size", "channels")):
            return None
        return cls(detector.name, detector.min_face_fraction, detector.detect_max_side, predictor.size,
                   predictor.channels, bool(getattr(predictor, "grayscale_source", True)))

    @functools.cached_property
    def detector(self) -> FaceDetector:
        return FaceDetector(self.detector_name, self.min_face_fraction, self.detect_max_side)

    def prepare(self, crop_rgb: np.ndarray) -> np.ndarray:
        return model_input(crop_rgb, self.size, self.channels, self.grayscale_source)


# A detection process's own state: its FaceWork, and the zips it has open (ZipFile is per process).
_process_work: FaceWork | None = None
_process_archives: dict[Path, zipfile.ZipFile] = {}


def _start_detection_process(work: FaceWork) -> None:
    global _process_work
    os.environ.update(ONE_THREAD)  # before YuNet's OpenMP runtime loads, at the first photo
    cv2.setNumThreads(1)
    # Ctrl+C is this process's parent's to handle: it stops handing out photos and shuts the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _process_work = work


def _examine_in_process(source: ImageSource, min_face_fraction):
    return examine(source, functools.partial(_read_in_process, source), _process_work, min_face_fraction)


def _read_in_process(source: ImageSource) -> bytes:
    """The file's bytes, from a zip this process opened once (a zip gone bad is that file's row)."""
    if source.container.is_dir():
        return source.read()
    if source.container not in _process_archives:
        _process_archives[source.container] = zipfile.ZipFile(source.container)
    return source.read(_process_archives[source.container])


# What reading and decoding one file can raise; each becomes that file's "unreadable" row.
# RuntimeError: an encrypted zip member; NotImplementedError: its compression.
READ_ERRORS = (ImageError, OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError)


def _examine(source: ImageSource, archive, predictor, min_face_fraction):
    return examine(source, functools.partial(source.read, archive), predictor, min_face_fraction)


def examine(source: ImageSource, read, predictor, min_face_fraction):
    """(source, boxes, prepared faces, problem) of one image, `read()` giving its bytes.

    The per-photo work of every engine: decode (with images.load_rgb's guards), detect, align
    and crop each face. A file that cannot be read or decoded gives a one-line `problem`.
    """
    try:
        rgb = load_rgb(read())
    except READ_ERRORS as error:
        return source, [], [], " ".join(str(error).split()) or type(error).__name__
    boxes = predictor.detector.detect(rgb, min_face_fraction)
    return source, boxes, [predictor.prepare(crop_face(rgb, box)) for box in boxes], None


def _classify_and_write(pending, predictor, writer, counts: dict) -> None:
    writer.writerows(classified_rows(pending, predictor, counts))


def classified_rows(pending, predictor, counts: dict) -> list[dict]:
    """The results rows of examined images (`examine`'s tuples), their faces classified in one call.

    Adds to `counts`' faces, no_face and unreadable.
    """
    classes = tuple(getattr(predictor, "classes", EMOTIONS))
    valence = getattr(predictor, "valence", VALENCE)
    faces = [face for _, _, prepared, _ in pending for face in prepared]
    # (faces, classes): every face of every waiting photo in one model call
    probabilities = predictor.classify(np.stack(faces)) if faces else np.zeros((0, len(classes)))
    rows, offset = [], 0
    for source, boxes, prepared, problem in pending:
        if problem:
            rows.append(status_row(source, f"{STATUS_UNREADABLE}: {problem}", predictor.run_name))
            counts["unreadable"] += 1
        elif not boxes:
            rows.append(status_row(source, STATUS_NO_FACE, predictor.run_name, faces_in_image=0))
            counts["no_face"] += 1
        else:
            rows.extend(face_rows(source, boxes, probabilities[offset: offset + len(prepared)],
                                  predictor.run_name, classes, valence))
            offset += len(prepared)
            counts["faces"] += len(prepared)
    return rows
