"""Webcam-like frames made from the real portraits in ../shared/photos, for the live tests and bench.

`webcam_frame` scales a portrait so its face is about as tall as a face at arm's length from a
640x480 webcam and places it in the frame; `moving_frames` sways it from side to side as a person
in front of a camera does; `two_face_frame` puts two portraits side by side. `write_y4m` writes
frames as a Y4M video (4:2:0), the format Chromium's fake camera plays.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from emotion_core.images import load_rgb
from tests.conftest import PHOTOS

FRAME_SIZE = (640, 480)  # width, height
# Each portrait's face as YuNet finds it: centre x, centre y, height, in the photo's own pixels.
FACES = {"astronaut.png": (223, 117, 114), "grace_hopper.jpg": (266, 219, 210)}
FACE_HEIGHT = 170  # pixels: a face at arm's length from a 640x480 webcam


def portrait(name: str) -> np.ndarray:
    return load_rgb(PHOTOS / name)


def webcam_frame(name: str, centre: tuple[float, float] | None = None, face_height: float = FACE_HEIGHT,
                 size: tuple[int, int] = FRAME_SIZE, rgb: np.ndarray | None = None) -> np.ndarray:
    """A (height, width, 3) uint8 frame with the portrait's face of `face_height` at `centre` (default the middle)."""
    width, height = size
    face_x, face_y, face_h = FACES[name]
    scale = face_height / face_h
    target_x, target_y = centre or (width / 2, height / 2)
    matrix = np.array([[scale, 0, target_x - scale * face_x], [0, scale, target_y - scale * face_y]], np.float32)
    return cv2.warpAffine(portrait(name) if rgb is None else rgb, matrix, (width, height),
                          flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def moving_frames(name: str, count: int, sway: float = 120, period: int = 30,
                  size: tuple[int, int] = FRAME_SIZE) -> list[np.ndarray]:
    """`count` frames of the face swaying `sway` pixels either side of the middle, once every `period` frames."""
    rgb = portrait(name)
    width, height = size
    return [webcam_frame(name, (width / 2 + sway * np.sin(2 * np.pi * i / period), height / 2 + 10 * np.sin(4 * np.pi * i / period)),
                         size=size, rgb=rgb) for i in range(count)]


def two_face_frame(left: str = "astronaut.png", right: str = "grace_hopper.jpg", shift: float = 0.0,
                   size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """Two portraits side by side in one frame, each in its half, both moved `shift` pixels to the right."""
    width, height = size
    half = (width // 2, height)
    face_height = FACE_HEIGHT * 0.75  # two people sit a little further back to share the picture
    left_half = webcam_frame(left, (half[0] / 2 + shift, height / 2), face_height, half)
    right_half = webcam_frame(right, (half[0] / 2 + shift, height / 2), face_height, half)
    return np.concatenate([left_half, right_half], axis=1)


def write_y4m(path: Path, frames: list[np.ndarray], fps: int = 15) -> Path:
    """Frames (h, w, 3) uint8 RGB as a Y4M video: header `C420`, then each frame's Y, U and V planes."""
    height, width = frames[0].shape[:2]
    with open(path, "wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420\n".encode())
        for rgb in frames:
            # OpenCV's I420: the full-size Y plane, then U and V at half size, stacked in one array.
            video.write(b"FRAME\n" + cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path
