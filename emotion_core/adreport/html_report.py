"""report.html: the ad test report as one self-contained file a stakeholder opens offline and mails on.

    write_html(report, "results/")        # results/report.html
    text = render_html(report, faces)     # the same page as a string (faces: thumbnails.moment_faces)

It holds the verdict, the sample sizes and the small-sample flag, a plain-language "how to read
this", the comparison table (gaps beyond chance marked), the ads' curves overlaid, and per ad its
timeline with the key moments marked, each moment with a viewer's face at that second, and each
viewer's strip; then the model and its measured accuracy. Charts are Altair charts rendered to
inline SVG by vl-convert (no JavaScript), thumbnails inline PNGs: the file loads nothing.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import pandas as pd
import vl_convert

from ..storage import now_iso, write_bytes_atomic
from ..valence import VALENCE, VALENCES
from ..wording import accuracy, plural, signed
from . import metrics
from .charts import compare_chart, timeline_chart, viewer_multiples
from .report import Report
from .thumbnails import MomentFace, moment_faces
from .viewers import ALL

HTML_OUT = "report.html"
# Figures on net valence's scale (−1 to +1), written signed; the rest are shares, written as %.
SIGNED = {"mean_net_valence", "opening", "ending", "peak", "peak_end", "peak-end score"}
# The compare table's rows: each metric's name in the report, as a reader would say it, and how it is made.
METRICS = {
    "mean_net_valence": ("Net valence, whole ad", "share of viewers reading positive minus share reading negative, "
                         "averaged over the ad's seconds (from −1 to +1)"),
    "opening": ("Opening", f"net valence over the first {metrics.OPENING} seconds"),
    "ending": ("Ending", f"net valence over the last {metrics.ENDING} seconds"),
    "peak": ("Peak", "the highest second's net valence (seconds where at least half the viewers are present)"),
    "peak_end": ("Peak-end score", "mean of the peak and the ending: people remember an experience by its "
                 "best moment and its end"),
    "expressiveness": ("Expressiveness", "1 minus the probability of neutral, averaged over viewers and seconds"),
    "attention": ("Attention", "share of viewers whose face was found and facing the camera (head turned less "
                  "than about 30°)"),
}
STYLE = """
body { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #31333f;
       max-width: 980px; margin: 0 auto; padding: 16px; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
td.number { text-align: right; white-space: nowrap; }
.lead { background: #eef6ee; font-weight: 600; } .flag { color: #b5420e; font-weight: 600; }
.muted { color: #6b6b6b; font-size: 0.9em; }
.chart svg { max-width: 100%; height: auto; }
img.face { width: 96px; height: 96px; border-radius: 6px; }
.scroll { overflow-x: auto; }
"""


def write_html(report: Report, out: Path, faces: dict[tuple, MomentFace] | None = None) -> Path:
    """report.html in `out`; `faces` defaults to `thumbnails.moment_faces(report)` (read from the
    videos the analysis read, when they are still there)."""
    path = Path(out) / HTML_OUT
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, render_html(report, moment_faces(report) if faces is None else faces).encode())
    return path


def render_html(report: Report, faces: dict[tuple, MomentFace]) -> str:
    """The whole page as one string (see the module docstring)."""
    units = list(report.compare[["ad", "segment"]].itertuples(index=False, name=None))
    ads = list(dict.fromkeys(ad for ad, _ in units))
    title = f"Ad test report: {' vs '.join(ads)}"
    viewers = int(report.compare["viewers"].sum())  # a viewer is in one segment of a split
    split = "" if report.facts.get("by") is None else f", split by {_e(report.facts['by'])}"
    parts = [f"<h1>{_e(title)}</h1>",
             f"<p class='muted'>Made {_e(now_iso()[:16].replace('T', ' '))} UTC by the facial emotion recognition "
             f"explorer from the reactions of {plural(viewers, 'viewer')}{split}.</p>",
             "<h2>In short</h2>", *(f"<p><b>{_e(text)}</b></p>" for text in report.verdicts.values()),
             _sample_sizes(report), _how_to_read(report)]
    for segment in dict.fromkeys(segment for _, segment in units):
        rows = report.compare[report.compare["segment"] == segment]
        heading = "Ads compared" + ("" if segment == ALL else f": {segment}")
        parts += [f"<h2>{_e(heading)}</h2>", _compare_table(report, rows)]
        if len(rows) > 1:
            parts.append(_svg(compare_chart(report.seconds, list(rows["ad"]), segment=segment)))
    for ad, segment in units:
        heading = ad if segment == ALL else f"{ad}: {segment}"
        parts += [f"<h2>{_e(heading)}</h2>", _svg(timeline_chart(report.seconds, report.moments, ad, segment)),
                  _moments_table(report, ad, segment, faces),
                  _svg(viewer_multiples(report.viewers, ad, segment))]
    parts.append(_model(report))
    body = "\n".join(parts)
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{_e(title)}</title>"
            f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def _sample_sizes(report: Report) -> str:
    rows = "".join(f"<tr><td>{_e(_name(row.ad, row.segment))}</td><td class='number'>{row.viewers}</td>"
                   f"<td class='number'>{row.duration} s</td>"
                   f"<td class='flag'>{_e(row.note)}</td></tr>" for row in report.compare.itertuples())
    return ("<h2>Sample sizes</h2><div class='scroll'><table><tr><th>ad</th><th>viewers</th><th>duration</th>"
            f"<th>note</th></tr>{rows}</table></div>"
            f"<p class='muted'>Fewer than {metrics.MIN_VIEWERS} viewers an ad is flagged: with so few, the ranges "
            "below are too optimistic and a difference is too few to tell.</p>")


def _how_to_read(report: Report) -> str:
    valences = _valences(report)
    items = [
        "Each <b>viewer</b> is one face followed through one reaction video; every figure is an average over "
        "viewers, so a long video does not count more than a short one.",
        "Each second, a viewer's face reads as one emotion (the model's most likely class). The coloured bands "
        "show the <b>share of viewers</b> showing each emotion, second by second.",
        f"<b>Net valence</b> is the share of viewers reading positive ({', '.join(valences['positive'])}) minus "
        f"the share reading negative ({', '.join(valences['negative'])}): +1 means everyone smiled, −1 everyone "
        "frowned, 0 balance or neutral.",
        "A <b>range in brackets</b>, and the light band around a curve, is a 95% interval: where the figure would "
        f"land for most other groups of viewers like these ({report.facts.get('resamples', metrics.BOOTSTRAP_RESAMPLES):,}"
        " resamples of the viewers).",
        "A difference between two ads is marked <b>beyond chance</b> only when its own 95% interval leaves out "
        "zero. Otherwise the ads may well be alike. The sentence at the top ranks the ads by the table's net "
        "valence over the whole ad and calls a lead beyond chance exactly where the table marks it.",
        "A dashed line marks a <b>key moment</b>: the highest or lowest second of net valence, or an emotion's "
        f"peak, kept only when it stands at least {metrics.MIN_PROMINENCE:.0%} above (below) the ad's typical "
        "second and beyond what chance gives over all the ad's seconds at once. Pure noise gives a moment in "
        "about one ad in twenty.",
        "Faces are read by a model trained on a public set of face photos (FER2013); its accuracy there is "
        "below. Read the figures as reactions of a group, never as one person's feelings.",
    ]
    return "<h2>How to read this</h2><ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"


def _compare_table(report: Report, rows: pd.DataFrame) -> str:
    """Metrics down, ads across; a cell where the ad leads another beyond chance is shaded and says over which."""
    names = [*METRICS, *(column for column in rows.columns if column.startswith("share_")
                         and not column.endswith(("_low", "_high")))]
    header = "".join(f"<th>{_e(ad)}</th>" for ad in rows["ad"])
    lines = []
    for name in names:
        if rows[name].isna().all():
            continue  # attention without landmarks
        label, how = METRICS.get(name, (f"Share {name.removeprefix('share_')}",
                                        f"share of viewers reading {name.removeprefix('share_')}, averaged over seconds"))
        cells = []
        for row in rows.to_dict("records"):
            leads = [lead.split(" > ")[1] for lead in row["beyond_chance"].split("; ") if lead.startswith(f"{name} > ")]
            mark = f"<br><span class='muted'>▲ beyond chance over {_e(', '.join(leads))}</span>" if leads else ""
            cells.append(f"<td class='number{' lead' if leads else ''}'>{_figure(name, row)}{mark}</td>")
        lines.append(f"<tr><td><b>{_e(label)}</b><br><span class='muted'>{_e(how)}</span></td>{''.join(cells)}</tr>")
    return (f"<div class='scroll'><table><tr><th>metric [95% interval]</th>{header}</tr>{''.join(lines)}</table></div>"
            "<p class='muted'>▲ and shading: the difference from that ad has a 95% interval that leaves out 0.</p>")


def _moments_table(report: Report, ad: str, segment: str, faces: dict) -> str:
    rows = report.moments[(report.moments["ad"] == ad) & (report.moments["segment"] == segment)]
    lines = []
    for row in rows.itertuples():
        key = (ad, segment, None if pd.isna(row.second) else int(row.second))
        face = faces.get(key) if not pd.isna(row.prominence) else None
        picture = (f"<img class='face' alt='{_e(face.viewer)} at {face.time:.1f} s' "
                   f"src='data:image/png;base64,{base64.b64encode(face.png).decode('ascii')}'>"
                   f"<br><span class='muted'>{_e(face.viewer)} at {face.time:.1f} s</span>") if face else ""
        when = ("" if pd.isna(row.second) else f"{int(row.second)}–{int(row.until)} s"
                if row.until - row.second > 1 else f"{int(row.second)} s")
        lines.append(f"<tr><td>{_e(row.moment)}</td><td class='number'>{when}</td>"
                     f"<td class='number'>{_value(row.moment, row.value)}</td><td>{picture}</td></tr>")
    kept = rows["prominence"].notna().sum()
    note = ("" if kept else "<p class='muted'>No second stands out beyond chance: no key moment is marked.</p>")
    if kept and not any(key[:2] == (ad, segment) for key in faces):
        note += ("<p class='muted'>No faces shown: the reaction videos were not found where the analysis read them "
                 f"({_e(report.facts.get('source') or 'unknown')}).</p>")
    return ("<h3>Key moments</h3><div class='scroll'><table><tr><th>moment</th><th>when</th><th>value</th>"
            f"<th>a viewer then</th></tr>{''.join(lines)}</table></div>{note}")


def _model(report: Report) -> str:
    facts = report.facts
    figure, classes = facts.get("model_accuracy"), facts.get("model_classes") or []
    measured = (f"{accuracy(figure)} of validation faces right over {len(classes)} classes "
                f"({_e(facts.get('model_accuracy_source'))})" if figure is not None
                else "not known here: the run is not in this registry")
    classifier = facts.get("classifier") or {}  # analysis.json's: which file classified, int8 or float
    file = f" (its {_e(classifier['precision'])} LiteRT file)" if classifier.get("file") else ""
    return (f"<h2>Model</h2><p>Faces read by <b>{_e(facts.get('model') or 'unknown')}</b>{file}; measured accuracy: "
            f"{measured}. Real viewers' faces (light, angle, webcams) are harder than these photos.</p>"
            f"<p class='muted'>Manifest: {_e(facts.get('manifest') or 'none (every video starts with its ad)')}. "
            f"Analysis: {_e(facts.get('analysis') or '')}.</p>")


def _valences(report: Report) -> dict[str, list[str]]:
    """{valence: [classes]}: the run's mapping as the readings show it, valence.VALENCE for a class never read."""
    classes = [column.removeprefix("share_") for column in report.compare.columns
               if column.startswith("share_") and not column.endswith(("_low", "_high"))]
    read = report.viewers[report.viewers["emotion"] != ""].drop_duplicates("emotion")
    mapping = {**VALENCE, **dict(zip(read["emotion"], read["valence"]))}
    return {valence: [name for name in classes if mapping.get(name) == valence] for valence in VALENCES}


def _figure(name: str, row: dict) -> str:
    value, low, high = row[name], row[f"{name}_low"], row[f"{name}_high"]
    text = _value(name, value)
    # the range on a line of its own: two ads' columns fit a phone's width
    return text if math.isnan(low) else f"{text}<br><span class='muted'>[{_value(name, low)}, {_value(name, high)}]</span>"


def _value(name: str, value: float) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return signed(value) if name in SIGNED or "net valence" in name else f"{value:.0%}"


def _name(ad: str, segment: str) -> str:
    return ad if segment == ALL else f"{ad} ({segment})"


def _svg(chart) -> str:
    return f"<div class='chart'>{vl_convert.vegalite_to_svg(chart.to_dict())}</div>"


def _e(text) -> str:
    return html.escape(str(text), quote=True)
