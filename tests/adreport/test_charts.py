"""The report's charts as a reader sees them: which layers are drawn, where the moments are marked, which ads are named."""

from __future__ import annotations

import pandas as pd
import pytest

from emotion_core.adreport import build_report
from emotion_core.adreport import charts
from emotion_core.adreport.charts import compare_chart, emotion_runs, marked_moments, timeline_chart, viewer_multiples
from tests.adreport.hand import write_analysis


def planted_study(tmp_path):
    """ad_a: 10 viewers, neutral but at second 3 (8 happy) and 10 (6 angry); ad_b: 10 viewers, sad
    at second 5 (7 of them), neutral otherwise; 12 seconds each."""
    viewers = {}
    for index in range(10):
        readings = ["neutral"] * 12
        readings[3] = "happy" if index < 8 else "neutral"
        readings[10] = "angry" if index < 6 else "neutral"
        viewers[(f"ad_a/v{index}.mp4", 1)] = readings
        viewers[(f"ad_b/w{index}.mp4", 1)] = ["sad" if second == 5 and index < 7 else "neutral" for second in range(12)]
    return build_report(write_analysis(tmp_path / "study", viewers))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return planted_study(tmp_path_factory.mktemp("charts"))


def layers(spec: dict):
    """Every unit spec (one mark) inside a chart's spec, through layers, concatenations and facets."""
    if "mark" in spec:
        yield spec
    for key in ("layer", "vconcat", "hconcat", "concat"):
        for part in spec.get(key, []):
            yield from layers(part)
    if "spec" in spec:
        yield from layers(spec["spec"])


def values(chart_spec: dict, unit: dict) -> list[dict]:
    data = unit.get("data") or chart_spec.get("data") or {}
    return data.get("values") or chart_spec["datasets"][data["name"]]


def mark_type(unit: dict) -> str:
    return unit["mark"] if isinstance(unit["mark"], str) else unit["mark"]["type"]


def test_the_timeline_shows_shares_valence_with_its_band_and_marks_the_moments(report):
    spec = timeline_chart(report.seconds, report.moments, "ad_a").to_dict()
    assert spec["vconcat"][0]["title"].startswith("ad_a")
    units = list(layers(spec))
    shares = [unit for unit in units if unit["encoding"].get("y", {}).get("field") == "share"]
    assert mark_type(shares[0]) == "area" and shares[0]["encoding"]["color"]["field"] == "emotion"
    band = [unit for unit in units if unit["encoding"].get("y2", {}).get("field") == "net_valence_high"]
    line = [unit for unit in units if unit["encoding"].get("y", {}).get("field") == "net_valence"]
    assert mark_type(band[0]) == "area" and mark_type(line[0]) == "line"
    # no landmarks in the hand-made tables: no attention panel
    assert len(spec["vconcat"]) == 2 and not any(unit["encoding"].get("y", {}).get("field") == "attention"
                                                 for unit in units)
    # the happy peak (and highest net valence) at 3, the angry peak (lowest net valence) at 10, on both panels
    rules = [unit for unit in units if str(unit.get("name")).startswith("moments")]  # Altair numbers repeated names
    assert len(rules) == 2
    for rule in rules:
        assert mark_type(rule) == "rule"
        assert sorted(row["second"] for row in values(spec, rule)) == [3, 10]
    names = {row["second"]: row["moment"] for row in values(spec, rules[0])}
    assert "peak happy" in names[3] and "highest net valence" in names[3] and "peak angry" in names[10]
    texts = [unit for unit in units if mark_type(unit) == "text"]
    assert len(texts) == 1 and texts[0]["encoding"]["text"]["field"] == "moment"  # named once, on the top panel


def test_the_opening_ending_and_score_are_not_marked_as_seconds(report):
    marked = marked_moments(report.moments, "ad_b")
    assert marked["second"].tolist() == [5] and "peak sad" in marked["moment"].iloc[0]
    assert set(report.moments.loc[report.moments["ad"] == "ad_b", "moment"]) >= {"opening", "ending", "peak-end score"}


def test_the_comparison_overlays_both_ads_named_with_bands(report):
    spec = compare_chart(report.seconds).to_dict()
    assert spec["title"].endswith("ad_a vs ad_b")
    units = list(layers(spec))
    line = next(unit for unit in units if mark_type(unit) == "line")
    assert line["encoding"]["color"]["field"] == "ad" and line["encoding"]["color"]["sort"] == ["ad_a", "ad_b"]
    assert {row["ad"] for row in values(spec, line)} == {"ad_a", "ad_b"}
    assert any(unit["encoding"].get("y2", {}).get("field") == "net_valence_high" for unit in units)
    at_five = {row["ad"]: row["net_valence"] for row in values(spec, line) if row["second"] == 5}
    assert at_five == {"ad_a": 0.0, "ad_b": pytest.approx(-0.7)}
    with pytest.raises(ValueError, match="no seconds of ad_c"):
        compare_chart(report.seconds, ["ad_a", "ad_c"])


def test_small_multiples_give_each_viewer_a_strip_of_their_emotions(report):
    spec = viewer_multiples(report.viewers, "ad_a", columns=5).to_dict()
    assert spec["columns"] == 5 and spec["facet"]["field"] == "viewer"
    rows = values(spec, spec)
    assert len({row["viewer"] for row in rows}) == 10 and "v0.mp4#1" in {row["viewer"] for row in rows}
    happy = sorted(row["viewer"] for row in rows if row["second"] == 3 and row["emotion"] == "happy")
    assert len(happy) == 8
    with pytest.raises(ValueError, match="no rows for ad 'ad_c'"):
        viewer_multiples(report.viewers, "ad_c")


def test_a_viewers_strip_is_runs_of_one_emotion_with_gaps_where_the_face_was_lost():
    rows = pd.DataFrame({"viewer": ["a#1"] * 7 + ["b#1"] * 2, "second": [*range(7), 0, 1],
                         "emotion": ["neutral", "neutral", "happy", "", "happy", "happy", "sad", "sad", "sad"]})
    runs = emotion_runs(rows)
    assert list(runs.itertuples(index=False, name=None)) == [
        ("a#1", 0, 2, "neutral"), ("a#1", 2, 3, "happy"), ("a#1", 4, 6, "happy"), ("a#1", 6, 7, "sad"),
        ("b#1", 0, 2, "sad")]


def test_too_many_blocks_show_the_first_viewers_and_say_so(report, monkeypatch):
    monkeypatch.setattr(charts, "MAX_STRIP_BLOCKS", 10)  # ad_a's viewers have 3 to 5 blocks each
    spec = viewer_multiples(report.viewers, "ad_a").to_dict()
    shown = {row["viewer"] for row in values(spec, spec)}
    assert 2 <= len(shown) < 10 and spec["title"].endswith(f"(the first {len(shown)} of 10 viewers)")
