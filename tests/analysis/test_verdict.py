"""Tests for emotion_core.analysis.verdict: the headline a stakeholder reads, from counts and their intervals."""

from __future__ import annotations

import pytest

from emotion_core.analysis.verdict import Tally, compare_groups, describe_one, difference_interval, \
    share_interval


def test_wilson_intervals_match_published_values():
    # Newcombe (1998), table I: 81/263 -> 0.2553-0.3662; 15/148 -> 0.0624-0.1605; 0/10 -> 0-0.2775.
    assert share_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert share_interval(15, 148) == pytest.approx((0.0624, 0.1605), abs=1e-4)
    assert share_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)


def test_newcombes_difference_interval_matches_his_worked_example():
    # Newcombe (1998b), method 10 on 56/70 vs 48/80: 0.0524 to 0.3339.
    assert difference_interval(Tally("a", 56, 70), Tally("b", 48, 80)) == pytest.approx((0.0524, 0.3339), abs=1e-4)


def test_a_gap_on_few_faces_is_within_chance():
    # The example: 5 of 6 against 3 of 6.
    verdict = compare_groups([Tally("ad_a", 3, 6), Tally("ad_b", 5, 6)], "positive")

    assert verdict == ("ad_b read more positive than ad_a (83% vs 50% of faces), but with 6 faces each the "
                       "difference is within chance.")


def test_the_same_gap_on_many_faces_is_beyond_chance():
    verdict = compare_groups([Tally("ad_a", 50, 100), Tally("ad_b", 83, 100)], "positive")

    assert verdict == ("ad_b read more positive than ad_a (83% vs 50% of faces), a difference beyond chance "
                       "with 100 faces each.")


def test_the_verdict_follows_the_interval_not_the_gap_alone():
    # 56/70 vs 48/80 clears zero (above); one face fewer read positive in the first group and it does not.
    assert compare_groups([Tally("a", 56, 70), Tally("b", 48, 80)], "positive").endswith(
        "a difference beyond chance with 70 and 80 faces.")
    closer = [Tally("a", 52, 70), Tally("b", 48, 80)]
    assert difference_interval(*closer)[0] < 0
    assert compare_groups(closer, "positive").endswith("but with 70 and 80 faces the difference is within chance.")


def test_tiny_groups_get_no_verdict_even_at_all_against_none():
    verdict = compare_groups([Tally("ad_a", 3, 3), Tally("ad_b", 0, 3)], "positive")

    assert verdict == "ad_a read more positive than ad_b (100% vs 0% of faces), but with 3 faces each that is too few to tell."


def test_with_three_groups_the_leader_is_weighed_against_the_next():
    verdict = compare_groups([Tally("ad_a", 20, 100), Tally("ad_b", 60, 100), Tally("ad_c", 55, 100)], "positive")

    assert verdict.startswith("ad_b read the most positive, ahead of ad_c (60% vs 55% of faces)")
    assert verdict.endswith("the difference is within chance.")


def test_other_units_and_readings_for_a_video_report():
    verdict = compare_groups([Tally("spot_1", 2, 40), Tally("spot_2", 20, 40)], "negative", unit="viewer")

    assert verdict == ("spot_2 read more negative than spot_1 (50% vs 5% of viewers), a difference beyond chance "
                       "with 40 viewers each.")


def test_ties_and_groups_without_faces():
    assert compare_groups([Tally("a", 5, 10), Tally("b", 10, 20)], "positive") == \
        "a and b read equally positive (50% of faces each)."
    assert compare_groups([Tally("a", 0, 10), Tally("b", 0, 8)], "positive") == "No face read positive in a or b."
    assert compare_groups([Tally("a", 3, 10), Tally("b", 0, 0)], "positive") == \
        "Only a has faces to compare: 3 of its 10 faces read positive."
    assert compare_groups([], "positive") == "There are no faces to read."


def test_one_group_says_how_clear_its_majority_is():
    # 16 of 20: Wilson 58-92%, a majority beyond chance.
    assert describe_one({"positive": 16, "neutral": 3, "negative": 1}) == \
        "Most faces read positive: 80% of 20 faces (likely range 58–92%)."
    # 12 of 20: 39-78%, which reaches below half.
    assert describe_one({"positive": 12, "neutral": 5, "negative": 3}) == (
        "Positive was the most common reading: 60% of 20 faces (likely range 39–78%); with 20 faces, it may not "
        "be a majority.")
    # 38 of 100 leads, but even its range stays under half.
    assert describe_one({"positive": 31, "neutral": 38, "negative": 31}) == (
        "No reading dominates; the most common is neutral: 38% of 100 faces (likely range 29–48%).")


def test_one_tiny_group_and_a_tie():
    assert describe_one({"positive": 1, "neutral": 0, "negative": 0}) == \
        "Only 1 face: too few to say how people reacted (1 read positive)."
    assert describe_one({"positive": 1, "neutral": 1, "negative": 1}) == \
        "Only 3 faces: too few to say how people reacted (1 read positive, neutral or negative)."
    assert describe_one({"positive": 5, "neutral": 5, "negative": 0}) == \
        "Positive and neutral were equally common (50% of 10 faces each)."
    assert describe_one({"positive": 0, "neutral": 0, "negative": 0}) == "There are no faces to read."


def test_unequal_tiny_groups_name_both_sizes():
    verdict = compare_groups([Tally("ad_a", 0, 1), Tally("ad_b", 1, 2)], "positive")

    assert verdict == "ad_b read more positive than ad_a (50% vs 0% of faces), but with 2 and 1 faces that is too few to tell."
