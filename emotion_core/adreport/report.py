"""An analysis folder's ad test report: its tables, written beside the video tables, and a one-line summary.

    report = build_report("results/", manifest=None, by=None)   # manifest.csv beside the videos, if any
    write_report(report, "results/")   # ad_timeline.csv, ad_moments.csv, ad_compare.csv, ad_differences.csv,
                                       # ad_viewers.csv, ad_summary.json
    print(report.headline)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..analysis.outputs import MANIFEST
from ..analysis.results import result_classes
from ..registry import RunError, load_run, resolve_run
from ..storage import read_json, write_bytes_atomic
from ..video.tables import FRAMES_CSV, SECONDS_CSV, read_table
from ..wording import plural
from . import metrics
from .viewers import ALL, MANIFEST_CSV, aligned_seconds, read_manifest, viewer_units, with_attention

SECONDS_OUT, MOMENTS_OUT, COMPARE_OUT = "ad_timeline.csv", "ad_moments.csv", "ad_compare.csv"
DIFFERENCES_OUT, VIEWERS_OUT, REPORT_JSON = "ad_differences.csv", "ad_viewers.csv", "ad_summary.json"


@dataclass
class Report:
    """The report's tables and what they were made from."""

    seconds: pd.DataFrame
    moments: pd.DataFrame
    compare: pd.DataFrame
    differences: pd.DataFrame
    verdicts: dict[str, str]  # segment -> the verdict in words
    facts: dict = field(default_factory=dict)  # model, manifest, split
    viewers: pd.DataFrame = field(default_factory=pd.DataFrame)  # one row per viewer and second (viewer_seconds)

    @property
    def headline(self) -> str:
        """One line: ads, viewers, each ad's mean net valence and interval, and the verdict."""
        rows = self.compare[self.compare["segment"] == ALL] if self.facts.get("by") is None else self.compare
        ads = [f"{row.ad}{'' if row.segment == ALL else f' ({row.segment})'} {_signed(row.mean_net_valence)}"
               f"{'' if math.isnan(row.mean_net_valence_low) else f' [{_signed(row.mean_net_valence_low)}, {_signed(row.mean_net_valence_high)}]'}"
               for row in rows.itertuples()]
        verdict = " ".join(self.verdicts.values())
        return (f"{plural(self.compare['ad'].nunique(), 'ad')}, {plural(int(self.compare['viewers'].sum()), 'viewer')}; "
                f"mean net valence {', '.join(ads)}. {verdict}")


def build_report(folder: Path, manifest: Path | None = None, by: str | None = None,
                 resamples: int = metrics.BOOTSTRAP_RESAMPLES, facts: dict | None = None) -> Report:
    """The report of the analysis in `folder` (video_seconds.csv; video_frames.csv for attention;
    analysis.json for the model and where the videos were). `manifest`: a CSV of file, offset and attributes; by default the
    MANIFEST_CSV beside the videos when there is one. `by`: a manifest column to split by. `facts`:
    analysis.json's, for an analysis that writes it after its report (`analysis.media`).

    Raises ValueError (or FileNotFoundError) in one line for a folder without video tables, a bad
    manifest or an unknown column.
    """
    folder = Path(folder)
    seconds_csv = folder / SECONDS_CSV
    if not seconds_csv.is_file():
        raise FileNotFoundError(f"{folder} holds no {SECONDS_CSV}: run `python -m emotion_core analyze VIDEOS "
                                f"--out {folder}` first")
    if facts is None:
        facts = read_json(folder / MANIFEST) if (folder / MANIFEST).is_file() else {}
    seconds = read_table(seconds_csv)
    if (folder / FRAMES_CSV).is_file():  # attention needs each frame's landmarks
        seconds = with_attention(seconds, read_table(folder / FRAMES_CSV))
    if manifest is None:
        source = Path(str(facts.get("source", "")))
        beside = source / MANIFEST_CSV if source.is_dir() else source.parent / MANIFEST_CSV
        manifest = beside if facts.get("source") and beside.is_file() else None
    elif not Path(manifest).is_file():
        raise FileNotFoundError(f"manifest {manifest} does not exist")
    listed = read_manifest(Path(manifest), sorted(set(seconds["file"]) | set(facts.get("videos", {})))) \
        if manifest else None
    if by is not None and listed is None:
        raise ValueError(f"cannot split by '{by}' without a manifest ({MANIFEST_CSV} beside the videos or --manifest)")
    units = viewer_units(aligned_seconds(seconds, listed), result_classes(seconds), by=by)
    if not any(unit.viewers for unit in units):
        raise ValueError(f"{seconds_csv} has no viewer: no face was found in any video")
    # One set of resamples per unit serves its timeline, moments and metrics (2,000 x seconds x features)
    timelines, moment_rows, results = [], [], {}
    for unit in units:
        drawn = metrics.second_draws(unit, resamples)
        timelines.append(metrics.timeline(unit, resamples, drawn))
        moment_rows.append(metrics.moments(unit, resamples, drawn))
        results[(unit.ad, unit.segment)] = metrics.bootstrap_metrics(unit, resamples, drawn)
    compare, gaps = metrics.compare(units, resamples, results), metrics.differences(units, resamples, results)
    segments = sorted({unit.segment for unit in units})
    model = facts.get("model", _model(seconds))
    return Report(
        seconds=pd.concat(timelines, ignore_index=True), moments=pd.concat(moment_rows, ignore_index=True),
        compare=compare, differences=gaps,
        verdicts={segment: metrics.verdict(compare[compare["segment"] == segment], gaps[gaps["segment"] == segment])
                  for segment in segments},
        facts={"model": model, "classifier": facts.get("classifier"), **model_accuracy(model), "manifest": str(manifest) if manifest else None, "by": by,
               "resamples": resamples, "min_viewers": metrics.MIN_VIEWERS, "min_prominence": metrics.MIN_PROMINENCE,
               "analysis": str(folder.resolve()), "source": facts.get("source"),
               # whole seconds of each listed reaction video before its ad (the thumbnails' clock)
               "offsets": {} if listed is None else {file: round(offset) for file, offset in listed["offset"].items()}},
        viewers=pd.concat([metrics.viewer_seconds(unit) for unit in units], ignore_index=True))


def write_report(report: Report, out: Path) -> list[Path]:
    """The report's tables in `out` (made if needed): CSVs, and ad_summary.json holding per ad its
    metrics, moments and gaps, with the verdicts and how the report was made. Returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables = {SECONDS_OUT: report.seconds, MOMENTS_OUT: report.moments, COMPARE_OUT: report.compare,
              DIFFERENCES_OUT: report.differences, VIEWERS_OUT: report.viewers}
    written = []
    for name, table in tables.items():
        write_bytes_atomic(out / name, table.to_csv(index=False, float_format="%.4f").encode())
        written.append(out / name)
    ads = []
    for row in report.compare.to_dict("records"):
        mine = (report.moments["ad"] == row["ad"]) & (report.moments["segment"] == row["segment"])
        gaps = (report.differences["segment"] == row["segment"]) & (
            (report.differences["ad"] == row["ad"]) | (report.differences["other"] == row["ad"]))
        ads.append({**row, "moments": report.moments[mine].drop(columns=["ad", "segment"]).to_dict("records"),
                    "differences": report.differences[gaps].to_dict("records")})
    document = {**report.facts, "verdicts": report.verdicts, "ads": ads}
    text = json.dumps(_plain(document), indent=2, allow_nan=False)
    write_bytes_atomic(out / REPORT_JSON, (text + "\n").encode())
    return [*written, out / REPORT_JSON]


def model_accuracy(model: str | None) -> dict:
    """The model's measured accuracy as the registry has it (`registry.Run.accuracy`: its saved
    evaluation's, else its best epoch's), where that figure comes from, and its classes; None
    for each when the run is not in this registry (another machine's model, a test's)."""
    try:
        run = load_run(resolve_run(model)) if model else None
    except RunError:
        run = None
    if run is None or run.problem:
        return {"model_accuracy": None, "model_accuracy_source": None, "model_classes": None}
    return {"model_accuracy": run.accuracy, "model_accuracy_source": run.accuracy_source,
            "model_classes": list(run.classes)}


def _model(seconds: pd.DataFrame) -> str | None:
    models = sorted(set(seconds["model"]) - {""})
    return models[0] if models else None


def _signed(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:+.2f}"


def _plain(value):
    """JSON-ready: NaN and pandas' NA as null, numpy numbers as Python's."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        return _plain(value.item())
    return value
