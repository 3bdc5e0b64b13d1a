"""Reading a video: its facts, and the frames to analyse, streamed (memory stays flat at any length).

    with open_video("reaction.mp4") as video:          # a path or a seekable binary file
        facts = video.facts                            # duration, frame rate, size, rotation
        for frame in video.sampled(fps=5):             # about 5 upright RGB frames per second
            frame.time, frame.index, frame.rgb

Times come from each frame's timestamp (pts), never from a count of frames, so a variable frame
rate stays right. Every frame is decoded (a video's frames depend on the ones before), but only
the sampled ones are converted to RGB, scaled down in the same step when larger than
MAX_ANALYSED_SIDE (an 8K video), and turned upright as the phone that filmed it recorded
(the display matrix, which FFmpeg also fills from an old `rotate` tag).
Every failure is a VideoError, one line a user can read.
"""

from __future__ import annotations

import itertools
import math
import queue
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import numpy as np

VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".webm", ".mkv", ".avi"}
# The longest side of an analysed frame: a 1080p frame as it is; a 4K or 8K one is scaled down
# (while converted to RGB, so no full-size RGB copy is made). Detection looks at a 640-pixel
# copy anyway; this leaves the crops of the faces sharp.
MAX_ANALYSED_SIDE = 1920
DECODED_AHEAD = 8  # sampled frames decoded ahead of the analysis, on a thread (PyAV releases the GIL)


class VideoError(ValueError):
    """A video that cannot be read; the message is one line, shown as it is."""


@dataclass(frozen=True)
class VideoFacts:
    """What the container says about a video (`duration` grows to the last frame read, if later)."""

    duration: float  # seconds
    frame_rate: float  # the average frame rate (frames per second); a variable rate's mean
    width: int  # as displayed: after the rotation
    height: int
    rotation: int  # degrees counter-clockwise the stored frames are turned to be upright

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SampledFrame:
    time: float  # seconds from the video's start, from the frame's timestamp
    index: int  # the frame's position among the decoded frames, from 0
    rgb: np.ndarray  # HxWx3 uint8, upright, at most MAX_ANALYSED_SIDE on its longer side


class Video:
    """An open video: `facts` and `sampled(fps)`; use as a context manager (`open_video`)."""

    def __init__(self, source, name: str = ""):
        self.name = name or str(source)
        try:
            self.container = av.open(source, mode="r", metadata_errors="ignore")
        except (av.FFmpegError, OSError, EOFError, UnicodeDecodeError) as error:
            raise VideoError(f"not a video PyAV can read ({one_line(error)})") from None
        if not self.container.streams.video:
            kinds = sorted({stream.type for stream in self.container.streams})
            self.close()
            raise VideoError("no video stream" + (f" (only {', '.join(kinds)})" if kinds else ""))
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"  # FFmpeg's own decoding threads
        base = self.stream.time_base
        self.start = float(self.stream.start_time * base) if self.stream.start_time is not None and base else None
        self.last_time = None  # the last sampled frame's time
        self.end = 0.0  # where the last decoded frame stops being shown
        # The first frame is decoded now: it says the rotation, and a file none of whose frames
        # decodes fails here, before anything is written for it.
        self._frames = self._decoded()
        try:
            self._first = next(self._frames)
        except StopIteration:
            self.close()
            raise VideoError("no frame could be decoded") from None
        except (av.FFmpegError, OSError, EOFError) as error:
            self.close()
            raise VideoError(f"cannot decode the video ({one_line(error)})") from None
        self.facts = self._facts()
        self._frame_gap = 1 / self.facts.frame_rate if self.facts.frame_rate else 0.0

    @property
    def duration(self) -> float:
        """The stated duration, or the end of the last frame decoded so far when later."""
        return max(self.facts.duration, self.end)

    def _decoded(self) -> Iterator[av.VideoFrame]:
        for packet in self.container.demux(self.stream):  # this stream's packets only: no audio decoded
            yield from packet.decode()

    def _facts(self) -> VideoFacts:
        stream, base = self.stream, self.stream.time_base
        if stream.duration and base:
            duration = float(stream.duration * base)
        elif self.container.duration:
            duration = self.container.duration / av.time_base
        else:
            duration = 0.0
        rate = float(stream.average_rate or stream.guessed_rate or 0)
        width, height = stream.codec_context.width, stream.codec_context.height
        rotation = round((self._first.rotation or 0) / 90) * 90 % 360
        if rotation % 180:
            width, height = height, width
        return VideoFacts(round(duration, 3), round(rate, 3), width, height, rotation)

    def decoded(self) -> Iterator[av.VideoFrame]:
        """Every frame of the video stream, decoded (PyAV frames: no RGB), once: the video reads on."""
        return itertools.chain([self._first], self._frames)

    def sampled(self, fps: float) -> Iterator[SampledFrame]:
        """About `fps` frames a second: the first frame at or after each 1/fps step, all frames
        of a slower video. Decoding runs DECODED_AHEAD frames ahead on a thread.

        Raises VideoError when the video cannot be decoded; `last_time` then says how far it got.
        """
        if not fps > 0:
            raise ValueError(f"fps must be above 0, got {fps}")
        return _ahead(self._sampled(fps), DECODED_AHEAD)

    def _sampled(self, fps: float) -> Iterator[SampledFrame]:
        next_time = 0.0
        try:
            for index, frame in enumerate(self.decoded()):
                if frame.time is None:
                    continue
                if self.start is None:
                    self.start = frame.time
                time = round(frame.time - self.start, 3)
                shown = float(frame.duration * frame.time_base) if frame.duration and frame.time_base else 0.0
                self.end = max(self.end, round(time + (shown or self._frame_gap), 3))
                if time < 0 or time < next_time:  # before the start (an edit list), or between two samples
                    continue
                next_time = (math.floor(time * fps + 1e-6) + 1) / fps
                self.last_time = time
                yield SampledFrame(time, index, upright_rgb(frame))
        except (av.FFmpegError, OSError, EOFError) as error:
            where = f" after {self.last_time:.1f} s" if self.last_time is not None else ""
            raise VideoError(f"cannot decode the video{where} ({one_line(error)})") from None

    def close(self) -> None:
        self.container.close()

    def __enter__(self) -> "Video":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_video(source, name: str = "") -> Video:
    """An open Video of a path or seekable binary file; raises VideoError for what is not one.

    An empty file is refused before PyAV sees it.
    """
    if isinstance(source, (str, Path)) and Path(source).is_file() and Path(source).stat().st_size == 0:
        raise VideoError("the file is empty (0 bytes)")
    if hasattr(source, "seek") and hasattr(source, "read"):
        position = source.tell()
        empty = not source.read(1)
        source.seek(position)
        if empty:
            raise VideoError("the file is empty (0 bytes)")
    return Video(source, name)


def upright_rgb(frame: av.VideoFrame, max_side: int = MAX_ANALYSED_SIDE) -> np.ndarray:
    """A decoded frame as HxWx3 uint8 RGB, scaled down to `max_side` and turned upright."""
    scale = min(1.0, max_side / max(frame.width, frame.height))
    if scale < 1:
        # One swscale pass converts and shrinks; area averaging keeps a downscaled face free of aliasing.
        rgb = frame.to_ndarray(width=max(2, round(frame.width * scale)), height=max(2, round(frame.height * scale)),
                               format="rgb24", interpolation="AREA")
    else:
        rgb = frame.to_ndarray(format="rgb24")
    turns = round((frame.rotation or 0) / 90) % 4
    return np.ascontiguousarray(np.rot90(rgb, turns)) if turns else rgb


def one_line(error: BaseException) -> str:
    """An error as one line; FFmpeg's without its errno and file name."""
    text = getattr(error, "strerror", None) if isinstance(error, av.FFmpegError) else None
    return " ".join(str(text or error).split()) or type(error).__name__


def _ahead(items: Iterator, size: int) -> Iterator:
    """`items`, produced on a thread up to `size` ahead; the producer's exception is raised here.

    The thread stops when the consumer does (closing this generator)."""
    handoff: queue.Queue = queue.Queue(size)
    stop = threading.Event()
    done = object()

    def produce():
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        handoff.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(done)
        except BaseException as error:  # handed to the consumer, raised there
            handoff.put(error)

    thread = threading.Thread(target=produce, name="video-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = handoff.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                handoff.get(timeout=0.1)
            except queue.Empty:
                pass
        thread.join()
