"""Tests for emotion_core.analysis.summary: the figures a user reads from a results CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emotion_core.analysis import (TOP_LEVEL, emotion_summary, format_summary, image_summary, read_results,
                                   readable_summary, shown_faces, top_faces, valence_summary, valence_verdict)
from emotion_core.analysis.summary import _t95
from emotion_core.labels import EMOTIONS
from tests.conftest import needs_photos


@needs_photos
def test_group_summary_figures(reference):
    frame = read_results(reference[0])
    images = image_summary(frame, by="group").set_index("group")
    assert images.loc["ad_a"].to_dict() == {"images": 4, "with_faces": 3, "no_face": 1, "unreadable": 0,
                                            "faces": 4, "no_face_share": 0.25}
    assert images.loc["ad_b"].to_dict() == {"images": 4, "with_faces": 2, "no_face": 1, "unreadable": 1,
                                            "faces": 3, "no_face_share": pytest.approx(1 / 3)}
    assert images.loc[TOP_LEVEL, "faces"] == 2

    emotions = emotion_summary(frame, by="group").set_index(["group", "emotion"])
    assert emotions.loc[("ad_a", "happy"), "faces"] == 4 and emotions.loc[("ad_a", "happy"), "share"] == 1.0
    assert emotions.loc[("ad_b", "neutral"), "share"] == 1.0 and emotions.loc[("ad_b", "happy"), "faces"] == 0
    assert emotions.loc[(TOP_LEVEL, "happy"), "share"] == 0.5
    # Every ad_b face has the same probabilities: the mean is exact and the interval has no width.
    row = emotions.loc[("ad_b", "neutral")]
    assert row["mean_probability"] == pytest.approx(0.6) and row["ci_low"] == pytest.approx(row["ci_high"])
    assert emotions.groupby("group")["share"].sum().tolist() == pytest.approx([1.0, 1.0, 1.0])


@needs_photos
def test_overall_summary_figures(reference):
    frame = read_results(reference[0])
    overall = image_summary(frame).iloc[0]
    assert (overall["images"], overall["faces"], overall["no_face"], overall["unreadable"]) == (9, 9, 2, 1)
    assert overall["no_face_share"] == pytest.approx(2 / 8)  # of the 8 photos that could be read
    emotions = emotion_summary(frame).set_index("emotion")
    assert emotions["faces"].to_dict() == {"angry": 0, "disgust": 0, "fear": 0, "happy": 5, "sad": 0,
                                           "surprise": 0, "neutral": 4}
    assert emotions.loc["happy", "mean_probability"] == pytest.approx((5 * 0.7 + 4 * 0.1) / 9, abs=1e-4)


def summary_frame(happy: list[float], groups: list[str]) -> pd.DataFrame:
    """A results frame of faces whose happy probability is given; the rest goes to neutral."""
    records = []
    for index, (p, group) in enumerate(zip(happy, groups)):
        probabilities = {emotion: 0.0 for emotion in EMOTIONS} | {"happy": p, "neutral": 1 - p}
        records.append({"file": f"{index}.png", "group": group, "status": "ok",
                        "emotion": "happy" if p > 0.5 else "neutral", **probabilities})
    return pd.DataFrame(records)


def test_the_interval_is_students_t_on_the_face_probabilities():
    frame = summary_frame([0.6, 0.8, 1.0, 0.2], ["x", "x", "x", "y"])
    summary = emotion_summary(frame, by="group").set_index(["group", "emotion"])
    x = summary.loc[("x", "happy")]
    half_width = 4.302653 * 0.2 / np.sqrt(3)  # t(0.975, 2 df) x sd / sqrt(n)
    assert x["mean_probability"] == pytest.approx(0.8)
    assert x["ci_low"] == pytest.approx(0.8 - half_width) and x["ci_high"] == 1.0  # clipped to [0, 1]
    y = summary.loc[("y", "happy")]
    assert y["mean_probability"] == pytest.approx(0.2) and np.isnan(y["ci_low"]) and np.isnan(y["ci_high"])


def test_the_t_critical_values_are_scipys_and_the_printed_tables():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 5, 10, 30, 120, 1000):
        assert _t95(df) == pytest.approx(stats.t.ppf(0.975, df), abs=1e-3)
    for df in (11, 45, 5000):  # between the printed tables' entries, where the old table rounded up
        assert _t95(df) >= stats.t.ppf(0.975, df)
    # The two-sided 95% values of a printed t table (the hand-written table this replaced).
    printed = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
               10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021, 60: 2.000,
               120: 1.980, 1000: 1.962}
    assert {df: round(_t95(df), 3) for df in printed} == printed


@needs_photos
def test_the_printed_summary_has_overall_figures_and_folders_side_by_side(reference):
    text = format_summary(read_results(reference[0]))
    lines = text.splitlines()
    assert lines[0] == "9 images: 6 with faces (9 faces), 2 without a face, 1 unreadable"
    assert any(line.split()[:3] == ["happy", "5", "55.6%"] for line in lines)
    # The headline in words, under the counts: ad_a's 4 faces all read positive, the top level's 2 half.
    assert lines[1] == ("ad_a read the most positive, ahead of (top level) (100% vs 50% of faces), but with 4 and "
                        "2 faces that is too few to tell.")
    header = next(line for line in lines if line.split()[-2:] == ["ad_a", "ad_b"])
    assert header.split() == ["(top", "level)", "ad_a", "ad_b"]
    assert next(line for line in lines if line.startswith("no face")).split() == ["no", "face", "0%", "25%", "33%"]


@needs_photos
def test_top_faces_are_the_most_confident_and_shown_faces_covers_every_grid(reference):
    frame = read_results(reference[0])
    happy = top_faces(frame, "happy", 3)
    assert len(happy) == 3 and (happy["emotion"] == "happy").all()
    assert top_faces(frame, "neutral", 10, group="ad_b")["file"].str.startswith("ad_b/").all()
    # The best face of each emotion found, overall and in each group: the overall best happy
    # and neutral faces (ties go to the first file) are also their groups' best.
    shown = shown_faces(frame, per_emotion=1)
    assert shown.groupby("group")["emotion"].apply(sorted).to_dict() == {
        "": ["happy", "neutral"], "ad_a": ["happy"], "ad_b": ["neutral"]}


# --- Valence -------------------------------------------------------------------------------------------

# Six faces of two ads, by hand. Probabilities per face in EMOTIONS order
# (angry, disgust, fear, happy, sad, surprise, neutral); the emotion is the largest.
HAND = [
    ("ad_a", [0.10, 0.00, 0.00, 0.70, 0.10, 0.00, 0.10]),  # happy -> positive
    ("ad_a", [0.00, 0.00, 0.10, 0.20, 0.00, 0.60, 0.10]),  # surprise -> positive
    ("ad_a", [0.50, 0.10, 0.00, 0.10, 0.20, 0.00, 0.10]),  # angry -> negative
    ("ad_b", [0.00, 0.00, 0.00, 0.10, 0.30, 0.00, 0.60]),  # neutral -> neutral
    ("ad_b", [0.10, 0.00, 0.10, 0.00, 0.70, 0.00, 0.10]),  # sad -> negative
    ("ad_b", [0.00, 0.00, 0.00, 0.40, 0.20, 0.00, 0.40]),  # happy (first of the tie) -> positive
]


def hand_frame() -> pd.DataFrame:
    from emotion_core.valence import VALENCE

    records = []
    for index, (group, probabilities) in enumerate(HAND):
        emotion = EMOTIONS[int(np.argmax(probabilities))]
        records.append({"file": f"{group}/{index}.png", "group": group, "status": "ok", "emotion": emotion,
                        "valence": VALENCE[emotion], **dict(zip(EMOTIONS, probabilities))})
    return pd.DataFrame(records)


def test_valence_shares_and_means_are_the_ones_worked_out_by_hand():
    summary = valence_summary(hand_frame(), by="group").set_index(["group", "valence"])

    # ad_a: 2 positive (happy, surprise), 1 negative of 3 faces; ad_b: 1 each.
    assert summary["faces"].to_dict() == {("ad_a", "positive"): 2, ("ad_a", "neutral"): 0, ("ad_a", "negative"): 1,
                                          ("ad_b", "positive"): 1, ("ad_b", "neutral"): 1, ("ad_b", "negative"): 1}
    assert summary.loc[("ad_a", "positive"), "share"] == pytest.approx(2 / 3)
    assert summary.loc[("ad_b", "negative"), "share"] == pytest.approx(1 / 3)
    # Positive probability = happy + surprise per face: ad_a 0.70, 0.80, 0.10; mean 0.5333.
    positive = summary.loc[("ad_a", "positive")]
    sd = np.std([0.70, 0.80, 0.10], ddof=1)
    assert positive["mean_probability"] == pytest.approx(1.6 / 3)
    assert positive["ci_low"] == pytest.approx(max(0.0, 1.6 / 3 - 4.302653 * sd / np.sqrt(3)))
    # Negative = angry + disgust + fear + sad: ad_b 0.30, 0.90, 0.20; mean 0.4667.
    assert summary.loc[("ad_b", "negative"), "mean_probability"] == pytest.approx(1.4 / 3)
    # Each face's three valence probabilities sum to 1, so the means of a group do too.
    assert summary.groupby("group")["mean_probability"].sum().tolist() == pytest.approx([1.0, 1.0])
    overall = valence_summary(hand_frame()).set_index("valence")
    assert overall["faces"].to_dict() == {"positive": 3, "neutral": 1, "negative": 2}


def test_valence_shares_are_the_sums_of_their_emotions_shares():
    emotions = emotion_summary(hand_frame()).set_index("emotion")["share"]
    valences = valence_summary(hand_frame()).set_index("valence")["share"]

    assert valences["positive"] == pytest.approx(emotions["happy"] + emotions["surprise"])
    assert valences["negative"] == pytest.approx(emotions[["angry", "disgust", "fear", "sad"]].sum())


def test_a_three_class_results_table_has_its_own_rows_and_no_positive_valence():
    # A model of angry, sad and neutral: the CSV has those three probability columns only.
    frame = pd.DataFrame([
        {"file": "0.png", "group": "", "status": "ok", "emotion": "sad", "valence": "negative",
         "angry": 0.2, "sad": 0.5, "neutral": 0.3},
        {"file": "1.png", "group": "", "status": "ok", "emotion": "neutral", "valence": "neutral",
         "angry": 0.1, "sad": 0.2, "neutral": 0.7},
    ])

    assert emotion_summary(frame)["emotion"].tolist() == ["angry", "sad", "neutral"]
    valences = valence_summary(frame).set_index("valence")
    assert valences.index.tolist() == ["neutral", "negative"]
    assert valences.loc["negative", "mean_probability"] == pytest.approx((0.7 + 0.3) / 2)
    assert valences["share"].tolist() == [0.5, 0.5]


def test_a_mapping_override_moves_an_emotion_to_another_valence():
    from emotion_core.valence import valence_mapping

    mapping = valence_mapping({"surprise": "neutral"})
    frame = hand_frame()
    frame["valence"] = frame["emotion"].map(mapping)  # as `analyze` writes it with that run's mapping

    summary = valence_summary(frame, mapping=mapping).set_index("valence")

    assert summary["faces"].to_dict() == {"positive": 2, "neutral": 2, "negative": 2}
    # Neutral probability = neutral + surprise: 0.1, 0.7, 0.1, 0.6, 0.1, 0.4 over six faces.
    assert summary.loc["neutral", "mean_probability"] == pytest.approx(2.0 / 6)


@needs_photos
def test_the_printed_summary_has_the_valence_table_and_folder_shares(reference):
    lines = format_summary(read_results(reference[0])).splitlines()

    # 5 happy faces (positive) and 4 neutral of 9, as the stand-in model labels them.
    assert any(line.split()[:3] == ["positive", "5", "55.6%"] for line in lines)
    assert next(line for line in lines if line.startswith("positive valence")).split()[2:] == ["50%", "100%", "0%"]


def test_each_share_has_its_wilson_interval():
    summary = valence_summary(hand_frame(), by="group").set_index(["group", "valence"])

    # ad_a: 2 of 3 faces positive; Wilson's 95% interval for 2/3 is 20.8% to 93.9% (a printed table's).
    positive = summary.loc[("ad_a", "positive")]
    assert (positive["share_low"], positive["share_high"]) == pytest.approx((0.2077, 0.9385), abs=1e-4)
    # No neutral face of 3: the range starts at 0 and still reaches 56%.
    assert summary.loc[("ad_a", "neutral"), "share_low"] == 0.0
    assert summary.loc[("ad_a", "neutral"), "share_high"] == pytest.approx(0.5615, abs=1e-4)


def test_the_readable_table_has_whole_percentages_and_ranges():
    readable = readable_summary(valence_summary(hand_frame(), by="group")).set_index(["group", "valence"])

    assert readable.columns.tolist() == ["faces", "share", "share_range", "score", "score_range"]
    assert readable.loc[("ad_a", "positive")].tolist() == [2, "67%", "21–94%", "53%", "0–100%"]
    assert readable.loc[("ad_b", "neutral"), "share"] == "33%"


def test_the_verdict_compares_the_folders_or_describes_all_faces():
    frame = hand_frame()

    assert valence_verdict(frame, by="group") == ("ad_a read more positive than ad_b (67% vs 33% of faces), "
                                                  "but with 3 faces each that is too few to tell.")
    assert valence_verdict(frame) == "Positive was the most common reading: 50% of 6 faces (likely range " \
                                     "19–81%); with 6 faces, it may not be a majority."
