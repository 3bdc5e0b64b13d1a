"""Summaries of a results CSV (`read_results`): emotion and valence shares, mean probabilities, counts of photos.

    frame = read_results("results.csv")
    emotion_summary(frame, by="group")   # shares and mean probabilities per sub-folder
    valence_summary(frame, by="group")   # the same for positive, neutral and negative
    print(format_summary(frame))         # what `python -m emotion_core analyze` prints

The emotions are the classes the CSV has a probability column for: the model's run's.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from ..valence import VALENCE, VALENCES, valences_of
from ..wording import percent, percent_range
from .results import STATUS_NO_FACE, STATUS_OK, STATUS_UNREADABLE, result_classes
from .verdict import Tally, compare_groups, describe_one, share_interval

TOP_LEVEL = "(top level)"  # the group shown for images not inside any sub-folder
# The figures of each row of `emotion_summary` and `valence_summary`, after the group and the emotion or valence.
SUMMARY_FIGURES = ["faces", "share", "share_low", "share_high", "mean_probability", "ci_low", "ci_high"]


def has_groups(frame: pd.DataFrame) -> bool:
    """Whether the images came from more than one sub-folder, so comparing groups means something."""
    return frame["group"].nunique() > 1


def emotion_summary(frame: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Per emotion: faces predicted, their share with its 95% interval, and the mean probability with its own.

    `frame` comes from `read_results`; `by="group"` gives one block of rows per group (top-level
    images as TOP_LEVEL), else one block named 'all', with a row per class of the model (the
    CSV's probability columns). The share's interval (share_low, share_high) is Wilson's
    (`verdict.share_interval`); the mean's (ci_low, ci_high) is Student's t on the face
    probabilities: NaN with fewer than two faces, where no spread can be estimated.
    """
    faces = frame[frame["status"] == STATUS_OK]
    rows = []
    for group, members in _groups(faces, by):
        total = len(members)
        for emotion in result_classes(frame):
            predicted = int((members["emotion"] == emotion).sum())
            rows.append({"group": group, "emotion": emotion, "faces": predicted, **_share(predicted, total),
                         **_mean_interval(members[emotion].to_numpy(dtype=float))})
    return pd.DataFrame(rows, columns=["group", "emotion", *SUMMARY_FIGURES])


def valence_summary(frame: pd.DataFrame, by: str | None = None, mapping=VALENCE) -> pd.DataFrame:
    """Per valence: faces, their share, and the mean valence probability with a 95% interval.

    Like `emotion_summary`, with a row per valence the model's classes can express (a model of
    angry, sad and neutral has no positive class, so no positive row). A face's valence is the
    CSV's `valence` column (that of its predicted emotion, so shares add up the emotion shares);
    its valence probability is the sum of its class probabilities that `mapping` (the run's,
    `Predictor.valence`) gives that valence.
    """
    faces = frame[frame["status"] == STATUS_OK]
    classes = result_classes(frame)
    labels = faces["valence"] if "valence" in faces else faces["emotion"].map(mapping)  # a CSV from before valence
    rows = []
    for group, members in _groups(faces, by):
        total = len(members)
        for valence in valences_of(classes, mapping):
            summed = members[[name for name in classes if mapping[name] == valence]].sum(axis=1)
            count = int((labels.loc[members.index] == valence).sum())
            rows.append({"group": group, "valence": valence, "faces": count, **_share(count, total),
                         **_mean_interval(summed.to_numpy(dtype=float))})
    return pd.DataFrame(rows, columns=["group", "valence", *SUMMARY_FIGURES])


def valence_verdict(frame: pd.DataFrame, by: str | None = None, mapping=VALENCE) -> str:
    """The headline of an analysis, in words (`verdict`): with `by="group"`, which group's faces read
    most positive (most negative for a model without a positive class) and whether that is beyond
    chance; else the faces' most common valence and its likely range."""
    summary = valence_summary(frame, by=by, mapping=mapping)
    if by is None:
        return describe_one(dict(zip(summary["valence"], summary["faces"].astype(int))))
    reading = "positive" if "positive" in set(summary["valence"]) else VALENCES[-1]
    rows = summary[summary["valence"] == reading]
    totals = summary.groupby("group")["faces"].sum()
    return compare_groups([Tally(row.group, int(row.faces), int(totals[row.group])) for row in rows.itertuples()],
                          reading)


def readable_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """An emotion or valence summary as a lay reader's table: whole percentages, each interval as one
    range ('44–97%'); the columns share_range, score and score_range replace the figures behind them."""
    readable = summary.drop(columns=["share_low", "share_high", "mean_probability", "ci_low", "ci_high"])
    readable["share"] = summary["share"].map(percent)
    readable["share_range"] = [percent_range(*pair) for pair in zip(summary["share_low"], summary["share_high"])]
    readable["score"] = summary["mean_probability"].map(percent)
    readable["score_range"] = [percent_range(*pair) for pair in zip(summary["ci_low"], summary["ci_high"])]
    return readable


def _share(count: int, total: int) -> dict:
    """{share, share_low, share_high}: `count` of `total` and its Wilson 95% interval (NaN for no faces)."""
    low, high = share_interval(count, total)
    return {"share": count / total if total else float("nan"), "share_low": low, "share_high": high}


def _mean_interval(values: np.ndarray) -> dict:
    """{mean_probability, ci_low, ci_high}: the mean of probabilities and its Student's t 95% interval,
    clipped to [0, 1]; the interval is NaN for fewer than two values, the mean for none."""
    total = len(values)
    mean = float(values.mean()) if total else float("nan")
    if total < 2:
        return {"mean_probability": mean, "ci_low": float("nan"), "ci_high": float("nan")}
    half_width = _t95(total - 1) * float(values.std(ddof=1)) / np.sqrt(total)
    return {"mean_probability": mean, "ci_low": max(0.0, mean - half_width), "ci_high": min(1.0, mean + half_width)}


def image_summary(frame: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Per group (or one row 'all'): images, with faces, without, unreadable, faces, no-face share.

    The no-face share is over the images that could be read: an unreadable file says nothing
    about whether the person was facing the camera.
    """
    rows = []
    for group, members in _groups(frame, by):
        status = members.groupby("file")["status"].first()
        unreadable = int(status.str.startswith(STATUS_UNREADABLE).sum())
        no_face = int((status == STATUS_NO_FACE).sum())
        readable = len(status) - unreadable
        rows.append({"group": group, "images": len(status), "with_faces": int((status == STATUS_OK).sum()),
                     "no_face": no_face, "unreadable": unreadable,
                     "faces": int((members["status"] == STATUS_OK).sum()),
                     "no_face_share": no_face / readable if readable else float("nan")})
    return pd.DataFrame(rows, columns=["group", "images", "with_faces", "no_face", "unreadable", "faces",
                                       "no_face_share"])


def format_summary(frame: pd.DataFrame, mapping=VALENCE) -> str:
    """The summary the CLI prints: overall counts, the verdict in words, a table per emotion and per
    valence (`mapping`, the run's), then the shares of each folder side by side."""
    overall = image_summary(frame).iloc[0]
    lines = [(f"{overall['images']} images: {overall['with_faces']} with faces ({overall['faces']} faces), "
              f"{overall['no_face']} without a face, {overall['unreadable']} unreadable")]
    if not overall["faces"]:
        return "\n".join(lines)
    lines.append(valence_verdict(frame, by="group" if has_groups(frame) else None, mapping=mapping))
    tables = {"": emotion_summary(frame).set_index("emotion"),
              "By valence (each face's emotion's; mean p sums its emotions' probabilities):":
                  valence_summary(frame, mapping=mapping).set_index("valence")}
    for title, table in tables.items():
        text = pd.DataFrame({
            "faces": table["faces"],
            "share": table["share"].map("{:.1%}".format),
            "mean p": table["mean_probability"].map("{:.3f}".format),
            "95% CI": [_interval(low, high) for low, high in zip(table["ci_low"], table["ci_high"])],
        })
        text.index.name = None
        lines += ["", *([title] if title else []), text.to_string()]
    if has_groups(frame):
        images = image_summary(frame, by="group").set_index("group")
        shares = emotion_summary(frame, by="group").pivot(index="emotion", columns="group", values="share")
        valences = valence_summary(frame, by="group", mapping=mapping)
        valence_shares = valences.pivot(index="valence", columns="group", values="share")
        side_by_side = pd.concat([
            images[["images", "faces"]].T.astype(int).astype(str),
            images[["no_face_share"]].T.map(percent).rename(index={"no_face_share": "no face"}),
            shares.reindex(list(result_classes(frame))).map(percent),
            # "neutral" names an emotion and a valence: the valence rows say so
            valence_shares.reindex(list(dict.fromkeys(valences["valence"]))).map(percent)
            .rename(index=lambda valence: f"{valence} valence"),
        ])
        side_by_side.columns.name = None
        lines += ["", "By folder (emotions as shares of each folder's faces):", side_by_side.to_string()]
    return "\n".join(lines)


def top_faces(frame: pd.DataFrame, emotion: str, limit: int, group: str | None = None) -> pd.DataFrame:
    """The `limit` most confident faces given `emotion` (only those of `group` when given), best first."""
    faces = frame[(frame["status"] == STATUS_OK) & (frame["emotion"] == emotion)]
    if group is not None:
        faces = faces[faces["group"] == group]
    return faces.nlargest(limit, "confidence")


def shown_faces(frame: pd.DataFrame, per_emotion: int) -> pd.DataFrame:
    """Every face `top_faces` can return: the best `per_emotion` of each emotion, overall and per group."""
    groups = [None, *frame["group"].unique()] if has_groups(frame) else [None]
    rows = set()
    for emotion, group in itertools.product(result_classes(frame), groups):
        rows.update(top_faces(frame, emotion, per_emotion, group).index)
    return frame.loc[sorted(rows)]


def _groups(frame: pd.DataFrame, by: str | None):
    if by is None:
        return [("all", frame)]
    labels = frame[by].replace("", TOP_LEVEL)
    return list(frame.groupby(labels, sort=True))


def _interval(low: float, high: float) -> str:
    return "-" if pd.isna(low) else f"{low:.3f}-{high:.3f}"


def _t95(df: int) -> float:
    """The two-sided 95% critical value of Student's t with `df` degrees of freedom."""
    # Imported here: scipy.stats takes about a second to import, which the app and the CLI
    # would otherwise pay on startup even when no interval is computed.
    from scipy import stats

    return float(stats.t.ppf(0.975, df))
