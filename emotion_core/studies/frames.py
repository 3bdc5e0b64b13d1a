"""Each reaction video's frame at a second of an ad, with the faces the analysis found in it.

    frames = read_table(folder / FRAMES_CSV)
    shown = viewer_frames(report, frames, "ad_a", second=12)      # one ViewerFrame per reaction video
    picture = shown[0].annotated()                                 # boxes, viewer numbers, emotions
    face = shown[0].model_input(0, predictor)                      # for Grad-CAM on the first face

Second s of an ad is second s + offset of each reaction video (the manifest's offset, whole
seconds as the report uses them: `Report.facts["offsets"]`). The frame shown is the first one the
analysis looked at in that second, decoded again from the video (`faceset.labelling.video_frame`:
the same upright, scaled frame), so the boxes of video_frames.csv land on the faces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..adreport.viewers import ALL
from ..analysis.results import STATUS_OK, result_classes
from ..drawing import annotate
from ..faces import crop_face
from ..faceset.labelling import container_of, video_frame
from ..predictor import FacePrediction, box_from_row


@dataclass(frozen=True)
class ViewerFrame:
    """One reaction video's analysed frame at a second of the ad, and its faces."""

    file: str  # the video, as the tables name it ('ad_a/anna.mp4')
    time: float  # seconds into the reaction video
    rgb: np.ndarray = field(repr=False)  # HxWx3 uint8, as the analysis saw it
    faces: list[FacePrediction] = field(repr=False)  # every face found in it (no model input kept)
    viewers: list[int] = field(default_factory=list)  # each face's viewer number in its video

    def annotated(self) -> np.ndarray:
        """The frame with each face's box, viewer number, emotion and confidence drawn."""
        return annotate(self.rgb, self.faces, self.viewers)

    def model_input(self, index: int, predictor) -> np.ndarray:
        """Face `index` as `predictor`'s model reads it (for Grad-CAM), cut from the frame as the analysis cut it."""
        return predictor.seen(crop_face(self.rgb, self.faces[index].box))


def frame_rows(report, frames: pd.DataFrame, ad: str, second: int, segment: str = ALL) -> pd.DataFrame:
    """The rows of video_frames.csv of the first analysed frame in `second` of `ad` of each of its
    reaction videos (in `segment`) with a viewer: every face of that frame, or one row without a
    face. Videos over by then have none."""
    mine = report.viewers[(report.viewers["ad"] == ad) & (report.viewers["segment"] == segment)]
    files = sorted({viewer.rsplit("#", 1)[0] for viewer in mine["viewer"]})
    offsets = report.facts.get("offsets") or {}
    chosen = []
    for file in files:
        start = second + int(offsets.get(file, 0))
        rows = frames[(frames["file"] == file) & (frames["time"] >= start) & (frames["time"] < start + 1)]
        if not rows.empty:
            chosen.append(rows[rows["time"] == rows["time"].min()])
    return pd.concat(chosen) if chosen else frames.iloc[:0]


def viewer_frames(report, frames: pd.DataFrame, ad: str, second: int, segment: str = ALL) -> list[ViewerFrame]:
    """`frame_rows`' frames decoded from the reaction videos (where the report's analysis read them),
    with their faces; a video that can no longer be read is left out."""
    from ..video.reading import VideoError

    source = report.facts.get("source")
    if not source or not Path(source).exists():
        return []
    container, classes = container_of(Path(source)), result_classes(frames)
    shown = []
    for (file, time), rows in frame_rows(report, frames, ad, second, segment).groupby(["file", "time"], sort=False):
        try:
            rgb = video_frame(container, file, float(time))
        except (VideoError, OSError):
            continue
        faces = rows[rows["status"] == STATUS_OK]
        shown.append(ViewerFrame(
            file, float(time), rgb,
            [FacePrediction(box_from_row(row), {name: float(row[name]) for name in classes}, None,
                            valence=row["valence"]) for _, row in faces.iterrows()],
            [int(face) for face in faces["face"]]))
    return shown
