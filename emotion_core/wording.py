"""How counts and shares read to a person: one plural rule and one percentage format for every page.

    plural(1, "face")          # '1 face'
    plural(3, "face")          # '3 faces'
    percent(0.8333)            # '83%'
    accuracy(0.69598)          # '69.60%' (a model's accuracy, as every table and card reports it)
    percent_range(0.44, 0.97)  # '44–97%'
    signed(-0.031)             # '−0.03' (a true minus sign; '+0.12' for a gain)
"""

from __future__ import annotations

import math


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """'1 face', '2 faces' (`nouns` for a plural that is not `noun` + 's')."""
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


def percent(share: float) -> str:
    """A share in [0, 1] as a whole percentage ('83%'); '-' when it is unknown (NaN)."""
    return "-" if share is None or math.isnan(share) else f"{share:.0%}"


def accuracy(share: float | None) -> str:
    """A model's accuracy (or a confidence set beside one) as a percentage to two places, '69.60%',
    as validation figures are reported: two runs a tenth of a point apart still read apart. '-' when
    unknown (None, NaN)."""
    return "-" if share is None or math.isnan(share) else f"{share:.2%}"


def percent_range(low: float, high: float) -> str:
    """An interval of shares as '44–97%' (an en dash, one % sign); '-' when it is unknown."""
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return "-"
    return f"{low * 100:.0f}–{percent(high)}"


def signed(value: float) -> str:
    """A figure that may fall either side of 0 (net valence, a gap) with its sign, to 2 places,
    a true minus sign; '-' when it is unknown (NaN)."""
    if value is None or math.isnan(value):
        return "-"
    return f"{value:+.2f}".replace("-", "−")
