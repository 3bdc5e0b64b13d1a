"""Tests for emotion_core.gallery on generated folder and csv data sets."""

import numpy as np
import pytest
from PIL import Image

from emotion_core import gallery
from emotion_core.datasets import DatasetError, open_dataset, summarize
from emotion_core.labels import EMOTIONS
from tests.conftest import make_image_dataset


def write_csv_dataset(path, rows):
    """A fer2013.csv of (emotion, 4x4 pixel value, usage) rows; each image is one flat grey."""
    lines = ["emotion,pixels,Usage"] + [f"{emotion},{' '.join([str(value)] * 16)},{usage}"
                                        for emotion, value, usage in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_sample_items_draws_per_class_without_repeats_and_repeats_for_a_seed(tiny_dataset):
    dataset = open_dataset(tiny_dataset)
    picks = gallery.sample_items(dataset, "train", per_class=4, seed=3)

    assert list(picks) == list(EMOTIONS)
    for class_name, names in picks.items():
        assert len(names) == len(set(names)) == 4
        assert all(name.startswith(f"train/{class_name}/") for name in names)
    assert gallery.sample_items(dataset, "train", per_class=4, seed=3) == picks
    reshuffled = [gallery.sample_items(dataset, "train", per_class=4, seed=seed) for seed in range(4, 8)]
    assert any(other != picks for other in reshuffled)


def test_sample_items_caps_at_the_class_size_and_lists_empty_classes(isolated_dirs):
    dataset = open_dataset(make_image_dataset(isolated_dirs["data"] / "two", {"train": 2},
                                              class_names=("happy", "sad")))
    picks = gallery.sample_items(dataset, "train", per_class=5)

    assert len(picks["happy"]) == 2 and len(picks["sad"]) == 2
    assert picks["angry"] == [] and picks["neutral"] == []
    with pytest.raises(DatasetError, match="no 'validation' split"):
        gallery.sample_items(dataset, "validation")


def test_folder_thumbnails_are_scaled_and_an_unreadable_file_gives_none(tiny_dataset):
    (tiny_dataset / "train" / "happy" / "broken.png").write_bytes(b"not an image")
    dataset = open_dataset(tiny_dataset)
    names = ["train/happy/train_0.png", "train/happy/broken.png"]

    images = gallery.load_thumbnails(dataset, names, size=96)

    assert list(images) == names
    assert images["train/happy/train_0.png"].size == (96, 96)
    assert images["train/happy/train_0.png"].mode == "L"
    assert images["train/happy/broken.png"] is None
    assert gallery.load_thumbnail(dataset, "train/happy/train_0.png").size == (48, 48)
    with pytest.raises(DatasetError, match="cannot be read"):
        gallery.load_thumbnail(dataset, "train/happy/broken.png")
    with pytest.raises(DatasetError, match="cannot be read"):
        gallery.load_thumbnail(dataset, "../outside.png")


def test_thumbnails_keep_colour_and_enlarge_with_sharp_pixels(isolated_dirs):
    dataset = open_dataset(make_image_dataset(isolated_dirs["data"] / "colour", {"train": 1}, color=True))
    original = gallery.load_thumbnail(dataset, "train/angry/train_0.png")
    doubled = gallery.load_thumbnail(dataset, "train/angry/train_0.png", size=96)

    assert doubled.mode == "RGB" and doubled.size == (96, 96)
    # Nearest-neighbour doubling: every source pixel becomes a 2x2 block of the same colour.
    assert np.array_equal(np.asarray(doubled)[::2, ::2], np.asarray(original))


def test_csv_thumbnails_decode_the_rows_asked_for(isolated_dirs):
    path = write_csv_dataset(isolated_dirs["data"] / "fer2013.csv",
                             [(3, 200, "Training"), (0, 10, "Training"), (4, 90, "PublicTest")])
    dataset = open_dataset(path)
    picks = gallery.sample_items(dataset, "train", per_class=3)
    assert picks["happy"] == ["row 2"] and picks["angry"] == ["row 3"]

    images = gallery.load_thumbnails(dataset, ["row 4", "row 2"])

    assert list(images) == ["row 4", "row 2"]
    assert np.asarray(images["row 4"]).tolist() == [[90] * 4] * 4
    assert np.asarray(images["row 2"]).max() == 200
    assert gallery.load_thumbnail(dataset, "row 3", size=8).size == (8, 8)


def test_duplicate_examples_from_a_summary_by_kind(tiny_dataset):
    # One happy image copied into validation as 'sad' (conflicting, across splits),
    # and one angry image copied within train.
    happy = Image.open(tiny_dataset / "train" / "happy" / "train_0.png")
    happy.save(tiny_dataset / "validation" / "sad" / "copy.png")
    Image.open(tiny_dataset / "train" / "angry" / "train_0.png").save(tiny_dataset / "train" / "angry" / "copy.png")
    summary = summarize(open_dataset(tiny_dataset))

    conflicting = gallery.duplicate_examples(summary, kind="conflicting")
    assert len(conflicting) == 1
    assert {(m["split"], m["label"]) for m in conflicting[0]} == {("train", "happy"), ("validation", "sad")}
    assert gallery.duplicate_examples(summary, kind="across") == conflicting
    within = gallery.duplicate_examples(summary, kind="within")
    assert [{m["file"] for m in group} for group in within] == [{"train/angry/train_0.png", "train/angry/copy.png"}]
    assert len(gallery.duplicate_examples(summary, n=1)) == 1
    # The files a summary names load as thumbnails directly.
    images = gallery.load_thumbnails(open_dataset(tiny_dataset), [m["file"] for m in conflicting[0]])
    assert all(image is not None for image in images.values())
    with pytest.raises(ValueError, match="kind must be"):
        gallery.duplicate_examples(summary, kind="near")


def test_a_large_duplicate_group_shows_its_disagreeing_copies_first():
    group = ([{"split": "train", "file": f"train/angry/{i}.png", "label": "angry"} for i in range(40)]
             + [{"split": "train", "file": "train/fear/a.png", "label": "fear"},
                {"split": "validation", "file": "validation/fear/b.png", "label": "fear"}])

    shown = gallery.members_to_show(group, limit=4)

    assert [(m["split"], m["label"]) for m in shown] == [
        ("train", "angry"), ("train", "fear"), ("validation", "fear"), ("train", "angry")]
    assert gallery.describe_group(group) == "42 copies: train · angry ×40, train · fear ×1, validation · fear ×1"


def test_a_caption_drops_folder_and_extension_and_may_break_only_between_parts():
    assert gallery.caption_name("angry/Training_10118481.jpg") == "Training_\u200b10118481"
    assert gallery.caption_name("row 17") == "row 17"  # a fer2013.csv row
