"""A finished analysis written as `analyze --out` leaves one, for the labelling tests (no model, no detector).

Its photos and video frames are plain grey levels on a light border, so a face crop says which
photo, or which moment of the video, it was cut from.
"""

import numpy as np
import pandas as pd
from PIL import Image

from emotion_core.analysis import write_manifest
from emotion_core.analysis.results import csv_columns, face_rows, status_row
from emotion_core.analysis.sources import ImageSource
from emotion_core.faces import FaceBox
from emotion_core.labels import EMOTIONS
from emotion_core.video.tables import FRAMES_CSV, frame_columns, frame_face_rows
from tests.video.videos import write_video

HAPPY = np.array([0.05, 0.02, 0.03, 0.70, 0.05, 0.05, 0.10])
SAD = np.array([0.05, 0.02, 0.03, 0.05, 0.70, 0.05, 0.10])
BOX = FaceBox(40, 30, 80, 80, 0.9, ((65.0, 60.0), (95.0, 60.0), (80.0, 75.0), (80.0, 92.0)))
VIDEO_TIMES = [index / 5 for index in range(10)]  # 2 s at 5 frames a second


def level_image(level: int, size=(200, 160)) -> np.ndarray:
    """A photo whose every pixel is `level` on a lighter border: a crop of it says which photo it is."""
    rgb = np.full((size[1], size[0], 3), 250, np.uint8)
    rgb[20:-20, 20:-20] = level
    return rgb


def write_analysis(root, with_video: bool = True):
    """A finished analysis as `analyze --out` leaves it: two photos (one with two faces), a photo
    without a face and, with `with_video`, a 2 s video of one viewer whose frames grow lighter."""
    media, out = root / "media", root / "analyses" / "campaign"
    (media / "ad_a").mkdir(parents=True)
    out.mkdir(parents=True)
    Image.fromarray(level_image(60)).save(media / "ad_a" / "one.png")
    Image.fromarray(level_image(120)).save(media / "ad_a" / "two.png")
    Image.fromarray(level_image(250)).save(media / "ad_a" / "wall.png")
    rows = [*face_rows(ImageSource("ad_a/one.png", media, "ad_a"), [BOX], [HAPPY], "stub"),
            *face_rows(ImageSource("ad_a/two.png", media, "ad_a"), [BOX, FaceBox(130, 20, 60, 60, 0.8)],
                       [SAD, HAPPY], "stub"),
            status_row(ImageSource("ad_a/wall.png", media, "ad_a"), "no face found", "stub", 0)]
    pd.DataFrame(rows, columns=csv_columns()).to_csv(out / "results.csv", index=False)
    if with_video:
        frames = [(time, level_image(40 + 20 * index, (208, 160))) for index, time in enumerate(VIDEO_TIMES)]
        write_video(media / "clip.mp4", frames)
        source = ImageSource("clip.mp4", media, "")
        table = [row for index, time in enumerate(VIDEO_TIMES)
                 for row in frame_face_rows(source, time, index, [(1, BOX, SAD if time < 1 else HAPPY)], EMOTIONS,
                                            None, "stub")]
        pd.DataFrame(table, columns=frame_columns()).to_csv(out / FRAMES_CSV, index=False)
    write_manifest(out, source=str(media), model="stub", engine="local", images=3, faces=3)
    return out, media
