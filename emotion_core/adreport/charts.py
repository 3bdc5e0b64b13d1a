"""Charts of an ad test report, from its tables: Altair charts the Ads page shows and report.html renders to SVG.

    timeline_chart(report.seconds, report.moments, "ad_a")   # emotion shares, net valence with its band,
                                                             # attention; the key moments marked
    compare_chart(report.seconds, ["ad_a", "ad_b"])          # the ads' net valence curves overlaid, with bands
    viewer_multiples(report.viewers, "ad_a")                 # one strip per viewer: their emotion each second

Each takes the report's tables (`Report.seconds`, `.moments`, `.viewers`, or the same CSVs read
back) and returns a chart; nothing here reads files or draws on a page. Second s is the ad's
second [s, s + 1): curves are drawn at its start, as the tables number them.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from ..labels import EMOTION_COLORS
from .viewers import ALL

WIDTH = 560  # pixels of the time axis in report.html (a page may stretch it to its container)
MOMENT_COLOUR = "#31333f"  # the rules and names of the key moments: dark, so every emotion's colour shows beside them
BAND_OPACITY = 0.25  # a 95% interval's band under its curve
LEGEND_BELOW = alt.Legend(orient="bottom", direction="horizontal", columns=4)  # a phone's width is too narrow beside
LEGEND_ABOVE = alt.Legend(orient="top", direction="horizontal", columns=7, title=None)
MAX_STRIP_BLOCKS = 5000  # Altair refuses to inline more rows in one chart (its MaxRowsError)
LABELS = {"net_valence": "net valence (positive − negative)", "expressiveness": "expressiveness (1 − p(neutral))",
          "attention": "attention (share facing the camera)"}


def marked_moments(moments: pd.DataFrame, ad: str, segment: str = ALL) -> pd.DataFrame:
    """The ad's moments that sit at one second (highest and lowest net valence, each emotion's peak;
    the opening, ending and peak-end score are spans and a score), one row per second with their
    names joined: columns second, moment, value."""
    rows = _rows(moments, ad, segment)
    rows = rows[rows["prominence"].notna() & rows["second"].notna()]
    joined = rows.groupby("second", sort=True).agg(moment=("moment", " · ".join), value=("value", "first"))
    return joined.reset_index().astype({"second": int})


def timeline_chart(seconds: pd.DataFrame, moments: pd.DataFrame, ad: str, segment: str = ALL,
                   width: int = WIDTH) -> alt.VConcatChart:
    """The ad's timeline, three panels on one time axis: the share of viewers showing each emotion
    (stacked), net valence with its 95% band, and attention with its band (left out when the faces
    have no landmarks); a dashed rule marks each key moment on every panel, named on the first."""
    rows = _rows(seconds, ad, segment)
    classes = [column.removeprefix("share_") for column in rows.columns if column.startswith("share_")]
    marked = marked_moments(moments, ad, segment)
    domain = alt.Scale(domain=[0, max(1, int(rows["second"].max()))])
    x = alt.X("second:Q", title=None, scale=domain)  # the time axis is named once, under the last panel
    shares = rows.melt(id_vars=["second", "viewers"], value_vars=[f"share_{name}" for name in classes],
                       var_name="emotion", value_name="share")
    shares["emotion"] = shares["emotion"].str.removeprefix("share_")
    scale = alt.Scale(domain=classes, range=[EMOTION_COLORS.get(name, "#9c9c9c") for name in classes])
    share_panel = alt.Chart(shares).mark_area(opacity=0.85).encode(
        x=x, y=alt.Y("share:Q", stack="zero", title="share of viewers", axis=alt.Axis(format="%"),
                     scale=alt.Scale(domain=[0, 1])),
        color=alt.Color("emotion:N", scale=scale, sort=classes, legend=LEGEND_ABOVE),
        order=alt.Order("emotion_order:Q"),
        tooltip=["second:Q", "emotion:N", alt.Tooltip("share:Q", format=".0%"), "viewers:Q"],
    ).transform_calculate(emotion_order=f"indexof({classes!r}, datum.emotion)")
    title = f"{ad}{'' if segment == ALL else f' ({segment})'}: how viewers reacted, second by second"
    panels = [_with_moments(share_panel, marked, x, labelled=True).properties(width=width, height=150, title=title)]
    curves = [("net_valence", [-1, 1], "#0068c9", 120)]
    if rows["attention"].notna().any():
        curves.append(("attention", [0, 1], "#59a14f", 80))
    for index, (metric, span, colour, height) in enumerate(curves):
        axis = x if index < len(curves) - 1 else alt.X("second:Q", title="second of the ad", scale=domain)
        panels.append(_with_moments(_curve(rows, metric, axis, span, colour), marked, axis).properties(
            width=width, height=height))
    return alt.vconcat(*panels, spacing=8).resolve_scale(x="shared", color="independent")


def compare_chart(seconds: pd.DataFrame, ads: list[str] | None = None, metric: str = "net_valence",
                  segment: str = ALL, width: int = WIDTH) -> alt.LayerChart:
    """The ads' `metric` curves overlaid (net valence unless told), one colour per ad named in the
    legend, each with its 95% band when the table holds one."""
    rows = seconds[seconds["segment"] == segment]
    ads = list(ads) if ads is not None else sorted(rows["ad"].unique())
    missing = [ad for ad in ads if ad not in set(rows["ad"])]
    if missing:
        raise ValueError(f"no seconds of {', '.join(missing)} in segment '{segment}' of the report")
    banded = f"{metric}_low" in rows.columns
    rows = rows[rows["ad"].isin(ads)][["ad", "second", "viewers", metric,
                                       *([f"{metric}_low", f"{metric}_high"] if banded else [])]]
    domain = [-1, 1] if metric == "net_valence" else [0, 1]
    x = alt.X("second:Q", title="second of the ad")
    colour = alt.Color("ad:N", sort=ads, title="ad", legend=LEGEND_BELOW)
    line = alt.Chart(rows).mark_line(point=alt.OverlayMarkDef(size=12)).encode(
        x=x, y=alt.Y(f"{metric}:Q", title=LABELS.get(metric, metric), scale=alt.Scale(domain=domain),
                     axis=alt.Axis(format="+.1f" if metric == "net_valence" else "%")),
        color=colour, tooltip=["ad:N", "second:Q", alt.Tooltip(f"{metric}:Q", format="+.2f"), "viewers:Q"])
    layers = [line]
    if banded:
        layers.insert(0, alt.Chart(rows).mark_area(opacity=BAND_OPACITY).encode(
            x=x, y=f"{metric}_low:Q", y2=f"{metric}_high:Q", color=colour))
    if metric == "net_valence":
        layers.insert(0, _zero_rule())
    return alt.layer(*layers).properties(width=width, height=180,
                                         title=f"{LABELS.get(metric, metric)}: {' vs '.join(ads)}")


def viewer_multiples(viewers: pd.DataFrame, ad: str, segment: str = ALL, columns: int = 4,
                     width: int = WIDTH) -> alt.FacetChart:
    """One strip per viewer of the ad: a block per run of seconds with one emotion, coloured by it,
    blank where their face was not found; the viewer named above their strip (their video and
    face). Past MAX_STRIP_BLOCKS blocks (Altair's limit of rows inlined in a chart), the first
    viewers only, the title saying how many of how many."""
    rows = _rows(viewers, ad, segment)
    duration = int(rows["second"].max()) + 1
    blocks = emotion_runs(rows)
    names = list(dict.fromkeys(blocks["viewer"]))
    shown = names
    if len(blocks) > MAX_STRIP_BLOCKS:
        per_viewer = blocks.groupby("viewer", sort=False).size().cumsum()
        shown = list(per_viewer[per_viewer <= MAX_STRIP_BLOCKS].index)
        blocks = blocks[blocks["viewer"].isin(shown)]
    blocks = blocks.assign(viewer=blocks["viewer"].str.removeprefix(f"{ad}/"))
    classes = [name for name in EMOTION_COLORS if name in set(blocks["emotion"])]
    strip = alt.Chart(blocks).mark_rect().encode(
        x=alt.X("second:Q", title="second", scale=alt.Scale(domain=[0, duration])), x2="end:Q",
        color=alt.Color("emotion:N", scale=alt.Scale(domain=classes, range=[EMOTION_COLORS[name] for name in classes]),
                        legend=LEGEND_BELOW),
        tooltip=["viewer:N", alt.Tooltip("second:Q", title="from second"), alt.Tooltip("end:Q", title="until"),
                 "emotion:N"],
    ).properties(width=max(80, (width - 20 * (columns - 1)) // columns), height=24)
    title = f"{ad}: each viewer's emotion, second by second"
    if len(shown) < len(names):
        title += f" (the first {len(shown)} of {len(names)} viewers)"
    return strip.facet(facet=alt.Facet("viewer:N", title=None, header=alt.Header(labelFontSize=10), sort=shown),
                       columns=columns, title=title)


def emotion_runs(rows: pd.DataFrame) -> pd.DataFrame:
    """Each viewer's seconds as runs of one emotion: viewer, second (the first), end (exclusive),
    emotion; seconds without the face are left out (a gap in the strip)."""
    rows = rows[rows["emotion"] != ""].sort_values(["viewer", "second"], kind="stable")
    starts = ((rows["viewer"] != rows["viewer"].shift()) | (rows["emotion"] != rows["emotion"].shift())
              | (rows["second"] != rows["second"].shift() + 1))
    runs = rows.assign(run=starts.cumsum()).groupby("run", sort=False).agg(
        viewer=("viewer", "first"), second=("second", "first"), end=("second", "last"), emotion=("emotion", "first"))
    return runs.assign(end=runs["end"] + 1).reset_index(drop=True)


def _rows(table: pd.DataFrame, ad: str, segment: str) -> pd.DataFrame:
    """The table's rows of one ad and segment; ValueError in one line when it has none."""
    rows = table[(table["ad"] == ad) & (table["segment"] == segment)]
    if rows.empty:
        raise ValueError(f"the report has no rows for ad '{ad}'" + ("" if segment == ALL else f", segment '{segment}'"))
    return rows


def _curve(rows: pd.DataFrame, metric: str, x: alt.X, domain: list, colour: str) -> alt.LayerChart:
    """`metric` by second, its 95% band beneath (no band where fewer than two viewers were present)."""
    data = rows[["second", "viewers", metric, f"{metric}_low", f"{metric}_high"]]
    y = alt.Y(f"{metric}:Q", title=LABELS[metric], scale=alt.Scale(domain=domain),
              axis=alt.Axis(format="+.1f" if metric == "net_valence" else "%", tickCount=5))
    band = alt.Chart(data).mark_area(opacity=BAND_OPACITY, color=colour).encode(
        x=x, y=alt.Y(f"{metric}_low:Q", scale=alt.Scale(domain=domain)), y2=f"{metric}_high:Q")
    line = alt.Chart(data).mark_line(color=colour, point=alt.OverlayMarkDef(size=12, color=colour)).encode(
        x=x, y=y, tooltip=["second:Q", alt.Tooltip(f"{metric}:Q", format=".2f"),
                           alt.Tooltip(f"{metric}_low:Q", format=".2f", title="95% from"),
                           alt.Tooltip(f"{metric}_high:Q", format=".2f", title="95% to"), "viewers:Q"])
    return alt.layer(*([_zero_rule()] if metric == "net_valence" else []), band, line)


def _zero_rule() -> alt.Chart:
    return alt.Chart(pd.DataFrame({"zero": [0]})).mark_rule(color="#9c9c9c").encode(y="zero:Q")


def _with_moments(chart, marked: pd.DataFrame, x: alt.X, labelled: bool = False) -> alt.LayerChart:
    """`chart` with a dashed rule at each marked moment's second (named `moments`, which Altair numbers:
    moments_0, ...; a test or a page finds them so), and their names beside the rules when `labelled`."""
    if marked.empty:
        return alt.layer(chart)
    rules = alt.Chart(marked).mark_rule(color=MOMENT_COLOUR, strokeDash=[4, 3], strokeWidth=1.5).encode(
        x=x, tooltip=["moment:N", "second:Q", alt.Tooltip("value:Q", format=".2f")]).properties(name="moments")
    layers = [chart, rules]
    if labelled:
        # names written up the rule, from its foot, so moments a second apart do not overwrite each other
        layers.append(alt.Chart(marked).mark_text(angle=270, align="left", baseline="bottom", dx=4, dy=-2,
                                                   fontSize=10, color=MOMENT_COLOUR).encode(
            x=x, y=alt.value(150), text="moment:N"))
    return alt.layer(*layers)
