"""A run's model as a file other runtimes load: LiteRT (TFLite), ONNX or a TensorFlow SavedModel.

    python -m emotion_core export deployed --format litert --out exports/
    python -m emotion_core export deployed --format litert --quantize int8 --out exports/
    python -m emotion_core export vgg_gap-warm-e40 --format onnx          # default: models/RUN/exports/

    record = export_run("deployed", "onnx", "exports/")      # what exports/RUN.onnx.json holds, + path

Keras 3 writes every format (`model.export`); int8 goes through the same TFLite converter with a
representative data set of training images. No export reports success before it has checked
itself: the exported file runs on VERIFY_FACES validation faces (generated faces when the run's
data set is absent) and is compared with the Keras model; float files must agree within
FLOAT_TOLERANCE per probability, int8 files on the top label for INT8_AGREEMENT of the faces.
A file that fails is deleted and the error gives the figures.

Beside each file `<file>.json` records what a consumer needs (input shape and range, labels,
the run's TTA mode and temperature) and the figures of the check. The exported model takes
(n, 48, 48, channels) float32 pixels in 0..255 and returns (n, classes) softmax probabilities for
one view of each face; the app averages the views of the run's mode (`tta` in the sidecar,
inference.TTA_MODES) and applies the run's temperature to that average: softmax(log(mean) / T)
(`temperature`, inference.calibrated). `ExportedModel(path).classify(faces)` does both, as the app does.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .. import registry
from ..ensemble import load_run_model
from ..inference import LiteRTModel, float32_copy, predict_probabilities, tta_mode
from ..storage import now_iso, read_json, write_json_atomic

FORMATS = {
    "litert": "LiteRT (TensorFlow Lite) flatbuffer, for phones and edge devices",
    "onnx": "ONNX, for onnxruntime and other runtimes",
    "savedmodel": "TensorFlow SavedModel folder, for TensorFlow Serving",
}
QUANTIZATIONS = ("int8",)  # LiteRT only: the converter's full-integer quantization
EXPORTS_DIR = "exports"  # inside a run folder: what the Models page offers for download

VERIFY_FACES = 500  # enough to see a 1% disagreement five times over, a few seconds per format
CALIBRATION_IMAGES = 300  # the converter's representative data set for int8 ranges
FLOAT_TOLERANCE = 1e-4  # float32 kernels differ in summation order only: ~1e-6 in practice
INT8_AGREEMENT = 0.99  # int8 moves probabilities by a few hundredths; top labels must stay put
LATENCY_FACES = 50  # one face a call, as a camera app calls it; the median of these


class ExportError(ValueError):
    """An export that cannot be made or failed its check, with the reason in one line."""


def export_run(run: str | Path, fmt: str, out: str | Path | None = None, quantize: str | None = None,
               faces: int = VERIFY_FACES, log=None) -> dict:
    """Export `run` as `fmt` into the folder `out` (default: the run's exports/), check it, and
    return its sidecar record (file, size, agreement, latency) plus its `path`. `log(line)` hears
    each step."""
    log = log or (lambda line: None)
    if fmt not in FORMATS:
        raise ExportError(f"Unknown format '{fmt}': choose one of {', '.join(FORMATS)}.")
    if quantize and (quantize not in QUANTIZATIONS or fmt != "litert"):
        raise ExportError(f"--quantize {quantize} is only available for litert (int8).")
    if fmt == "onnx":
        _require_onnx()
    if faces < 1:
        raise ExportError("The check needs at least one face (--faces).")
    run_dir = registry.resolve_run(run)
    info = registry.load_run(run_dir)
    if info.problem:
        raise ExportError(f"Run {info.name} is broken: {info.problem}")
    if not info.has_weights:
        raise ExportError(f"Run {info.name} has no model file to export (comparison-only run).")
    out = Path(out) if out else run_dir / EXPORTS_DIR
    model = _float32_model(info)
    if int(model.output_shape[-1]) != len(info.classes):
        raise ExportError(f"Run {info.name}: the model has {model.output_shape[-1]} outputs but the run "
                          f"names {len(info.classes)} classes.")
    shape = model.input_shape[1:]
    x_check, source = verification_faces(info, shape, faces)
    model.predict_on_batch(x_check[:1])  # builds the model's call graph, which the ONNX exporter needs
    log(f"checking against {len(x_check)} faces ({source})")

    name = export_name(info.name, fmt, quantize)
    target = out / name
    out.mkdir(parents=True, exist_ok=True)
    # A dot name is never listed as an export; it is renamed only once checked. It keeps the
    # format's suffix, which Keras insists on (.tflite).
    staging = out / f".partial-{name}"
    _remove(staging)
    try:
        calibration = calibration_images(info, shape) if quantize else None
        started = time.monotonic()
        # The converters print their settings and tf2onnx its numpy 2 shims; errors still raise.
        with warnings.catch_warnings(), _quiet():
            warnings.simplefilter("ignore")
            if fmt == "litert":
                _export_litert(model, staging, calibration)
            else:
                model.export(str(staging), format="onnx" if fmt == "onnx" else "tf_saved_model", verbose=False)
        seconds = time.monotonic() - started
        run_exported = load_exported(staging, fmt)
        check = compare(model, run_exported, x_check, quantized=bool(quantize))
        check["source"] = source
        _check_passes(check, quantized=bool(quantize))
        sidecar_path(target).unlink(missing_ok=True)  # an older export's figures must not outlive it
        _remove(target)
        os.replace(staging, target)
    finally:
        _remove(staging)
    record = {
        "run": info.name, "format": fmt, "quantize": quantize or None, "file": name,
        "bytes": _size(target), "exported": now_iso(), "export_seconds": round(seconds, 1),
        "input": {"shape": [None, *map(int, model.input_shape[1:])], "dtype": "float32",
                  "range": [0, 255], "color_mode": "grayscale" if model.input_shape[-1] == 1 else "rgb"},
        "labels": list(info.classes),  # the model's outputs, in order
        "tta": tta_mode(info.config.get("tta")),  # a mode of inference.TTA_MODES
        # applied to the log of the views' average (inference.calibrated); `runs calibrate` fits it
        "temperature": info.temperature,
        "grayscale_source": bool(info.dataset.get("grayscale_source", True)),
        "check": check, "versions": registry.library_versions(),
    }
    write_json_atomic(sidecar_path(target), record)
    sidecar_path(target).chmod(0o644)  # readable like the file beside it (the atomic writer makes 0600)
    return {**record, "path": target}


def analysis_litert(run: str | Path, log=print, quantize: str | None = "int8") -> Path | None:
    """The LiteRT file an analysis classifies with, on every engine and from the CLI or a job, so
    neither Keras nor TensorFlow is loaded (5-15 s and ~450 MB less): the run's checked int8 export
    (`litert_file`: exported and checked once, on first use; for the deployed ensemble about a fifth
    of the float file's CPU at the same accuracy: `bench/int8.py`), or with `quantize` None the
    float one (probabilities within 1e-4 of Keras's).
    An int8 file that fails its check gives way to the float file, and that to Keras (None), each
    with a one-line note through `log`."""
    run_dir = registry.resolve_serving(run)[0]
    if quantize:
        try:
            return litert_file(run_dir, log=log, quantize=quantize)
        except ExportError as error:
            log(f"note: classifying with the float LiteRT file: no {quantize} one ({error})")
    try:
        return litert_file(run_dir, log=log)
    except ExportError as error:
        log(f"note: classifying with Keras: no LiteRT file ({error})")
        return None


def litert_file(run: str | Path, cache: str | Path | None = None, log=None, quantize: str | None = None) -> Path:
    """The run's checked LiteRT file (float, or `quantize` "int8"), exported (and checked) on first use.

    Kept in the run's exports/, where `export` puts it and the Models page lists it; in
    `cache`/RUN (default: the temporary folder) when the run folder is read-only. A model file
    newer than the export is exported again; `log(line)` hears it first (it takes a minute for
    an ensemble). Raises ExportError as `export_run` does; a file that failed its check is not
    tried again until the model file changes (`.NAME.refused` beside where it would be).
    """
    run_dir = registry.resolve_run(run)
    model_time = registry.load_run(run_dir).weights_mtime
    cache = Path(cache) if cache else Path(tempfile.gettempdir()) / "emotion_core-exports"
    folders = [run_dir / EXPORTS_DIR, cache / run_dir.name]
    name = export_name(run_dir.name, "litert", quantize)
    for folder in folders:
        for record in list_exports(folder):
            if (record["file"] == name and record["format"] == "litert" and record.get("quantize") == quantize
                    and record["path"].stat().st_mtime >= model_time):
                return record["path"]
        refused = folder / f".{name}.refused"
        if refused.is_file() and refused.stat().st_mtime >= model_time:
            raise ExportError(refused.read_text().strip())
    if log:
        log(f"exporting {run_dir.name} to LiteRT{f' {quantize}' if quantize else ''} and checking it on "
            f"{VERIFY_FACES} faces, once (the next runs reuse it)")
    for folder in folders:
        try:
            return export_run(run_dir, "litert", folder, quantize=quantize)["path"]
        except PermissionError:  # a read-only deployment: the cache
            if folder == folders[-1]:
                raise
        except ExportError as error:  # remembered, so that each analysis does not pay for it again
            with contextlib.suppress(OSError):
                (folder / f".{name}.refused").write_text(f"{error}\n")
            raise


class ExportedModel:
    """An exported file read as its sidecar says: `classify(faces)` averages the run's TTA views and
    applies its temperature, so it gives the probabilities the app gives (the Predictor's).

    The sidecar is read when the file is opened: re-export after `runs calibrate` (or `runs tta`)
    and the file's consumers follow."""

    def __init__(self, path: str | Path):
        path = Path(path)
        try:
            record = read_json(sidecar_path(path))
        except (OSError, ValueError) as error:
            raise ExportError(f"{path.name} has no readable {sidecar_path(path).name}: it was never checked") from error
        self.record = record
        self.tta = tta_mode(record.get("tta"))
        self.temperature = float(record.get("temperature", 1.0))  # exported before calibration: as the model gives
        self.labels = tuple(record["labels"])
        self.output_shape = (None, len(self.labels))  # what inference.predict_probabilities reads
        self._run = load_exported(path, record["format"])

    def predict_on_batch(self, faces) -> np.ndarray:
        """One view of each face through the file: (n, classes), no averaging, no temperature."""
        return np.asarray(self._run(faces))

    def classify(self, faces) -> np.ndarray:
        """Probabilities (n, classes) of prepared faces (n, size, size, channels) in 0..255, as the app gives them."""
        return predict_probabilities(self, faces, tta=self.tta, temperature=self.temperature)


def export_name(run_name: str, fmt: str, quantize: str | None = None) -> str:
    """vgg_gap-e35.tflite, vgg_gap-e35-int8.tflite, vgg_gap-e35.onnx, vgg_gap-e35-savedmodel."""
    stem = f"{run_name}-{quantize}" if quantize else run_name
    return {"litert": f"{stem}.tflite", "onnx": f"{stem}.onnx", "savedmodel": f"{stem}-savedmodel"}[fmt]


def sidecar_path(export_path: Path) -> Path:
    return Path(export_path).with_name(Path(export_path).name + ".json")


def list_exports(folder: str | Path) -> list[dict]:
    """The checked exports in `folder` (a run's exports/), newest first: each sidecar record plus
    `path`. Files without a readable sidecar are not listed: they were never checked."""
    folder = Path(folder)
    records = []
    for sidecar in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            record = read_json(sidecar)
            path = folder / record["file"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if path.exists() and Path(record["file"]).name == record["file"]:
            records.append({**record, "path": path})
    return sorted(records, key=lambda record: record.get("exported", ""), reverse=True)


def follow_run(run: str | Path) -> list[Path]:
    """Rewrite the sidecars of the run's exports/ with its current TTA mode and temperature, so a
    file exported before `runs tta` or `runs calibrate` is read as the app now reads the run (the
    file itself, one view's probabilities, does not change). Returns the sidecars rewritten."""
    run_dir = registry.resolve_run(run)
    info = registry.load_run(run_dir)
    rewritten = []
    for record in list_exports(run_dir / EXPORTS_DIR):
        path = record.pop("path")
        followed = {**record, "tta": tta_mode(info.config.get("tta")), "temperature": info.temperature}
        if followed != record:
            write_json_atomic(sidecar_path(path), followed)
            sidecar_path(path).chmod(0o644)  # as export_run leaves it
            rewritten.append(sidecar_path(path))
    return rewritten


def download_bytes(path: str | Path) -> bytes:
    """An exported file's bytes; a SavedModel folder as a zip of itself."""
    path = Path(path)
    if path.is_file():
        return path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(path.rglob("*")):
            if file.is_file():
                archive.write(file, Path(path.name) / file.relative_to(path))
    return buffer.getvalue()


def export_rows(records: list[dict]) -> list[dict]:
    """One table row per export (`list_exports`): the figures the Models page shows."""
    return [{"file": record["file"] + (".zip" if Path(record["path"]).is_dir() else ""),
             "format": record["format"] + (f" {record['quantize']}" if record.get("quantize") else ""),
             "MB": round(record["bytes"] / 2**20, 2),
             "top label agreement": record["check"]["top_label_agreement"],
             "max diff": record["check"]["max_abs_diff"],
             "ms a face": record["check"]["latency_ms"], "Keras ms a face": record["check"]["keras_latency_ms"],
             "checked on": f"{record['check']['faces']} faces, {record['check']['source']}",
             "exported": str(record.get("exported", ""))[:10]} for record in records]


def describe(record: dict) -> str:
    """One line of figures: `vgg_gap-e35.tflite  4.7 MB  top label agrees on 100.0% of 500 faces
    (fer2013 validation), max diff 1.5e-06  1.96 ms a face (Keras 3.24 ms)`."""
    check = record["check"]
    return (f"{record['file']}  {record['bytes'] / 2**20:.1f} MB  top label agrees on "
            f"{check['top_label_agreement']:.1%} of {check['faces']} faces ({check['source']}), max diff "
            f"{check['max_abs_diff']:.1e}  {check['latency_ms']:.2f} ms a face (Keras {check['keras_latency_ms']:.2f} ms)")


# --- the faces a check and a calibration use ------------------------------------------------


def verification_faces(run: registry.Run, shape, count: int = VERIFY_FACES) -> tuple[np.ndarray, str]:
    """`count` faces of `shape` (size, size, channels) from the run's validation split (test, then
    train, when it has none) as float32 in 0..255, and where they came from; generated faces
    when the data set is not here."""
    return _faces_from_data(run, ("validation", "test", "train"), shape, count, seed=0)


def calibration_images(run: registry.Run, shape, count: int = CALIBRATION_IMAGES) -> np.ndarray:
    """Training images for int8 calibration (generated faces when the data set is not here)."""
    return _faces_from_data(run, ("train", "validation"), shape, count, seed=1)[0]


def _faces_from_data(run: registry.Run, splits, shape, count: int, seed: int) -> tuple[np.ndarray, str]:
    from ..datasets import DatasetError, load_split, open_dataset

    size, channels = int(shape[0]), int(shape[-1])
    try:
        dataset = open_dataset(run.config.get("data"))
        split = next(split for split in splits if split in dataset.items)
        x, _ = load_split(dataset, split, size, "grayscale" if channels == 1 else "rgb")
    except (DatasetError, OSError, StopIteration, TypeError, ValueError):
        x = np.zeros((0, size, size, channels), np.uint8)
    if len(x) == 0:
        return generated_faces(count, size, channels, seed), "generated faces: the run's data set is not here"
    chosen = np.sort(np.random.default_rng(seed).permutation(len(x))[:count])
    return x[chosen].astype(np.float32), f"{dataset.name} {split}"


def generated_faces(count: int, size: int = 48, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Face-like drawings (an oval, eyes, brows and a mouth of varied curve, lit from the side,
    with noise) as (count, size, size, channels) float32 in 0..255."""
    import cv2

    rng = np.random.default_rng(seed)
    faces = np.empty((count, size, size), np.float32)
    for index in range(count):
        image = np.full((size, size), rng.uniform(20, 90), np.float32)
        centre = (size // 2 + int(rng.integers(-3, 4)), size // 2 + int(rng.integers(-2, 3)))
        skin = rng.uniform(120, 220)
        cv2.ellipse(image, centre, (int(size * rng.uniform(0.3, 0.38)), int(size * rng.uniform(0.4, 0.47))),
                    float(rng.uniform(-10, 10)), 0, 360, skin, -1)
        eye_y, eye_dx = centre[1] - size // 8, int(size * rng.uniform(0.12, 0.18))
        for side in (-1, 1):
            eye = (centre[0] + side * eye_dx, eye_y)
            cv2.circle(image, eye, max(1, int(size * rng.uniform(0.03, 0.06))), skin * 0.3, -1)
            tilt = int(rng.integers(-3, 4)) * side
            cv2.line(image, (eye[0] - 4, eye_y - 5 + tilt), (eye[0] + 4, eye_y - 5 - tilt), skin * 0.4, 2)
        mouth_open = rng.uniform(0, 0.5)
        curve = int(size * rng.uniform(-0.1, 0.1))  # smile (down-curving arc) to frown
        cv2.ellipse(image, (centre[0], centre[1] + size // 5), (int(size * rng.uniform(0.1, 0.2)), abs(curve) + 1),
                    0, 0 if curve >= 0 else 180, 180 if curve >= 0 else 360, skin * 0.35, 2 + int(mouth_open * 6))
        light = np.linspace(rng.uniform(0.7, 1.0), rng.uniform(1.0, 1.3), size, dtype=np.float32)
        image = cv2.GaussianBlur(image * light[None, :], (3, 3), 0) + rng.normal(0, 6, (size, size))
        faces[index] = np.clip(image, 0, 255)
    return np.repeat(faces[..., None], channels, axis=-1)


# --- exporting and running each format ------------------------------------------------------


def _export_litert(model, path: Path, calibration: np.ndarray | None) -> None:
    import tensorflow as tf

    options = {}
    if calibration is not None:
        def representative():  # one face a step, as the converter expects
            for face in calibration:
                yield [face[None]]

        # Every op in int8 (the converter refuses instead of silently leaving float ops); the
        # file keeps float32 input and output, so it drops in where the float file was.
        options = {"optimizations": [tf.lite.Optimize.DEFAULT], "representative_dataset": representative,
                   "target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]}}
    model.export(str(path), format="litert", verbose=False, **options)


def load_exported(path: str | Path, fmt: str):
    """A function (n, h, w, c) float32 -> (n, classes) probabilities running the exported file.

    None of the three runtimes unpickles anything: a flatbuffer, a protobuf graph, a TF graph.
    """
    path = Path(path)
    if fmt == "litert":
        return LiteRTModel(path).predict_on_batch
    if fmt == "onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda faces: session.run(None, {name: np.asarray(faces, np.float32)})[0]
    if fmt == "savedmodel":
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        return lambda faces: loaded.serve(np.asarray(faces, np.float32)).numpy()
    raise ExportError(f"Unknown format '{fmt}'.")


def compare(model, run_exported, faces: np.ndarray, quantized: bool = False) -> dict:
    """How the exported file's probabilities compare with the Keras model's on `faces`, and how
    long each takes for one face."""
    expected = np.asarray(model.predict_on_batch(faces))
    got = np.concatenate([run_exported(faces[start:start + 100]) for start in range(0, len(faces), 100)])
    if got.shape != expected.shape:
        raise ExportError(f"The exported file gives shape {got.shape}, the Keras model {expected.shape}.")
    return {
        "faces": int(len(faces)),
        "max_abs_diff": float(np.max(np.abs(got - expected))),
        "top_label_agreement": float(np.mean(got.argmax(axis=1) == expected.argmax(axis=1))),
        "tolerance": None if quantized else FLOAT_TOLERANCE,
        "min_agreement": INT8_AGREEMENT if quantized else 1.0,
        "latency_ms": _median_ms(run_exported, faces),
        "keras_latency_ms": _median_ms(model.predict_on_batch, faces),
    }


def _check_passes(check: dict, quantized: bool) -> None:
    if quantized and check["top_label_agreement"] < INT8_AGREEMENT:
        raise ExportError(f"The int8 file agrees with the Keras model on the top label for only "
                          f"{check['top_label_agreement']:.1%} of {check['faces']} faces "
                          f"(at least {INT8_AGREEMENT:.0%} needed); it was not kept.")
    if not quantized and not check["max_abs_diff"] <= FLOAT_TOLERANCE:  # `not <=` also catches NaN
        raise ExportError(f"The exported file differs from the Keras model by up to {check['max_abs_diff']:.2e} "
                          f"per probability (at most {FLOAT_TOLERANCE:.0e} allowed); it was not kept.")


def _median_ms(predict, faces: np.ndarray) -> float:
    sample = faces[:LATENCY_FACES]
    predict(sample[:1])  # the first call traces or allocates: not what a caller waits for later
    times = []
    for face in sample:
        started = time.perf_counter()
        predict(face[None])
        times.append(time.perf_counter() - started)
    return round(float(np.median(times)) * 1000, 3)


# --- helpers -------------------------------------------------------------------------------


def _float32_model(run: registry.Run):
    """The run's model, loaded safely; a mixed-precision one as its float32 twin (same weights),
    since runtimes without bfloat16 kernels would refuse or emulate it."""
    try:
        model = load_run_model(run)
    except Exception as error:  # Keras raises many types for a file it cannot or must not read
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ExportError(f"Keras refused {run.name}'s model: {reason}") from error
    return float32_copy(model)




def _require_onnx() -> None:
    missing = [name for name in ("tf2onnx", "onnxruntime") if not _importable(name)]
    if missing:
        raise ExportError(f"ONNX export needs {' and '.join(missing)} (pip install -r requirements.txt).")


def _importable(name: str) -> bool:
    from importlib.util import find_spec

    return find_spec(name) is not None


def _quiet():
    from ..quiet import native_stderr_silenced, wants_quiet

    return native_stderr_silenced() if wants_quiet() else contextlib.nullcontext()


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
