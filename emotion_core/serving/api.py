"""The REST API: the deployed model (or any run of the registry) behind HTTP.

    python -m emotion_core serve [--host 127.0.0.1] [--port 8000] [--model deployed]
    curl http://127.0.0.1:8000/health
    curl -F file=@photo.jpg 'http://127.0.0.1:8000/predict?faces=large'
    curl -F file=@a.jpg -F file=@b.png 'http://127.0.0.1:8000/predict?explain=gradcam'
    curl -F file=@reaction.mp4 'http://127.0.0.1:8000/analyze/video?fps=5&frames=true'
    EMOTION_API_KEY=secret python -m emotion_core serve      # then: curl -H 'X-API-Key: secret' ...

    app = create_app(model="deployed")      # an ASGI app, for uvicorn or FastAPI's TestClient

Each image of a `/predict` gets the list `predict --json` prints for it (one object per face),
or an error with its own status; the request answers 200 when any image was read, so one bad
file never costs the good ones their answers. Errors are one line of JSON: {"error": "..."}.
Models are loaded once per process (`ModelPool`) through the Predictor the app uses, the face
detector is shared by all of them, and an alias (`deployed`, `live`) is looked up again on every
request, so deploying another run is followed without a restart.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Literal

from fastapi import FastAPI, File, HTTPException, Query, Request, Security, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import registry
from ..access import password_matches
from ..drawing import overlay, png_bytes
from ..explain import METHODS, Explainer, predict_and_explain
from ..faces import DEFAULT_DETECTOR, FACE_SIZE_HELP, FACE_SIZES, FaceDetector
from ..images import MAX_PHOTO_MB, ImageError
from ..predictor import Predictor
from ..video.defaults import VIDEO_FACES, VIDEO_FPS

API_KEY_ENV = "EMOTION_API_KEY"
API_KEY_HEADER = "X-API-Key"
MAX_PHOTO_BYTES = MAX_PHOTO_MB * 2**20  # a photo's limit (images.MAX_PHOTO_MB), as on the Predict page
MAX_REQUEST_BYTES = 100 * 2**20  # a few photos at the limit; refused before the body is read
MAX_FILES = 32  # a request's images are answered in one go: keep a request's time bounded
MAX_MODELS = 4  # models kept loaded at once (~5 MB and ~0.1 s of tracing each, for the run query)
# A video is answered within one request: a few minutes of phone video at most. Longer ones go
# to the command line, which resumes and shows progress, or to Ray (LONG_VIDEOS says how).
MAX_VIDEO_BYTES = 500 * 2**20
MAX_VIDEO_SECONDS = 300.0
LONG_VIDEOS = ("for longer videos run `python -m emotion_core analyze VIDEO --out DIR` "
               "(resumable), or add `--engine ray` for a folder of them")
VIDEO_PATH = "/analyze/video"


class ModelPool:
    """Predictors by run, each loaded once and shared by every request; one face detector for all.

    `get("deployed")` follows the pointer each call (a few small JSON files), so a new deployment
    is served from the next request on; the run it names is loaded the first time it is asked for.
    """

    def __init__(self, detector: str = DEFAULT_DETECTOR, root: Path | None = None, max_models: int = MAX_MODELS):
        self.detector = FaceDetector(detector)
        self.root = root
        self.max_models = max_models
        self._predictors: OrderedDict[tuple, Predictor] = OrderedDict()  # by (run folder, calibration)
        self._explainers: dict[int, Explainer] = {}  # by id() of a pooled predictor
        self._lock = threading.Lock()  # two first requests for one run load it once

    def get(self, name: str) -> tuple[Predictor, str]:
        """The Predictor serving `name` (an alias or a run name of the registry), and a one-line
        warning when a broken alias serves an earlier run instead ("" otherwise)."""
        if Path(name).name != name or name.startswith("."):
            # Only names: a path would let a client make the server load any folder on its disk.
            raise registry.RunError(f"'{name}' is not a run name of the registry.")
        try:
            run_dir, warning = registry.resolve_serving(name, self.root)
        except registry.RunError as error:
            # The registry's messages name its folder for the command line; a client must not learn
            # the server's paths, so the answer names the run only.
            root = str(registry.runs_root(self.root))
            raise registry.RunError(str(error).replace(f" in {root}", "").replace(root, "the registry")) from None
        # `runs calibrate` changes the temperature a run predicts with: served from the next request on.
        calibration = run_dir / registry.CALIBRATION_FILE
        key = (run_dir.resolve(), calibration.stat().st_mtime if calibration.is_file() else None)
        with self._lock:
            predictor = self._predictors.get(key)
            if predictor is None:
                predictor = Predictor.load(run_dir, self.root)
                predictor.detector = self.detector
                self._predictors[key] = predictor
                while len(self._predictors) > self.max_models:
                    _, evicted = self._predictors.popitem(last=False)
                    self._explainers.pop(id(evicted), None)
            self._predictors.move_to_end(key)
        return predictor, warning

    def explainer(self, predictor: Predictor) -> Explainer:
        """The Explainer of a predictor's model, built on first use (it copies the model)."""
        with self._lock:
            if id(predictor) not in self._explainers:
                self._explainers[id(predictor)] = Explainer(predictor.model)
            return self._explainers[id(predictor)]


def create_app(model: str = registry.DEPLOYED, detector: str = DEFAULT_DETECTOR, root: Path | None = None,
               api_key: str | None = None, max_file_bytes: int = MAX_PHOTO_BYTES,
               max_request_bytes: int = MAX_REQUEST_BYTES, max_files: int = MAX_FILES,
               max_video_bytes: int = MAX_VIDEO_BYTES, max_video_seconds: float = MAX_VIDEO_SECONDS) -> FastAPI:
    """The API serving `model` by default; loads it now, so a missing model fails at start.

    `max_video_bytes` and `max_video_seconds` bound one video of /analyze/video (413 beyond).

    `api_key` defaults to EMOTION_API_KEY; when set, every endpoint but /health asks for it in
    the X-API-Key header. Raises RunError when `model` cannot be served.
    """
    import os

    api_key = api_key if api_key is not None else (os.environ.get(API_KEY_ENV) or None)
    pool = ModelPool(detector, root)
    registry.resolve_serving(model, root)  # a model that cannot be served stops the start, in one line that
    pool.get(model)  # names the registry's folder for the operator (a client's answers name runs only)
    app = FastAPI(title="Facial emotion recognition API", version="1",
                  description="Emotions of the faces in photos, from the run registry's models. "
                              "Every error is one line of JSON: {\"error\": \"...\"}.")
    app.state.pool = pool
    key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                              description=f"needed when the server sets {API_KEY_ENV}")

    def require_key(given: str | None = Security(key_header)) -> None:
        # password_matches compares in constant time and lets everyone in when no key is set.
        if not password_matches(given, api_key):
            raise HTTPException(401, f"missing or wrong {API_KEY_HEADER} header")

    @app.middleware("http")
    async def refuse_large_requests(request: Request, call_next):
        # Checked before the body is read (the form parser would spool any size to disk). Every
        # HTTP client sends Content-Length with a file upload; a chunked body without it is refused.
        length = request.headers.get("content-length", "")
        if "chunked" in request.headers.get("transfer-encoding", "").lower() and not length:
            return _error(411, "Send the upload with a Content-Length header, not chunked.")
        if request.url.path == VIDEO_PATH:
            if length.isdigit() and int(length) > max_video_bytes + 2**16:  # the form's own lines: a few hundred bytes
                return _error(413, f"The video is over {size_text(max_video_bytes)}, this server's limit; {LONG_VIDEOS}.")
        elif length.isdigit() and int(length) > max_request_bytes:
            return _error(413, f"The request is {size_text(int(length))}; at most {size_text(max_request_bytes)} "
                               f"a request ({size_text(max_file_bytes)} a file).")
        return await call_next(request)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        return _error(error.status_code, str(error.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError):
        return _error(422, validation_message(error.errors()))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception):
        # A bug, not the client's doing: the traceback goes to the server log, one line to the client.
        logging.getLogger("emotion_core.serving").exception("%s %s failed", request.method, request.url.path)
        return _error(500, f"internal error ({type(error).__name__}); the server log has the details")

    @app.get("/health", summary="Whether the server is up, and the run it serves by default")
    def health():
        try:
            predictor, warning = pool.get(model)
        except registry.RunError as error:  # the deployed run broke after the start
            return JSONResponse({"status": "error", "model": None, "error": str(error)}, status_code=503)
        answer = {"status": "ok", "model": predictor.run_name}
        return {**answer, "warning": warning} if warning else answer

    @app.get("/models", summary="Runs with a model file, and the run each alias serves",
             dependencies=[Security(require_key)])
    def models():
        runs = [run for run in registry.list_runs(root) if run.has_weights and not run.problem]
        aliases = {alias: registry.usable_alias(alias, root)[0] for alias in registry.ALIASES}
        return {"default": model, "aliases": aliases, "runs": [_run_entry(run) for run in runs]}

    @app.post("/predict", summary="Emotions of every face in one or more images",
              dependencies=[Security(require_key)])
    def predict(file: list[UploadFile] = File(..., description="one or more images, each under the name `file`"),
                model_name: str = Query(model, alias="model", description="a run name or an alias"),
                faces: Literal[tuple(FACE_SIZES)] = Query("any", description="smallest face: " + FACE_SIZE_HELP),
                explain: Literal[tuple(METHODS)] | None = Query(None, description="add a heat map per face"),
                whole_image: bool = Query(False, description="classify the whole image when no face is found")):
        if len(file) > max_files:
            raise HTTPException(413, f"{len(file)} files in one request; at most {max_files}.")
        try:
            predictor, warning = pool.get(model_name)
        except registry.RunError as error:
            raise HTTPException(400, str(error)) from None
        images = [predict_upload(pool, predictor, upload, FACE_SIZES[faces], explain, whole_image, max_file_bytes)
                  for upload in file]
        answer = {"model": predictor.run_name, "images": images}
        if warning:
            answer["warning"] = warning
        failed = [image for image in images if "error" in image]
        if len(failed) < len(images):
            return answer
        statuses = {image["status"] for image in failed}
        status = statuses.pop() if len(statuses) == 1 else 400
        return JSONResponse({"error": failed[0]["error"], **answer}, status_code=status)

    @app.post(VIDEO_PATH, summary="Emotions over time in one video: per viewer and second (and frame)",
              dependencies=[Security(require_key)])
    def video(file: UploadFile = File(..., description="one video: .mp4 .mov .m4v .webm .mkv .avi"),
              model_name: str = Query(model, alias="model", description="a run name or an alias"),
              fps: float = Query(VIDEO_FPS, gt=0, le=60, description="frames analysed per second of video"),
              faces: Literal[tuple(FACE_SIZES)] = Query(VIDEO_FACES, description=(
                  f"smallest face (default {VIDEO_FACES}: a webcam or phone filming its viewer): " + FACE_SIZE_HELP)),
              frames: bool = Query(False, description="also return the rows of every analysed frame")):
        try:
            predictor, warning = pool.get(model_name)
        except registry.RunError as error:
            raise HTTPException(400, str(error)) from None
        answer = {"model": predictor.run_name, **video_answer(predictor, file, fps, FACE_SIZES[faces], frames,
                                                              max_video_bytes, max_video_seconds)}
        return {**answer, "warning": warning} if warning else answer

    return app


def video_answer(predictor: Predictor, upload: UploadFile, fps: float, min_face_fraction: float, frames: bool,
                 max_video_bytes: int, max_video_seconds: float) -> dict:
    """One uploaded video's {"video": facts, "seconds": [...], "frames": [...] if `frames`}, the rows
    of `analyze`'s video tables (empty cells as null). Raises HTTPException 413 or 400 in one line."""
    from ..analysis.sources import ImageSource
    from ..video import VideoError, analyze_video, frame_columns, open_video, second_columns

    name = upload.filename or "upload"
    upload.file.seek(0, 2)
    if upload.file.tell() > max_video_bytes:
        raise HTTPException(413, f"'{name}' is over {size_text(max_video_bytes)}, this server's limit; {LONG_VIDEOS}.")
    upload.file.seek(0)
    try:
        with open_video(upload.file, name) as video:
            duration = video.facts.duration
    except VideoError as error:
        raise HTTPException(400, f"'{name}': {error}") from None
    if duration > max_video_seconds:
        raise HTTPException(413, f"'{name}' lasts {duration:.0f} s; this server analyses up to "
                                 f"{max_video_seconds:.0f} s a video; {LONG_VIDEOS}.")
    upload.file.seek(0)
    rows = []
    seconds, facts = analyze_video(ImageSource(name, Path("."), ""), predictor, fps, min_face_fraction,
                                   write_frames=rows.extend, opened=upload.file)
    answer = {"video": facts, "seconds": _records(seconds, second_columns(predictor.classes))}
    if frames:
        answer["frames"] = _records(rows, frame_columns(predictor.classes))
    return answer


def _records(rows: list[dict], columns: list[str]) -> list[dict]:
    """Table rows as JSON objects with every column, null where the table's cell is empty."""
    return [{column: (None if row.get(column, "") == "" else row[column]) for column in columns} for row in rows]


def predict_upload(pool: ModelPool, predictor: Predictor, upload: UploadFile, min_face_fraction: float,
                   explain: str | None, whole_image: bool, max_file_bytes: int) -> dict:
    """One uploaded image's answer: {"file", "faces": [...]} or {"file", "error", "status"}."""
    name = upload.filename or "upload"
    data = upload.file.read(max_file_bytes + 1)  # a byte more than allowed tells an oversized file
    if len(data) > max_file_bytes:
        return {"file": name, "status": 413,
                "error": f"'{name}' is over {size_text(max_file_bytes)}; send a smaller photo."}
    try:
        found, maps = predict_and_explain(predictor, data, explain, explainer=lambda: pool.explainer(predictor),
                                          whole_image_fallback=whole_image, min_face_fraction=min_face_fraction)
    except ImageError as error:
        return {"file": name, "status": 400, "error": f"'{name}': {error}"}
    entries = [face.as_dict() for face in found]
    for entry, face, heatmap in zip(entries, found, maps if maps is not None else []):
        # The face as the model saw it (48x48), its heat map coloured over it.
        entry["heatmap_png"] = base64.b64encode(png_bytes(overlay(face.model_input, heatmap))).decode("ascii")
    return {"file": name, "faces": entries}


def validation_message(errors) -> str:
    """FastAPI's list of validation errors as one line: `faces: Input should be 'any' or 'large'`."""
    parts = []
    for error in errors:
        where = ".".join(str(part) for part in error.get("loc", ()) if part not in ("query", "body"))
        parts.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg", "invalid"))
    return "; ".join(parts) or "invalid request"


def size_text(size: int) -> str:
    """25 MB, 49 KB: a limit as people read it."""
    return f"{size / 2**20:.0f} MB" if size >= 2**20 else f"{size / 2**10:.0f} KB"


def _run_entry(run: registry.Run) -> dict:
    row = run.summary_row()
    keys = ("run", "state", "architecture", "color_mode", "epochs", "val_accuracy", "val_macro_f1", "tta",
            "parameters", "model_mb")
    return {**{key: row.get(key) for key in keys}, "classes": list(run.classes)}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status)
