"""The frame processor of a live stream: frames in, annotated frames out, a readout on the side.

    processor = FrameProcessor(Predictor.load("live"))
    annotated = processor.process(rgb)         # on the stream's thread, once per frame
    processor.skip(2)                          # two frames arrived and were dropped for a newer one
    readout = processor.readout()              # on any other thread, as often as it likes
    processor.close()                          # the stream stopped: let go of the model and frames

`process` detects, aligns and classifies the faces of a frame (every `every_nth` frame; the
frames between are drawn with the faces where they were last seen), joins them to their tracks
(tracking.FaceTracker smooths each face's probabilities) and draws boxes, labels and confidence
bars. Everything the page reads goes through one lock, so the stream's thread and the page's never
see each other's half-made state; one processor serves one stream (one browser session).
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..drawing import annotate
from ..faces import FACE_SIZES
from .stats import FrameStats, StreamStats
from .tracking import HALF_LIFE, FaceTracker, Track

HISTORY_SECONDS = 10.0  # the readout's chart: the last few seconds, as a person remembers them
HISTORY_STEP = 0.2  # seconds between the chart's points: 5 a second draw a smooth line cheaply
# Webcam and phone faces fill a good part of the frame; looking only for large ones makes
# detection several times cheaper (see faces.FACE_SIZES).
LIVE_FACE_SIZE = "large"


@dataclass(frozen=True)
class LiveFace:
    """One tracked face as the readout shows it; `number` is the one drawn on the frame."""

    number: int
    label: str
    confidence: float
    probabilities: dict[str, float]


@dataclass(frozen=True)
class LiveReadout:
    """A consistent copy of what the processor knows, for a page to show."""

    faces: tuple[LiveFace, ...]
    stats: StreamStats
    history: tuple[dict, ...]  # rows {seconds (<= 0: before the latest point), face, emotion, probability}
    error: str  # the last frame's error in one line, "" when frames go through
    closed: bool


class FrameProcessor:
    """Annotates the frames of one stream with a shared Predictor; safe to read from other threads."""

    def __init__(self, predictor, min_face_fraction: float = FACE_SIZES[LIVE_FACE_SIZE], every_nth: int = 1,
                 half_life: float = HALF_LIFE, clock=time.monotonic):
        self._predictor = predictor
        self.run_name = getattr(predictor, "run_name", "")  # the run whose model reads the frames
        self.min_face_fraction = min_face_fraction
        self._clock = clock
        self._lock = threading.Lock()
        self._tracker = FaceTracker(half_life=half_life)
        self._stats = FrameStats()
        self._history: deque[tuple[float, int, dict[str, float]]] = deque()  # (time, face, probabilities)
        self._last_history = -np.inf
        self._faces: tuple[LiveFace, ...] = ()
        self._frame: np.ndarray | None = None
        self._error = ""
        self._count = 0
        self._closed = False
        self.configure(every_nth=every_nth)

    def configure(self, every_nth: int | None = None, half_life: float | None = None) -> None:
        """Change how often the model runs and how much it smooths, while the stream runs."""
        if every_nth is not None and (int(every_nth) != every_nth or every_nth < 1):
            raise ValueError(f"every_nth must be a whole number of at least 1, got {every_nth}.")
        with self._lock:
            if every_nth is not None:
                self._every_nth = int(every_nth)
            if half_life is not None:
                self._tracker.half_life = max(0.0, float(half_life))

    @property
    def closed(self) -> bool:
        with self._lock:
            return self._closed

    def process(self, rgb: np.ndarray) -> np.ndarray:
        """The frame (HxWx3 uint8 RGB) with its faces drawn: a new array of the same shape.

        A frame the model cannot read comes back as it was, and the readout's `error` says why:
        one bad frame must not end the stream. After `close`, frames pass through untouched.
        """
        started = self._clock()
        with self._lock:
            if self._closed:
                return rgb
            predictor = self._predictor
            run_model = self._count % self._every_nth == 0
            self._count += 1
        faces, error = None, ""
        if run_model:
            try:
                faces = predictor.predict(rgb, min_face_fraction=self.min_face_fraction)
            except Exception as exc:  # noqa: BLE001 (shown in the readout; the stream goes on)
                error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        with self._lock:
            if faces is not None:
                detections = [(face.box, face.probabilities) for face in faces]
                tracks = self._tracker.update(detections, started)
            else:  # a frame between two the model reads: the faces stay where they were seen
                tracks = list(self._tracker.tracks)
            tracks = [dataclasses.replace(track, scores=track.scores.copy()) for track in tracks]
        annotated = annotate(rgb, tracks, numbers=[track.number for track in tracks], confidence_bars=True)
        with self._lock:
            if not self._closed:
                self._stats.record(started, self._clock() - started, run_model)
                self._frame = rgb
                if run_model:
                    self._error = error
                    self._remember(tracks, started)
        return annotated

    def skip(self, count: int = 1) -> None:
        """`count` frames reached the server and were dropped unread, a newer frame having arrived
        behind them: the readout counts them among the frames in, not among those read."""
        now = self._clock()
        with self._lock:
            if not self._closed:
                for _ in range(count):
                    self._stats.record(now, float("nan"), False)

    def readout(self) -> LiveReadout:
        with self._lock:
            # Seconds before the latest point, not before now: the same history reads the same,
            # so a page can keep its chart while nothing new came in.
            latest = self._history[-1][0] if self._history else 0.0
            history = tuple({"seconds": round(t - latest, 2), "face": number, "emotion": name, "probability": float(p)}
                            for t, number, probabilities in self._history for name, p in probabilities.items())
            return LiveReadout(self._faces, self._stats.summary(), history, self._error, self._closed)

    def latest_frame(self) -> np.ndarray | None:
        """A copy of the last frame as it came in (not annotated), for a snapshot; None before the first."""
        with self._lock:
            return None if self._frame is None else self._frame.copy()

    def close(self) -> None:
        """The stream ended: drop the model, the frames and the tracks. Safe to call twice, from any thread."""
        with self._lock:
            self._closed = True
            self._predictor = None
            self._frame = None
            self._tracker.reset()
            self._history.clear()
            self._faces = ()

    def _remember(self, tracks: list[Track], now: float) -> None:
        """Called with the lock held: the faces now, and a point of the chart every HISTORY_STEP."""
        self._faces = tuple(LiveFace(track.number, track.label, track.confidence, track.probabilities)
                            for track in tracks)
        if now - self._last_history >= HISTORY_STEP:
            self._last_history = now
            self._history.extend((now, track.number, track.probabilities) for track in tracks)
        while self._history and now - self._history[0][0] > HISTORY_SECONDS:
            self._history.popleft()
