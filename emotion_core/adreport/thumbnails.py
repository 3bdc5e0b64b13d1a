"""A viewer's face at each key moment: the thumbnails report.html shows beside the moments.

    faces = moment_faces(report)     # {(ad, segment, second): MomentFace(viewer, time, png)}

For a moment at second s of an ad, the face is one of the viewers whose reading made it (happy,
for "peak happy"; a positive reading for the highest net valence): among their faces analysed in
that second (video_frames.csv, s plus the video's manifest offset), the one the model read most
surely so. It is cut from the reaction video at that frame's time (`faceset.labelling.video_frame`,
the frame the analysis saw) around the face's box, with a margin, as a small PNG.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from ..analysis.results import STATUS_OK
from ..drawing import png_bytes
from ..faces import crop_face
from ..faceset.labelling import container_of, video_frame
from ..predictor import box_from_row
from ..video.reading import VideoError
from ..video.tables import FRAMES_CSV, read_table
from .report import Report

THUMBNAIL_PX = 96  # a face a reader recognises at a glance, a few kilobytes inline
THUMBNAIL_MARGIN = 0.3  # of the face's side, around it: hair and chin in the picture


@dataclass(frozen=True)
class MomentFace:
    viewer: str  # 'ad_a/anna.mp4#1'
    time: float  # seconds into the reaction video
    png: bytes


def moment_reading(moment: str) -> tuple[str, str] | None:
    """The reading that makes a moment, as (column of the tables, value): ('emotion', 'happy') for
    'peak happy', ('valence', 'positive') for the highest net valence; None for spans and scores."""
    if moment.startswith("peak ") and moment != "peak-end score":
        return "emotion", moment.removeprefix("peak ")
    return {"highest net valence": ("valence", "positive"), "lowest net valence": ("valence", "negative")}.get(moment)


def moment_faces(report: Report) -> dict[tuple[str, str, int], MomentFace]:
    """One face for each second marked as a moment (several moments at one second share the
    first's), from the analysis folder and the videos the report was made from. A moment whose
    video is gone, or unreadable at that time, has no face; the report says so instead."""
    folder, source = Path(report.facts.get("analysis") or ""), report.facts.get("source")
    if not (folder / FRAMES_CSV).is_file() or not source or not Path(source).exists():
        return {}
    frames = read_table(folder / FRAMES_CSV)
    frames = frames[frames["status"] == STATUS_OK].astype({"face": int})
    container, offsets = container_of(Path(source)), report.facts.get("offsets") or {}
    faces = {}
    marked = report.moments[report.moments["prominence"].notna()]
    for moment in marked.itertuples():
        key = (moment.ad, moment.segment, int(moment.second))
        reading = moment_reading(moment.moment)
        if key in faces or reading is None:
            continue
        row = _best_face(report.viewers, frames, key, reading, offsets)
        if row is None:
            continue
        try:
            rgb = video_frame(container, row["file"], float(row["time"]))
        except (VideoError, OSError):
            continue
        crop = crop_face(rgb, box_from_row(row), margin=THUMBNAIL_MARGIN, align=False)
        small = np.asarray(Image.fromarray(crop).resize((THUMBNAIL_PX, THUMBNAIL_PX), Image.Resampling.LANCZOS))
        faces[key] = MomentFace(f"{row['file']}#{int(row['face'])}", float(row["time"]), png_bytes(small))
    return faces


def _best_face(viewers: pd.DataFrame, frames: pd.DataFrame, key, reading, offsets: dict) -> dict | None:
    """The frames row of the face that shows the moment's reading most surely: among the viewers
    with that reading in that second, their faces in that second of their videos; those read the
    same way first, then by the probability of the emotion (or the confidence, for a valence)."""
    ad, segment, second = key
    column, value = reading
    who = viewers[(viewers["ad"] == ad) & (viewers["segment"] == segment) & (viewers["second"] == second)
                  & (viewers[column] == value)]["viewer"]
    if who.empty:
        return None
    split = who.str.rsplit("#", n=1, expand=True)
    wanted = pd.DataFrame({"file": split[0], "face": split[1].astype(int)})
    wanted["start"] = second + wanted["file"].map(offsets).fillna(0).astype(int)
    rows = frames.merge(wanted, on=["file", "face"])
    rows = rows[(rows["time"] >= rows["start"]) & (rows["time"] < rows["start"] + 1)]
    if rows.empty:
        return None
    score = rows[value] if column == "emotion" and value in rows else rows["confidence"]
    order = pd.DataFrame({"same": rows[column] == value, "score": score}).sort_values(
        ["same", "score"], ascending=False, kind="stable")
    return rows.loc[order.index[0]].to_dict()
