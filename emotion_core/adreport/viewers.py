"""The viewers of each ad, second by second on the ad's clock, from an analysis' video_seconds.csv.

    manifest = read_manifest("videos/manifest.csv", files)   # file, offset, any attributes
    aligned = aligned_seconds(seconds, manifest)             # ad, viewer, second 0 = the ad's first frame
    units = viewer_units(aligned, classes, by="market")      # one Unit per ad (and market)

A viewer is one tracked face of one reaction video (`file` and `face` of the table): the unit every
figure of the report averages over, so one long video does not outweigh ten short ones. An ad is
the sub-folder its reaction videos sit in (`group`; TOP_LEVEL for videos outside any).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from ..analysis.summary import TOP_LEVEL

# A face counts as facing the camera when its nose sits within a quarter of the eye distance of the
# eyes' midpoint, along the eye line: a nose tip about 0.45 eye distances in front of the eyes (an
# average adult's) moves 0.45 * tan(30°) = 0.26 of it at 30 degrees of head yaw. A geometric
# estimate, not measured on faces of known pose.
MAX_YAW_RATIO = 0.25
MANIFEST_CSV = "manifest.csv"  # looked for beside the videos when --manifest is not given
NOT_LISTED = "(not in manifest)"  # the segment of a video the manifest does not list
ALL = "all"  # the segment of a report not split by a manifest column


def read_manifest(path: Path, files) -> pd.DataFrame:
    """The manifest CSV as a frame indexed by the analysed `files` it names: `offset` (seconds of the
    reaction video before the ad's first frame, 0 when the column is absent) and every other column
    as text. A row names a file by its path in the analysis (ad_a/anna.mp4) or, when that is
    unambiguous, by its name alone (anna.mp4).

    Raises ValueError in one line for a missing `file` column, a repeated or unknown file, or an
    offset that is not a number of seconds from 0 up.
    """
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: not a readable CSV ({str(error).splitlines()[0]})") from None
    table.columns = [str(column).strip() for column in table.columns]
    if "file" not in table.columns:
        raise ValueError(f"{path}: needs a 'file' column (and optionally 'offset' in seconds); it has "
                         f"{', '.join(table.columns) or 'no columns'}")
    files = list(files)
    by_name = {}
    for file in files:
        by_name.setdefault(PurePosixPath(file).name, []).append(file)
    matched = []
    for line, name in enumerate(table["file"].str.strip(), start=2):
        candidates = [name] if name in files else by_name.get(PurePosixPath(name).name, [])
        if len(candidates) != 1:
            problem = "names several analysed videos" if candidates else "is not among the analysed videos"
            raise ValueError(f"{path} line {line}: '{name}' {problem} ({', '.join(files[:5])}"
                             f"{', ...' if len(files) > 5 else ''})")
        matched.append(candidates[0])
    table["file"] = matched
    repeated = table["file"][table["file"].duplicated()]
    if len(repeated):
        raise ValueError(f"{path}: {repeated.iloc[0]} is listed twice")
    offsets = pd.to_numeric(table.get("offset", pd.Series("0", index=table.index)).replace("", "0"), errors="coerce")
    bad = offsets.isna() | (offsets < 0)
    if bad.any():
        line = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise ValueError(f"{path} line {line}: offset '{table['offset'].iloc[line - 2]}' is not a number of "
                         "seconds from 0 up")
    table["offset"] = offsets.astype(float)
    return table.set_index("file")


def yaw_ratios(landmarks: pd.Series) -> np.ndarray:
    """Per face (video_frames.csv's `landmarks`: left eye, right eye, nose, mouth as 'x y ...'): the
    nose's offset from the eyes' midpoint along the eye line, in eye distances; 0 facing the
    camera, growing as the head turns; NaN without landmarks."""
    points = np.full((len(landmarks), 6), np.nan)
    for row, text in enumerate(landmarks):
        numbers = str(text).split()
        if len(numbers) >= 6:
            points[row] = [float(number) for number in numbers[:6]]
    first, second, nose = points[:, 0:2], points[:, 2:4], points[:, 4:6]
    axis = second - first
    with np.errstate(invalid="ignore", divide="ignore"):
        return ((nose - (first + second) / 2) * axis).sum(axis=1) / (axis * axis).sum(axis=1)


def with_attention(seconds: pd.DataFrame, frames: pd.DataFrame) -> pd.DataFrame:
    """video_seconds.csv's rows with `attention`: the share of the second's analysed frames in which
    the viewer's face was found and facing the camera (|yaw ratio| <= MAX_YAW_RATIO). NaN on rows
    without a viewer, and on every row when no face has landmarks (the Haar detector gives none)."""
    seconds = seconds.copy()
    faces = frames[frames["status"] == "ok"]
    if not faces["landmarks"].str.strip().astype(bool).any():
        seconds["attention"] = np.nan
        return seconds
    analysed = frames.dropna(subset=["time"]).assign(second=lambda rows: rows["time"].astype(float).astype(int))
    per_second = analysed.groupby(["file", "second"])["frame"].nunique()
    facing = faces.assign(second=faces["time"].astype(float).astype(int), face=faces["face"].astype(int))[
        np.abs(yaw_ratios(faces["landmarks"])) <= MAX_YAW_RATIO]
    counts = facing.groupby(["file", "face", "second"])["frame"].nunique()
    file, face, second = seconds["file"], seconds["face"].fillna(-1).astype(int), seconds["second"].astype(int)
    facing_frames = counts.reindex(pd.MultiIndex.from_arrays([file, face, second]), fill_value=0).to_numpy()
    analysed_frames = per_second.reindex(pd.MultiIndex.from_arrays([file, second])).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        seconds["attention"] = np.where(seconds["face"].isna(), np.nan, facing_frames / analysed_frames)
    return seconds


def aligned_seconds(seconds: pd.DataFrame, manifest: pd.DataFrame | None = None) -> pd.DataFrame:
    """video_seconds.csv's rows on each ad's clock, with the manifest's attributes.

    Adds `ad` (the group, TOP_LEVEL when empty), `viewer` ('file#face', '' for a video without a
    face) and the manifest's columns, and shifts `second` back by the file's offset rounded to a
    whole second (the table's resolution); the seconds before the ad starts are dropped.
    """
    frame = seconds.copy()
    frame["ad"] = frame["group"].replace("", TOP_LEVEL)
    faces = frame["face"].map(lambda face: "" if pd.isna(face) or face == "" else str(int(face)))
    frame["viewer"] = np.where(faces == "", "", frame["file"] + "#" + faces)
    offsets = pd.Series(0.0, index=frame.index)
    if manifest is not None:
        offsets = frame["file"].map(manifest["offset"]).fillna(0.0)
        for column in manifest.columns.drop("offset"):
            frame[column] = frame["file"].map(manifest[column]).fillna(NOT_LISTED).replace("", NOT_LISTED)
    frame["second"] = frame["second"].astype(int) - np.round(offsets.to_numpy()).astype(int)
    return frame[frame["second"] >= 0].reset_index(drop=True)


@dataclass(frozen=True)
class Unit:
    """One ad (or one segment of an ad): its viewers' per-second probabilities and readings.

    `probabilities` is (viewers, seconds, classes), NaN where the viewer's face was not found that
    second; `emotions` is (viewers, seconds), the index of that second's emotion in `classes`
    (-1 where absent); `valences` is (viewers, seconds), 'positive', 'neutral', 'negative' or ''.
    """

    ad: str
    segment: str
    viewers: tuple[str, ...]
    duration: int  # whole seconds of the ad seen by any of its reaction videos
    classes: tuple[str, ...]
    probabilities: np.ndarray
    emotions: np.ndarray
    valences: np.ndarray
    attention: np.ndarray | None = None  # (viewers, seconds): with_attention's share, NaN where the video ends

    @property
    def present(self) -> np.ndarray:
        """(viewers, seconds): whether the viewer's face was found in that second."""
        return self.emotions >= 0


def viewer_units(aligned: pd.DataFrame, classes, by: str | None = None) -> list[Unit]:
    """One Unit per ad, or per ad and value of the manifest column `by`, in name order.

    Raises ValueError in one line when `by` is not a column of the manifest.
    """
    classes = tuple(classes)
    if by is not None and by not in aligned.columns:
        raise ValueError(f"cannot split by '{by}': it is not a column of the manifest")
    keys = ["ad"] if by is None else ["ad", by]
    units = []
    for key, rows in aligned.groupby(keys, sort=True):
        ad, segment = (key[0], ALL) if by is None else key
        duration = int(rows["second"].max()) + 1
        faces = rows[rows["viewer"] != ""]
        viewers = tuple(sorted(faces["viewer"].unique()))
        row_of = {viewer: index for index, viewer in enumerate(viewers)}
        probabilities = np.full((len(viewers), duration, len(classes)), np.nan)
        emotions = np.full((len(viewers), duration), -1)
        valences = np.full((len(viewers), duration), "", dtype=object)
        found = faces[faces["emotion"] != ""]
        # int: with no face found anywhere the empty columns would be float, which cannot index
        v, s = found["viewer"].map(row_of).to_numpy(dtype=int), found["second"].to_numpy(dtype=int)
        probabilities[v, s] = found[list(classes)].to_numpy(dtype=float)
        emotions[v, s] = found["emotion"].map({name: index for index, name in enumerate(classes)}).to_numpy()
        valences[v, s] = found["valence"].to_numpy()
        attention = None
        if "attention" in faces and faces["attention"].notna().any():
            attention = np.full((len(viewers), duration), np.nan)
            attention[faces["viewer"].map(row_of).to_numpy(), faces["second"].to_numpy()] = faces["attention"].to_numpy()
        units.append(Unit(str(ad), str(segment), viewers, duration, classes, probabilities, emotions, valences,
                          attention))
    return units
