"""Hand-written video_seconds.csv tables for the ad report tests.

A viewer's reading of a second is one emotion: its probabilities are 0.6 for that emotion and 0.4
for neutral (1.0 for neutral itself), so each figure can be worked out on paper.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from emotion_core.labels import EMOTIONS
from emotion_core.valence import VALENCE
from emotion_core.video.tables import SECONDS_CSV, read_table, second_columns


def probabilities(emotion: str) -> dict[str, float]:
    return {name: 1.0 if name == emotion == "neutral" else 0.6 if name == emotion else
            0.4 if name == "neutral" else 0.0 for name in EMOTIONS}


def seconds_rows(viewers: dict[tuple[str, int], list[str | None]]) -> list[dict]:
    """{(file 'ad/x.mp4', face): [emotion or None (face not found), one per second]} as table rows."""
    rows = []
    for (file, face), readings in viewers.items():
        group = file.rsplit("/", 1)[0] if "/" in file else ""
        for second, emotion in enumerate(readings):
            row = {"file": file, "group": group, "face": face, "second": second, "frames": 5, "model": "hand",
                   "face_share": 0 if emotion is None else 1}
            if emotion is not None:
                p = probabilities(emotion)
                row.update({"emotion": emotion, "confidence": p[emotion], "valence": VALENCE[emotion], **p})
            rows.append(row)
    return rows


def write_analysis(folder: Path, viewers, source: Path | None = None) -> Path:
    """An analysis folder holding only video_seconds.csv (and analysis.json naming `source`)."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / SECONDS_CSV, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=second_columns())
        writer.writeheader()
        writer.writerows(seconds_rows(viewers))
    if source is not None:
        (folder / "analysis.json").write_text(json.dumps({"source": str(source), "model": "hand"}))
    return folder


def seconds_table(viewers, tmp_path: Path):
    """The table as `read_table` reads it back (the types the report gets)."""
    return read_table(write_analysis(tmp_path / "hand", viewers) / SECONDS_CSV)
