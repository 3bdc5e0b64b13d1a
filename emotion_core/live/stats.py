"""Frames per second and processing latency over the last few seconds of a stream."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

WINDOW = 3.0  # seconds: long enough to average out a slow frame, short enough to follow a change


@dataclass(frozen=True)
class StreamStats:
    """What the readout shows: rates in frames per second, latencies in milliseconds."""

    input_fps: float  # frames that reached the server, read or dropped
    processed_fps: float  # frames the model read (all of them, or every Nth)
    latency_ms: float  # mean time from frame in to annotated frame out, over the frames not dropped
    latency_p95_ms: float
    frames: int  # frames since the stream started


class FrameStats:
    """A sliding window of (arrival time, seconds spent, whether the model ran). Not thread-safe."""

    def __init__(self, window: float = WINDOW):
        self.window = window
        self.frames = 0
        self._recent: deque[tuple[float, float, bool]] = deque()

    def record(self, arrived: float, seconds: float, processed: bool) -> None:
        """One frame; `seconds` NaN for a frame dropped unprocessed (it has no latency)."""
        self.frames += 1
        self._recent.append((arrived, seconds, processed))
        while self._recent and arrived - self._recent[0][0] > self.window:
            self._recent.popleft()

    def summary(self) -> StreamStats:
        spent = 1000 * np.array([row[1] for row in self._recent if not np.isnan(row[1])])
        latency, latency_p95 = (float(spent.mean()), float(np.percentile(spent, 95))) if len(spent) else (0.0, 0.0)
        if len(self._recent) < 2:
            return StreamStats(0.0, 0.0, latency, latency_p95, self.frames)
        arrivals = np.array([row[0] for row in self._recent])
        processed = np.array([row[2] for row in self._recent])
        span = arrivals[-1] - arrivals[0]
        # n frames span n - 1 intervals; the first frame of the window only marks where it starts.
        rate = (len(arrivals) - 1) / span if span > 0 else 0.0
        processed_rate = rate * processed[1:].mean()
        return StreamStats(float(rate), float(processed_rate), latency, latency_p95, self.frames)
