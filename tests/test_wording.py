"""Tests for emotion_core.wording: the plural and percentage every page writes."""

import math

from emotion_core.wording import accuracy, percent, percent_range, plural, signed


def test_plural():
    assert [plural(n, "face") for n in (0, 1, 2)] == ["0 faces", "1 face", "2 faces"]
    assert plural(1, "person", "people") == "1 person" and plural(2_500, "person", "people") == "2,500 people"


def test_one_percentage_format():
    assert [percent(x) for x in (0.0, 0.8333, 1.0)] == ["0%", "83%", "100%"]
    assert percent(math.nan) == "-"
    assert percent_range(0.436, 0.97) == "44–97%"
    assert percent_range(math.nan, math.nan) == "-"
    assert [accuracy(x) for x in (0.696, 0.68066, None, math.nan)] == ["69.60%", "68.07%", "-", "-"]


def test_a_signed_figure_shows_its_sign():
    assert [signed(x) for x in (0.123, -0.031, 0.0)] == ["+0.12", "−0.03", "+0.00"]
    assert signed(math.nan) == "-"
