"""Analysing an app's upload: in memory (nothing left on disk), or kept on the server to be resumable.

    # Analysed from a temporary folder deleted before this returns:
    analysis = analyze_upload([("a.jpg", data)], None, predictor, per_emotion=24)
    # Kept under `root`; an interrupted analysis continues from its results CSV:
    kept = store_uploads([("a.jpg", data)], root)
    analysis = analyze_upload([("a.jpg", data)], kept, predictor, per_emotion=24)
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from ..faces import DEFAULT_DETECTOR, FACE_SIZES
from ..images import IMAGE_SUFFIXES
from ..storage import check_free_space
from .display import Analysis, load_analysis
from .pipeline import analyze
from .results import csv_columns, finished_files, result_classes
from .sources import check_zip, image_names

KEEP_UPLOADS = 8  # upload folders kept by `store_uploads`; older ones are deleted


def upload_digest(files: list[tuple[str, bytes]]) -> str:
    """A name for an upload of (name, bytes) files, the same whatever their order."""
    digest = hashlib.sha256()
    for name, data in sorted(files):
        digest.update(hashlib.sha256(name.encode()).digest() + hashlib.sha256(data).digest())
    return digest.hexdigest()[:20]


def count_images(files: list[tuple[str, bytes]], suffixes=IMAGE_SUFFIXES) -> int:
    """How many images (or files ending in one of `suffixes`: video.VIDEO_SUFFIXES) `analyze` will
    find in an upload, read in memory, nothing written.

    Raises ValueError for a .zip uploaded with other files, or one that is not a zip.
    """
    if _is_zip_upload(files):
        with zipfile.ZipFile(io.BytesIO(files[0][1])) as archive:
            return len(image_names((info.filename for info in archive.infolist() if not info.is_dir()), suffixes))
    return len(image_names((_safe_name(name) for name, _ in files), suffixes))


def kept_files_done(kept: Path | None, run_name: str, face_size: str = "any",
                    detector: str = DEFAULT_DETECTOR) -> int:
    """How many files of a kept upload (`store_uploads`) `run_name` already analysed; 0 when not kept.

    Results kept by an older version of the app (other columns: no valence) are deleted, so the
    upload is analysed afresh instead of failing.
    """
    if not kept:
        return 0
    csv_path = results_path(kept, run_name, face_size, detector)
    _discard_stale_results(csv_path)
    return len(finished_files(csv_path))


def analyze_upload(files: list[tuple[str, bytes]], kept: Path | None, predictor, progress=None, *,
                   per_emotion: int, face_size: str = "any") -> Analysis:
    """Analyse uploaded (name, bytes) files: in memory when `kept` is None, else resumably.

    `kept` is what `store_uploads` returned for `files`: its results CSV (`results_path`) is
    continued when files are left, and read as it is when the analysis is complete.
    `face_size` is a key of faces.FACE_SIZES; `per_emotion` as in `load_analysis`.
    """
    min_face_fraction = FACE_SIZES[face_size]
    if kept is None:
        return analyze_in_memory(files, predictor, progress, per_emotion=per_emotion,
                                 min_face_fraction=min_face_fraction)
    csv_path = results_path(kept, predictor.run_name, face_size, predictor.detector.name)
    if kept_files_done(kept, predictor.run_name, face_size, predictor.detector.name) < count_images(files):
        analyze(kept, csv_path, predictor, progress, min_face_fraction)
    return load_analysis(kept, csv_path, predictor, per_emotion=per_emotion)


def analyze_in_memory(files: list[tuple[str, bytes]], predictor, progress=None, *, per_emotion: int,
                      min_face_fraction: float | None = None) -> Analysis:
    """Analyse uploaded (name, bytes) files from a private temporary folder, deleted before returning.

    Nothing of the upload is left on disk, even when interrupted; the result holds all an app shows
    (see `load_analysis`). Not resumable: `store_uploads` keeps an upload for that.
    """
    _is_zip_upload(files)  # refuse a bad upload before writing any of it
    with tempfile.TemporaryDirectory(prefix="emotion-upload-") as folder:
        source = write_upload(files, Path(folder) / "upload")
        csv_path = Path(folder) / "results.csv"
        analyze(source, csv_path, predictor, progress, min_face_fraction)
        return load_analysis(source, csv_path, predictor, per_emotion)


def store_uploads(files: list[tuple[str, bytes]], root: Path) -> Path:
    """Save uploaded (name, bytes) files under `root` in a folder named by their content.

    Returns what to analyse: the .zip when one zip was uploaded, else the folder of images.
    The same upload gets the same folder, so its results CSV (kept beside it) lets an interrupted
    analysis continue. Only the KEEP_UPLOADS most recently used folders are kept.
    """
    _is_zip_upload(files)  # refuse a bad upload before writing any of it
    root = Path(root)
    folder = root / upload_digest(files)
    if not folder.exists():
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=root, prefix=".upload-"))
        try:
            write_upload(files, staging)
            os.replace(staging, folder)  # whole or not at all: a half-written upload is never reused
        except (OSError, ValueError):  # ValueError: no room on the disk (nothing of it written)
            shutil.rmtree(staging, ignore_errors=True)
            if not folder.exists():
                raise
    os.utime(folder)  # "most recently used", for pruning
    _prune_uploads(root, KEEP_UPLOADS)
    target = folder / "upload.zip"
    return target if target.exists() else folder / "images"


def discard_uploads(files: list[tuple[str, bytes]], root: Path) -> bool:
    """Delete what `store_uploads` kept of this upload under `root`, results included; False if nothing."""
    folder = Path(root) / upload_digest(files)
    if not folder.is_dir():
        return False
    shutil.rmtree(folder)
    return True


def results_path(upload: Path, run_name: str, face_size: str = "any", detector: str = DEFAULT_DETECTOR) -> Path:
    """Where the results CSV of `upload` (from `store_uploads`) analysed by `run_name` is kept.

    One file per face size (faces.FACE_SIZES) and detector, so continuing never mixes settings' rows.
    """
    suffix = ("" if face_size == "any" else f"-{face_size}-faces") + ("" if detector == DEFAULT_DETECTOR else f"-{detector}")
    return Path(upload).parent / f"results-{run_name}{suffix}.csv"


def _discard_stale_results(csv_path: Path) -> None:
    if not csv_path.is_file():
        return
    with open(csv_path, newline="") as handle:
        header = handle.readline().strip().split(",")
    if header != [""] and header != csv_columns(result_classes(header)):
        csv_path.unlink()


def _is_zip_upload(files: list[tuple[str, bytes]]) -> bool:
    """Whether the upload is one .zip (else images); raises ValueError for a mix, a broken zip or a
    zip bomb (`sources.check_zip`)."""
    zips = [name for name, _ in files if name.lower().endswith(".zip")]
    if zips and len(files) > 1:
        raise ValueError("Upload either one .zip or several images, not both.")
    if zips:
        data = files[0][1]
        if not zipfile.is_zipfile(io.BytesIO(data)):  # BytesIO shares the upload's bytes: no copy
            raise ValueError(f"{zips[0]} is not a valid .zip file.")
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_zip(archive, len(data), zips[0])
    return bool(zips)


def write_upload(files: list[tuple[str, bytes]], folder: Path) -> Path:
    """Write the upload into `folder` (created): upload.zip, or images/ of safely named files
    (whatever they are: an upload of videos too). Returns what to analyse.

    ValueError in one line, before anything is written, when the upload would not fit on the disk
    (`storage.check_free_space`). The bytes are written as they are held: one upload in memory once.
    """
    check_free_space(folder.parent, sum(len(data) for _, data in files), "The upload")
    folder.mkdir(exist_ok=True)
    if _is_zip_upload(files):
        target = folder / "upload.zip"
        target.write_bytes(files[0][1])
        return target
    images = folder / "images"
    images.mkdir()
    for name, data in files:
        (images / _unique_name(images, name)).write_bytes(data)
    return images


def _safe_name(name: str) -> str:
    """An uploaded file's base name: no folders, no leading dot."""
    return PurePosixPath(name.replace("\\", "/")).name.lstrip(".") or "image"


def _unique_name(folder: Path, name: str) -> str:
    """A safe base name (`_safe_name`), numbered when an earlier upload took it."""
    base = _safe_name(name)
    stem, suffix = os.path.splitext(base)
    candidate, number = base, 1
    while (folder / candidate).exists():
        number += 1
        candidate = f"{stem}-{number}{suffix}"
    return candidate


def _prune_uploads(root: Path, keep: int) -> None:
    folders = sorted((p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
                     key=lambda p: p.stat().st_mtime, reverse=True)
    for old in folders[keep:]:
        shutil.rmtree(old, ignore_errors=True)
