"""Altair chart builders for the explorer pages: each takes a DataFrame from emotion_core.comparison
and returns a chart, so the pages only choose what to show.

Charts use Altair's own menu (save as PNG/SVG, view data), so no page needs export buttons for them.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from emotion_core.labels import EMOTION_COLORS, EMOTIONS
from emotion_core.valence import VALENCES

CLASS_ORDER = list(EMOTIONS)  # model output order, so every chart lists classes the same way
SPLIT_ORDER = ["train", "validation", "test"]
EMOTION_SCALE = alt.Scale(domain=list(EMOTIONS), range=[EMOTION_COLORS[e] for e in EMOTIONS])
# Green, gray and red as the Tableau 10 palette has them: the colours people read as good, neither, bad.
VALENCE_COLORS = {"positive": "#59a14f", "neutral": "#9c9c9c", "negative": "#e15759"}
VALENCE_SCALE = alt.Scale(domain=list(VALENCES), range=[VALENCE_COLORS[v] for v in VALENCES])
# Bar charts of categories are horizontal: a phone's 390 px fit every category name on its own row
# (upright under vertical bars, Vega-Lite drops every other name), and the bar's figure after it.
BAR_PX = 18  # the thickness of one bar
LABEL_ROOM = 1.3  # the value axis runs this far past the longest bar, so the figure after it fits
LEGEND_BELOW = alt.Legend(orient="bottom", direction="horizontal")  # beside a chart, it takes a phone's width
SINGLE_COLOUR = "#0068c9"  # Streamlit's first chart colour, for bars of one series


def labelled_bars(frame: pd.DataFrame, category: str, order: list, value: str, title: str, color: alt.Color,
                  tooltip: list, by: str | None = None, by_order: list | None = None,
                  figure_format: str = ".0%", chart_title: str | None = None) -> alt.Chart:
    """Horizontal bars of `value` per `category` (in `order`), each with its figure just past its end;
    with `by`, one bar per `by` value in each category's row, coloured by it (legend below).

    The value axis starts at 0 and runs LABEL_ROOM past the longest bar, so the longest bar's figure
    is drawn too; shares (figure format with %) get a percentage axis."""
    bars_per_row = frame[by].nunique() if by else 1
    longest = float(frame[value].max()) if len(frame) and pd.notna(frame[value].max()) else 0.0
    axis = alt.Axis(format="%" if figure_format.endswith("%") else ",d", tickCount=4)
    encoding = {
        "y": alt.Y(f"{category}:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False)),
        "x": alt.X(f"{value}:Q", title=title, axis=axis,
                   scale=alt.Scale(domain=[0, longest * LABEL_ROOM or 1], nice=False)),
        "color": color, "tooltip": tooltip}
    if by:
        encoding["yOffset"] = alt.YOffset(f"{by}:N", sort=by_order)
    bars = alt.Chart(frame).mark_bar().encode(**encoding)
    figures = bars.mark_text(align="left", baseline="middle", dx=3, fontSize=11).encode(
        text=alt.Text(f"{value}:Q", format=figure_format), color=alt.value("#31333f"))
    return (bars + figures).properties(height=_row_step(bars_per_row),
                                       **({"title": chart_title} if chart_title else {}))


def _row_step(bars_per_row: int) -> alt.Step:
    """Each category's row high enough for its bars. A step, not a height: Streamlit fits a fixed
    height around the axis, legend and title too, squeezing the rows; the step is the row's, not each
    offset bar's ('for': 'position')."""
    return alt.Step(BAR_PX * bars_per_row + 8, **{"for": "position"})


def class_counts(frame: pd.DataFrame, normalised: bool = False) -> alt.Chart:
    """Bars per class, one per split in each class's row; `normalised` shows each split's share."""
    return labelled_bars(
        frame, "class", CLASS_ORDER, "share" if normalised else "count",
        "share of split" if normalised else "images",
        alt.Color("split:N", sort=SPLIT_ORDER, legend=LEGEND_BELOW), by="split", by_order=SPLIT_ORDER,
        figure_format=".0%" if normalised else ",",
        tooltip=["split", "class", alt.Tooltip("count:Q", format=","), alt.Tooltip("share:Q", format=".0%")])


def simple_bars(frame: pd.DataFrame, category: str, title: str) -> alt.Chart:
    """Horizontal bars counting a few categories (colour kinds, image sizes), biggest on top, each labelled."""
    order = list(frame.sort_values("count", ascending=False, kind="stable")[category])
    return labelled_bars(frame, category, order, "count", "images", alt.value(SINGLE_COLOUR),
                         [category, alt.Tooltip("count:Q", format=",")], figure_format=",", chart_title=title)


def learning_curves(frame: pd.DataFrame, metric: str) -> alt.Chart:
    """One line per run and split (solid train, dashed validation) of accuracy or loss by epoch.

    The runs' legend sits below, one run a line, so a phone gives the plot its whole width and long
    run names are not cut; the dash legend (two short entries) sits above and draws strokes, not the
    points' dots.
    """
    data = frame[frame["metric"] == metric]
    axis = alt.Axis(format="%") if metric == "accuracy" else alt.Axis()
    below = dict(orient="bottom", direction="vertical", labelLimit=0, titleLimit=0)
    return alt.Chart(data).mark_line(point=alt.OverlayMarkDef(size=20)).encode(
        x=alt.X("epoch:Q", axis=alt.Axis(tickMinStep=1)),
        # Padding: zooming binds the scales, which clips marks at the plot's edge, the best epoch's among them.
        y=alt.Y("value:Q", title=metric, axis=axis, scale=alt.Scale(zero=False, padding=8)),
        color=alt.Color("run:N", legend=alt.Legend(**below)),
        strokeDash=alt.StrokeDash("split:N", sort=SPLIT_ORDER, title=None,
                                  # The points' overlay would hide the stroke: opaque, unfilled symbols show it.
                                  legend=alt.Legend(orient="top", symbolType="stroke", symbolStrokeColor="gray",
                                                    symbolStrokeWidth=2, symbolSize=300, symbolOpacity=1,
                                                    symbolFillColor="transparent")),
        tooltip=["run", "split", "epoch", alt.Tooltip("value:Q", format=".4f")],
        # Streamlit fits the whole chart, legends included, into its height: room for one line a run.
    ).properties(height=320 + 80 + 20 * data["run"].nunique()).interactive()


def accuracy_heatmap(frame: pd.DataFrame) -> alt.Chart:
    """Validation accuracy of every run (rows) at every epoch (columns)."""
    return alt.Chart(frame).mark_rect().encode(
        x=alt.X("epoch:O", axis=alt.Axis(labelAngle=0)),
        # Best runs on top, so the eye finds them before the long tail.
        y=alt.Y("run:N", title=None, sort=alt.EncodingSortField("val_accuracy", op="max", order="descending"),
                axis=alt.Axis(labelLimit=320)),  # whole run names: they differ at the end (-e40, -e60)
        color=alt.Color("val_accuracy:Q", title="val accuracy", scale=alt.Scale(scheme="viridis")),
        tooltip=["run", "epoch", alt.Tooltip("val_accuracy:Q", format=".2%"), "source"],
    ).properties(height=alt.Step(20))


def accuracy_boxes(frame: pd.DataFrame, by: str) -> alt.Chart:
    """Best val accuracy per run, boxed by a recipe choice, with every run drawn as a dot on top."""
    order = list(dict.fromkeys(frame[by]))  # the natural order comparison.group_best_accuracy sorted
    x = alt.X(f"{by}:N", sort=order, axis=alt.Axis(labelAngle=0))
    y = alt.Y("accuracy:Q", title="validation accuracy", axis=alt.Axis(format="%"), scale=alt.Scale(zero=False))
    boxes = alt.Chart(frame).mark_boxplot(extent="min-max", opacity=0.6).encode(x=x, y=y)
    dots = alt.Chart(frame).mark_circle(size=40, color="black").encode(
        x=x, y=y, tooltip=["run", by, alt.Tooltip("accuracy:Q", format=".2%")])
    return (boxes + dots).properties(height=300)


def confusion(frame: pd.DataFrame, normalised: bool) -> alt.Chart:
    """Heat map of true (rows) against predicted (columns) classes, each cell labelled."""
    text_format = ".0%" if normalised else ","
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", sort=CLASS_ORDER, axis=alt.Axis(labelAngle=-45, labelOverlap=False)),
        y=alt.Y("true:N", sort=CLASS_ORDER),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("value:Q", title="share of row" if normalised else "images",
                        scale=alt.Scale(scheme="blues")),
        tooltip=["true", "predicted", alt.Tooltip("count:Q", format=","),
                 alt.Tooltip("value:Q", format=".1%" if normalised else ",")],
    )
    # Dark text on light cells and light text on dark ones, split at half the colour range.
    middle = float(frame["value"].max()) / 2 if len(frame) else 0.5
    labels = base.mark_text(fontSize=11).encode(
        text=alt.Text("value:Q", format=text_format),
        color=alt.condition(alt.datum.value > middle, alt.value("white"), alt.value("black")),
    )
    return (cells + labels).properties(width=alt.Step(44), height=alt.Step(44))  # square cells


def roc_curves(frame: pd.DataFrame) -> alt.Chart:
    """One-vs-rest ROC per class and the micro average (thicker), over the chance diagonal."""
    chance = alt.Chart(pd.DataFrame({"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]})).mark_line(
        color="gray", strokeDash=[4, 4]).encode(x="fpr:Q", y="tpr:Q")
    lines = alt.Chart(frame).mark_line().encode(
        x=alt.X("fpr:Q", title="false positive rate"),
        y=alt.Y("tpr:Q", title="true positive rate"),
        color=alt.Color("label:N", title=None, legend=alt.Legend(orient="bottom", columns=2)),
        strokeWidth=alt.condition(alt.datum.curve == "micro", alt.value(3.5), alt.value(1.5)),
        tooltip=["curve", alt.Tooltip("auc:Q", format=".3f")],
    )
    return (chance + lines).properties(height=360)


def reliability_diagram(frame: pd.DataFrame) -> alt.Chart:
    """Accuracy against confidence per confidence bin (comparison.reliability_frame), over the
    diagonal a calibrated model sits on: bars below it are over-confident, above it under-confident."""
    perfect = alt.Chart(pd.DataFrame({"confidence": [0.0, 1.0], "accuracy": [0.0, 1.0]})).mark_line(
        color="gray", strokeDash=[4, 4]).encode(x="confidence:Q", y="accuracy:Q")
    bars = alt.Chart(frame).mark_bar(opacity=0.8, stroke="white").encode(
        x=alt.X("lower:Q", title="confidence (top probability)", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        x2="upper:Q",
        y=alt.Y("accuracy:Q", title="accuracy", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        color=alt.Color("faces:Q", title="faces", scale=alt.Scale(scheme="blues", type="log")),
        tooltip=[alt.Tooltip("lower:Q", format=".0%", title="from"), alt.Tooltip("upper:Q", format=".0%", title="to"),
                 alt.Tooltip("confidence:Q", format=".1%", title="mean confidence"),
                 alt.Tooltip("accuracy:Q", format=".1%"), alt.Tooltip("faces:Q", format=",")],
    )
    return (bars + perfect).properties(height=300)


def face_probabilities(probabilities: dict) -> alt.Chart:
    """One face's probabilities (one per class of its run) as horizontal bars, in model output order."""
    frame = pd.DataFrame({"emotion": list(probabilities), "probability": list(probabilities.values())})
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%"), title=None),
        y=alt.Y("emotion:N", sort=list(probabilities), title=None, axis=alt.Axis(labelOverlap=False)),
        color=alt.Color("emotion:N", scale=EMOTION_SCALE, legend=None),
        tooltip=["emotion", alt.Tooltip("probability:Q", format=".1%")],
    ).properties(height=alt.Step(24))


def live_timeline(history: pd.DataFrame, seconds: float, width: int = 260) -> alt.Chart:
    """Each tracked face's probabilities over the last `seconds` (rows: seconds <= 0, face, emotion,
    probability, from `live.LiveReadout.history`): one small chart per face, a line per emotion.
    `width` in pixels: a faceted chart cannot stretch to its column."""
    lines = alt.Chart(history).mark_line(interpolate="monotone").encode(
        x=alt.X("seconds:Q", scale=alt.Scale(domain=[-seconds, 0]), title="seconds ago"),
        y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%", tickCount=3), title=None),
        color=alt.Color("emotion:N", scale=EMOTION_SCALE, legend=alt.Legend(orient="bottom", columns=4, title=None)),
        tooltip=["face", "emotion", alt.Tooltip("probability:Q", format=".0%"), alt.Tooltip("seconds:Q", format=".1f")],
    ).properties(height=90, width=width)
    return lines.facet(row=alt.Row("face:O", title=None, header=alt.Header(labelExpr="'face ' + datum.value")))


# The words the Analyze page and its charts use for a summary's figures (`analysis.readable_summary`).
SHARE, SHARE_RANGE = "share of faces", "likely range"
SCORE, SCORE_RANGE = "average score", "score range"


def emotion_distribution(summary: pd.DataFrame, grouped: bool) -> alt.Chart:
    """Share of the faces per predicted emotion; grouped, each folder's share (folders differ in size)."""
    return _shares(summary, grouped, "emotion", list(EMOTIONS), EMOTION_SCALE, "Predicted emotions")


def mean_probabilities(summary: pd.DataFrame, grouped: bool) -> alt.Chart:
    """Each emotion's average score over the faces, with its likely range (95% interval) as a line."""
    return _means_with_intervals(summary, grouped, "emotion", list(EMOTIONS), EMOTION_SCALE,
                                 f"{SCORE.capitalize()} and its range")


def valence_shares(summary: pd.DataFrame, grouped: bool) -> alt.Chart:
    """Share of the faces per valence (`analysis.valence_summary`); grouped, each folder's."""
    return _shares(summary, grouped, "valence", list(VALENCES), VALENCE_SCALE, "Valence of the faces")


def valence_probabilities(summary: pd.DataFrame, grouped: bool) -> alt.Chart:
    """Each valence's average score over the faces, with its likely range (95% interval) as a line."""
    return _means_with_intervals(summary, grouped, "valence", list(VALENCES), VALENCE_SCALE,
                                 f"{SCORE.capitalize()} and its range, by valence")


def _shares(summary: pd.DataFrame, grouped: bool, category: str, order: list, scale: alt.Scale,
            title: str) -> alt.Chart:
    tooltip = [*(["group"] if grouped else []), category, alt.Tooltip("faces:Q", format=","),
               alt.Tooltip("share:Q", title=SHARE, format=".0%")]
    color = alt.Color("group:N", title="folder", legend=LEGEND_BELOW) if grouped else \
        alt.Color(f"{category}:N", scale=scale, legend=None)
    return labelled_bars(summary, category, order, "share", SHARE, color, tooltip, by="group" if grouped else None,
                         chart_title=title)


def _means_with_intervals(summary: pd.DataFrame, grouped: bool, category: str, order: list, scale: alt.Scale,
                          title: str) -> alt.Chart:
    """Points at `mean_probability` with rules from `ci_low` to `ci_high`, one row per `category`
    (a line per folder in each row when grouped)."""
    encoding = {"y": alt.Y(f"{category}:N", sort=order, title=None, axis=alt.Axis(labelOverlap=False)),
                "tooltip": [*(["group"] if grouped else []), category,
                            alt.Tooltip("mean_probability:Q", title=SCORE, format=".0%"),
                            alt.Tooltip("ci_low:Q", title=f"{SCORE_RANGE} from", format=".0%"),
                            alt.Tooltip("ci_high:Q", title="to", format=".0%")]}
    if grouped:
        encoding.update(yOffset=alt.YOffset("group:N"), color=alt.Color("group:N", title="folder", legend=LEGEND_BELOW))
    else:
        encoding.update(color=alt.Color(f"{category}:N", scale=scale, legend=None))
    base = alt.Chart(summary).encode(**encoding)
    x = alt.X("ci_low:Q", title=SCORE, axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]))
    intervals = base.mark_rule(strokeWidth=2).encode(x=x, x2="ci_high:Q")
    means = base.mark_point(filled=True, size=60, opacity=1).encode(x="mean_probability:Q")
    return (intervals + means).properties(
        title=title, height=_row_step(summary["group"].nunique() if grouped else 1))