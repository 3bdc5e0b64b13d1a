"""Ad test report: how viewers reacted to each ad, second by second, its key moments, and ads compared.

    python -m emotion_core analyze videos/ --out results/     (one sub-folder of reaction videos per ad)
    python -m emotion_core report results/ [--manifest videos/manifest.csv] [--by market] [--out DIR]

    from emotion_core.adreport import build_report, write_report
    report = build_report("results/")
    write_report(report, "results/")      # ad_timeline.csv, ad_moments.csv, ad_compare.csv, ..., ad_summary.json
    write_html(report, "results/")        # report.html: one self-contained page to share

The modules, lowest layer first: `viewers` (the manifest, each ad's clock, viewers as units),
`metrics` (per second, moments, one row per ad, differences; bootstrap over viewers), `report`
(an analysis folder in, the tables out), `charts` (Altair charts from the tables), `thumbnails`
(a viewer's face at each moment, cut from the videos) and `html_report` (report.html).
"""

from .html_report import HTML_OUT, render_html, write_html
from .metrics import BOOTSTRAP_RESAMPLES, MIN_PROMINENCE, MIN_VIEWERS, compare, differences, moments, timeline
from .report import (COMPARE_OUT, DIFFERENCES_OUT, MOMENTS_OUT, REPORT_JSON, SECONDS_OUT, VIEWERS_OUT, Report,
                     build_report, write_report)
from .viewers import MANIFEST_CSV, Unit, aligned_seconds, read_manifest, viewer_units

__all__ = [
    "BOOTSTRAP_RESAMPLES", "COMPARE_OUT", "DIFFERENCES_OUT", "HTML_OUT", "MANIFEST_CSV", "MIN_PROMINENCE", "MIN_VIEWERS",
    "MOMENTS_OUT", "REPORT_JSON", "SECONDS_OUT", "VIEWERS_OUT", "Report", "Unit", "aligned_seconds", "build_report", "compare",
    "differences", "moments", "read_manifest", "render_html", "timeline", "viewer_units", "write_html",
    "write_report",
]
