"""The command line: `python -m emotion_core COMMAND ...`.

    python -m emotion_core data list
    python -m emotion_core data summary data/fer2013 [--json]
    python -m emotion_core train --arch vgg_gap --data data/fer2013 [--epochs 60 ...]
    python -m emotion_core train --resume RUN [--epochs N]
    python -m emotion_core runs list | show RUN | deploy RUN
    python -m emotion_core evaluate deployed --data data/fer2013 --split validation [--tta] [--json]
    python -m emotion_core predict photo.jpg [--model RUN] [--json]
    python -m emotion_core analyze photos/ --csv results.csv [--model RUN]    (a folder or a .zip)
    python -m emotion_core jobs start --arch vgg_gap --data fer2013 | list | cancel ID | log ID

Errors a user can fix (a missing data set, a bad option) print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import fields
from pathlib import Path

from .config import TrainConfig, config_from_dict, field_choices, load_config_file
from .faces import FACE_SIZES


class UserError(Exception):
    """An error explained in one line; the CLI prints it without a traceback."""


class OneLineErrorParser(argparse.ArgumentParser):
    """Usage mistakes in one line too: `train`'s full usage is a screenful that hides the error."""

    def error(self, message):
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


# --- data -----------------------------------------------------------------------------------------


def cmd_data_list(args) -> int:
    from .datasets import data_root, find_datasets, open_dataset

    found = find_datasets()
    if not found:
        print(f"No data sets under {data_root()} (set EMOTION_DATA_DIR or link one there).")
    for path in found:
        dataset = open_dataset(path)
        totals = ", ".join(f"{split} {len(dataset.items[split]):,}" for split in dataset.splits)
        print(f"{path.name:<24} {dataset.kind:<8} {totals}")
    return 0


def cmd_data_summary(args) -> int:
    from .datasets import format_summary, open_dataset, summarize

    summary = summarize(open_dataset(args.path), use_cache=not args.no_cache)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


# --- train ----------------------------------------------------------------------------------------


def _add_train_options(parser: argparse.ArgumentParser) -> None:
    """One flag per config field, grouped; defaults stay None so file values are not overridden."""
    choices = field_choices()
    defaults = TrainConfig()
    group = parser.add_argument_group("training options (defaults in emotion_core/config.py)")
    for field in fields(TrainConfig):
        flag = "--" + field.name.replace("_", "-")
        default = getattr(defaults, field.name)
        help_text = f"default: {default!r}"
        if isinstance(default, bool):
            group.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction, default=None,
                               help=help_text)
        else:
            group.add_argument(flag, dest=field.name, type=type(default), default=None,
                               choices=choices.get(field.name), help=help_text)


def config_from_args(args) -> TrainConfig:
    """Defaults, then the --config file, then flags."""
    values = load_config_file(args.config) if args.config else {}
    for field in fields(TrainConfig):
        value = getattr(args, field.name, None)
        if value is not None:
            values[field.name] = value
    return config_from_dict(values)


def cmd_train(args) -> int:
    from . import training

    if args.resume:
        run_dir = training.resume(args.resume, epochs=args.epochs)
    else:
        run_dir = training.train(config_from_args(args), runs_dir=args.runs_dir)
    print(f"run folder: {run_dir}")
    return 0


# --- runs -----------------------------------------------------------------------------------------


def cmd_runs_list(args) -> int:
    from . import registry

    runs = registry.list_runs()
    if args.json:
        print(json.dumps([run.summary_row() for run in runs], indent=2, default=str))
    elif not runs:
        print(f"No runs in {registry.runs_root()}; train one with `python -m emotion_core train`.")
    elif args.markdown:
        print(registry.format_runs_markdown(runs, registry.deployed_name()))
    else:
        print(registry.format_runs_table(runs, registry.deployed_name()))
    return 0


def cmd_runs_show(args) -> int:
    from . import registry

    run = registry.load_run(registry.resolve_run(args.run))
    if args.json:
        print(json.dumps({"summary": run.summary_row(), "config": run.config, "status": run.status,
                          "dataset": run.dataset, "info": run.info}, indent=2, default=str))
    else:
        print(registry.model_card_text(run))
        if run.problem:
            print(f"broken: {run.problem}")
    return 0


def cmd_runs_deploy(args) -> int:
    from . import registry

    record = registry.deploy(args.run)
    previous = record["history"][0]["run"] if record["history"] else "none"
    print(f"deployed: {record['run']} (previously {previous})")
    return 0


# --- evaluate and predict ---------------------------------------------------------------------------


def cmd_evaluate(args) -> int:
    from .evaluation import format_report
    from .scoring import evaluate_run

    report = evaluate_run(args.run, args.data, args.split, tta=args.tta, save=not args.no_save)
    print(json.dumps(report) if args.json else format_report(report))
    return 0


def cmd_predict(args) -> int:
    from .images import ImageError
    from .predictor import Predictor

    predictor = Predictor.load(args.model)
    if predictor.warning:
        print(f"warning: {predictor.warning}", file=sys.stderr)
    results, failed = {}, 0
    for image_path in args.images:
        try:
            faces = predictor.predict(image_path, whole_image_fallback=args.whole_image,
                                      min_face_fraction=FACE_SIZES[args.faces])
            results[image_path] = [face.as_dict() for face in faces]
        except (ImageError, OSError) as error:
            results[image_path] = {"error": str(error)}
            failed += 1
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for image_path, faces in results.items():
            print(_describe_prediction(image_path, faces))
    return 1 if failed else 0


def _describe_prediction(image_path: str, faces) -> str:
    if isinstance(faces, dict):
        return f"{image_path}: error: {faces['error']}"
    if not faces:
        return f"{image_path}: no face found"
    lines = [f"{image_path}: {len(faces)} face(s)"]
    for index, face in enumerate(faces):
        box = face["box"]
        top = sorted(face["probabilities"].items(), key=lambda item: -item[1])[:3]
        shares = ", ".join(f"{name} {p:.0%}" for name, p in top)
        lines.append(f"  face {index}: {face['label']:<9} at x={box['x']} y={box['y']} "
                     f"{box['width']}x{box['height']}  ({shares})")
    return "\n".join(lines)


def _add_faces_option(parser) -> None:
    parser.add_argument("--faces", choices=list(FACE_SIZES), default="any",
                        help=f"smallest face to look for: any = {FACE_SIZES['any']:.0%} of the photo's shorter side "
                             f"(group photos), large = {FACE_SIZES['large']:.0%} (portraits, webcam; about 5x faster)")


# --- analyze ----------------------------------------------------------------------------------------


def cmd_analyze(args) -> int:
    from . import batch
    from .predictor import Predictor

    predictor = Predictor.load(args.model)
    if predictor.warning:
        print(f"warning: {predictor.warning}", file=sys.stderr)
    started = time.monotonic()
    try:
        counts = batch.analyze(args.path, args.csv, predictor, progress=_progress_bar(sys.stderr),
                               min_face_fraction=FACE_SIZES[args.faces])
    except KeyboardInterrupt:
        print(f"\ninterrupted: finished files are in {args.csv}; run the same command to continue",
              file=sys.stderr)
        return 130
    analysed = counts["images"] - counts["skipped_as_done"]
    print(f"\n{analysed} images analysed in {time.monotonic() - started:.1f} s "
          f"({counts['skipped_as_done']} done earlier); results in {args.csv}", file=sys.stderr)
    if args.faces == "any" and analysed:
        print("tip: when every face fills 15% or more of its photo (webcam shots, portraits), "
              "--faces large finds them about 3x faster", file=sys.stderr)
    print(batch.format_summary(batch.read_results(args.csv)))
    return 0


def _progress_bar(stream, width: int = 30):
    """A progress(done, total) callback drawing `[#####.....] 120/1000 images  14.2/s  ETA 1:02`."""
    started, done_before = time.monotonic(), None

    def draw(done: int, total: int) -> None:
        nonlocal done_before
        if done_before is None:
            done_before = done  # files done by an earlier run: the rate counts this run's only
        filled = round(width * done / total) if total else width
        rate = (done - done_before) / max(time.monotonic() - started, 1e-9)
        left = int((total - done) / rate) if rate else None
        eta = f"  ETA {left // 60}:{left % 60:02d}" if left is not None else ""
        bar = "#" * filled + "." * (width - filled)
        # The trailing spaces wipe what a longer previous line left behind.
        stream.write(f"\r[{bar}] {done}/{total} images  {rate:.1f}/s{eta}  ")
        stream.flush()

    return draw


# --- the parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="python -m emotion_core", description="Facial emotion model explorer")
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="data sets").add_subparsers(dest="data_command", required=True)
    data.add_parser("list", help="data sets under the data root").set_defaults(func=cmd_data_list)
    summary = data.add_parser("summary", help="counts, colour, sizes, unreadable files, duplicates")
    summary.add_argument("path")
    summary.add_argument("--json", action="store_true")
    summary.add_argument("--no-cache", action="store_true", help="recompute even if cached")
    summary.set_defaults(func=cmd_data_summary)

    train = commands.add_parser("train", help="train a run (or --resume one)")
    train.add_argument("--config", type=Path, help="JSON file of config values (flags override it)")
    train.add_argument("--resume", metavar="RUN", help="continue an interrupted run")
    train.add_argument("--runs-dir", type=Path, help="registry folder (default models/ or EMOTION_RUNS_DIR)")
    _add_train_options(train)
    train.set_defaults(func=cmd_train)

    runs = commands.add_parser("runs", help="the run registry").add_subparsers(dest="runs_command", required=True)
    runs_list = runs.add_parser("list")
    runs_list.add_argument("--json", action="store_true")
    runs_list.add_argument("--markdown", action="store_true",
                           help="the results table of RESULTS.md: validation figures, recipe, size, cost, hardware")
    runs_list.set_defaults(func=cmd_runs_list)
    show = runs.add_parser("show")
    show.add_argument("run")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_runs_show)
    deploy = runs.add_parser("deploy")
    deploy.add_argument("run")
    deploy.set_defaults(func=cmd_runs_deploy)

    evaluate = commands.add_parser("evaluate", help="metrics of a run on a data set split")
    evaluate.add_argument("run", help="deployed, a run name or a run folder")
    evaluate.add_argument("--data", default=None, help="data set (default: the one the run trained on)")
    evaluate.add_argument("--split", default="validation")
    evaluate.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                          help="horizontal-flip test-time augmentation (default: as the run records)")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--no-save", action="store_true", help="do not save into the run folder")
    evaluate.set_defaults(func=cmd_evaluate)

    predict = commands.add_parser("predict", help="emotions of the faces in images")
    predict.add_argument("images", nargs="+")
    predict.add_argument("--model", default="deployed")
    predict.add_argument("--whole-image", action="store_true", help="classify the whole image when no face is found")
    predict.add_argument("--json", action="store_true")
    _add_faces_option(predict)
    predict.set_defaults(func=cmd_predict)

    analyze = commands.add_parser("analyze", help="emotions of every face in a folder or .zip of photos, to a CSV")
    analyze.add_argument("path", type=Path, help="a folder (searched recursively) or a .zip of images")
    analyze.add_argument("--csv", type=Path, required=True,
                         help="results file; if it exists, files already in it are not analysed again")
    analyze.add_argument("--model", default="deployed")
    _add_faces_option(analyze)
    analyze.set_defaults(func=cmd_analyze)

    from .jobs import add_jobs_commands  # jobs start|list|cancel|log|worker, defined beside the jobs code

    add_jobs_commands(commands)
    return parser


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's start-up chatter out of the output
    args = build_parser().parse_args(argv)
    from .datasets import DatasetError
    from .registry import RunError

    try:
        return args.func(args)
    except (UserError, DatasetError, RunError, ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # disk full, read-only folder: the machine's state, not a bug worth a traceback
        where = f" ({error.filename})" if error.filename else ""
        print(f"error: {error.strerror or error}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
