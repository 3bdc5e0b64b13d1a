"""A folder's (or a .zip's, or one video's) photos and videos into one output folder: what
`analyze --out` and an analysis job (`jobs.analysis_job`) both do, in four steps.

    done = analyze_media("ads/", "results/", predictor, faces="large")
    done.counts, done.videos["facts"], done.report, done.no_report

1. photos into results.csv (`pipeline.analyze`), 2. videos into the video tables
(`video.analyze_videos`), 3. the ad report beside them when there were videos (its tables,
ad_summary.json, report.html), 4. analysis.json, last: a folder holding it is whole, its report
included, and an interrupted analysis (Ctrl+C, a cancelled job) is continued by running it again
into the same folder. Each caller keeps its own progress (the callbacks) and what it prints.

It sits above video/ and adreport/ (which import analysis' modules), so analysis/__init__ does
not import it: `from emotion_core.analysis.media import analyze_media`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..faces import FACE_SIZES
from ..video.defaults import VIDEO_FPS
from ..video.pipeline import analyze_videos, list_media
from .outputs import OUTPUT_CSV, write_manifest
from .pipeline import analyze

COUNTED = ("images", "faces", "no_face", "unreadable")  # the photos' counts analysis.json keeps


@dataclass
class MediaAnalysis:
    """What `analyze_media` did: the photos' counts (`pipeline.analyze`'s; zeros without photos),
    the videos' summary (`video.analyze_videos`'; None without videos), the ad report's files or
    why there is none, and the seconds each step took."""

    counts: dict
    videos: dict | None
    report: list[Path] = field(default_factory=list)
    no_report: str = ""
    seconds: dict = field(default_factory=dict)  # photos, videos, report


def analyze_media(source: Path, out: Path, predictor, *, faces: str | None = None, fps: float = VIDEO_FPS,
                  processes: int | None = None, csv_path: Path | None = None, manifest: bool = True,
                  photo_progress=None, video_progress=None) -> MediaAnalysis:
    """Analyse `source`'s photos and videos with `predictor` into `out` (see the module).

    `faces`: a key of faces.FACE_SIZES, or None for any size in photos and large in videos.
    `csv_path`: the photos' table (default out/results.csv); `manifest` False writes no analysis.json
    (`analyze --csv`). `processes`: the photos' detection processes (`pipeline.analyze`).
    `photo_progress(done, total)` and `video_progress(seconds_done, seconds_total, videos_done,
    videos)` follow the two steps. Raises ValueError when `source` holds neither photos nor videos.
    """
    source, out = Path(source), Path(out)
    photos, videos = list_media(source)
    out.mkdir(parents=True, exist_ok=True)
    done = MediaAnalysis(counts=dict.fromkeys(("skipped_as_done", *COUNTED), 0), videos=None)
    started = time.monotonic()
    if photos:
        done.counts = analyze(source, csv_path or out / OUTPUT_CSV, predictor, progress=photo_progress,
                              min_face_fraction=FACE_SIZES[faces or "any"], processes=processes)
        done.seconds["photos"] = time.monotonic() - started
    if videos:
        started = time.monotonic()
        done.videos = analyze_videos(source, out, predictor, fps=fps, progress=video_progress,
                                     min_face_fraction=FACE_SIZES[faces] if faces else None)
        done.seconds["videos"] = time.monotonic() - started
    facts = {"source": str(source.resolve()), "model": predictor.run_name, "classifier": predictor.classifier,
             "engine": "local", **{key: done.counts[key] for key in COUNTED},
             **({"videos": done.videos["facts"]} if videos else {})}
    if videos:
        started = time.monotonic()
        done.report, done.no_report = write_ad_report(out, facts)
        done.seconds["report"] = time.monotonic() - started
    if manifest:
        write_manifest(out, **facts)
    return done


def write_ad_report(folder: Path, facts: dict | None = None) -> tuple[list[Path], str]:
    """The ad report of the video tables in `folder` (adreport: its tables, ad_summary.json,
    report.html), from `facts` (analysis.json's, before it is written; read from it when None):
    (the files written, ""), or ([], why there is none: no face in any video, a bad manifest.csv)."""
    from .. import adreport  # its charts load Altair: only analyses of videos pay for that

    try:
        report = adreport.build_report(folder, facts=facts)
    except (ValueError, FileNotFoundError) as error:  # the analysis stands without its report
        return [], str(error)
    return [*adreport.write_report(report, folder), adreport.write_html(report, folder)], ""
