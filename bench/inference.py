"""Inference speed and accuracy: our prediction path against the `fer` package, in one process.

    python bench/inference.py                                   # the deployed run (else untrained vgg_gap)
    python bench/inference.py --model /tmp/vgg_gap.keras        # a .keras file, a run name or a run folder
    python bench/inference.py --repeats 50 --skip-validation    # photos only, more samples
    python bench/inference.py --faces-only --tta flip,zoom     # classify faces only, under two TTA modes
    python bench/inference.py --faces-only --live-only --tta flip,zoom   # the live model alone
    python bench/inference.py --photos-only --repeats 10 --cpu # photo end to end against fer, the deployed run only

Tables (markdown, ready for BENCHMARKS.md), each after a warm-up, as median and 90th percentile
of wall-clock milliseconds; every row measures its columns in the same rounds, interleaved, so a
busy machine slows them alike and the ratios hold:
1. photo end to end: bytes -> decode, detect, crop, classify (`Predictor.predict`) against
   `cv2.imdecode` + `FER().detect_emotions` on the photos of ../shared/photos and a two-face photo
   made from two of them; with --photos-only, the deployed run also as `analyze` runs it (its int8
   LiteRT file alone, faces of any size: the first pass, then the fine scan where it is needed),
   and as `analyze` ran it before (`--float --faces all`: the float file, the fine scan always);
2. classify only, one face (flip TTA makes it two forward passes, shifts twelve; `--tta flip,shifts`
   times both), and Grad-CAM for one face,
   each against the path before the speed work (eager `model(x)`, tf-keras-vis's Gradcam);
   then `Predictor.classify` alone for one and two faces, every model in the same rounds (the
   figure the "under 5 ms a face" target reads: no eager calls between them to cool the caches);
3. batch throughput in faces per second and accuracy on FER2013 validation
   (`data/fer2013`; skipped with a note when absent). fer's classifier takes 64x64 gray faces in
   -1..1: the 48x48 faces are resized as `detect_emotions` resizes its crops, then scored by its
   default TFLite model (and its Keras .hdf5 model for accuracy).
The models are the deployed one (--model or the `deployed` alias; an untrained vgg_gap without
either) and the `live` alias's run (the Live page's model; an untrained vgg_gap_small when it is
unset: speed does not depend on the weights), in float32 and in bfloat16.

fer is optional and never in requirements.txt: its wheel pins opencv-contrib-python, moviepy and
facenet-pytorch, none of which the detector and classifier need. Install it without them:

    pip install --no-deps fer==25.10.3      # imports only cv2, numpy, PIL, requests, pkg_resources, tensorflow

Without it, the fer columns are skipped with a note.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from emotion_core.faces import DETECTORS, FACE_SIZES, FaceDetector  # noqa: E402
from emotion_core.images import load_rgb  # noqa: E402
from emotion_core.inference import tta_mode, tta_views  # noqa: E402
from emotion_core.labels import EMOTIONS  # noqa: E402
from emotion_core.cli import analysis_predictor  # noqa: E402
from emotion_core.predictor import Predictor  # noqa: E402

PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "photos"
PHOTO_NAMES = ("astronaut.png", "grace_hopper.jpg", "camera.png", "chelsea.png", "coffee.png")
FER_SIZE = 64  # fer's classifier input side
THROUGHPUT_FACES = 1024  # faces per throughput measurement: four of our 256-face batches


# --- timing ---------------------------------------------------------------------------------


# What `interleaved` reads: wall seconds, or with --cpu this process's CPU seconds (all its threads),
# which a shared machine's other work inflates far less than it stretches wall time.
CLOCK = {"now": time.perf_counter}


def interleaved(functions: dict, repeats: int, warmup: int = 3) -> dict[str, np.ndarray]:
    """Seconds (CLOCK) of each function over `repeats` rounds; each round calls every function once,
    starting with a different one each time, so load that comes and goes hits all of them."""
    names = list(functions)
    for _ in range(warmup):
        for name in names:
            functions[name]()
    seconds = {name: [] for name in names}
    for round_ in range(repeats):
        for name in names[round_ % len(names):] + names[:round_ % len(names)]:
            started = CLOCK["now"]()
            functions[name]()
            seconds[name].append(CLOCK["now"]() - started)
    return {name: np.asarray(values) for name, values in seconds.items()}


def ms(values: np.ndarray) -> str:
    """'median / p90' in milliseconds."""
    return f"{np.median(values) * 1e3:.1f} / {np.percentile(values, 90) * 1e3:.1f}"


def ratio(slow: np.ndarray, fast: np.ndarray) -> str:
    return f"{np.median(slow) / np.median(fast):.2f}x"


def table(header: list[str], rows: list[list]) -> None:
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
    for row in rows:
        print("| " + " | ".join(str(cell) for cell in row) + " |")
    print()


# --- the models -----------------------------------------------------------------------------


def eager_probabilities(model, faces: np.ndarray, tta) -> np.ndarray:
    """The prediction path before the speed work: an eager `model(x)` call per view and batch."""
    return np.mean([np.asarray(model(view, training=False)) for view in tta_views(faces, tta)], axis=0)


def with_tta_modes(models: list, modes: list[str] | None) -> list:
    """Each model once per TTA mode in `modes` (None: once, as its run records), to compare costs."""
    return [(label, model, mode, trained) for label, model, tta, trained in models for mode in (modes or [tta])]


def tta_label(label: str, tta) -> str:
    return f"{label} +{tta_mode(tta)} TTA" if tta_mode(tta) != "off" else label


def our_models(spec: str | None) -> list[tuple[str, object, bool, bool]]:
    """(label, keras model, tta, trained) for vgg_gap (from `spec`, the deployed run, or untrained)
    and the live model (see `fast_model`)."""
    import keras

    from emotion_core import registry
    from emotion_core.architectures import build_model

    models = []
    if spec and spec.endswith(".keras"):
        models.append((f"vgg_gap ({Path(spec).name})", float32_model(keras.models.load_model(spec, safe_mode=True)), "flip", True))
    else:
        try:
            predictor = Predictor.load(spec or registry.DEPLOYED)
            models.append((f"{predictor.model.name} ({predictor.run_name})", predictor.model, predictor.tta, True))
        except registry.RunError as error:
            if spec:
                raise
            print(f"note: no deployed run ({error}); timing an untrained vgg_gap, accuracy not shown\n")
    keras.mixed_precision.set_global_policy("float32")
    if not models:
        models.append(("vgg_gap (untrained)", build_model("vgg_gap", (48, 48, 1), 7), "flip", False))
    models.append(fast_model())
    return models


def fast_model() -> tuple[str, object, bool, bool]:
    """The run the `live` alias names (the Live page's model) when it is not the deployed one,
    else an untrained vgg_gap_small (speed does not depend on the weights)."""
    from emotion_core import registry
    from emotion_core.architectures import build_model

    live = registry.alias_target(registry.LIVE)
    if not live or live == registry.alias_target(registry.DEPLOYED):
        return "vgg_gap_small (untrained)", build_model("vgg_gap_small", (48, 48, 1), 7), "flip", False
    predictor = Predictor.load(live)
    return f"{predictor.model.name} ({live})", predictor.model, predictor.tta, True


def float32_model(model):
    """`model` itself, or a float32 copy when it was saved mid-training with a bfloat16 policy
    (a finished run's model.keras is float32 already)."""
    from emotion_core.inference import float32_copy

    copy = float32_copy(model)
    if copy is not model:
        print(f"note: {model.name} was saved with a mixed-precision policy; timing a float32 copy\n")
    return copy


def load_fer():
    """fer's FER object, or None with a note when the package is not installed."""
    try:
        try:
            from fer import FER  # the documented import
        except ImportError:
            from fer.fer import FER  # 25.x's __init__ no longer re-exports it
    except ImportError:
        print("note: the `fer` package is not installed, so its columns are skipped "
              "(pip install --no-deps fer==25.10.3; see this file's docstring)\n")
        return None
    import logging
    import warnings

    logging.getLogger("fer").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TF's notice that tf.lite.Interpreter moves to another package
        return FER()


def fer_faces(gray48: np.ndarray) -> np.ndarray:
    """48x48 uint8 faces (n, 48, 48, 1) as fer's classifier input: (n, 64, 64) float32 in -1..1."""
    resized = np.stack([cv2.resize(face[..., 0], (FER_SIZE, FER_SIZE)) for face in gray48])
    return (resized.astype(np.float32) / 255.0 - 0.5) * 2.0


def fer_keras_model():
    import keras
    import pkg_resources

    return keras.models.load_model(pkg_resources.resource_filename("fer", "data/emotion_model.hdf5"), compile=False,
                                   safe_mode=True)


# --- the inputs -----------------------------------------------------------------------------


def photos() -> dict[str, bytes]:
    """The shared photos as file bytes, plus a two-face photo (astronaut beside Grace Hopper)."""
    if not PHOTOS.is_dir():
        print(f"note: {PHOTOS} is missing, so the photo tables are skipped\n")
        return {}
    found = {name: (PHOTOS / name).read_bytes() for name in PHOTO_NAMES if (PHOTOS / name).exists()}
    if "astronaut.png" in found and "grace_hopper.jpg" in found:
        left, right = load_rgb(found["astronaut.png"]), load_rgb(found["grace_hopper.jpg"])
        height = 384  # two 1-face portraits side by side: about 710x384, two faces of ~70 px
        pair = np.concatenate([cv2.resize(image, (round(image.shape[1] * height / image.shape[0]), height),
                                          interpolation=cv2.INTER_AREA) for image in (left, right)], axis=1)
        found["two faces (pair.png)"] = cv2.imencode(".png", cv2.cvtColor(pair, cv2.COLOR_RGB2BGR))[1].tobytes()
    return found


def validation_faces(limit: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        from emotion_core.datasets import load_split, open_dataset

        x, y = load_split(open_dataset("fer2013"), "validation")
    except Exception as error:  # no data set on a fresh clone
        print(f"note: FER2013 validation is not available ({error}); random faces time the same, "
              "accuracy is skipped\n")
        return None
    return (x[:limit], y[:limit]) if limit else (x, y)


# --- the tables -----------------------------------------------------------------------------


def photo_table(predictors: dict[str, Predictor], fer, images: dict[str, bytes], repeats: int) -> None:
    print("### Photo end to end (decode, detect, crop, classify), ms median / p90\n")
    header = ["photo", "size", "faces ours / fer", *predictors]
    if fer is not None:
        header += ["fer", *(f"fer / {name}" for name in predictors)]
    rows = []
    for name, data in images.items():
        rgb = load_rgb(data)
        calls = {label: (lambda p=predictor: p.predict(data)) for label, predictor in predictors.items()}
        if fer is not None:
            calls["fer"] = lambda: fer.detect_emotions(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
        seconds = interleaved(calls, repeats)
        first = next(iter(predictors.values()))
        faces = f"{len(first.predict(data))} / " + (str(len(calls['fer']())) if fer is not None else "-")
        row = [name, f"{rgb.shape[1]}x{rgb.shape[0]}", faces, *(ms(seconds[label]) for label in predictors)]
        if fer is not None:
            row += [ms(seconds["fer"]), *(ratio(seconds["fer"], seconds[label]) for label in predictors)]
        rows.append(row)
    table(header, rows)


def stage_table(predictor: Predictor, images: dict[str, bytes], repeats: int) -> None:
    """Where the time of one photo goes, for the first photo with a face."""
    name, data = next((n, d) for n, d in images.items() if predictor.predict(d))
    rgb = load_rgb(data)
    boxes = predictor.detector.detect(rgb)
    from emotion_core.faces import crop_face

    inputs = np.stack([predictor.prepare(crop_face(rgb, box)) for box in boxes])
    seconds = interleaved({
        "decode": lambda: load_rgb(data),
        "detect": lambda: predictor.detector.detect(rgb),
        "crop + prepare": lambda: [predictor.prepare(crop_face(rgb, box)) for box in boxes],
        "classify": lambda: predictor.classify(inputs),
    }, repeats)
    print(f"### Where the time goes: {name}, {predictor.run_name}, ms median / p90\n")
    total = sum(np.median(v) for v in seconds.values())
    table(["stage", "ms", "share"], [[stage, ms(v), f"{np.median(v) / total:.0%}"] for stage, v in seconds.items()])


def crowd(rgb: np.ndarray, box, columns: int, rows: int, tile: int = 100) -> np.ndarray:
    """A gray canvas with columns x rows copies of one face (cut with margin 0.3), a quarter tile apart:
    each face is about 0.5 / rows of the canvas height, so more rows means relatively smaller faces."""
    from emotion_core.faces import crop_face

    face = cv2.resize(crop_face(rgb, box, margin=0.3), (tile, tile), interpolation=cv2.INTER_AREA)
    gap = tile // 4
    canvas = np.full((gap + rows * (tile + gap), gap + columns * (tile + gap), 3), 128, np.uint8)
    for index in range(columns * rows):
        row, column = divmod(index, columns)
        top, left = gap + row * (tile + gap), gap + column * (tile + gap)
        canvas[top:top + tile, left:left + tile] = face
    return canvas


def detector_table(fer, images: dict[str, bytes], repeats: int) -> None:
    """Detection time against the faces it finds, for our setting and cheaper ones."""
    settings = {f"{name}, {size}": FaceDetector(name, min_face_fraction=FACE_SIZES[size])
                for name in DETECTORS for size in FACE_SIZES}
    photos = {name: load_rgb(data) for name, data in images.items()}
    astronaut = photos.get("astronaut.png")
    if astronaut is None:
        return
    (box,) = FaceDetector().detect(astronaut)
    scenes = {**{name.split(".")[0].split(" ")[0]: rgb for name, rgb in photos.items()},
              "crowd 5x4": crowd(astronaut, box, 5, 4), "crowd 8x5": crowd(astronaut, box, 8, 5),
              "crowd 10x6": crowd(astronaut, box, 10, 6)}
    expected = {"astronaut": 1, "grace_hopper": 1, "camera": "0-1", "chelsea": 0, "coffee": 0, "two": 2,
                "crowd 5x4": 20, "crowd 8x5": 40, "crowd 10x6": 60}
    calls = {name: (lambda d=detector: d.detect(astronaut)) for name, detector in settings.items()}
    if fer is not None:
        gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
        calls["fer's settings"] = lambda: cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5,
                                                                  minSize=(50, 50))  # as FER.find_faces
    seconds = interleaved(calls, repeats)
    print("### Face detectors: time on astronaut.png (ms median / p90) and faces found\n")
    print("Each detector with each face size (\"any\": faces from 6% of the shorter side, \"large\": from 15%). "
          "A crowd's faces are about 1/2 of its canvas height over its rows (12%, 10%, 8%).\n")
    rows = []
    for name, detector in settings.items():
        rows.append([name, ms(seconds[name]), *(len(detector.detect(rgb)) for rgb in scenes.values())])
    if fer is not None:
        rows.append(["fer's settings (50 px, not equalised)", ms(seconds["fer's settings"]),
                     *(len(fer.find_faces(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))) for rgb in scenes.values())])
    rows.append(["expected", "", *(expected.get(name, "") for name in scenes)])
    table(["setting", "detect ms", *scenes], rows)


def face_table(models, fer, faces: np.ndarray, repeats: int) -> None:
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.utils.scores import CategoricalScore

    from emotion_core.explain import Explainer

    print("### One face: classify only and Grad-CAM, ms median / p90\n")
    face = faces[:1].astype(np.float32)
    rows = []
    for label, model, tta, _trained in models:
        exact, fast = Predictor(model, tta=tta), Predictor(model, tta=tta, precision="bfloat16")
        explainer = Explainer(model)
        timed = {
            "eager": lambda: eager_probabilities(model, face, tta),
            "float32": lambda: exact.classify(face),
            "bfloat16": lambda: fast.classify(face),
            "gradcam": lambda: explainer.heatmaps(face, [3], "gradcam"),
        }
        if hasattr(explainer, "model"):  # one net; an ensemble's map averages its members', which tf-keras-vis cannot
            reference = Gradcam(explainer.model, clone=False)
            gradcam_options = {"penultimate_layer": "last_conv", "seek_penultimate_conv_layer": False,
                               "expand_cam": False, "normalize_cam": False}
            timed["gradcam before"] = lambda: reference(CategoricalScore([3]), face, **gradcam_options)
        seconds = interleaved(timed, repeats)
        before = seconds.get("gradcam before")
        rows.append([tta_label(label, tta), ms(seconds["eager"]), ms(seconds["float32"]),
                     ms(seconds["bfloat16"]), ratio(seconds["eager"], seconds["float32"]),
                     ratio(seconds["eager"], seconds["bfloat16"]), "" if before is None else ms(before),
                     ms(seconds["gradcam"]), "" if before is None else ratio(before, seconds["gradcam"])])
    header = ["model", "classify before (eager)", "classify float32", "classify bfloat16", "speed-up f32",
              "speed-up bf16", "Grad-CAM before (tf-keras-vis)", "Grad-CAM now", "speed-up"]
    if fer is not None:
        fer_face = fer_faces(faces[:1])
        seconds = interleaved({"fer": lambda: fer._classify_emotions(fer_face)}, repeats)
        rows.append(["fer (TFLite, 64x64, no TTA)", "", ms(seconds["fer"]), "", "", "", "", "", ""])
    table(header, rows)


def classify_table(models, faces: np.ndarray, repeats: int) -> None:
    """`Predictor.classify` alone (float32, what the app runs) for one and two faces, every model
    and TTA mode in the same rounds and nothing else between them: the face table's rounds also
    run the slow eager path, which leaves the caches cold and adds a few ms to the small models."""
    print("### Classify alone: one call for 1 or 2 faces, ms median / p90 (ms a face)\n")
    predictors = {tta_label(label, tta): Predictor(model, tta=tta) for label, model, tta, _trained in models}
    rows = []
    for count in (1, 2):
        batch = faces[:count].astype(np.float32)
        seconds = interleaved({name: (lambda p=p: p.classify(batch)) for name, p in predictors.items()},
                              repeats * 5)
        baseline = next(iter(seconds.values()))
        for name, values in seconds.items():
            rows.append([name, count, ms(values), f"{np.median(values) * 1e3 / count:.1f}",
                         ratio(baseline, values)])
    table(["model", "faces", "classify", "a face", "speed against the first row of its count"], rows)


def batch_table(models, fer, faces: np.ndarray, labels: np.ndarray | None, repeats: int) -> None:
    print(f"### Batch: faces per second ({len(faces[:THROUGHPUT_FACES])} faces, batches of 256) "
          + ("and FER2013 validation accuracy\n" if labels is not None else "(random faces: no accuracy)\n"))
    sample = faces[:THROUGHPUT_FACES].astype(np.float32)
    rows = []
    for label, model, tta, trained in models:
        exact, fast = Predictor(model, tta=tta), Predictor(model, tta=tta, precision="bfloat16")
        seconds = interleaved({
            "eager": lambda: [eager_probabilities(model, sample[i:i + 256], tta) for i in range(0, len(sample), 256)],
            "float32": lambda: exact.classify(sample),
            "bfloat16": lambda: fast.classify(sample),
        }, repeats, warmup=1)
        rate = {name: len(sample) / np.median(values) for name, values in seconds.items()}
        row = [tta_label(label, tta), f"{rate['eager']:.0f}", f"{rate['float32']:.0f}",
               f"{rate['bfloat16']:.0f}"]
        if labels is not None and trained:
            p32, p16 = exact.classify(faces.astype(np.float32)), fast.classify(faces.astype(np.float32))
            before = np.concatenate([eager_probabilities(model, faces[i:i + 256].astype(np.float32), tta)
                                     for i in range(0, len(faces), 256)])
            row += [f"{np.mean(p32.argmax(1) == labels):.2%}", f"{np.mean(p16.argmax(1) == labels):.2%}",
                    f"{np.abs(p32 - before).max():.1e}", f"{np.abs(p16 - p32).max():.3f}",
                    f"{np.mean(p16.argmax(1) == p32.argmax(1)):.2%}"]
        else:
            row += ["", "", "", "", ""]
        rows.append(row)
    if fer is not None:
        fer_input = fer_faces(faces)
        seconds = interleaved({"fer": lambda: fer._classify_emotions(fer_input[:THROUGHPUT_FACES])}, repeats, warmup=1)
        rate = len(sample) / np.median(seconds["fer"])
        row = ["fer (TFLite, per face as detect_emotions runs it)", "", f"{rate:.0f}", "", "", "", "", "", ""]
        if labels is not None:
            row[4] = f"{np.mean(np.asarray(fer._classify_emotions(fer_input)).argmax(1) == labels):.2%}"
            keras_model = fer_keras_model()
            keras_predictions = np.concatenate([keras_model.predict_on_batch(fer_input[i:i + 256, ..., None])
                                                for i in range(0, len(fer_input), 256)])
            rows.append(row)
            row = ["fer (its Keras .hdf5 model)", "", "", "", f"{np.mean(keras_predictions.argmax(1) == labels):.2%}",
                   "", "", "", ""]
        rows.append(row)
    table(["model", "eager (before)", "float32", "bfloat16", "accuracy f32", "accuracy bf16",
           "max abs diff f32 vs before", "max abs diff bf16 vs f32", "bf16 top-1 agrees"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="vgg_gap to time: a .keras file, a run name or folder (default: deployed)")
    parser.add_argument("--repeats", type=int, default=20, help="timed rounds after the warm-up")
    parser.add_argument("--skip-validation", action="store_true", help="no batch throughput or accuracy table")
    parser.add_argument("--faces-only", action="store_true", help="no photo tables: classify faces only")
    parser.add_argument("--cpu", action="store_true",
                        help="time CPU seconds of this process (all threads) instead of wall seconds: steadier on a "
                             "shared machine; fer and ours both run here, so the ratios compare work")
    parser.add_argument("--photos-only", action="store_true",
                        help="the photo end-to-end table alone, with the deployed model only (no live model, no bf16)")
    parser.add_argument("--live-only", action="store_true",
                        help="time the live model alone, as the Live page's process runs it (no deployed model)")
    parser.add_argument("--tta", type=lambda text: [tta_mode(mode) for mode in text.split(",")], default=None,
                        metavar="MODE,MODE", help="the one-face and batch tables time each model under these TTA "
                                                  "modes (off, flip, zoom, shifts; default: as each run records)")
    args = parser.parse_args()
    if args.cpu:
        CLOCK["now"] = time.process_time

    import keras
    import tensorflow as tf

    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")),
               platform.processor())
    bf16 = "AVX512-BF16" if " avx512_bf16" in cpuinfo else "no AVX512-BF16"
    print(f"machine: {cpu}, {os.cpu_count()} cores, {bf16}, load average {os.getloadavg()[0]:.1f}; "
          f"{'CPU' if args.cpu else 'wall'} time; "
          f"python {platform.python_version()}, tensorflow {tf.__version__}, keras {keras.__version__}, "
          f"opencv {cv2.__version__}; {args.repeats} rounds after warm-up\n")
    models = [fast_model()] if args.live_only else our_models(args.model)
    if args.photos_only:
        models = models[:1]
    fer = load_fer()
    images = {} if args.faces_only else photos()
    validation = None if args.skip_validation or args.photos_only else validation_faces()
    if validation is None:
        faces = np.random.default_rng(0).integers(0, 256, (THROUGHPUT_FACES, 48, 48, 1), dtype=np.uint8)
        labels = None
    else:
        faces, labels = validation

    if images:
        # Each model in float32, and the deployed one in bfloat16 too; column names are the architectures.
        predictors = {f"{label.split(' ')[0]} f32": Predictor(model, run_name=label, tta=tta)
                      for label, model, tta, _trained in models}
        label, model, tta, _trained = models[0]
        predictors[f"{label.split(' ')[0]} bf16"] = Predictor(model, run_name=label, tta=tta, precision="bfloat16")
        # The "large only" face size (portraits, webcam shots), with each model; the Haar cascade to compare.
        for label, model, tta, _trained in models:
            predictors[f"{label.split(' ')[0]} f32 large"] = Predictor(
                model, run_name=label, tta=tta, detector=FaceDetector(min_face_fraction=FACE_SIZES["large"]))
        label, model, tta, _trained = models[0]
        predictors[f"{label.split(' ')[0]} f32 haar"] = Predictor(model, run_name=label, tta=tta,
                                                                  detector=FaceDetector("haar"))
        if args.photos_only:
            predictors = {name: predictors[name] for name in list(predictors)[:1]}
            if not args.model or not args.model.endswith(".keras"):
                run = args.model or "deployed"
                before = analysis_predictor(run, "yunet", quantize=None)
                before.detector = FaceDetector(min_face_fraction=FACE_SIZES["all"])
                predictors["analyze before (float, all)"] = before
                predictors["analyze (int8, any)"] = analysis_predictor(run, "yunet")
                large = analysis_predictor(run, "yunet")
                large.detector = FaceDetector(min_face_fraction=FACE_SIZES["large"])
                predictors["analyze (int8, large)"] = large
        photo_table(predictors, fer, images, args.repeats)
        if args.photos_only:
            return
        stage_table(next(iter(predictors.values())), images, args.repeats)
        detector_table(fer, images, args.repeats)
    face_table(with_tta_modes(models, args.tta), fer, faces, args.repeats)
    classify_table(with_tta_modes(models, args.tta), faces, args.repeats)
    if not args.skip_validation:
        batch_table(with_tta_modes(models, args.tta), fer, faces, labels, max(3, args.repeats // 5))
    print(f"emotions in model order: {', '.join(EMOTIONS)} (fer uses the same FER2013 order)")


if __name__ == "__main__":
    main()
