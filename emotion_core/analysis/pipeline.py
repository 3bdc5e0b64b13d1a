"""The analysis itself: every image of a folder or .zip, its faces found and classified, into a CSV.

    python -m emotion_core analyze photos/ --csv results.csv [--model RUN]

    counts = analyze("photos/", "results.csv", Predictor.load("deployed"))

Rows are appended as files finish, so an interrupted analysis continues where it stopped when
run again. Faces from many photos are classified together in one model call, so the model is
never the bottleneck: the cost is decoding and face detection (bench/analyze_folder.py times it).
"""

from __future__ import annotations

import csv
import functools
import itertools
import zipfile
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, nullcontext
from pathlib import Path

import numpy as np

from ..faces import crop_face
from ..images import IMAGE_SUFFIXES, ImageError, load_rgb
from ..labels import EMOTIONS
from ..valence import VALENCE
from .results import STATUS_NO_FACE, STATUS_UNREADABLE, csv_columns, face_rows, keep_finished_rows, status_row
from .sources import ImageSource, list_images

# Faces (or photos without one) gathered before one model call and one write to the CSV: a model
# call costs about the same for 1 face as for 64, and an interruption loses at most this many.
FACES_PER_BATCH = 64
# Decoding (PIL) and detection (OpenCV) both release the GIL, and the detector is locked to one
# call at a time, so a second thread decodes the next photo while the first detects. This pays
# off on full-size phone photos, whose decoding costs more than detecting; more threads would
# only queue on the detector's lock.
WORKERS = 2
LOOKAHEAD = 4  # photos decoded ahead of the writer: bounds memory to a few decoded images


def analyze(path: Path, csv_path: Path, predictor, progress=None, min_face_fraction: float | None = None) -> dict:
    """Analyse every image under `path` (folder or .zip) into `csv_path`, skipping files done before.

    `predictor` is a Predictor (anything with `detector`, `prepare`, `classify` and `run_name`; its
    `classes` and `valence` name the probability columns and the valence of each face, all seven
    and valence.VALENCE when it has none).
    `progress(done, total)` is called as files finish, counting files done in earlier runs.
    `min_face_fraction` overrides the detector's smallest face (faces.FACE_SIZES["large"] is
    several times faster on portraits and webcam shots).
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
            closing(_examined(todo, archive, predictor, min_face_fraction)) as examined:
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


def _examined(todo, archive, predictor, min_face_fraction):
    """(source, boxes, prepared faces, problem) for each source, in order.

    Reading, decoding and detection run on WORKERS threads, LOOKAHEAD files ahead of the caller.
    """
    pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="analyze")
    queue, remaining = deque(), iter(todo)
    try:
        for source in itertools.islice(remaining, LOOKAHEAD):
            queue.append(pool.submit(_examine, source, archive, predictor, min_face_fraction))
        while queue:
            result = queue.popleft().result()
            for source in itertools.islice(remaining, 1):
                queue.append(pool.submit(_examine, source, archive, predictor, min_face_fraction))
            yield result
    finally:
        # An interrupted caller waits only for the files being examined right now.
        pool.shutdown(wait=True, cancel_futures=True)


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
