"""Tests for emotion_core.studies.tables: the report's comparison, moments and split columns as a page shows them."""

import math

import pytest

from emotion_core.adreport import build_report


@pytest.fixture(scope="module")
def report(ad_study_template):
    return build_report(ad_study_template[0])


def test_the_comparison_has_a_row_per_metric_and_a_column_per_ad_with_intervals_in_words(report):
    from emotion_core.studies import readable_compare

    table = readable_compare(report).set_index("metric")
    row = report.compare.set_index("ad").loc["ad_a"]

    assert list(table.columns) == ["ad_a", "ad_b"]
    assert table.index[:5].tolist() == ["Net valence, whole ad", "Opening", "Ending", "Peak", "Peak-end score"]
    low, value, high = row["mean_net_valence_low"], row["mean_net_valence"], row["mean_net_valence_high"]
    signed = [f"{number:+.2f}".replace("-", "−") for number in (value, low, high)]
    assert table.loc["Net valence, whole ad", "ad_a"] == f"{signed[0]} [{signed[1]}, {signed[2]}]"
    alone = report.compare.set_index("ad").loc["ad_b"]  # one viewer: no interval
    assert math.isnan(alone["mean_net_valence_low"])
    assert table.loc["Net valence, whole ad", "ad_b"] == f"{alone['mean_net_valence']:+.2f}".replace("-", "−")
    assert table.loc["Viewers"].tolist() == ["3", "1"] and table.loc["Duration"].tolist() == ["3 s", "3 s"]
    assert table.loc["Note", "ad_b"].startswith("only 1 viewer")
    assert [name for name in table.index if name.startswith("Share ")] == [
        f"Share {name}" for name in ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")]


def test_a_lead_beyond_chance_is_marked_over_the_ad_it_beats(report):
    from emotion_core.studies import readable_compare

    marked = report.compare.copy()
    marked["beyond_chance"] = ["expressiveness > ad_b", ""]
    table = readable_compare(type(report)(**{**report.__dict__, "compare": marked})).set_index("metric")

    assert table.loc["Expressiveness", "ad_a"].endswith(" ▲ over ad_b")
    assert "▲" not in table.loc["Expressiveness", "ad_b"] and "▲" not in table.loc["Opening", "ad_a"]


def test_moments_say_when_in_seconds_and_which_are_marked(report):
    from emotion_core.studies import readable_moments

    moments = readable_moments(report, "ad_a")
    rows = report.moments[report.moments["ad"] == "ad_a"]

    assert moments["moment"].tolist() == rows["moment"].tolist()
    assert moments.set_index("moment").loc["opening", "when"] == "0–3 s"  # the first 5 s of a 3 s ad
    assert moments["marked"].tolist() == rows["prominence"].notna().tolist()


def test_the_split_columns_are_the_manifests_attributes(report, tmp_path):
    from emotion_core.studies import split_columns

    assert split_columns(report) == ["market"]
    assert split_columns(type(report)(**{**report.__dict__, "facts": {**report.facts, "manifest": None}})) == []
