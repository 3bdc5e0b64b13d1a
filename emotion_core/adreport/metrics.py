"""The figures of an ad test: per second, key moments, one row per ad, and differences between ads.

    timeline(unit)        # per second: viewers present, emotion and valence shares, mean probabilities, ...
    moments(unit)         # highest and lowest net valence, each emotion's peak, opening, ending, peak-end score
    compare(units)        # one row per ad: viewers, duration, metrics with their 95% intervals, a note
    differences(units)    # every metric of every two ads (of a segment), the gap's interval, beyond chance or not

Every figure is a mean over viewers (`viewers.Unit`), and every interval is a percentile bootstrap
over viewers: BOOTSTRAP_RESAMPLES resamples of the ad's viewers, drawn with replacement, each
viewer bringing all of their seconds; the curves and the ad's metrics are computed again on each.
The draws are seeded by the ad's name, so a rerun gives the same intervals. With fewer than two
viewers (present, for a second's figures) an interval is NaN: one viewer says nothing about spread.

A viewer's reading in a second is that second's emotion (the argmax of their mean probabilities,
video_seconds.csv's `emotion`) and its valence (`valence`, the run's mapping): net valence is +1
for a positive reading, -1 for a negative one, 0 for neutral, so its mean over viewers is the share
positive minus the share negative. Expressiveness is 1 minus the neutral probability. Attention
is the share of the ad's viewers (those whose video covers the second, face found or not) facing
the camera (`viewers.with_attention`), when the faces have landmarks.
"""

from __future__ import annotations

import itertools
import warnings
import zlib

import numpy as np
import pandas as pd

from ..analysis.verdict import joined, lead_sentence
from ..valence import VALENCES
from ..wording import plural, signed
from .viewers import Unit

BOOTSTRAP_RESAMPLES = 2000  # each 2.5% tail of the interval then rests on 50 resamples
BOOTSTRAP_SEED = 30  # with the ad's name: the same intervals on every run
OPENING = ENDING = 5  # seconds: the first and last impression, as ad tests report them
# A moment must stand this far above (below, for the lowest valence) the ad's median second: 20
# points of share or of net valence, 2 viewers in 10, so one viewer's blink is not a moment.
MIN_PROMINENCE = 0.2
# Only seconds where at least half of the ad's viewers are present can be a moment or the peak:
# a share of the one face found is no audience's reaction.
MOMENT_PRESENCE = 0.5
# Fewer viewers than this get a note in words, and the verdict sentence says "too few to tell":
# the bootstrap's percentile interval holds the true mean less often than 95% with a handful of
# viewers, and ad tests recruit dozens. The threshold; the one place it is set.
MIN_VIEWERS = 10
INTERVAL = (2.5, 97.5)
# A moment's bound holds at every second at once and for all the ad's candidate curves (net
# valence up and down, each emotion's share) together, 95 times in 100: each curve's bound gets
# 5% / candidates (Bonferroni), so pure noise gives a moment in about one ad in twenty.
FAMILY_ERROR = 5.0
# The one-row-per-ad figures, in the order of the compare table (share_<class> follow).
AD_METRICS = ("mean_net_valence", "opening", "ending", "peak", "peak_end", "expressiveness", "attention")


def feature_names(classes) -> list[str]:
    """The per-viewer, per-second values averaged over viewers: mean probabilities, emotion and valence
    shares (a viewer's reading counts 1 or 0), net valence (+1, 0, -1) and expressiveness."""
    return [*(f"p_{name}" for name in classes), *(f"share_{name}" for name in classes),
            *(f"valence_{valence}" for valence in VALENCES), "net_valence", "expressiveness", "attention"]


def features(unit: Unit) -> np.ndarray:
    """(viewers, seconds, features) in `feature_names` order, NaN where the viewer is absent (for
    attention: where their video does not cover the second, or attention is unknown)."""
    absent = ~unit.present
    readings = [(unit.emotions == index).astype(float) for index in range(len(unit.classes))]
    valence = [(unit.valences == valence).astype(float) for valence in VALENCES]
    net = valence[0] - valence[2]
    neutral = (1 - unit.probabilities[..., unit.classes.index("neutral")] if "neutral" in unit.classes
               else np.full(absent.shape, np.nan))
    cube = np.concatenate([unit.probabilities, np.stack([*readings, *valence, net, neutral, neutral], axis=-1)],
                          axis=-1)  # the last: attention's place
    cube[absent] = np.nan
    cube[..., -1] = np.nan if unit.attention is None else unit.attention
    return cube


def curves(cube: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Means over viewers, each counted `weights` times: (draws, seconds, features) from weights
    (draws, viewers); NaN where no counted viewer is present."""
    present = ~np.isnan(cube)
    sums = np.einsum("bv,vsf->bsf", weights, np.where(present, cube, 0.0))
    counts = np.einsum("bv,vsf->bsf", weights, present.astype(float))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.where(counts > 0, counts, 1), np.nan)


def resample_weights(unit: Unit, resamples: int = BOOTSTRAP_RESAMPLES) -> np.ndarray:
    """(resamples, viewers): how often each viewer is drawn in each bootstrap resample (seeded by the ad)."""
    viewers = len(unit.viewers)
    seed = zlib.crc32(f"{unit.ad}\0{unit.segment}".encode())
    draws = np.random.default_rng([BOOTSTRAP_SEED, seed]).integers(0, viewers, (resamples, viewers))
    weights = np.zeros((resamples, viewers))
    np.add.at(weights, (np.arange(resamples)[:, None], draws), 1)
    return weights


def timeline(unit: Unit, resamples: int = BOOTSTRAP_RESAMPLES, drawn: tuple | None = None) -> pd.DataFrame:
    """One row per second of the ad: `viewers` present, share_<class>, valence_<valence>, net_valence,
    p_<class>, expressiveness and attention, the last four with _low and _high (their 95% interval).
    `drawn`: the unit's `second_draws`, when already made."""
    names = feature_names(unit.classes)
    curve, low, high = second_figures(unit, resamples, drawn)
    present = unit.present.sum(axis=0)
    frame = pd.DataFrame(curve, columns=names)
    frame.insert(0, "ad", unit.ad)
    frame.insert(1, "segment", unit.segment)
    frame.insert(2, "second", np.arange(unit.duration))
    frame.insert(3, "viewers", present)
    with_interval = [name for name in names if name.startswith("p_") or name in ("net_valence", "expressiveness",
                                                                                  "attention")]
    for name in with_interval:
        index = names.index(name)
        frame[f"{name}_low"], frame[f"{name}_high"] = low[:, index], high[:, index]
    spans = [*(f"{name}{end}" for name in ("net_valence", "expressiveness", "attention")
               for end in ("", "_low", "_high")),
             *(f"{name}{end}" for name in names if name.startswith("p_") for end in ("", "_low", "_high"))]
    shares = [name for name in names if name.startswith(("share_", "valence_"))]
    order = ["ad", "segment", "second", "viewers", *shares, *spans]
    return frame[order]


def viewer_seconds(unit: Unit) -> pd.DataFrame:
    """One row per viewer and second of the ad: `emotion` and `valence` ('' where the face was not
    found), `net_valence` (+1, 0, -1; NaN where absent), `expressiveness` and `attention`: the
    readings every curve averages, for the per-viewer charts and the thumbnails of a moment."""
    names = feature_names(unit.classes)
    cube = features(unit)
    viewers, seconds = unit.emotions.shape
    emotions = np.where(unit.present, np.asarray(unit.classes + ("",), dtype=object)[unit.emotions], "")
    return pd.DataFrame({
        "ad": unit.ad, "segment": unit.segment, "viewer": np.repeat(np.asarray(unit.viewers, dtype=object), seconds),
        "second": np.tile(np.arange(seconds), viewers), "emotion": emotions.ravel(), "valence": unit.valences.ravel(),
        **{name: cube[..., names.index(name)].ravel() for name in ("net_valence", "expressiveness", "attention")}})


def second_figures(unit: Unit, resamples: int = BOOTSTRAP_RESAMPLES,
                   drawn: tuple | None = None) -> tuple[np.ndarray, ...]:
    """(means, low, high), each (seconds, features): every feature's mean over the viewers present
    and its 95% bootstrap interval, NaN in seconds with fewer than two viewers present."""
    curve, draws = drawn or second_draws(unit, resamples)
    low, high = _percentiles(draws, curve.shape)
    few = unit.present.sum(axis=0) < 2
    low[few], high[few] = np.nan, np.nan
    return curve, low, high


def second_draws(unit: Unit, resamples: int = BOOTSTRAP_RESAMPLES) -> tuple[np.ndarray, np.ndarray | None]:
    """(curve, draws): every feature's mean over the viewers present, (seconds, features), and the
    same over each bootstrap resample of the viewers, (resamples, seconds, features); None for
    fewer than two viewers."""
    cube = features(unit)
    curve = curves(cube, np.ones((1, len(unit.viewers))))[0]
    return curve, curves(cube, resample_weights(unit, resamples)) if len(unit.viewers) > 1 else None


def simultaneous_margins(curve: np.ndarray, draws: np.ndarray | None, eligible: np.ndarray,
                         percentile: float = 95.0) -> tuple[np.ndarray, ...]:
    """(above, below), each (features,): how far a curve may stray above (below) its true value at
    its farthest eligible second, `percentile` times in 100: that percentile, over the resamples,
    of the largest gap between the resampled and the actual curve over all eligible seconds (the
    bootstrap of the maximum). The curve's value minus `above` is then a lower bound that holds at
    every second at once, so the highest of 60 noisy seconds does not clear it by luck. (Gaps in
    each second's own standard deviations did worse: a share near 0 has a skewed, narrow spread
    that inflates the maximum.) NaN without draws."""
    if draws is None or not eligible.any():
        return np.full(curve.shape[-1], np.nan), np.full(curve.shape[-1], np.nan)
    gaps = draws[:, eligible] - curve[eligible]  # (resamples, eligible seconds, features)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a feature that is NaN throughout (attention)
        above = np.nanpercentile(np.nanmax(gaps, axis=1), percentile, axis=0)
        below = np.nanpercentile(np.nanmax(-gaps, axis=1), percentile, axis=0)
    return above, below


def eligible_seconds(unit: Unit) -> np.ndarray:
    """(seconds,): where at least MOMENT_PRESENCE of the ad's viewers are present."""
    return unit.present.sum(axis=0) >= max(1, MOMENT_PRESENCE * len(unit.viewers))


def ad_metrics(curve: np.ndarray, names: list[str], eligible: np.ndarray) -> dict[str, np.ndarray]:
    """The ad's figures from its curves (..., seconds, features), for the real curve or every
    resample's at once: mean net valence over the seconds, the opening's and ending's mean, the peak
    (the highest eligible second's net valence), the peak-end score (mean of peak and ending),
    mean expressiveness and attention, and each emotion's mean share."""
    net = curve[..., names.index("net_valence")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN stretch gives NaN, as it should
        peak = np.nanmax(np.where(eligible, net, np.nan), axis=-1)
        ending = np.nanmean(net[..., -ENDING:], axis=-1)
        figures = {"mean_net_valence": np.nanmean(net, axis=-1), "opening": np.nanmean(net[..., :OPENING], axis=-1),
                   "ending": ending, "peak": peak, "peak_end": (peak + ending) / 2,
                   "expressiveness": np.nanmean(curve[..., names.index("expressiveness")], axis=-1),
                   "attention": np.nanmean(curve[..., names.index("attention")], axis=-1)}
        for name in names:
            if name.startswith("share_"):
                figures[name] = np.nanmean(curve[..., names.index(name)], axis=-1)
    return figures


def moments(unit: Unit, resamples: int = BOOTSTRAP_RESAMPLES, drawn: tuple | None = None) -> pd.DataFrame:
    """The ad's moments: the highest and lowest second of net valence and each emotion's peak share,
    each kept only when it stands MIN_PROMINENCE from the median eligible second and its
    simultaneous bound (`simultaneous_margins`: over all the ad's seconds and candidates at once,
    FAMILY_ERROR in 100) leaves the median out; then the opening, the ending and the peak-end
    score, always. Columns: ad, segment, moment, second, until (the end of a span, exclusive),
    value, prominence (the distance from the median). `drawn`: the unit's `second_draws`, when
    already made."""
    names = feature_names(unit.classes)
    curve, draws = drawn or second_draws(unit, resamples)
    eligible = eligible_seconds(unit)
    candidates = 2 + len(unit.classes)  # highest and lowest net valence, each emotion's peak
    above, below = simultaneous_margins(curve, draws, eligible, 100 - FAMILY_ERROR / candidates)
    rows = []

    def extreme(moment: str, name: str, sign: int) -> None:
        values = curve[:, names.index(name)]
        if not eligible.any():
            return
        second = int(np.argmax(np.where(eligible, sign * values, -np.inf)))  # the first of equal seconds
        median = float(np.median(values[eligible]))
        prominence = sign * (values[second] - median)
        margin = (above if sign > 0 else below)[names.index(name)]
        if prominence >= MIN_PROMINENCE - 1e-9 and prominence - margin > 0:
            rows.append({"moment": moment, "second": second, "until": second + 1, "value": float(values[second]),
                         "prominence": prominence})

    extreme("highest net valence", "net_valence", 1)
    extreme("lowest net valence", "net_valence", -1)
    for name in unit.classes:
        extreme(f"peak {name}", f"share_{name}", 1)
    figures = {name: float(value) for name, value in ad_metrics(curve, names, eligible).items()}
    rows += [{"moment": "opening", "second": 0, "until": min(OPENING, unit.duration), "value": figures["opening"]},
             {"moment": "ending", "second": max(0, unit.duration - ENDING), "until": unit.duration,
              "value": figures["ending"]},
             {"moment": "peak-end score", "second": None, "until": None, "value": figures["peak_end"]}]
    frame = pd.DataFrame(rows, columns=["moment", "second", "until", "value", "prominence"])
    frame.insert(0, "ad", unit.ad)
    frame.insert(1, "segment", unit.segment)
    return frame.astype({"second": "Int64", "until": "Int64"})


def bootstrapped(units: list[Unit], resamples: int = BOOTSTRAP_RESAMPLES) -> dict:
    """{(ad, segment): bootstrap_metrics}: the draws `compare` and `differences` share."""
    return {(unit.ad, unit.segment): bootstrap_metrics(unit, resamples) for unit in units}


def bootstrap_metrics(unit: Unit, resamples: int = BOOTSTRAP_RESAMPLES,
                      drawn: tuple | None = None) -> tuple[dict, dict]:
    """The ad's metrics ({name: value}) and their bootstrap draws ({name: (resamples,)}; all NaN
    for fewer than two viewers). `drawn`: the unit's `second_draws`, when already made."""
    names = feature_names(unit.classes)
    curve, draws = drawn or second_draws(unit, resamples)
    eligible = eligible_seconds(unit)
    actual = {name: float(value) for name, value in ad_metrics(curve, names, eligible).items()}
    if draws is None:
        return actual, {name: np.full(resamples, np.nan) for name in actual}
    return actual, ad_metrics(draws, names, eligible)


def compare(units: list[Unit], resamples: int = BOOTSTRAP_RESAMPLES, results: dict | None = None) -> pd.DataFrame:
    """One row per ad (per segment): viewers, duration (s), positive_viewers (whose mean net valence
    over their seconds is above 0), each of AD_METRICS and share_<class> with _low and _high,
    `beyond_chance` (the figures where it leads another ad of its segment beyond chance) and `note`
    (fewer than MIN_VIEWERS viewers, in words). `results` as for `differences`."""
    results = results or bootstrapped(units, resamples)
    leads = _leads(differences(units, resamples, results))
    rows = []
    for unit in units:
        actual, draws = results[(unit.ad, unit.segment)]
        row = {"ad": unit.ad, "segment": unit.segment, "viewers": len(unit.viewers), "duration": unit.duration,
               "positive_viewers": positive_viewers(unit)}
        for name, value in actual.items():
            low, high = _interval(draws[name])
            row.update({name: value, f"{name}_low": low, f"{name}_high": high})
        row["beyond_chance"] = "; ".join(leads.get((unit.ad, unit.segment), []))
        row["note"] = sample_note(len(unit.viewers))
        rows.append(row)
    return pd.DataFrame(rows)


def differences(units: list[Unit], resamples: int = BOOTSTRAP_RESAMPLES, results: dict | None = None) -> pd.DataFrame:
    """For every two ads of a segment and every metric: ad minus other, the 95% interval of the gap
    (the difference of independent bootstrap draws) and whether it leaves out 0 (`beyond_chance`).
    `results`: `bootstrap_metrics` of each (ad, segment), when already drawn."""
    rows = []
    results = results or bootstrapped(units, resamples)
    for first, second in itertools.combinations(units, 2):
        if first.segment != second.segment:
            continue
        (values1, draws1), (values2, draws2) = results[(first.ad, first.segment)], results[(second.ad, second.segment)]
        for name in values1:
            if np.isnan(values1[name] - values2[name]):
                continue  # a figure one of them lacks (attention without landmarks)
            low, high = _interval(draws1[name] - draws2[name])
            rows.append({"ad": first.ad, "other": second.ad, "segment": first.segment, "metric": name,
                         "difference": values1[name] - values2[name], "low": low, "high": high,
                         "beyond_chance": bool(low > 0 or high < 0)})
    return pd.DataFrame(rows, columns=["ad", "other", "segment", "metric", "difference", "low", "high",
                                       "beyond_chance"])


def positive_viewers(unit: Unit) -> int:
    """Viewers whose net valence, averaged over the seconds they were present, is above 0."""
    net = np.where(unit.present, (unit.valences == "positive").astype(float) - (unit.valences == "negative"), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return int((np.nanmean(net, axis=1) > 0).sum())


def verdict(compared: pd.DataFrame, gaps: pd.DataFrame) -> str:
    """In words, from the compare table's own figure and mark (`compare` and `differences` rows of one
    segment): which ad read most positive by mean net valence, against the next, their gap with its
    95% interval, and beyond chance exactly when the table marks it (▲: the interval leaves out 0);
    with fewer than MIN_VIEWERS viewers in either, too few to tell (as `sample_note` says)."""
    rows = compared[(compared["viewers"] > 0) & compared["mean_net_valence"].notna()]
    if rows.empty:
        return "There are no viewers to read."
    ranked = rows.sort_values(["mean_net_valence", "ad"], ascending=[False, True]).to_dict("records")
    top = ranked[0]
    if len(ranked) == 1:
        interval = ("" if np.isnan(top["mean_net_valence_low"]) else
                    f", 95% interval {signed(top['mean_net_valence_low'])} to {signed(top['mean_net_valence_high'])}")
        return (f"Only {top['ad']} has viewers to compare: mean net valence {signed(top['mean_net_valence'])}"
                f"{interval}, over {plural(int(top['viewers']), 'viewer')}.")
    next_ = ranked[1]
    if abs(top["mean_net_valence"] - next_["mean_net_valence"]) < 1e-9:
        tied = [row["ad"] for row in ranked if abs(row["mean_net_valence"] - top["mean_net_valence"]) < 1e-9]
        return f"{joined(tied)} read equally positive (mean net valence {signed(top['mean_net_valence'])} each)."
    pair = gaps[(gaps["metric"] == "mean_net_valence") & gaps["ad"].isin([top["ad"], next_["ad"]])
                & gaps["other"].isin([top["ad"], next_["ad"]])].iloc[0]
    # the table's gap is ad minus other: turn it to top minus next
    sign = 1 if pair["ad"] == top["ad"] else -1
    low, high = sorted((sign * pair["low"], sign * pair["high"]))
    interval = "" if np.isnan(low) else f", 95% interval {signed(low)} to {signed(high)}"
    figures = (f"mean net valence {signed(top['mean_net_valence'])} vs {signed(next_['mean_net_valence'])}; "
               f"gap {signed(sign * pair['difference'])}{interval}")
    return lead_sentence(top["ad"], next_["ad"], len(ranked), "positive", figures,
                         (int(top["viewers"]), int(next_["viewers"])), bool(pair["beyond_chance"]), "viewer",
                         MIN_VIEWERS)


def sample_note(viewers: int) -> str:
    """'' from MIN_VIEWERS viewers on, else why the figures are fragile."""
    if viewers >= MIN_VIEWERS:
        return ""
    return f"only {plural(viewers, 'viewer')}: too few to tell ({MIN_VIEWERS} or more make the intervals trustworthy)"


def _leads(gaps: pd.DataFrame) -> dict[tuple[str, str], list[str]]:
    """{(ad, segment): ['mean_net_valence > ad_b', ...]} for every gap beyond chance."""
    leads: dict[tuple[str, str], list[str]] = {}
    for row in gaps[gaps["beyond_chance"]].itertuples():
        higher, lower = (row.ad, row.other) if row.difference > 0 else (row.other, row.ad)
        leads.setdefault((higher, row.segment), []).append(f"{row.metric} > {lower}")
    return leads


def _interval(draws: np.ndarray) -> tuple[float, float]:
    draws = np.asarray(draws, dtype=float)
    draws = draws[~np.isnan(draws)]
    if len(draws) == 0:
        return float("nan"), float("nan")
    low, high = np.percentile(draws, INTERVAL)
    return float(low), float(high)


def _percentiles(draws: np.ndarray | None, shape) -> tuple[np.ndarray, np.ndarray]:
    """Per-second (low, high) over the draws (resamples, seconds, features); NaN without draws."""
    if draws is None:
        return np.full(shape, np.nan), np.full(shape, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a second no resample saw anyone in
        low, high = np.nanpercentile(draws, INTERVAL, axis=0)
    return low, high
