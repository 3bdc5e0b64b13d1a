"""Video: emotions over time from reaction videos, per viewer and per second.

    python -m emotion_core analyze videos/ --out results/ [--fps 5] [--faces large]
    python -m emotion_core analyze videos/ --engine ray --out results/

    from emotion_core import Predictor, video
    video.analyze_videos("videos/", "results/", Predictor.load("deployed"))
    # results/video_frames.csv, results/video_seconds.csv, results/videos.jsonl

The modules, lowest layer first: `reading` (PyAV: facts, sampled upright RGB frames), `tables`
(the two tables' columns and rows, per-second means, resuming), `pipeline` (a video's frames
through the photo path and the Live tracker, into the tables) and `ray_engine` (one Ray task a video).
"""

import importlib

from .defaults import VIDEO_FACES, VIDEO_FPS, VIEWER_FORGET

# Where each name lives; the modules load on first use, so reading the defaults (the CLI's
# help) does not load PyAV and OpenCV.
_HOMES = {
    "pipeline": ["analyze_video", "analyze_videos", "describe_video", "list_media", "list_videos"],
    "reading": ["MAX_ANALYSED_SIDE", "VIDEO_SUFFIXES", "VideoError", "VideoFacts", "open_video"],
    "tables": ["FINISHED_JSONL", "FRAMES_CSV", "SECONDS_CSV", "VideoTables", "frame_columns", "read_table",
               "second_columns"],
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = ["VIDEO_FACES", "VIDEO_FPS", "VIEWER_FORGET", *_HOME_OF]


def __getattr__(name: str):
    if name not in _HOME_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOME_OF[name]}", __name__), name)
