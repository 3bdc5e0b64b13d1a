"""A verdict in words from counts: which group read more positive, and whether that is beyond chance.

    compare_groups([Tally("ad_a", 3, 6), Tally("ad_b", 5, 6)], "positive")
    # 'ad_b read more positive than ad_a (83% vs 50% of faces), but with 6 faces each the
    #  difference is within chance.'
    describe_one({"positive": 14, "neutral": 4, "negative": 2})
    # 'Most faces read positive: 70% of 20 faces (likely range 48–85%).'

Works on plain counts of any unit, so the photo analysis (faces per folder, `summary.valence_verdict`)
and a video report (viewers per video) say the same things the same way. A share's "likely range"
is Wilson's 95% score interval; two shares differ beyond chance when Newcombe's interval for their
difference (built from the two Wilson intervals) leaves out zero. Both keep their coverage for the
few dozen faces of a small test, where the textbook p ± 1.96·SE does not.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..wording import percent, percent_range, plural

Z95 = 1.959964  # the two-sided 95% point of the normal distribution
# Below this many units in a group, no verdict is given: with 3 faces a side, 3 of 3 against 0 of 3
# already clears Newcombe's interval, while an exact test (Fisher's, p = 0.1) says it is chance.
MIN_SAMPLE = 5


@dataclass(frozen=True)
class Tally:
    """`hits` of a group's `total` units (faces, viewers) read one way (positive, say)."""

    group: str
    hits: int
    total: int

    @property
    def share(self) -> float:
        return self.hits / self.total if self.total else float("nan")


def share_interval(hits: int, total: int) -> tuple[float, float]:
    """Wilson's 95% score interval for a share of `hits` in `total`: (low, high), NaN for no units."""
    if total <= 0:
        return float("nan"), float("nan")
    share = hits / total
    spread = Z95 * Z95 / total
    centre = (share + spread / 2) / (1 + spread)
    half_width = Z95 / (1 + spread) * math.sqrt(share * (1 - share) / total + spread / (4 * total))
    return max(0.0, centre - half_width), min(1.0, centre + half_width)


def difference_interval(first: Tally, second: Tally) -> tuple[float, float]:
    """Newcombe's 95% interval (hybrid score, his method 10) for first.share - second.share."""
    low1, high1 = share_interval(first.hits, first.total)
    low2, high2 = share_interval(second.hits, second.total)
    difference = first.share - second.share
    return (difference - math.hypot(first.share - low1, high2 - second.share),
            difference + math.hypot(high1 - first.share, second.share - low2))


def compare_groups(tallies: Sequence[Tally], reading: str, unit: str = "face", min_sample: int = MIN_SAMPLE) -> str:
    """One sentence: which group read most `reading`, against the next, and whether the gap is beyond chance.

    Groups without any unit are left out; with fewer than two left, `describe_one`'s kind of answer
    for the one left. `unit` is singular ("face", "viewer"). Below `min_sample` units in either of
    the two groups compared, the sentence says that is too few to tell (the ad report passes its
    own MIN_VIEWERS, so its sentence and its note agree).
    """
    groups = [tally for tally in tallies if tally.total > 0]
    if len(groups) < 2:
        if not groups:
            return f"There are no {unit}s to read."
        (only,) = groups
        return f"Only {only.group} has {unit}s to compare: {only.hits:,} of its {plural(only.total, unit)} read {reading}."
    ranked = sorted(groups, key=lambda tally: (-tally.share, tally.group))
    top, next_ = ranked[0], ranked[1]
    if top.hits == 0:
        return f"No {unit} read {reading} in {joined([tally.group for tally in groups], 'or')}."
    if top.share == next_.share:
        tied = [tally.group for tally in ranked if tally.share == top.share]
        return f"{joined(tied)} read equally {reading} ({percent(top.share)} of {unit}s each)."
    return lead_sentence(top.group, next_.group, len(groups), reading,
                         f"{percent(top.share)} vs {percent(next_.share)} of {unit}s", (top.total, next_.total),
                         difference_interval(top, next_)[0] > 0, unit, min_sample)


def lead_sentence(top: str, next_: str, groups: int, reading: str, figures: str, totals: tuple[int, int],
                  beyond_chance: bool, unit: str = "face", min_sample: int = MIN_SAMPLE) -> str:
    """'top read more `reading` than next_ (figures), ...' (of `groups` ranked: 'the most ..., ahead of'),
    ending as the gap stands: too few to tell below `min_sample` units in either, else beyond chance
    or within it. Every verdict that ranks groups says it this way (`compare_groups`, the ad report's)."""
    lead = (f"{top} read more {reading} than {next_}" if groups == 2 else
            f"{top} read the most {reading}, ahead of {next_}")
    first, second = totals
    sizes = f"{plural(first, unit)} each" if first == second else f"{first:,} and {second:,} {unit}s"
    if min(totals) < min_sample:
        return f"{lead} ({figures}), but with {sizes} that is too few to tell."
    if beyond_chance:
        return f"{lead} ({figures}), a difference beyond chance with {sizes}."
    return f"{lead} ({figures}), but with {sizes} the difference is within chance."


def describe_one(counts: Mapping[str, int], unit: str = "face") -> str:
    """One sentence on one group: its most common reading, its share and likely range, or that there are too few.

    `counts` maps each reading (positive, neutral, negative) to how many units read it.
    """
    total = sum(counts.values())
    if total == 0:
        return f"There are no {unit}s to read."
    most = max(counts.values())
    leaders = [reading for reading, count in counts.items() if count == most]
    if total < MIN_SAMPLE:
        return (f"Only {plural(total, unit)}: too few to say how people reacted "
                f"({most} read {joined(leaders, 'or')}).")
    if len(leaders) > 1:
        return f"{joined(leaders).capitalize()} were equally common ({percent(most / total)} of {total:,} {unit}s each)."
    (leader,) = leaders
    low, high = share_interval(most, total)
    figures = f"{percent(most / total)} of {total:,} {unit}s (likely range {percent_range(low, high)})"
    if low > 0.5:
        return f"Most {unit}s read {leader}: {figures}."
    if high < 0.5:
        return f"No reading dominates; the most common is {leader}: {figures}."
    return f"{leader.capitalize()} was the most common reading: {figures}; with {total:,} {unit}s, it may not be a majority."


def joined(names: Sequence[str], conjunction: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {conjunction} {names[-1]}"
