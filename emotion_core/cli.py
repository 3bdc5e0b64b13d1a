"""The command line: `python -m emotion_core COMMAND ...`.

    python -m emotion_core data list
    python -m emotion_core data summary data/fer2013 [--json]
    python -m emotion_core data faces my-photos/ --out data/my-faces     (labelled photos -> aligned face crops)
    python -m emotion_core train --arch vgg_gap --data data/fer2013 [--epochs 60 ...]
    python -m emotion_core train --resume RUN [--epochs N]
    python -m emotion_core runs list | show RUN | deploy RUN [--alias live] | tta RUN MODE
    python -m emotion_core runs calibrate RUN      (a temperature fitted on validation; every path applies it)
    python -m emotion_core evaluate deployed [live ...] --data data/fer2013 --split validation [--tta MODE] [--json]
    python -m emotion_core evaluate --all --data my-holdout --split test --json     (a list, one report per run)
    python -m emotion_core testsets add posed.zip | my-holdout [--kind photos] | list | score [NAME] | remove NAME
    python -m emotion_core predict photo.jpg [--model RUN] [--json]
    python -m emotion_core analyze photos/ --csv results.csv [--model RUN]    (a folder or a .zip)
    python -m emotion_core analyze photos/ --engine ray [--address auto] --out results/   (Ray Data)
    python -m emotion_core analyze videos/ --out results/ [--fps 5]   (video_frames.csv, video_seconds.csv)
    python -m emotion_core report results/ [--manifest CSV] [--by COLUMN]   (the ad test report of those videos)
    python -m emotion_core jobs start --arch vgg_gap --data fer2013 | list | cancel ID | log ID
    python -m emotion_core serve [--host 127.0.0.1] [--port 8000] [--model deployed]   (the REST API)
    python -m emotion_core export RUN --format litert|onnx|savedmodel [--quantize int8] [--out PATH]

Errors a user can fix (a missing data set, a bad option) print one line and exit with status 2.
TensorFlow's start-up notices are hidden unless TF_CPP_MIN_LOG_LEVEL is set (0 shows them all).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

from tqdm import tqdm

from .config import add_train_options, resolve_config
from .faces import DEFAULT_DETECTOR, DETECTOR_DESCRIPTIONS, DETECTORS, FACE_SIZE_HELP, FACE_SIZES
from .inference import TTA_MODES
from .quiet import TF_LOG_LEVEL, native_stderr_silenced, wants_quiet
from .registry import ALIASES, DEPLOYED
from .video.defaults import VIDEO_FACES, VIDEO_FPS
from .wording import accuracy, plural

RUNS_DIR_HELP = "registry folder (default models/ or EMOTION_RUNS_DIR)"


class OneLineErrorParser(argparse.ArgumentParser):
    """Usage mistakes in one line too: `train`'s full usage is a screenful that hides the error."""

    def error(self, message):
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


# --- data -----------------------------------------------------------------------------------------


def cmd_data_list(args) -> int:
    from .datasets import data_root, find_datasets, open_dataset
    from .testsets import list_sets

    found = find_datasets(require_train=False)  # a hold-out with test/ only is listed too: runs are scored on it
    if not found:
        print(f"No data sets under {data_root()} (set EMOTION_DATA_DIR or link one there).")
    tested = {testset.name: testset for testset in list_sets()}
    for path in found:
        dataset = open_dataset(path, require_train=False)
        totals = ", ".join(f"{split} {len(dataset.items[split]):,}" for split in dataset.splits)
        testset = tested.get(path.name)
        print(f"{path.name:<24} {dataset.kind:<8} {totals}"
              + (f"  [test set: {testset.split}, {testset.kind}]" if testset else ""))
    return 0


def cmd_data_summary(args) -> int:
    from .datasets import format_summary, open_dataset, summarize

    # Any labelled folder: a hold-out or a face set may have test/ only.
    summary = summarize(open_dataset(args.path, require_train=False), use_cache=not args.no_cache)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


def cmd_data_faces(args) -> int:
    from .faceset import faces_from_photos

    with _progress_bar(sys.stderr) as progress:
        record = faces_from_photos(args.photos, args.out, args.split, args.detector, args.faces, progress=progress)
    several = f", {record['several_faces']} with several faces (the most confident kept)" if record["several_faces"] else ""
    print(f"{record['faces']} faces from {record['photos']} photos into {args.out} (no face found on "
          f"{record['no_face']}, unreadable {record['unreadable']}{several}); crops per class: "
          + "; ".join(f"{split}: " + ", ".join(f"{name} {count}" for name, count in counts.items())
                      for split, counts in record["counts"].items()))
    return 0


def cmd_data_proxy(args) -> int:
    from .proxy import build_proxy

    manifest = build_proxy(args.source, args.out, args.split, args.seed, args.limit)
    print(f"{sum(manifest['counts'].values()):,} photos in {Path(args.out) / args.split}; score a run on them "
          f"through the whole pipeline with: python -m emotion_core evaluate RUN --data {args.out} "
          f"--split {args.split} --faces detect")
    return 0


# --- test sets ------------------------------------------------------------------------------------


def cmd_testsets_list(args) -> int:
    from .testsets import list_sets, status_rows

    rows = status_rows(list_sets())
    if args.json:
        print(json.dumps(rows))
    elif not rows:
        print("No test sets yet: `python -m emotion_core testsets add FOLDER|ZIP` adds one.")
    for row in [] if args.json else rows:
        print(f"{row['name']:<24} {row['split']:<11} {row['kind']:<7} {row['images']:>7,} images  "
              f"{row['current']} of {row['runs']} runs scored" + (f"  ({row['problem']})" if row["problem"] else ""))
    return 0


def cmd_testsets_add(args) -> int:
    from .testsets import add_folder, add_zip

    source = Path(args.source)
    if source.suffix.lower() == ".zip" and source.is_file():
        testset = add_zip(source.name, source.read_bytes(), args.name, args.kind)
    else:
        if args.name:
            raise ValueError("--name is for a .zip; a folder under the data root keeps its name")
        testset = add_folder(args.source, args.kind)
    print(f"{testset.name}: a test set of {testset.kind} ({testset.split} split)")
    return 0 if args.no_score else _score_testsets([testset.name])


def cmd_testsets_score(args) -> int:
    return _score_testsets(args.names or None)


def _score_testsets(names) -> int:
    from .testsets import score_sets

    bars = {}  # one bar per set, each closed when the next set starts

    def progress(name: str, done: float, total: float) -> None:
        if name not in bars:
            for bar in bars.values():
                bar.close()
            bars[name] = tqdm(total=total, file=sys.stderr, desc=name, ascii=".#", bar_format="{desc} [{bar:30}] {percentage:3.0f}%")
        bars[name].update(done - bars[name].n)

    results = score_sets(names, progress=progress)
    for bar in bars.values():
        bar.close()
    for result in results:
        print(f"{result['set']}: {plural(len(result['scored']), 'run')} scored, {len(result['unchanged'])} unchanged"
              + "".join(f"\n  {run}: {reason}" for run, reason in result["failed"].items()))
    return 0


def cmd_testsets_remove(args) -> int:
    from .testsets import remove_set

    testset = remove_set(args.name)
    print(f"{testset.name} is no longer a test set; its folder and the runs' figures on it stay")
    return 0


# --- train ----------------------------------------------------------------------------------------


def cmd_train(args) -> int:
    from . import training

    if args.resume:
        run_dir = training.resume(args.resume, epochs=args.epochs)
    else:
        run_dir = training.train(resolve_config(args.config, vars(args)), runs_dir=args.runs_dir)
    print(f"run folder: {run_dir}")
    from . import registry, report

    if lines := report.adaptation_lines(registry.load_run(run_dir)):  # a fine-tune on your own faces
        print("\n".join(lines))
    return 0


# --- runs -----------------------------------------------------------------------------------------


def cmd_runs_list(args) -> int:
    from . import registry, report

    runs = registry.list_runs()
    if args.json:
        print(json.dumps([run.summary_row() for run in runs], indent=2, default=str))
    elif not runs:
        print(f"No runs in {registry.runs_root()}; train one with `python -m emotion_core train`.")
    elif args.markdown:
        print(report.format_runs_markdown(runs, registry.deployed_name()))
    else:
        print(report.format_runs_table(runs, registry.deployed_name()))
    return 0


def cmd_runs_show(args) -> int:
    from . import registry, report

    run = registry.load_run(registry.resolve_run(args.run))
    if args.json:
        print(json.dumps({"summary": run.summary_row(), "config": run.config, "status": run.status,
                          "dataset": run.dataset, "info": run.info}, indent=2, default=str))
    else:
        print(report.model_card_text(run))
        if run.problem:
            print(f"broken: {run.problem}")
    return 0


def cmd_runs_deploy(args) -> int:
    from . import registry

    record = registry.deploy(args.run, alias=args.alias)
    previous = record["history"][0]["run"] if record["history"] else "none"
    print(f"{args.alias}: {record['run']} (previously {previous})")
    return 0


def cmd_runs_ensemble(args) -> int:
    from .ensemble import make_ensemble

    folder = make_ensemble(args.name, args.members)
    print(f"{folder.name}: the average of {', '.join(args.members)}")
    if args.evaluate:
        from .evaluation import format_report
        from .scoring import evaluate_run

        print(format_report(evaluate_run(folder.name, args.data, "validation")))
    return 0


def cmd_runs_calibrate(args) -> int:
    from .scoring import calibrate_run

    result = calibrate_run(args.run, args.data)
    check = result["ece_after_two_fold"]
    print(f"{result['run']}: temperature {result['temperature']:.3f} on {result['images']:,} validation images "
          f"({result['tta']} TTA): ECE {result['ece_before']:.3f} -> {result['ece_after']:.3f}"
          + (f" ({check:.3f} fitted on the other half)" if check is not None else "")
          + f", mean confidence {accuracy(result['mean_confidence_before'])} -> "
          f"{accuracy(result['mean_confidence_after'])} at accuracy {accuracy(result['accuracy'])}")
    _exports_follow(args.run)
    return 0


def _exports_follow(run: str) -> None:
    """A run's exported files are read through their sidecars: these follow its TTA and temperature."""
    from .serving.export import follow_run

    rewritten = follow_run(run)
    if rewritten:
        print(f"exports: {', '.join(path.name for path in rewritten)} now say so", file=sys.stderr)


def cmd_runs_tta(args) -> int:
    from .scoring import adopt_tta

    result = adopt_tta(args.run, args.mode, args.data)
    previous = (f"{accuracy(result['previous_accuracy'])} with {result['previous_tta']}"
                if result["previous_accuracy"] is not None else "not evaluated before")
    print(f"{result['run']} predicts with {result['tta']} TTA: validation {accuracy(result['accuracy'])}, "
          f"macro-F1 {result['macro_f1']:.3f} ({previous})")
    _exports_follow(args.run)
    return 0


# --- evaluate and predict ---------------------------------------------------------------------------


def cmd_evaluate(args) -> int:
    from .evaluation import format_report
    from . import scoring

    if args.all == bool(args.runs):
        raise ValueError("name the runs to evaluate, or give --all (not both)")
    runs = scoring.evaluable_runs() if args.all else args.runs
    if not runs:
        raise ValueError("no run with a model file to evaluate")
    if args.faces == "detect":
        if not args.data:
            raise ValueError("--faces detect needs --data: a folder of labelled photos")
        reports = scoring.evaluate_photos_runs(runs, args.data, args.split, args.detector, save=not args.no_save)
    else:
        reports = scoring.evaluate_runs(runs, args.data, args.split, tta=args.tta, save=not args.no_save)
    for report in reports:
        heading = f"{report['run']}: " if len(reports) > 1 else ""
        if report.get("faces") == "detect":
            print(f"{heading}{report['photos']} photos: no face found on {report['no_face']}, unreadable "
                  f"{report['unreadable']}; accuracy {accuracy(report['accuracy_all_photos'])} counting those as wrong",
                  file=sys.stderr)
        if report.get("note"):  # classes left out, or classes the set has no images of
            print(f"{heading}{report['note']}", file=sys.stderr)
    if args.json:
        print(json.dumps(reports))  # a list, one object per run, however many runs
    else:
        print("\n\n".join((f"{report['run']}\n" if len(reports) > 1 else "") + format_report(report)
                          for report in reports))
    return 0


def cmd_predict(args) -> int:
    from .images import ImageError
    from .predictor import Predictor

    predictor = Predictor.load(args.model, detector=args.detector)
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
    lines = [f"{image_path}: {plural(len(faces), 'face')}"]
    for number, face in enumerate(faces, start=1):  # numbered as on the annotated photo and in the CSV
        box = face["box"]
        top = sorted(face["probabilities"].items(), key=lambda item: -item[1])[:3]
        shares = ", ".join(f"{name} {p:.0%}" for name, p in top)
        lines.append(f"  face {number}: {face['label']:<9} {face['valence']:<9}at x={box['x']} y={box['y']} "
                     f"{box['width']}x{box['height']}  ({shares})")
    return "\n".join(lines)


# Why photos look for faces of any size by default (faces.FACE_SIZES).
_PHOTO_FACES_REASON = "a portrait takes half the fine scan's time, and a group photo of small faces still gets it"


def _add_faces_option(parser, default: str | None = "any", note: str = "") -> None:
    help_text = "smallest face to look for: " + FACE_SIZE_HELP + (note or f"; default: {default} ({_PHOTO_FACES_REASON})")
    parser.add_argument("--faces", choices=list(FACE_SIZES), default=default,
                        help=help_text.replace("%", "%%"))  # argparse %-formats help: "5%" alone is an error
    parser.add_argument("--detector", choices=list(DETECTORS), default=DEFAULT_DETECTOR,
                        help="face detector: " + "; ".join(f"{name} = {text}" for name, text in DETECTOR_DESCRIPTIONS.items()))


# --- analyze ----------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def cmd_analyze(args) -> int:
    from . import analysis, video
    from .analysis.media import analyze_media

    if args.engine == "ray":
        return _analyze_on_ray(args)
    if (args.csv is None) == (args.out is None):
        raise ValueError("give one of --csv FILE or --out FOLDER")
    video.list_media(Path(args.path))  # neither photos nor videos: one line, before the model loads
    csv_path = args.csv or args.out / analysis.OUTPUT_CSV
    folder = args.out or csv_path.parent  # the video tables and the ad report (--csv: beside the CSV)
    predictor = analysis_predictor(args.model, args.detector, _quantize(args))
    if predictor.warning:
        print(f"warning: {predictor.warning}", file=sys.stderr)
    try:
        with _progress_bar(sys.stderr) as photo_progress, _video_progress_bar(sys.stderr) as video_progress:
            done = analyze_media(Path(args.path), folder, predictor, faces=args.faces, fps=args.fps,
                                 processes=args.workers, csv_path=csv_path, manifest=args.out is not None,
                                 photo_progress=photo_progress, video_progress=video_progress)
    except KeyboardInterrupt:  # analysis.json comes last: the same command goes on from the finished files
        print(f"interrupted: finished files are in {args.out or csv_path}; run the same command to continue",
              file=sys.stderr)
        return 130
    if "photos" in done.seconds:
        counts = done.counts
        analysed = counts["images"] - counts["skipped_as_done"]
        print(f"{analysed} images analysed in {done.seconds['photos']:.1f} s "
              f"({counts['skipped_as_done']} done earlier); results in {csv_path}", file=sys.stderr)
        _print_faces_tip(args, analysed)
        print(analysis.format_summary(analysis.read_results(csv_path), predictor.valence))
    if done.videos is not None:
        _print_videos(done.videos, folder, done.seconds["videos"])
        _print_ad_report(folder, done.report, done.no_report, done.seconds["report"])
    return 0


def _print_ad_report(folder: Path, written: list[Path], why: str, seconds: float) -> None:
    """After videos, one line: where the ad report is (`analysis.media.write_ad_report`), or why there is none."""
    if not written:
        print(f"no ad report: {why}", file=sys.stderr)
        return
    print(f"ad report in {seconds:.1f} s, in {folder}/: {', '.join(path.name for path in written)} "
          f"(with a manifest or segments: python -m emotion_core report {folder} --manifest CSV --by COLUMN)",
          file=sys.stderr)


def _quantize(args) -> str | None:
    """The LiteRT file `analyze` classifies with: int8 (about 5x less CPU), None with --float."""
    return None if args.float_file else "int8"


def analysis_litert(model: str, quantize: str | None = "int8") -> Path | None:
    """`serving.export.analysis_litert`, its lines on standard error (TensorFlow's notices hidden)."""
    from .serving.export import analysis_litert as checked_litert

    with contextlib.ExitStack() as export:
        def exporting(line: str) -> None:
            print(line, file=sys.stderr, flush=True)
            if wants_quiet():  # exporting loads TensorFlow, whose start-up notices are noise here
                export.enter_context(native_stderr_silenced())

        return checked_litert(model, log=exporting, quantize=quantize)


def analysis_predictor(model: str, detector: str, quantize: str | None = "int8"):
    """The run's Predictor as an analysis classifies: its LiteRT file alone (`analysis_litert`: int8,
    or float with `quantize` None), so neither Keras nor TensorFlow is loaded, which saves 5-15 s and
    ~450 MB a command."""
    from .predictor import Predictor

    litert = analysis_litert(model, quantize)
    with native_stderr_silenced() if wants_quiet() and not litert else contextlib.nullcontext():
        return Predictor.load(model, detector=detector, litert=litert, litert_only=True)


def _print_videos(summary: dict, folder: Path, seconds: float) -> None:
    """What `video.analyze_videos` (or its Ray engine) did: each unreadable video, where the tables are,
    and a line per video."""
    from . import video

    for facts in summary["facts"].values():
        if facts["error"]:
            print(f"error: {facts['file']}: {facts['error']}", file=sys.stderr)
    print(f"{summary['videos'] - summary['skipped_as_done']} videos analysed in {seconds:.1f} s "
          f"({summary['skipped_as_done']} done earlier); video tables in {folder / video.FRAMES_CSV} and "
          f"{video.SECONDS_CSV}", file=sys.stderr)
    for facts in summary["facts"].values():
        print(video.describe_video(facts))


@contextlib.contextmanager
def _video_progress_bar(stream):
    """A progress(seconds_done, seconds_total, videos_done, videos) callback drawing
    `[#####.....] 31.0/120.0 s of video, 1/3 videos  6.20 s/s  ETA 00:14` (s/s: times real time)."""
    bar = None

    def update(done: float, total: float, videos_done: int, videos: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=round(total, 1), file=stream, unit=" s", ascii=".#",
                       bar_format="[{bar:30}] {n:.1f}/{total:.1f} s of video{postfix}  {rate_noinv_fmt}  ETA {remaining}")
        bar.set_postfix_str(f"{videos_done}/{videos} videos", refresh=False)
        bar.update(round(min(done, bar.total) - bar.n, 3))

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


def _analyze_on_ray(args) -> int:
    from . import analysis
    from .analysis import ray_engine

    if args.out is None or args.csv is not None:
        raise ValueError("--engine ray writes a folder: give --out FOLDER (not --csv)")
    try:
        ray_engine.import_ray()
    except ray_engine.RayMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from . import video
    from .analysis.media import write_ad_report
    from .video import ray_engine as video_engine

    # A URI is read by Ray Data, photos only; a folder, zip or video is listed here.
    photos, videos = (True, []) if "://" in str(args.path) else video.list_media(Path(args.path))
    if photos:
        analysis.check_new_output(args.out)  # before the videos' work, not after it
    run_files = ray_engine.RunFiles.of(args.model, detector=args.detector,
                                       litert=analysis_litert(args.model, _quantize(args)))
    if run_files.warning:
        print(f"warning: {run_files.warning}", file=sys.stderr)
    facts = {}
    if videos:
        started = time.monotonic()
        summary = video_engine.analyze_videos_on_ray(
            args.path, args.out, run_files, fps=args.fps, min_face_fraction=FACE_SIZES[args.faces] if args.faces else None,
            address=args.address, workers=args.workers)
        _print_videos(summary, args.out, time.monotonic() - started)
        facts = summary["facts"]
    if photos:
        started = time.monotonic()
        counts = ray_engine.analyze_on_ray(args.path, args.out, run_files, address=args.address,
                                           min_face_fraction=FACE_SIZES[args.faces or "any"], workers=args.workers)
        print(f"{counts['images']} images analysed on Ray in {time.monotonic() - started:.1f} s; "
              f"results in {args.out}", file=sys.stderr)
        _print_faces_tip(args, counts["images"])
        frame = analysis.read_results(args.out / analysis.OUTPUT_CSV)
        print(analysis.format_summary(frame, run_files.valence))
    if videos:
        video_engine.add_videos_to_manifest(args.out, facts, source=str(Path(args.path).resolve()),
                                            model=run_files.name, classifier=run_files.classifier,
                                            address=args.address or "local")
        started = time.monotonic()
        _print_ad_report(args.out, *write_ad_report(args.out), time.monotonic() - started)
    return 0


def _print_faces_tip(args, analysed: int) -> None:
    if args.faces in (None, "any") and analysed:
        print("tip: when every face fills 15% or more of its photo (webcam shots, portraits), "
              "--faces large finds them 1.6-4x faster", file=sys.stderr)


@contextlib.contextmanager
def _progress_bar(stream):
    """A progress(done, total) callback drawing `[#####.....] 120/1000 images  14.20/s  ETA 01:02`.

    Files done by an earlier run are the bar's `initial`, so the rate and ETA count this run's only;
    the bar is closed (its line ended) when full or when the block ends, interrupted or not.
    """
    bar = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, initial=done, file=stream, unit="", ascii=".#",
                       bar_format="[{bar:30}] {n_fmt}/{total_fmt} images  {rate_noinv_fmt}  ETA {remaining}")
        bar.update(done - bar.n)
        if done >= total:  # full: its line ends here, before the videos' bar draws below it
            bar.close()

    try:
        yield update
    finally:
        if bar is not None:
            bar.close()


# --- serve and export ------------------------------------------------------------------------------


def cmd_report(args) -> int:
    from . import adreport

    report = adreport.build_report(args.folder, manifest=args.manifest, by=args.by)
    written = [*adreport.write_report(report, args.out or args.folder), adreport.write_html(report, args.out or args.folder)]
    print(f"{report.headline} Written in {written[0].parent}/: {', '.join(path.name for path in written)}.")
    return 0


def cmd_serve(args) -> int:
    import uvicorn

    from .serving.api import API_KEY_ENV, create_app

    app = create_app(args.model, detector=args.detector)  # loads the model: a bad one stops here
    served = app.state.pool.get(args.model)[0].run_name
    access = "X-API-Key required" if os.environ.get(API_KEY_ENV) else f"open (set {API_KEY_ENV} to require a key)"
    print(f"serving {served} ({args.model}) on http://{args.host}:{args.port}  docs at /docs  access: {access}",
          file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def cmd_export(args) -> int:
    from .serving.export import describe, export_run

    # An export that fails its check raises ExportError (a ValueError): one line, status 2.
    record = export_run(args.run, args.format, args.out, quantize=args.quantize, faces=args.faces,
                        log=lambda line: print(line, file=sys.stderr))
    print(describe(record))
    print(f"written: {record['path']} and its figures in {record['path']}.json")
    return 0


# --- jobs -----------------------------------------------------------------------------------------


def cmd_jobs_start(args) -> int:
    from . import jobs, registry

    if args.resume:
        job = jobs.start_job(resume=args.resume, epochs=args.epochs, request_id=args.request_id,
                             root=args.runs_dir)
    else:
        config_file, flags = args.config, vars(args)
        if args.from_run:
            if args.config:
                raise jobs.JobError("use --config or --from-run, not both")
            # The run's config.json is a config file like any other; only its name must not carry over.
            config_file = registry.resolve_run(args.from_run, args.runs_dir) / registry.CONFIG_FILE
            flags = {**flags, "name": args.name or ""}
        job = jobs.start_job(resolve_config(config_file, flags), request_id=args.request_id, root=args.runs_dir)
    ahead = f", position {job['queue_position']} in the queue" if job["status"] == "queued" else ""
    print(f"job {job['id']} {job['status']}{ahead}; follow it with `jobs list` or `jobs log {job['id']}`",
          file=sys.stderr)
    print(job["id"])
    return 0


def cmd_jobs_list(args) -> int:
    from . import jobs

    found = jobs.list_jobs(args.runs_dir, kind=None)  # every kind: training, analyses
    if args.json:
        print(json.dumps(found, indent=2, default=str))
    elif not found:
        print(f"No jobs in {jobs.jobs_dir(args.runs_dir)}; start one with `python -m emotion_core jobs start`.")
    else:
        print(jobs.format_jobs_table(found))
    return 0


def cmd_jobs_cancel(args) -> int:
    from . import jobs

    job = jobs.cancel_job(args.job, args.runs_dir)
    if job["status"] == "cancelled":
        print(f"job {job['id']} cancelled")
    else:
        print(f"job {job['id']}: asked worker {job['pid']} to stop after its current batch")
    return 0


def cmd_jobs_log(args) -> int:
    from . import jobs

    jobs.read_job(args.job, args.runs_dir)  # an unknown id is an error, not an empty log
    print(jobs.log_tail(args.job, args.tail, args.runs_dir), end="")
    return 0


def cmd_jobs_worker(args) -> int:
    from . import jobs

    return jobs.run_worker(args.job, args.runs_dir)


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
    faces = data.add_parser("faces", help="detect and align the faces of labelled photos into a data set of "
                                          "face crops with a manifest")
    faces.add_argument("photos", help="class folders of photos (happy/, sad/, ...), or split folders of them")
    faces.add_argument("--out", type=Path, required=True, help="the new data set's folder (must not hold files)")
    faces.add_argument("--split", default="test", choices=["train", "validation", "test"],
                       help="the split of photos in class folders directly under PHOTOS (a data set's own splits are kept)")
    _add_faces_option(faces)
    faces.set_defaults(func=cmd_data_faces)
    proxy = data.add_parser("proxy", help="a real-face proxy: a split's faces placed in photo-like frames and "
                                          "degraded as cameras do (emotion_core/proxy.py)")
    proxy.add_argument("source", help="a data set of face crops (name or path), e.g. fer2013")
    proxy.add_argument("--out", required=True, help="the folder to write (OUT/SPLIT/CLASS/*.jpg and proxy.json)")
    proxy.add_argument("--split", default="validation", help="never the test split when you select on it")
    proxy.add_argument("--seed", type=int, default=0, help="the same seed rebuilds the same photos, byte for byte")
    proxy.add_argument("--limit", type=int, help="at most this many photos a class")
    proxy.set_defaults(func=cmd_data_proxy)

    testsets = commands.add_parser("testsets", help="labelled sets every run is scored on (the Models page's table)"
                                   ).add_subparsers(dest="testsets_command", required=True)
    testsets_list = testsets.add_parser("list", help="each test set and how many runs are scored on it")
    testsets_list.add_argument("--json", action="store_true")
    testsets_list.set_defaults(func=cmd_testsets_list)
    testsets_add = testsets.add_parser("add", help="a labelled folder under the data root, or a .zip of class "
                                                   "folders (unpacked there), then score every run on it")
    testsets_add.add_argument("source", metavar="FOLDER|ZIP")
    testsets_add.add_argument("--name", default=None, help="the new folder's name, for a .zip (default: the file's)")
    testsets_add.add_argument("--kind", choices=["auto", "crops", "photos"], default="auto",
                              help="crops: the images are faces, scored as they are; photos: each photo's face is "
                                   "found first and photos without one are counted; auto: guessed from the sizes")
    testsets_add.add_argument("--no-score", action="store_true", help="only add it (`testsets score` later)")
    testsets_add.set_defaults(func=cmd_testsets_add, needs_keras=True)
    testsets_score = testsets.add_parser("score", help="score the runs whose figures on the sets are missing or "
                                                       "stale (a changed set, a retrained run); the others stay")
    testsets_score.add_argument("names", nargs="*", metavar="NAME", help="default: every test set")
    testsets_score.set_defaults(func=cmd_testsets_score, needs_keras=True)
    testsets_remove = testsets.add_parser("remove", help="take a set off the list (its folder stays)")
    testsets_remove.add_argument("name")
    testsets_remove.set_defaults(func=cmd_testsets_remove)

    train = commands.add_parser("train", help="train a run (or --resume one)")
    train.add_argument("--resume", metavar="RUN", help="continue an interrupted run")
    train.add_argument("--runs-dir", type=Path, help=RUNS_DIR_HELP)
    add_train_options(train)
    train.set_defaults(func=cmd_train, needs_keras=True)

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
    deploy.add_argument("--alias", choices=list(ALIASES), default=DEPLOYED,
                        help="the pointer to set: deployed (Predict, Analyze, the CLI) or live (the Live page; "
                             "unset, it serves the deployed run)")
    deploy.set_defaults(func=cmd_runs_deploy)
    ensemble = runs.add_parser("ensemble", help="a run whose model averages finished runs' probabilities")
    ensemble.add_argument("name", help="the new run's folder name")
    ensemble.add_argument("--members", nargs="+", required=True, metavar="RUN",
                          help="two or more finished runs with weights, same input and classes")
    ensemble.add_argument("--data", default=None,
                          help="data set to evaluate it on (default: the first member's); --no-evaluate skips it")
    ensemble.add_argument("--no-evaluate", dest="evaluate", action="store_false")
    ensemble.set_defaults(func=cmd_runs_ensemble, needs_keras=True)
    tta = runs.add_parser("tta", help="choose the test-time augmentation a run predicts with, measured on its "
                                      "validation split first")
    tta.add_argument("run", help="deployed, a run name or a run folder")
    tta.add_argument("mode", choices=list(TTA_MODES),
                     help="; ".join(f"{mode}: {views}" for mode, views in TTA_MODES.items()))
    tta.add_argument("--data", default=None, help="where the run's data set is (default: the one it trained on)")
    tta.set_defaults(func=cmd_runs_tta, needs_keras=True)
    calibrate = runs.add_parser("calibrate", help="fit the temperature that makes a run's probabilities calibrated, "
                                                  "on its validation split (every prediction path applies it)")
    calibrate.add_argument("run", help="deployed, live, a run name or a run folder")
    calibrate.add_argument("--data", default=None, help="where the run's data set is (default: the one it trained on)")
    calibrate.set_defaults(func=cmd_runs_calibrate, needs_keras=True)

    evaluate = commands.add_parser("evaluate", help="metrics of runs on a data set split")
    evaluate.add_argument("runs", nargs="*", metavar="RUN", help="deployed, live, a run name or a run folder; "
                                                                 "several are scored in one go")
    evaluate.add_argument("--all", action="store_true", help="every run with a model file")
    evaluate.add_argument("--data", default=None, help="data set (default: the one the run trained on)")
    evaluate.add_argument("--split", default="validation")
    evaluate.add_argument("--tta", choices=list(TTA_MODES), default=None,
                          help="test-time augmentation: " + "; ".join(f"{mode}: {views}" for mode, views in
                                                                      TTA_MODES.items()) + " (default: as the run records)")
    evaluate.add_argument("--json", action="store_true", help="a list of reports, one per run")
    evaluate.add_argument("--no-save", action="store_true", help="do not save into the run folders")
    evaluate.add_argument("--faces", choices=["crops", "detect"], default="crops",
                          help="crops: the images are face crops (FER2013); detect: photos, run through the whole "
                               "pipeline (detect, align, crop, classify), reporting photos with no face found")
    evaluate.add_argument("--detector", choices=list(DETECTORS), default=DEFAULT_DETECTOR,
                          help="face detector for --faces detect")
    evaluate.set_defaults(func=cmd_evaluate, needs_keras=True)

    predict = commands.add_parser("predict", help="emotions of the faces in images")
    predict.add_argument("images", nargs="+")
    predict.add_argument("--model", default="deployed")
    predict.add_argument("--whole-image", action="store_true", help="classify the whole image when no face is found")
    predict.add_argument("--json", action="store_true")
    _add_faces_option(predict)
    predict.set_defaults(func=cmd_predict, needs_keras=True)

    analyze = commands.add_parser(
        "analyze", help="emotions of every face in a folder or .zip of photos and videos, to tables",
        description="Photos: one row per face in results.csv. Videos (.mp4 .mov .m4v .webm .mkv .avi): "
                    "video_frames.csv (one row per face per analysed frame; `face` is the viewer, one number "
                    "per person all through the video), video_seconds.csv (per video, viewer and second: mean "
                    "probabilities, their emotion and valence, face_share = share of the second's analysed "
                    "frames the face was found in), and each video's facts in analysis.json. "
                    "Faces are classified by the run's checked int8 LiteRT file (exported once, on first use: a "
                    "minute for an ensemble), so TensorFlow is not loaded; for the deployed ensemble it takes a "
                    "fifth of the float file's CPU, gives its top label on 99.5% of FER2013 validation faces and "
                    "68.35% accuracy against 68.54% (bench/int8.py, BENCHMARKS.md). --float classifies with the float file "
                    "(probabilities within 1e-4 of Keras's); analysis.json records which. A run whose int8 file "
                    "fails its check is classified with the float file, with a one-line note. "
                    "Run the same command again to continue an interrupted analysis.")
    analyze.add_argument("path", help="a folder (searched recursively; a sub-folder per ad), a .zip, or one video; "
                                      "with --engine ray also a URI Ray reads (s3://bucket/folder, gs://...; photos only)")
    analyze.add_argument("--csv", type=Path,
                         help="photos' results file; if it exists, files already in it are not analysed again "
                              "(video tables go in its folder)")
    analyze.add_argument("--out", type=Path,
                         help="output folder: results.csv, the video tables and analysis.json (the app opens it "
                              "from analyses/), with --engine ray also results.parquet/")
    analyze.add_argument("--fps", type=_positive_float, default=VIDEO_FPS,
                         help=f"videos: frames analysed per second of video (default {VIDEO_FPS:g}: an expression "
                              "lasts half a second or more, and 5 a second cost a sixth of every frame at 30 fps)")
    analyze.add_argument("--model", default="deployed")
    analyze.add_argument("--float", dest="float_file", action="store_true",
                         help="classify with the run's float LiteRT file, not the int8 one: probabilities as Keras "
                              "gives them (int8 moves them by up to ~0.03), at about 5x the CPU a face")
    analyze.add_argument("--engine", choices=["local", "ray"], default="local",
                         help="local = this machine's cores (resumable); ray = Ray Data, on this machine "
                              "or a cluster (pip install -r requirements-scale.txt)")
    analyze.add_argument("--address", help="with --engine ray: the cluster to join (auto, ray://HOST:10001); "
                                           "default: start Ray on this machine")
    analyze.add_argument("--workers", type=_positive_int,
                         help="local engine: face detection processes (default one per CPU; none beside this one "
                              "for a few photos or --faces large); ray: at most this many model actors (default one per CPU)")
    _add_faces_option(analyze, default=None, note=(
        f"; default: any for photos ({_PHOTO_FACES_REASON}), {VIDEO_FACES} for videos (a webcam or phone filming "
        "its viewer frames the face at 15% or more of the picture, and looking for large faces only is several "
        "times faster)"))
    # Local analyses classify on LiteRT (analysis_predictor): TensorFlow is loaded only for Ray, or to export once.
    analyze.set_defaults(func=cmd_analyze, needs_keras=lambda args: args.engine == "ray")

    report = commands.add_parser(
        "report", help="the ad test report of an analysis of reaction videos (one sub-folder per ad)",
        description="Per ad and second: viewers present, emotion and valence shares, net valence, mean "
                    "probabilities and expressiveness with bootstrap 95%% intervals over viewers (ad_timeline.csv); "
                    "key moments (ad_moments.csv); one row per ad (ad_compare.csv), the gaps between ads "
                    "(ad_differences.csv), each viewer's seconds (ad_viewers.csv); all of it in ad_summary.json; "
                    "and report.html, one self-contained page to share (charts inline, faces at the key moments). "
                    "`analyze` writes the same after videos; run this to add a manifest or a split.")
    report.add_argument("folder", type=Path, help="an `analyze VIDEOS --out DIR` folder (its video_seconds.csv)")
    report.add_argument("--manifest", type=Path,
                        help="CSV with `file`, `offset` (seconds of the reaction video before the ad starts) and any "
                             "viewer attributes (default: manifest.csv beside the videos, if there is one)")
    report.add_argument("--by", metavar="COLUMN", help="split every table by this manifest column (a segment)")
    report.add_argument("--out", type=Path, help="folder for the tables (default: the analysis folder)")
    report.set_defaults(func=cmd_report)

    serve = commands.add_parser("serve", help="the REST API (FastAPI): /health, /models, /predict, docs at /docs")
    serve.add_argument("--host", default="127.0.0.1", help="0.0.0.0 to answer other machines too")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--model", default=DEPLOYED, help="the run served by default; an alias follows its pointer")
    serve.add_argument("--detector", choices=list(DETECTORS), default=DEFAULT_DETECTOR)
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(func=cmd_serve, needs_keras=True)

    from .serving.export import FORMATS, QUANTIZATIONS, VERIFY_FACES

    export = commands.add_parser("export", help="a run's model as LiteRT, ONNX or SavedModel, checked against Keras")
    export.add_argument("run", help="deployed, a run name or a run folder")
    export.add_argument("--format", choices=list(FORMATS), required=True,
                        help="; ".join(f"{name} = {text}" for name, text in FORMATS.items()))
    export.add_argument("--quantize", choices=list(QUANTIZATIONS), help="litert only: int8, calibrated on training images")
    export.add_argument("--out", type=Path, help="folder to write to (default: the run's exports/, which the Models page offers)")
    export.add_argument("--faces", type=int, default=VERIFY_FACES, help="validation faces the check runs on")
    export.set_defaults(func=cmd_export, needs_keras=True)

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--runs-dir", type=Path, help=RUNS_DIR_HELP)
    jobs = commands.add_parser("jobs", help="background jobs: training, analyses").add_subparsers(dest="jobs_command",
                                                                                       required=True)
    start = jobs.add_parser("start", parents=[common], help="queue a training job; prints its id")
    start.add_argument("--from-run", metavar="RUN", help="retrain: a run's config, as a new run (flags override it)")
    start.add_argument("--resume", metavar="RUN", help="continue an interrupted run (--epochs to extend it)")
    start.add_argument("--request-id", help="idempotency key: starting twice with it gives the first job")
    add_train_options(start)
    start.set_defaults(func=cmd_jobs_start)
    listing = jobs.add_parser("list", parents=[common], help="every job (training, analysis) with its progress")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_jobs_list)
    cancel = jobs.add_parser("cancel", parents=[common], help="cancel a queued or running job")
    cancel.add_argument("job")
    cancel.set_defaults(func=cmd_jobs_cancel)
    log = jobs.add_parser("log", parents=[common], help="a job's output")
    log.add_argument("job")
    log.add_argument("--tail", type=int, default=0, metavar="N", help="only the last N lines")
    log.set_defaults(func=cmd_jobs_log)
    worker = jobs.add_parser("worker", parents=[common], help="run a job here (what `start` runs)")
    worker.add_argument("job")
    worker.set_defaults(func=cmd_jobs_worker, needs_keras=True)
    return parser


def main(argv=None) -> int:
    # TensorFlow's start-up notices are noise in a command's answer; a user who set the level wants them.
    quiet = TF_LOG_LEVEL not in os.environ
    os.environ.setdefault(TF_LOG_LEVEL, "3")  # 3 also hides "failed call to cuInit" on a machine without a GPU
    args = build_parser().parse_args(argv)
    needs_keras = getattr(args, "needs_keras", False)
    if quiet and (needs_keras(args) if callable(needs_keras) else needs_keras):
        with native_stderr_silenced():  # TensorFlow's notices come before its logging is set up
            import keras  # noqa: F401
    from .datasets import DatasetError
    from .registry import RunError

    try:
        return args.func(args)
    except (DatasetError, RunError, ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # disk full, read-only folder: the machine's state, not a bug worth a traceback
        where = f" ({error.filename})" if error.filename else ""
        print(f"error: {error.strerror or error}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
