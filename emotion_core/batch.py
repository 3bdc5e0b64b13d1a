"""Batch analysis: the emotional response to an ad, from a folder (or .zip) of face photos.

    python -m emotion_core analyze photos/ --csv results.csv [--model RUN]

    from emotion_core import Predictor, batch
    batch.analyze("photos/", "results.csv", Predictor.load("deployed"))
    frame = batch.read_results("results.csv")
    batch.emotion_summary(frame, by="group")        # shares and mean probabilities per sub-folder

    # The app: an upload analysed from a temporary folder deleted before this returns.
    analysis = batch.analyze_uploads([("a.jpg", data)], predictor, per_emotion=24)

One CSV row per face (file, face index, box, emotion, the 7 probabilities, detection score);
an image without a face or that cannot be read gets one row saying so. Rows are appended as
files finish, so an interrupted analysis continues where it stopped when run again.
Faces from many photos are classified together in one batch, so the model is never the
bottleneck: the cost is decoding and face detection (bench/analyze_folder.py times it).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import os
import shutil
import tempfile
import zipfile
import zlib
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, nullcontext
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
from PIL import Image

from .faces import FaceBox, crop_face
from .images import ImageError, load_rgb
from .labels import EMOTIONS

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
CSV_COLUMNS = ["file", "group", "face", "faces_in_image", "x", "y", "width", "height", "detection_score",
               "emotion", "confidence", *EMOTIONS, "model", "status"]
# `faces_in_image` lets a rerun tell a file whose rows were all written from one cut short mid-write.
NUMERIC_COLUMNS = ["face", "faces_in_image", "x", "y", "width", "height", "detection_score", "confidence",
                   *EMOTIONS]

STATUS_OK = "ok"
STATUS_NO_FACE = "no face found"
STATUS_UNREADABLE = "unreadable"  # written as "unreadable: <reason>"
TOP_LEVEL = "(top level)"  # the group shown for images not inside any sub-folder

# Faces (or photos without one) gathered before one model call and one write to the CSV: a model
# call costs about the same for 1 face as for 64, and an interruption loses at most this many.
FACES_PER_BATCH = 64
# Decoding (PIL) and detection (OpenCV) both release the GIL, and the detector is locked to one
# call at a time, so a second thread decodes the next photo while the first detects. This pays
# off on full-size phone photos, whose decoding costs more than detecting; more threads would
# only queue on the detector's lock.
WORKERS = 2
LOOKAHEAD = 4  # photos decoded ahead of the writer: bounds memory to a few decoded images
# Larger than any 8-bit photo within images.MAX_INPUT_PIXELS (50 MP x 3 bytes = 150 MB), small
# enough that one zip member claiming gigabytes (a zip bomb) cannot exhaust memory.
MAX_IMAGE_BYTES = 200_000_000
KEEP_UPLOADS = 8  # upload folders kept by `store_uploads`; older ones are deleted
# Side of the face thumbnails an `Analysis` holds: the app's grid shows them 96 px wide, and at
# 49 kB each, the faces it can show (a few dozen per emotion and folder) stay within a few MB.
THUMBNAIL_PIXELS = 128


@dataclass(frozen=True)
class ImageSource:
    """One image in a folder or a zip: its name as shown in the CSV and how to read its bytes."""

    name: str  # path relative to the folder or inside the zip, with '/' separators
    container: Path
    group: str = ""  # the sub-folder it sits in (one per ad or campaign); '' for top-level files

    def read(self, archive: zipfile.ZipFile | None = None) -> bytes:
        """The file's bytes; pass the open archive when reading many files from one zip."""
        if self.container.is_dir():
            path = self.container / self.name
            if path.stat().st_size > MAX_IMAGE_BYTES:
                raise ImageError(f"the file is larger than {MAX_IMAGE_BYTES // 1_000_000} MB")
            return path.read_bytes()
        with nullcontext(archive) if archive is not None else zipfile.ZipFile(self.container) as opened:
            if opened.getinfo(self.name).file_size > MAX_IMAGE_BYTES:
                raise ImageError(f"the file is larger than {MAX_IMAGE_BYTES // 1_000_000} MB unpacked")
            return opened.read(self.name)


def list_images(path: Path) -> list[ImageSource]:
    """Every image file under a folder (recursively) or inside a .zip, in a stable order.

    Hidden files and macOS resource forks are skipped. An image's group is the first folder
    below the one all images share, so zipping a folder of campaign folders groups by campaign.
    """
    path = Path(path)
    if path.is_dir():
        names = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]
    elif path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    elif not path.exists():
        raise ValueError(f"{path} does not exist.")
    else:
        raise ValueError(f"{path} is neither a folder nor a .zip file.")
    names = _image_names(names)
    folders = [PurePosixPath(name).parts[:-1] for name in names]
    shared = 1 if folders and all(folders) and len({parts[0] for parts in folders}) == 1 else 0
    return [ImageSource(name, path, parts[shared] if len(parts) > shared else "")
            for name, parts in zip(names, folders)]


def _image_names(names) -> list[str]:
    """The names that are images, sorted: no hidden files, no macOS resource forks."""
    return sorted(name for name in names
                  if PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES
                  and not any(part.startswith(".") or part == "__MACOSX" for part in PurePosixPath(name).parts))


# --- Analysis ---------------------------------------------------------------------------------------


def analyze(path: Path, csv_path: Path, predictor, progress=None, min_face_fraction: float | None = None) -> dict:
    """Analyse every image under `path` (folder or .zip) into `csv_path`, skipping files done before.

    `predictor` is a Predictor (anything with `detector`, `prepare`, `classify` and `run_name`).
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
    done = _keep_finished_rows(csv_path, predictor.run_name)
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
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
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


def _examine(source: ImageSource, archive, predictor, min_face_fraction):
    try:
        rgb = load_rgb(source.read(archive))
    except (ImageError, OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError,
            RuntimeError) as error:  # RuntimeError: an encrypted zip member; NotImplementedError: its compression
        return source, [], [], " ".join(str(error).split()) or type(error).__name__
    boxes = predictor.detector.detect(rgb, min_face_fraction)
    return source, boxes, [predictor.prepare(crop_face(rgb, box)) for box in boxes], None


def _classify_and_write(pending, predictor, writer, counts: dict) -> None:
    faces = [face for _, _, prepared, _ in pending for face in prepared]
    # (faces, 7): every face of every waiting photo in one model call
    probabilities = predictor.classify(np.stack(faces)) if faces else np.zeros((0, len(EMOTIONS)))
    offset = 0
    for source, boxes, prepared, problem in pending:
        if problem:
            writer.writerow(_status_row(source, f"{STATUS_UNREADABLE}: {problem}", predictor.run_name))
            counts["unreadable"] += 1
        elif not boxes:
            writer.writerow(_status_row(source, STATUS_NO_FACE, predictor.run_name, faces_in_image=0))
            counts["no_face"] += 1
        else:
            writer.writerows(_face_rows(source, boxes, probabilities[offset: offset + len(prepared)],
                                        predictor.run_name))
            offset += len(prepared)
            counts["faces"] += len(prepared)


def _face_rows(source: ImageSource, boxes: list[FaceBox], probabilities, model: str) -> list[dict]:
    rows = []
    for index, (box, row) in enumerate(zip(boxes, probabilities)):
        label = int(np.argmax(row))
        rows.append({"file": source.name, "group": source.group, "face": index, "faces_in_image": len(boxes),
                     "x": box.x, "y": box.y, "width": box.width, "height": box.height,
                     "detection_score": round(box.score, 3), "emotion": EMOTIONS[label],
                     "confidence": round(float(row[label]), 4),
                     **{name: round(float(p), 4) for name, p in zip(EMOTIONS, row)},
                     "model": model, "status": STATUS_OK})
    return rows


def _status_row(source: ImageSource, status: str, model: str, faces_in_image: int | str = "") -> dict:
    return {"file": source.name, "group": source.group, "faces_in_image": faces_in_image, "model": model,
            "status": status}


# --- Resuming ---------------------------------------------------------------------------------------


def finished_files(csv_path: Path) -> set[str]:
    """Files whose rows an earlier, possibly interrupted, run wrote completely to `csv_path`."""
    return set(_complete_rows(Path(csv_path))[1])


def _complete_rows(csv_path: Path) -> tuple[list[dict], dict[str, str], bool]:
    """(rows of completely written files, {file: model}, whether anything else was in the file)."""
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
    if text and reader.fieldnames != CSV_COLUMNS:
        raise ValueError(f"{csv_path} is not a results file of this analysis (other columns); "
                         "choose a new CSV path.")
    by_file: dict[str, list[dict]] = {}
    for row in reader:
        by_file.setdefault(row["file"], []).append(row)
    complete = {name: rows for name, rows in by_file.items() if _is_complete(rows)}
    kept = [row for rows in complete.values() for row in rows]
    models = {name: rows[0]["model"] for name, rows in complete.items()}
    return kept, models, partial or len(complete) < len(by_file)


def _is_complete(rows: list[dict]) -> bool:
    if rows[0]["status"] != STATUS_OK:
        return len(rows) == 1
    try:
        expected = int(rows[0]["faces_in_image"])
    except (TypeError, ValueError):
        return False
    return sorted(row["face"] for row in rows if row["status"] == STATUS_OK) == [str(i) for i in range(expected)]


def _keep_finished_rows(csv_path: Path, model: str) -> set[str]:
    """The files already done; rewrites the CSV without the rows of files cut short."""
    rows, models, dropped = _complete_rows(csv_path)
    others = sorted(set(models.values()) - {model})
    if others:
        raise ValueError(f"{csv_path} holds results of model {others[0]}, not {model}: "
                         f"analyse with that model to continue it, or choose a new CSV path.")
    if dropped:
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        from .storage import write_bytes_atomic

        write_bytes_atomic(csv_path, buffer.getvalue().encode())
    return set(models)


# --- Summaries of a results CSV -------------------------------------------------------------------


def read_results(csv_path: Path) -> pd.DataFrame:
    """The results CSV as a DataFrame: numbers as numbers, and a group or file named 'NA' kept as text."""
    frame = pd.read_csv(csv_path, keep_default_na=False, na_values={column: [""] for column in NUMERIC_COLUMNS},
                        dtype={"file": str, "group": str, "emotion": str, "model": str, "status": str})
    return frame


def has_groups(frame: pd.DataFrame) -> bool:
    """Whether the images came from more than one sub-folder, so comparing groups means something."""
    return frame["group"].nunique() > 1


def emotion_summary(frame: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Per emotion: faces predicted, their share, and the mean probability with a 95% interval.

    `frame` comes from `read_results`; `by="group"` gives one block of 7 rows per group (top-level
    images as TOP_LEVEL), else one block named 'all'. The interval is Student's t on the face
    probabilities: NaN with fewer than two faces, where no spread can be estimated.
    """
    faces = frame[frame["status"] == STATUS_OK]
    rows = []
    for group, members in _groups(faces, by):
        total = len(members)
        for emotion in EMOTIONS:
            values = members[emotion].to_numpy(dtype=float)
            mean = float(values.mean()) if total else float("nan")
            half_width = _t95(total - 1) * float(values.std(ddof=1)) / np.sqrt(total) if total > 1 else float("nan")
            predicted = int((members["emotion"] == emotion).sum())
            rows.append({"group": group, "emotion": emotion, "faces": predicted,
                         "share": predicted / total if total else float("nan"), "mean_probability": mean,
                         "ci_low": max(0.0, mean - half_width) if total > 1 else float("nan"),
                         "ci_high": min(1.0, mean + half_width) if total > 1 else float("nan")})
    return pd.DataFrame(rows, columns=["group", "emotion", "faces", "share", "mean_probability", "ci_low",
                                       "ci_high"])


def image_summary(frame: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Per group (or one row 'all'): images, with faces, without, unreadable, faces, no-face share.

    The no-face share is over the images that could be read: an unreadable file says nothing
    about whether the person was facing the camera.
    """
    rows = []
    for group, members in _groups(frame, by):
        status = members.groupby("file")["status"].first()
        unreadable = int(status.str.startswith(STATUS_UNREADABLE).sum())
        no_face = int((status == STATUS_NO_FACE).sum())
        readable = len(status) - unreadable
        rows.append({"group": group, "images": len(status), "with_faces": int((status == STATUS_OK).sum()),
                     "no_face": no_face, "unreadable": unreadable,
                     "faces": int((members["status"] == STATUS_OK).sum()),
                     "no_face_share": no_face / readable if readable else float("nan")})
    return pd.DataFrame(rows, columns=["group", "images", "with_faces", "no_face", "unreadable", "faces",
                                       "no_face_share"])


def format_summary(frame: pd.DataFrame) -> str:
    """The summary the CLI prints: overall counts, then a table per emotion (a column per group)."""
    overall = image_summary(frame).iloc[0]
    lines = [(f"{overall['images']} images: {overall['with_faces']} with faces ({overall['faces']} faces), "
              f"{overall['no_face']} without a face, {overall['unreadable']} unreadable")]
    if not overall["faces"]:
        return "\n".join(lines)
    table = emotion_summary(frame).set_index("emotion")
    text = pd.DataFrame({
        "faces": table["faces"],
        "share": table["share"].map("{:.1%}".format),
        "mean p": table["mean_probability"].map("{:.3f}".format),
        "95% CI": [_interval(low, high) for low, high in zip(table["ci_low"], table["ci_high"])],
    })
    text.index.name = None
    lines += ["", text.to_string()]
    if has_groups(frame):
        images = image_summary(frame, by="group").set_index("group")
        shares = emotion_summary(frame, by="group").pivot(index="emotion", columns="group", values="share")
        side_by_side = pd.concat([
            images[["images", "faces"]].T.astype(int).astype(str),
            images[["no_face_share"]].T.map(_percent).rename(index={"no_face_share": "no face"}),
            shares.reindex(EMOTIONS).map(_percent),
        ])
        side_by_side.columns.name = None
        lines += ["", "By folder (emotions as shares of each folder's faces):", side_by_side.to_string()]
    return "\n".join(lines)


def _groups(frame: pd.DataFrame, by: str | None):
    if by is None:
        return [("all", frame)]
    labels = frame[by].replace("", TOP_LEVEL)
    return list(frame.groupby(labels, sort=True))


def _percent(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.0%}"


def _interval(low: float, high: float) -> str:
    return "-" if pd.isna(low) else f"{low:.3f}-{high:.3f}"


# Two-sided 95% Student t critical values by degrees of freedom. Past the table's end (and between
# its last entries) the value at the next lower listed df is used: slightly wide, never too narrow.
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000,
        120: 1.980, 1000: 1.962}


def _t95(df: int) -> float:
    return _T95[max(k for k in _T95 if k <= df)]


# --- Faces for display ------------------------------------------------------------------------------


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
            box = FaceBox(int(row.x), int(row.y), int(row.width), int(row.height), float(row.detection_score))
            crops.append(crop_face(decoded[row.file], box))
    return crops


def top_faces(frame: pd.DataFrame, emotion: str, limit: int, group: str | None = None) -> pd.DataFrame:
    """The `limit` most confident faces given `emotion` (only those of `group` when given), best first."""
    faces = frame[(frame["status"] == STATUS_OK) & (frame["emotion"] == emotion)]
    if group is not None:
        faces = faces[faces["group"] == group]
    return faces.nlargest(limit, "confidence")


def shown_faces(frame: pd.DataFrame, per_emotion: int) -> pd.DataFrame:
    """Every face `top_faces` can return: the best `per_emotion` of each emotion, overall and per group."""
    groups = [None, *frame["group"].unique()] if has_groups(frame) else [None]
    rows = set()
    for emotion, group in itertools.product(EMOTIONS, groups):
        rows.update(top_faces(frame, emotion, per_emotion, group).index)
    return frame.loc[sorted(rows)]


@dataclass(frozen=True, eq=False)
class Analysis:
    """A finished analysis held in memory, so showing it again needs no photo on disk."""

    csv: bytes  # the results CSV, byte for byte as `analyze` wrote it
    results: pd.DataFrame  # `read_results` of it
    # Keyed by the row of `results`, for the faces of `shown_faces` only:
    thumbnails: dict[int, np.ndarray]  # (THUMBNAIL_PIXELS, THUMBNAIL_PIXELS, 3) uint8 face crops
    model_inputs: dict[int, np.ndarray]  # each face as the model saw it (`predictor.prepare`)


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
        model_inputs={row: predictor.prepare(crop) for row, crop in zip(faces.index, crops)})


def _thumbnail(crop: np.ndarray) -> np.ndarray:
    image = Image.fromarray(crop).resize((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS), Image.Resampling.LANCZOS)
    return np.asarray(image)


# --- Uploads (the app) ------------------------------------------------------------------------------


def upload_digest(files: list[tuple[str, bytes]]) -> str:
    """A name for an upload of (name, bytes) files, the same whatever their order."""
    digest = hashlib.sha256()
    for name, data in sorted(files):
        digest.update(hashlib.sha256(name.encode()).digest() + hashlib.sha256(data).digest())
    return digest.hexdigest()[:20]


def count_images(files: list[tuple[str, bytes]]) -> int:
    """How many images `analyze` will find in an upload, read in memory, nothing written.

    Raises ValueError for a .zip uploaded with other files, or one that is not a zip.
    """
    if _is_zip_upload(files):
        with zipfile.ZipFile(io.BytesIO(files[0][1])) as archive:
            return len(_image_names(info.filename for info in archive.infolist() if not info.is_dir()))
    return len(_image_names(_safe_name(name) for name, _ in files))


def analyze_uploads(files: list[tuple[str, bytes]], predictor, progress=None, *, per_emotion: int,
                    min_face_fraction: float | None = None) -> Analysis:
    """Analyse uploaded (name, bytes) files from a private temporary folder, deleted before returning.

    Nothing of the upload is left on disk, even when interrupted; the result holds all an app shows
    (see `load_analysis`). Not resumable: `store_uploads` keeps an upload for that.
    """
    _is_zip_upload(files)  # refuse a bad upload before writing any of it
    with tempfile.TemporaryDirectory(prefix="emotion-upload-") as folder:
        source = _write_uploads(files, Path(folder) / "upload")
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
            _write_uploads(files, staging)
            os.replace(staging, folder)  # whole or not at all: a half-written upload is never reused
        except OSError:
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


def results_path(upload: Path, run_name: str, face_size: str = "any") -> Path:
    """Where the results CSV of `upload` (from `store_uploads`) analysed by `run_name` is kept.

    One file per face size (faces.FACE_SIZES), so continuing never mixes the two settings' rows.
    """
    suffix = "" if face_size == "any" else f"-{face_size}-faces"
    return Path(upload).parent / f"results-{run_name}{suffix}.csv"


def _is_zip_upload(files: list[tuple[str, bytes]]) -> bool:
    """Whether the upload is one .zip (else images); raises ValueError for a mix or a broken zip."""
    zips = [name for name, _ in files if name.lower().endswith(".zip")]
    if zips and len(files) > 1:
        raise ValueError("Upload either one .zip or several images, not both.")
    if zips and not zipfile.is_zipfile(io.BytesIO(files[0][1])):
        raise ValueError(f"{zips[0]} is not a valid .zip file.")
    return bool(zips)


def _write_uploads(files: list[tuple[str, bytes]], folder: Path) -> Path:
    """Write the upload into `folder` (created): upload.zip, or images/ of safely named files."""
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
