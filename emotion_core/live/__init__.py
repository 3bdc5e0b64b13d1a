"""Real-time emotions on a video stream: a frame processor, face tracks, rates, connection settings.

    from emotion_core.live import FrameProcessor
    processor = FrameProcessor(Predictor.load("live"))   # one per stream; the Predictor may be shared
    annotated = processor.process(rgb)                   # the stream's thread, frame after frame
    readout = processor.readout()                        # the page's thread: faces, fps, latency, chart

Layers: `tracking` (faces joined across frames, smoothed probabilities), `stats` (fps and latency
over a sliding window), `processor` (the two together, behind one lock), `connection` (ICE servers,
camera constraints, why a plain-http page gets no camera). Nothing here imports streamlit or a
WebRTC library: the Live page turns video frames into arrays and back.
"""

from .connection import (CAMERAS, DEFAULT_RESOLUTION, HTTPS_HINT, RESOLUTIONS, camera_blocked_reason,
                         media_constraints, rtc_configuration)
from .processor import LIVE_FACE_SIZE, FrameProcessor, LiveFace, LiveReadout
from .stats import FrameStats, StreamStats
from .tracking import FaceTracker, Track, box_iou, smoothing_weight

__all__ = ["CAMERAS", "DEFAULT_RESOLUTION", "HTTPS_HINT", "LIVE_FACE_SIZE", "RESOLUTIONS", "FaceTracker",
           "FrameProcessor", "FrameStats", "LiveFace", "LiveReadout", "StreamStats", "Track", "box_iou",
           "camera_blocked_reason", "media_constraints", "rtc_configuration", "smoothing_weight"]
