"""The "analyze" kind: `analyze SOURCE --out DIR` in the worker, its progress and time left on disk.

The worker writes how far it got to `<id>.progress` (`store.progress_path`), at most twice a
second; `describe` turns that into a fraction, a line of text and the time left. The output folder
is what `analyze --out` writes, through the same `analysis.media.analyze_media`: results.csv for
photos, the video tables and the ad report (report.html) for videos, analysis.json last. A cancelled
or killed analysis leaves its finished videos and photos and no analysis.json: a new job into the
same folder goes on from there.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

from .. import registry
from ..analysis.outputs import MANIFEST
from ..faces import DEFAULT_DETECTOR, DETECTORS, FACE_SIZES
from ..storage import now_iso, read_json, write_json_atomic
from .store import JobError, progress_path

PROGRESS_EVERY = 0.5  # seconds between two writes of the progress file


def task(source: Path, out: Path, model: str = registry.DEPLOYED, *, fps: float | None = None,
         faces: str | None = None, detector: str = DEFAULT_DETECTOR, quantize: str | None = "int8") -> dict:
    """The job's `analysis` field, checked now so a mistake is one line here, not a failed job later.

    `faces` is a key of faces.FACE_SIZES, or None for `analyze`'s defaults (any size in photos,
    large in videos); `fps` None is video.VIDEO_FPS; `quantize` "int8" classifies with the run's int8
    LiteRT file, None with its float one (`analyze --float`).
    """
    from ..video import VIDEO_FPS, list_media

    source, out = Path(source).resolve(), Path(out).resolve()
    if not source.exists():
        raise JobError(f"nothing to analyse at {source}")
    list_media(source)  # a ValueError naming the suffixes when it holds neither photos nor videos
    if (out / MANIFEST).is_file():
        raise JobError(f"{out} already holds a finished analysis; choose a new folder")
    if faces is not None and faces not in FACE_SIZES:
        raise JobError(f"faces must be one of {', '.join(FACE_SIZES)}, not '{faces}'")
    if detector not in DETECTORS:
        raise JobError(f"detector must be one of {', '.join(DETECTORS)}, not '{detector}'")
    if quantize not in ("int8", None):
        raise JobError(f"quantize must be int8 or None (the float file), not '{quantize}'")
    fps = VIDEO_FPS if fps is None else float(fps)
    if not fps > 0:
        raise JobError(f"fps must be above 0, not {fps}")
    registry.resolve_run(model)  # a RunError (a ValueError) for a run that is not there
    return {"source": str(source), "out": str(out), "model": str(model), "fps": fps, "faces": faces,
            "detector": detector, "quantize": quantize}


def run(job: dict, root: Path) -> tuple[str, str]:
    """Analyse the job's source into its output folder, the ad report included (`analysis.media`)."""
    from ..analysis.media import analyze_media
    from ..predictor import Predictor
    from ..serving.export import analysis_litert

    values = job["analysis"]
    source, out = Path(values["source"]), Path(values["out"])
    report = Progress(progress_path(job["id"], root))
    report.update("model", 0, 1)
    # as `analyze` classifies: the run's checked LiteRT file alone (lines go to the job's log); a job
    # queued before the choice existed classifies as `analyze` now does, with the int8 file
    litert = analysis_litert(values["model"], log=lambda line: print(line, flush=True),
                             quantize=values.get("quantize", "int8"))
    predictor = Predictor.load(values["model"], detector=values["detector"], litert=litert, litert_only=True)
    analysed = analyze_media(source, out, predictor, faces=values["faces"], fps=values["fps"],
                             photo_progress=lambda done, total: report.update("photos", done, total),
                             video_progress=lambda done, total, finished, count: report.update(
                                 "videos", done, total, finished, count))
    report.update("done", 1, 1, force=True)
    return "succeeded", f"no ad report: {analysed.no_report}" if analysed.no_report else ""


class Progress:
    """How far a worker got, in a JSON file a reader polls: the phase (model, photos, videos, done),
    done and total in its unit, videos finished, and when the phase began."""

    def __init__(self, path: Path):
        self.path, self.phase, self.began, self.written = path, None, None, 0.0

    def update(self, phase: str, done: float, total: float, videos_done: int = 0, videos: int = 0,
               force: bool = False) -> None:
        if phase != self.phase:
            self.phase, self.began, force = phase, now_iso(), True
        if not force and time.monotonic() - self.written < PROGRESS_EVERY:
            return
        self.written = time.monotonic()
        write_json_atomic(self.path, {"phase": phase, "done": round(float(done), 3), "total": round(float(total), 3),
                                      "videos_done": videos_done, "videos": videos, "began": self.began})


def describe(job: dict, root: Path) -> dict:
    """The job's source, output folder and progress: `progress` (0-1), `progress_text`, `eta_seconds`."""
    values = job["analysis"]
    view = {"source": values["source"], "out": values["out"], "model": values["model"], "progress": None,
            "progress_text": "waiting to start", "eta_seconds": None}
    path = progress_path(job["id"], root)
    if not path.is_file():
        return view
    state = read_json(path)
    done, total = state["done"], state["total"]
    fraction = min(1.0, done / total) if total else 0.0
    if state["phase"] == "model":
        text = "loading the model"
    elif state["phase"] == "photos":
        text = f"{done:.0f} of {total:.0f} photos"
    elif state["phase"] == "videos":
        text = f"{done:.0f} of {total:.0f} s of video ({state['videos_done']} of {state['videos']} videos done)"
    else:
        text = "finished"
    view.update(progress=fraction, progress_text=text, eta_seconds=_eta(state["began"], fraction))
    return view


def _eta(began: str, fraction: float) -> float | None:
    """Time left at the phase's pace so far; None until a little of it is done."""
    if not 0.01 <= fraction < 1:
        return None if fraction < 1 else 0.0
    spent = (datetime.now(timezone.utc) - datetime.fromisoformat(began)).total_seconds()
    return spent * (1 - fraction) / fraction


def table_row(job: dict) -> tuple[str, str, str, str]:
    """(what, how far, its figure, where) in `jobs list`: the source, the share done, -, the output folder."""
    done = "-" if job["progress"] is None else f"{job['progress']:.0%}"
    return f"analyze {Path(job['source']).name}", f"{done:>9}", "-", job["out"]


def table_details(job: dict) -> list[str]:
    return [f"{job['progress_text']}, model {job['model']}"]
