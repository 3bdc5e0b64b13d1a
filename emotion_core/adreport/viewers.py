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
        v, s = found["viewer"].map(row_of).to_numpy(), found["second"].to_numpy()
        probabilities[v, s] = found[list(classes)].to_numpy(dtype=float)
        emotions[v, s] = found["emotion"].map({name: index for index, name in enumerate(classes)}).to_numpy()
        valences[v, s] = found["valence"].to_numpy()
        units.append(Unit(str(ad), str(segment), viewers, duration, classes, probabilities, emotions, valences))
    return units
