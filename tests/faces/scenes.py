"""Generated group photos: the shared portraits' faces tiled at known sizes on a plain canvas.

    tiles = face_tiles()                                           # needs ../shared/photos
    photo = scene([("astronaut.png", 0.30), ("grace_hopper.jpg", 0.12)], tiles)

A face's size is its detected box's side (the geometric mean of width and height, as
faces.FaceDetector measures it) over the canvas's shorter side. bench/face_detection.py uses
the same photos.
"""

from __future__ import annotations

import cv2
import numpy as np

from emotion_core.faces import FACE_SIZES, FaceDetector, crop_face
from emotion_core.images import load_rgb
from tests.conftest import PHOTOS

PORTRAITS = ("astronaut.png", "grace_hopper.jpg")
SCENE_SIZE = (1280, 640)  # width, height: the shorter side is 640


def face_tiles() -> dict[str, tuple[np.ndarray, float]]:
    """Each portrait's face with some of its surroundings, and the tile's side over the face's."""
    detector = FaceDetector()
    tiles = {}
    for name in PORTRAITS:
        rgb = load_rgb(PHOTOS / name)
        (box,) = detector.detect(rgb, FACE_SIZES["all"])
        tile = crop_face(rgb, box, margin=0.4, align=False)
        tiles[name] = tile, tile.shape[0] / (box.width * box.height) ** 0.5
    return tiles


def scene(faces: list[tuple[str, float]], tiles: dict, size: tuple[int, int] = SCENE_SIZE) -> np.ndarray:
    """The faces (portrait, size as a fraction of the shorter side) in rows, left to right."""
    width, height = size
    canvas = np.full((height, width, 3), 128, np.uint8)
    left = top = row_height = gap = 16
    for name, fraction in faces:
        tile, ratio = tiles[name]
        side = round(fraction * min(size) * ratio)
        if left + side > width:
            left, top, row_height = gap, top + row_height + gap, gap
        if top + side > height:
            raise ValueError(f"{len(faces)} faces of {fraction:.0%} do not fit on {width}x{height}")
        canvas[top:top + side, left:left + side] = cv2.resize(tile, (side, side), interpolation=cv2.INTER_AREA)
        left, row_height = left + side + gap, max(row_height, side)
    return canvas
