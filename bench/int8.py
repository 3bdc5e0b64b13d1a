"""int8 against float: the two LiteRT files an analysis can classify with, on all of FER2013 validation.

    nice -n 5 python bench/int8.py                          # the deployed and live runs
    nice -n 5 python bench/int8.py vgg_gap-e35 --repeats 5  # any runs

For each run, its checked float and int8 LiteRT files (`serving.export.litert_file`: exported and
checked on first use, as `analyze` does) classify every face of FER2013 validation (data/fer2013:
the 48x48 aligned crops `evaluate` scores) through `ExportedModel.classify`, as an analysis does:
the run's TTA views averaged, its temperature applied. The table gives each file's accuracy and
macro-F1, how often the two files' top labels agree and their largest probability difference, and
CPU ms a face (process time, so the niced training beside it does not count; each face is all its
TTA views) at 6 faces a call (a photo, a video's batch) and at 600 (a folder), both files timed in
the same rounds, interleaved, so the ratio holds on a busy machine. The run's saved evaluation
(Keras, `registry.Run.accuracy`) is the reference the float file should repeat. A run whose int8
file fails its check (top label as Keras's on under 99% of 500 validation faces: `analyze` then
classifies with the float file) has it measured anyway, from a temporary folder, marked refused.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from emotion_core import registry  # noqa: E402
from emotion_core.datasets import keep_classes, load_split, open_dataset  # noqa: E402
from emotion_core.evaluation import classification_report  # noqa: E402
from emotion_core.serving import export  # noqa: E402
from emotion_core.serving.export import ExportedModel, ExportError, export_run, litert_file  # noqa: E402

DATA = Path(__file__).resolve().parents[1] / "data" / "fer2013"
BATCHES = (6, 600)  # faces a call: a photo's or a video batch's, and a folder's


def validation(run: registry.Run) -> tuple[np.ndarray, np.ndarray]:
    """FER2013 validation as the run's input (size, colour), labelled in the run's class order."""
    dataset = open_dataset(str(DATA), require_train=False)
    x, y = load_split(dataset, "validation", int(run.config.get("image_size", 48)), run.color_mode)
    return keep_classes(x.astype(np.float32), y, run.classes)


def cpu_ms_a_face(models: dict[str, ExportedModel], x: np.ndarray, batch: int, repeats: int) -> dict[str, float]:
    """Median process-time ms a face of `classify` on `batch` faces, the files interleaved in each round."""
    times = {name: [] for name in models}
    for model in models.values():
        model.classify(x[:batch])  # sizes the interpreter's tensors for this batch
    for round_ in range(repeats):
        faces = x[(round_ * batch) % (len(x) - batch):][:batch]
        for name, model in models.items():
            started = time.process_time()
            model.classify(faces)
            times[name].append((time.process_time() - started) * 1000 / batch)
    return {name: float(np.median(values)) for name, values in times.items()}


def int8_file(run: registry.Run, log) -> ExportedModel:
    """The run's checked int8 file; one its check refuses is made again in a temporary folder, check
    off, so the table shows what the check kept from the analyses (marked `refused` in its row)."""
    try:
        return ExportedModel(litert_file(run.path, log=log, quantize="int8"))
    except ExportError as error:
        log(f"{run.name}: {error} Measured anyway, from a temporary folder.")
    agreement = export.INT8_AGREEMENT
    export.INT8_AGREEMENT = 0.0
    try:
        model = ExportedModel(export_run(run.path, "litert", tempfile.mkdtemp(), quantize="int8")["path"])
    finally:
        export.INT8_AGREEMENT = agreement
    model.record["refused"] = True
    return model


def bench(run_name: str, repeats: int) -> list[str]:
    run = registry.load_run(registry.resolve_run(run_name))
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    models = {"float": ExportedModel(litert_file(run.path, log=log)), "int8": int8_file(run, log)}
    x, y = validation(run)
    probabilities, reports = {}, {}
    for name, model in models.items():
        started = time.monotonic()
        probabilities[name] = np.concatenate([model.classify(x[start:start + 600]) for start in range(0, len(x), 600)])
        reports[name] = classification_report(y, probabilities[name], class_names=run.classes)
        log(f"{run.name} {name}: {len(x)} faces in {time.monotonic() - started:.0f} s")
    agreement = float(np.mean(probabilities["float"].argmax(1) == probabilities["int8"].argmax(1)))
    largest = float(np.max(np.abs(probabilities["float"] - probabilities["int8"])))
    speed = {batch: cpu_ms_a_face(models, x, batch, repeats if batch > 100 else repeats * 10) for batch in BATCHES}
    rows = []
    for name, model in models.items():
        report = reports[name]
        # the int8 row compares itself with the float one
        versus = ([f"{agreement:.2%}", f"{largest:.3f}"], f"{speed[6]['float'] / speed[6][name]:.1f}x") \
            if name != "float" else (["-", "-"], "-")
        check = model.record["check"]  # the export's own: its top label as Keras's on 500 validation faces
        label = f"{name} (refused: {check['top_label_agreement']:.1%})" if model.record.get("refused") else name
        cells = [f"{run.name} ({model.tta} TTA)", label, f"{model.record['bytes'] / 2**20:.1f}",
                 f"{report['accuracy']:.2%}", f"{report['macro_f1']:.4f}", *versus[0],
                 *(f"{speed[batch][name]:.2f}" for batch in BATCHES), versus[1]]
        rows.append("| " + " | ".join(cells) + " |")
    reference = f"{run.accuracy:.2%} ({run.accuracy_source})" if run.accuracy is not None else "none saved"
    rows.append(f"| {run.name} | Keras, saved evaluation | | {reference} | | | | | | |")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", default=["deployed", "live"], help="run names or aliases")
    parser.add_argument("--repeats", type=int, default=3, help="rounds at 600 faces a call (ten times as many at 6)")
    args = parser.parse_args(argv)
    if not (DATA / "validation").is_dir():
        print(f"error: {DATA}/validation is not here", file=sys.stderr)
        return 2
    print("| run | LiteRT file | MB | accuracy | macro-F1 | top label as float's | largest prob. diff | "
          + " | ".join(f"CPU ms a face, {batch} a call" for batch in BATCHES) + " | faster (6 a call) |")
    print("|---|---|---:|---:|---:|---:|---:|" + "---:|" * len(BATCHES) + "---:|", flush=True)
    for run in args.runs:
        print("\n".join(bench(run, args.repeats)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
