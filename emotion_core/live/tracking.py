"""Faces followed from frame to frame, each with probabilities smoothed over the last moments.

    tracker = FaceTracker(half_life=0.3)
    tracks = tracker.update([(box, face.probabilities), ...], now=time.monotonic())
    for track in tracks:
        print(track.number, track.label, track.confidence)

A detection joins the track whose box it overlaps most (IoU, greedily, best pair first), else the
nearest track whose centre is less than a face width away (a face that moved fast, or between two
frames the model read far apart); one that is near none starts a new track. Each track's probabilities are an exponential average whose
weight follows the time since the track was last seen, so labels change as fast at 8 fps as at 30.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..faces import FaceBox

HALF_LIFE = 0.3  # seconds: an old reading counts half after this; a real change of expression shows within ~0.5 s
MIN_IOU = 0.3  # a face moving at webcam speed overlaps its last box by far more, a neighbour's by less
MAX_SHIFT = 1.0  # face widths a face's centre may move between two readings and keep its track
FORGET_AFTER = 0.5  # seconds a face may go undetected (a blink, a turn) before its track ends


@dataclass
class Track:
    """One face followed across frames. `number` is what the frame and the readout call it."""

    number: int
    box: FaceBox
    classes: tuple[str, ...]  # the model's classes, in its output order
    scores: np.ndarray  # (classes,) smoothed probabilities
    last_seen: float  # when a detection last joined this track, in the caller's clock
    frames: int = 1  # detections that joined it
    whole_image: bool = False  # for drawing.annotate, which draws FacePrediction-like objects

    @property
    def probabilities(self) -> dict[str, float]:
        return {name: float(p) for name, p in zip(self.classes, self.scores)}

    @property
    def label(self) -> str:
        return self.classes[int(np.argmax(self.scores))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.scores))


def box_iou(a: FaceBox, b: FaceBox) -> float:
    """Intersection over union of two boxes, 0 when they do not touch."""
    width = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
    height = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
    if width <= 0 or height <= 0:
        return 0.0
    overlap = width * height
    return overlap / (a.width * a.height + b.width * b.height - overlap)


def centre_shift(a: FaceBox, b: FaceBox) -> float:
    """How far apart the two boxes' centres are, in widths of the first box."""
    dx = (b.x + b.width / 2) - (a.x + a.width / 2)
    dy = (b.y + b.height / 2) - (a.y + a.height / 2)
    return float(np.hypot(dx, dy) / max(a.width, 1))


def smoothing_weight(elapsed: float, half_life: float) -> float:
    """The weight of a new reading `elapsed` seconds after the last one: 1 - 0.5 ** (elapsed / half_life).

    A half life of 0 turns smoothing off (weight 1).
    """
    if half_life <= 0:
        return 1.0
    return float(1.0 - 0.5 ** (max(elapsed, 0.0) / half_life))


class FaceTracker:
    """Tracks of the faces seen lately. Not thread-safe: one tracker per stream, fed in frame order."""

    def __init__(self, half_life: float = HALF_LIFE, min_iou: float = MIN_IOU, max_shift: float = MAX_SHIFT,
                 forget_after: float = FORGET_AFTER):
        if half_life < 0 or forget_after < 0 or max_shift < 0 or not 0 < min_iou <= 1:
            raise ValueError("half_life, max_shift and forget_after must be >= 0 and min_iou in (0, 1].")
        self.half_life = half_life
        self.min_iou = min_iou
        self.max_shift = max_shift
        self.forget_after = forget_after
        self.tracks: list[Track] = []

    def update(self, detections: Sequence[tuple[FaceBox, Mapping[str, float]]], now: float) -> list[Track]:
        """Join this frame's (box, {class: probability}) to the tracks; returns the live tracks by number.

        A track missed in this frame is kept, at its last box, until `forget_after` has passed.
        """
        unmatched = set(range(len(detections)))
        free = set(range(len(self.tracks)))
        overlapping = sorted(((-box_iou(track.box, box), t, d) for t, track in enumerate(self.tracks)
                              for d, (box, _probabilities) in enumerate(detections)))
        near = sorted((centre_shift(track.box, box), t, d) for t, track in enumerate(self.tracks)
                      for d, (box, _probabilities) in enumerate(detections))
        # Overlap first, best pair first; then what is left by distance, nearest first.
        pairs = [(t, d) for negative_iou, t, d in overlapping if -negative_iou >= self.min_iou]
        pairs += [(t, d) for shift, t, d in near if shift <= self.max_shift]
        for t, d in pairs:
            if t in free and d in unmatched:
                free.discard(t)
                unmatched.discard(d)
                self._join(self.tracks[t], *detections[d], now)
        self.tracks = [track for track in self.tracks if now - track.last_seen <= self.forget_after]
        for d in sorted(unmatched):
            box, probabilities = detections[d]
            self.tracks.append(Track(self._free_number(), box, tuple(probabilities),
                                     np.array(list(probabilities.values()), np.float64), now))
        self.tracks.sort(key=lambda track: track.number)
        return list(self.tracks)

    def reset(self) -> None:
        self.tracks = []

    def _join(self, track: Track, box: FaceBox, probabilities: Mapping[str, float], now: float) -> None:
        if tuple(probabilities) != track.classes:  # another model took over: start its average afresh
            track.classes, track.scores = tuple(probabilities), np.array(list(probabilities.values()), np.float64)
        weight = smoothing_weight(now - track.last_seen, self.half_life)
        reading = np.array([probabilities[name] for name in track.classes], np.float64)
        track.scores = weight * reading + (1 - weight) * track.scores
        track.box = box
        track.last_seen = now
        track.frames += 1

    def _free_number(self) -> int:
        """The smallest number no live track has: two people are faces 1 and 2, however often they came and went."""
        taken = {track.number for track in self.tracks}
        return next(number for number in range(1, len(taken) + 2) if number not in taken)
