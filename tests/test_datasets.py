"""emotion_core.datasets: every layout users download, the summary's findings, cached loading."""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emotion_core import cli, datasets
from emotion_core.datasets import (DatasetError, data_root, dataset_version, find_datasets, format_summary,
                                   is_grayscale, load_split, open_dataset, recorded_summary, shared_images_note,
                                   stratified_split, structure_notes, summarize)
from emotion_core.labels import EMOTIONS
from tests.conftest import make_image_dataset

PER_CLASS = {"train": 2, "validation": 1}


def per_class(count: int) -> dict[str, int]:
    return {name: count for name in EMOTIONS}


def make_fer_csv(path: Path, rows: list[tuple[str, str, str]]) -> Path:
    """Write a fer2013.csv from (emotion, pixels, Usage) rows."""
    lines = ["emotion,pixels,Usage"] + [",".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def pixels_text(value: int, side: int = 48) -> str:
    return " ".join([str(value)] * (side * side))


# --- layouts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("nesting, folders, expected", [
    ("", ("train", "validation"), ("train", "validation")),
    ("images", ("train", "validation"), ("train", "validation")),  # the Kaggle "images/" layout
    ("fer2013", ("train", "validation"), ("train", "validation")),  # unzipped into a single child
    ("", ("train", "valid", "test"), ("train", "validation", "test")),
    ("", ("train", "test"), ("train", "test")),
    ("", ("Training", "val", "Testing"), ("train", "validation", "test")),
])
def test_every_folder_layout_opens_with_canonical_split_names(tmp_path, nesting, folders, expected):
    root = tmp_path / "set"
    make_image_dataset(root / nesting if nesting else root, {folder: 2 for folder in folders})

    dataset = open_dataset(root)

    assert dataset.kind == "folders"
    assert dataset.splits == list(expected)
    assert dataset.counts() == {split: per_class(2) for split in expected}
    for split, folder in zip(expected, folders):
        assert dataset.split_folders[split] == str(Path(nesting) / folder)
        assert all((root / relative).is_file() for relative, _ in dataset.items[split])


def test_class_folder_aliases_map_to_canonical_labels(tmp_path):
    root = make_image_dataset(tmp_path / "aliases", {"train": 3},
                              class_names=("Happiness", "anger", "surprised", "Sadness"))

    counts = open_dataset(root).counts()["train"]

    assert counts == {**per_class(0), "happy": 3, "angry": 3, "surprise": 3, "sad": 3}
    x, y = load_split(open_dataset(root), "train")
    assert sorted(np.bincount(y, minlength=7).tolist()) == [0, 0, 0, 3, 3, 3, 3]
    assert set(y) == {EMOTIONS.index(name) for name in ("happy", "angry", "surprise", "sad")}


def test_unknown_class_folders_are_skipped_and_listed(tmp_path):
    root = make_image_dataset(tmp_path / "set", PER_CLASS)
    make_image_dataset(root, {"train": 2, "validation": 1}, class_names=("contempt", "selfies"), seed=1)

    dataset = open_dataset(root)

    assert dataset.unknown_classes == ["contempt", "selfies"]
    assert dataset.counts() == {"train": per_class(2), "validation": per_class(1)}
    assert not any("contempt" in relative for relative, _ in dataset.items["train"])
    assert "skipped unknown class folders: contempt, selfies" in format_summary(summarize(dataset))


def test_an_empty_class_folder_is_listed_and_counts_zero(tmp_path):
    root = make_image_dataset(tmp_path / "set", PER_CLASS, class_names=("happy", "sad"))
    (root / "train" / "disgust").mkdir()

    dataset = open_dataset(root)

    assert dataset.empty_classes == ["train/disgust"]
    assert dataset.counts()["train"]["disgust"] == 0
    assert dataset.counts()["train"]["happy"] == 2


def test_an_empty_validation_folder_reads_as_a_missing_split(tmp_path):
    # Otherwise training would "validate" on zero images instead of carving from train.
    root = make_image_dataset(tmp_path / "set", {"train": 2})
    (root / "validation" / "happy").mkdir(parents=True)

    dataset = open_dataset(root)

    assert dataset.splits == ["train"]
    assert dataset.empty_classes == ["validation/happy"]
    assert summarize(dataset)["missing_splits"] == ["validation", "test"]


def test_a_missing_train_split_is_refused_with_a_clear_message(tmp_path):
    root = make_image_dataset(tmp_path / "set", {"validation": 1, "test": 1})

    with pytest.raises(DatasetError, match=r"has test, validation but no train/"):
        open_dataset(root)


def test_a_train_split_without_known_classes_is_refused(tmp_path):
    root = make_image_dataset(tmp_path / "set", {"train": 1}, class_names=("selfies",))

    with pytest.raises(DatasetError, match="train split holds no images of known classes"):
        open_dataset(root)


def test_a_folder_that_is_not_a_data_set_is_refused(tmp_path):
    folder = tmp_path / "holiday"
    (folder / "beach").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(folder / "beach" / "sea.jpg")

    with pytest.raises(DatasetError, match="has no split folders"):
        open_dataset(folder)


def test_a_file_that_is_not_a_csv_is_refused(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("emotion,pixels,Usage\n")

    with pytest.raises(DatasetError, match="is a file but not a fer2013-style .csv"):
        open_dataset(notes)


def test_a_missing_path_names_the_data_root(isolated_dirs):
    with pytest.raises(DatasetError, match="No data set at 'nowhere'") as raised:
        open_dataset("nowhere")
    assert str(isolated_dirs["data"]) in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_name_under_the_data_root_resolves(tiny_dataset):
    assert open_dataset("tiny").path == tiny_dataset


def test_the_data_root_is_the_folder_given_else_the_environments(isolated_dirs, tmp_path, tiny_dataset):
    assert data_root() == data_root(None) == isolated_dirs["data"]
    assert data_root(tmp_path / "elsewhere") == tmp_path / "elsewhere"
    assert find_datasets() == [tiny_dataset] and find_datasets(tmp_path / "elsewhere") == []


def test_the_version_changes_when_an_image_comes_or_goes(tiny_dataset):
    def age_everything():
        for path in [tiny_dataset, *tiny_dataset.rglob("*")]:
            os.utime(path, (1_000_000, 1_000_000))  # 1970: any change made now is newer

    age_everything()
    assert dataset_version(tiny_dataset) == 1_000_000
    shutil.copy(tiny_dataset / "train" / "happy" / "train_0.png", tiny_dataset / "train" / "happy" / "new.png")
    assert dataset_version(tiny_dataset) > 1_000_000

    age_everything()
    (tiny_dataset / "validation" / "sad" / "validation_0.png").unlink()
    assert dataset_version(tiny_dataset) > 1_000_000


GRAY_AS_RGB = np.stack([np.arange(20).reshape(4, 5)] * 3, axis=-1)  # (4, 5, 3), equal channels
ONE_BLUE_PIXEL = GRAY_AS_RGB.copy()
ONE_BLUE_PIXEL[0, 0, 2] += 1


@pytest.mark.parametrize("pixels, gray", [
    (np.zeros((4, 5), np.uint8), True),  # an "L" image
    (GRAY_AS_RGB, True),
    (ONE_BLUE_PIXEL, False),
    (np.zeros((3, 4, 5, 1)), True),  # a stack of one-channel faces, as training loads them
    (np.stack([GRAY_AS_RGB, GRAY_AS_RGB]), True),
    (np.stack([GRAY_AS_RGB, ONE_BLUE_PIXEL]), False),
])
def test_an_image_or_a_stack_is_gray_when_its_channels_agree(pixels, gray):
    assert is_grayscale(pixels) is gray


# --- fer2013.csv ----------------------------------------------------------------------------------


@pytest.fixture
def fer_csv(tmp_path) -> Path:
    """Three training rows (one with broken pixels), two public and two private test rows."""
    return make_fer_csv(tmp_path / "fer2013.csv", [
        ("0", pixels_text(10), "Training"),
        ("3", pixels_text(20), "Training"),
        ("3", "1 2 3", "Training"),  # row 4: three values are not a square image
        ("6", pixels_text(30), "Training"),
        ("3", pixels_text(40), "PublicTest"),
        ("4", pixels_text(50), "PublicTest"),
        ("5", pixels_text(60), "PrivateTest"),
        ("2", pixels_text(70), "PrivateTest"),
    ])


def test_fer_csv_usages_become_splits(fer_csv):
    dataset = open_dataset(fer_csv)

    assert dataset.kind == "csv"
    assert dataset.name == "fer2013"
    assert dataset.splits == ["train", "validation", "test"]
    counts = dataset.counts()
    assert counts["train"] == {**per_class(0), "angry": 1, "happy": 2, "neutral": 1}
    assert counts["validation"] == {**per_class(0), "happy": 1, "sad": 1}
    assert counts["test"] == {**per_class(0), "surprise": 1, "fear": 1}


def test_a_folder_holding_only_fer_csv_opens_the_csv(fer_csv):
    assert open_dataset(fer_csv.parent).path == fer_csv


def test_a_malformed_pixels_row_is_listed_as_unreadable_and_skipped_by_loading(fer_csv):
    dataset = open_dataset(fer_csv)

    summary = summarize(dataset)
    x, y = load_split(dataset, "train")

    assert summary["unreadable"] == [
        {"split": "train", "file": "row 4", "error": "3 pixel values do not make a square 8-bit image"}
    ]
    assert summary["sizes"] == {"48x48": 7}
    assert summary["color"] == {"grayscale": 7, "color": 0}
    assert x.shape == (3, 48, 48, 1) and x.dtype == np.uint8
    assert y.tolist() == [0, 3, 6]
    assert x[:, 0, 0, 0].tolist() == [10, 20, 30]


def test_csv_rows_with_a_bad_label_or_usage_are_left_out_and_reported(tmp_path):
    path = make_fer_csv(tmp_path / "fer2013.csv", [
        ("3", pixels_text(1, 4), "Training"),
        ("9", pixels_text(2, 4), "Training"),
        ("", pixels_text(3, 4), "Training"),
        ("1", pixels_text(4, 4), "Holdout"),
    ])

    dataset = open_dataset(path)
    unreadable = summarize(dataset)["unreadable"]

    assert dataset.counts()["train"]["happy"] == 1
    assert sum(dataset.counts()["train"].values()) == 1
    assert [entry["file"] for entry in unreadable] == ["row 3", "row 4", "row 5"]
    assert "emotion '9' is not 0-6" in unreadable[0]["error"]
    assert "Usage 'Holdout'" in unreadable[2]["error"]


def test_a_csv_saved_with_a_byte_order_mark_opens(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_text("\ufeffemotion,pixels,Usage\n3," + pixels_text(5, 4) + ",Training\n", encoding="utf-8")

    assert open_dataset(path).counts()["train"]["happy"] == 1


@pytest.mark.parametrize("content, reason", [
    (b"\xff\xfe\x00e\x00m\x00o", "not a readable text csv"),
    (b"name,age\nada,36\n", "lacks the column"),
    (b"emotion,pixels,Usage\n3,1 2 3 4,PublicTest\n", "no Training rows"),
])
def test_a_csv_that_is_not_fer2013_is_refused(tmp_path, content, reason):
    path = tmp_path / "other.csv"
    path.write_bytes(content)

    with pytest.raises(DatasetError, match=reason):
        open_dataset(path)


# --- summary ----------------------------------------------------------------------------------------


def test_summary_counts_every_split_and_class(tmp_path):
    root = make_image_dataset(tmp_path / "set", {"train": 3, "test": 1})

    summary = summarize(open_dataset(root))

    assert summary["classes"] == list(EMOTIONS)
    assert summary["splits"]["train"] == {"folder": "train", "total": 21, "counts": per_class(3)}
    assert summary["splits"]["test"]["total"] == 7
    assert summary["missing_splits"] == ["validation"]
    assert summary["unreadable"] == [] and summary["duplicates"]["groups"] == 0
    text = format_summary(summary)
    assert "missing splits: validation" in text
    assert "total" in text and "21" in text


def test_summary_tells_grayscale_from_colour_and_lists_sizes(tmp_path):
    root = make_image_dataset(tmp_path / "set", {"train": 2}, size=48)
    make_image_dataset(root, {"validation": 1}, size=64, color=True, seed=1)
    # A grey face saved as RGB (equal channels) is grayscale, whatever the file's mode.
    grey = np.random.default_rng(2).integers(0, 256, (48, 48), dtype=np.uint8)
    Image.fromarray(np.stack([grey] * 3, axis=-1)).save(root / "train" / "happy" / "rgb_grey.png")

    summary = summarize(open_dataset(root))

    assert summary["color"] == {"grayscale": 15, "color": 7}
    assert summary["sizes"] == {"48x48": 15, "64x64": 7}


def test_unreadable_files_are_listed_with_their_error_and_never_crash(tmp_path):
    root = make_image_dataset(tmp_path / "set", PER_CLASS)
    happy = root / "train" / "happy"
    (happy / "notes.jpg").write_text("not an image")
    whole = (happy / "train_0.png").read_bytes()
    (happy / "cut.png").write_bytes(whole[: len(whole) // 2])

    dataset = open_dataset(root)
    summary = summarize(dataset)
    x, y = load_split(dataset, "train")

    listed = {entry["file"]: entry for entry in summary["unreadable"]}
    assert set(listed) == {"train/happy/cut.png", "train/happy/notes.jpg"}
    assert "cannot identify image file" in listed["train/happy/notes.jpg"]["error"]
    assert "truncated" in listed["train/happy/cut.png"]["error"]
    assert all(entry["split"] == "train" for entry in listed.values())
    assert summary["splits"]["train"]["counts"]["happy"] == 4  # files found, two of them unreadable
    assert x.shape == (14, 48, 48, 1) and len(y) == 14
    assert "unreadable files: 2" in format_summary(summary)


def test_duplicates_within_and_across_splits_and_with_conflicting_labels(tmp_path):
    root = make_image_dataset(tmp_path / "set", PER_CLASS)
    train, validation = root / "train", root / "validation"
    shutil.copy(train / "happy" / "train_0.png", train / "happy" / "copy.png")  # within train
    shutil.copy(train / "sad" / "train_0.png", validation / "sad" / "copy.png")  # across splits
    shutil.copy(train / "angry" / "train_0.png", train / "fear" / "copy.png")  # within, other label
    # The same pixels in a different file format still count as a copy.
    Image.open(validation / "neutral" / "validation_0.png").save(validation / "neutral" / "again.bmp")

    duplicates = summarize(open_dataset(root))["duplicates"]

    assert duplicates["groups"] == 4
    assert duplicates["extra_copies"] == 4
    assert duplicates["within_split"] == {"train": 2, "validation": 1}
    assert duplicates["across_splits"] == 1
    assert duplicates["conflicting_labels"] == 1
    conflicting = [group for group in duplicates["examples"] if len({m["label"] for m in group}) > 1]
    assert sorted(m["label"] for m in conflicting[0]) == ["angry", "fear"]


def test_summary_is_cached_by_fingerprint(tmp_path, monkeypatch):
    root = make_image_dataset(tmp_path / "set", PER_CLASS)
    first = summarize(open_dataset(root))

    def no_decoding(*args):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(datasets, "iter_decoded", no_decoding)
    assert summarize(open_dataset(root)) == first
    with pytest.raises(AssertionError, match="decoded again"):
        summarize(open_dataset(root), use_cache=False)


# --- fingerprint and loading ---------------------------------------------------------------------


def test_fingerprint_is_stable_and_changes_when_a_file_is_added(tmp_path):
    root = make_image_dataset(tmp_path / "set", PER_CLASS)
    before = open_dataset(root).fingerprint()

    assert open_dataset(root).fingerprint() == before
    assert open_dataset(shutil.copytree(root, tmp_path / "elsewhere" / "set")).fingerprint() == before

    shutil.copy(root / "train" / "sad" / "train_0.png", root / "train" / "sad" / "new.png")
    assert open_dataset(root).fingerprint() != before


@pytest.mark.parametrize("color_mode, channels", [("grayscale", 1), ("rgb", 3)])
def test_load_split_gives_uint8_images_and_labels(tmp_path, color_mode, channels):
    root = make_image_dataset(tmp_path / "set", PER_CLASS, color=color_mode == "rgb")
    dataset = open_dataset(root)

    x, y = load_split(dataset, "train", 48, color_mode)

    assert x.shape == (14, 48, 48, channels) and x.dtype == np.uint8
    assert y.dtype == np.int64
    assert np.bincount(y).tolist() == [2] * 7
    first_path, first_label = dataset.items["train"][0]
    expected = np.asarray(Image.open(root / first_path).convert("L" if channels == 1 else "RGB"))
    np.testing.assert_array_equal(x[0].squeeze(), expected)
    assert y[0] == first_label


def test_load_split_resizes_larger_images(tmp_path):
    root = make_image_dataset(tmp_path / "set", {"train": 1}, size=64)

    x, _ = load_split(open_dataset(root), "train", image_size=48)

    assert x.shape == (7, 48, 48, 1)
    # Area averaging keeps each face's overall brightness (the labels differ by brightness).
    source = np.asarray(Image.open(root / open_dataset(root).items["train"][0][0]), dtype=np.float64)
    assert abs(x[0].mean() - source.mean()) < 2


def test_a_second_load_comes_from_the_cache(tmp_path, isolated_dirs, monkeypatch):
    root = make_image_dataset(tmp_path / "set", PER_CLASS)
    dataset = open_dataset(root)
    x, y = load_split(dataset, "validation", 48, "grayscale")

    cached = list(isolated_dirs["cache"].glob("*.npz"))
    assert [path.name for path in cached] == [f"set-{dataset.fingerprint()}-validation-48-grayscale.npz"]

    def no_decoding(*args):
        raise AssertionError("decoded again instead of reading the cache")

    monkeypatch.setattr(datasets, "iter_decoded", no_decoding)
    x_again, y_again = load_split(open_dataset(root), "validation", 48, "grayscale")
    np.testing.assert_array_equal(x_again, x)
    np.testing.assert_array_equal(y_again, y)
    with pytest.raises(AssertionError, match="decoded again"):
        load_split(dataset, "validation", 32, "grayscale")  # another size is another cache entry


def test_a_changed_data_set_is_decoded_again(tmp_path):
    root = make_image_dataset(tmp_path / "set", PER_CLASS)
    assert len(load_split(open_dataset(root), "train")[0]) == 14

    shutil.copy(root / "train" / "sad" / "train_0.png", root / "train" / "sad" / "new.png")

    assert len(load_split(open_dataset(root), "train")[0]) == 15


def test_load_split_refuses_a_missing_split_and_a_bad_colour_mode(tiny_dataset):
    dataset = open_dataset(tiny_dataset)

    with pytest.raises(DatasetError, match="has no 'test' split"):
        load_split(dataset, "test")
    with pytest.raises(DatasetError, match="color mode must be grayscale or rgb"):
        load_split(dataset, "train", color_mode="cmyk")


def test_stratified_split_keeps_every_class_share():
    sizes = {0: 50, 3: 20, 5: 10, 6: 3}
    labels = np.repeat(list(sizes), list(sizes.values()))
    np.random.default_rng(0).shuffle(labels)

    kept, held_out = stratified_split(labels, 0.2, seed=1)

    assert np.intersect1d(kept, held_out).size == 0
    assert np.union1d(kept, held_out).tolist() == list(range(len(labels)))
    held_counts = {label: int((labels[held_out] == label).sum()) for label in sizes}
    assert held_counts == {0: 10, 3: 4, 5: 2, 6: 1}  # a fifth of each, at least one of every class
    assert set(labels[kept]) == set(sizes)
    again, _ = stratified_split(labels, 0.2, seed=1)
    other, _ = stratified_split(labels, 0.2, seed=2)
    np.testing.assert_array_equal(again, kept)
    assert not np.array_equal(other, kept)


# --- finding data sets and the command line -----------------------------------------------------


def test_find_datasets_lists_data_sets_and_ignores_other_folders(isolated_dirs, tiny_dataset):
    root = isolated_dirs["data"]
    make_fer_csv(root / "fer2013.csv", [("3", pixels_text(1, 4), "Training")])
    make_image_dataset(root / "kaggle" / "images", {"train": 1, "validation": 1})
    (root / "photos").mkdir()
    Image.new("RGB", (8, 8)).save(root / "photos" / "me.jpg")
    (root / "README.txt").write_text("where the data lives")
    (root / "latin1.csv").write_bytes("émotion,pixels\n".encode("latin-1"))
    make_image_dataset(root / ".hidden", {"train": 1})

    assert find_datasets() == [root / "fer2013.csv", root / "kaggle", tiny_dataset]


def test_find_datasets_of_a_missing_root_is_empty(tmp_path):
    assert find_datasets(tmp_path / "nowhere") == []


def test_cli_data_summary_prints_json_counts(tiny_dataset, capsys):
    assert cli.main(["data", "summary", str(tiny_dataset), "--json"]) == 0

    summary = json.loads(capsys.readouterr().out)
    assert summary["splits"]["train"]["counts"] == per_class(6)
    assert summary["splits"]["validation"]["total"] == 21


def test_cli_data_list_names_each_data_set(tiny_dataset, capsys):
    assert cli.main(["data", "list"]) == 0

    assert capsys.readouterr().out.split() == ["tiny", "folders", "train", "42,", "validation", "21"]


def test_cli_data_summary_of_a_missing_path_fails_in_one_line(capsys):
    assert cli.main(["data", "summary", "/nonexistent"]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("error: No data set at '/nonexistent'")


def test_structure_notes_say_what_a_missing_split_means_without_misreading(tmp_path):
    with_validation = summarize(open_dataset(make_image_dataset(tmp_path / "two", {"train": 2, "validation": 1})))
    train_only = summarize(open_dataset(make_image_dataset(tmp_path / "one", {"train": 2})))

    # Only the test split is absent: not a problem, and validation is said to be there.
    assert structure_notes(with_validation) == [
        (False, "No test split (train and validation are here): accuracy is measured on validation.")]
    assert structure_notes(train_only) == [
        (True, "No validation split and no test split: training sets aside part of train to measure accuracy on.")]


def test_validation_copies_of_training_images_get_one_sentence_and_the_summary_is_read_back(isolated_dirs):
    root = make_image_dataset(isolated_dirs["data"] / "set", {"train": 2, "validation": 2})
    shutil.copy(root / "train" / "happy" / "train_0.png", root / "validation" / "happy" / "copy.png")
    dataset = open_dataset(root)
    assert recorded_summary("set", dataset.fingerprint()) is None  # never computed here yet

    summary = summarize(dataset)

    assert shared_images_note(summary) == ("1 of the 15 validation images (7%) is an exact copy of a training image, "
                                           "which the model has seen, so its validation accuracy reads a little high.")
    assert recorded_summary("set", dataset.fingerprint()) == summary  # what a run's dataset.json points to
    assert shared_images_note(summarize(open_dataset(make_image_dataset(isolated_dirs["data"] / "clean",
                                                                        {"train": 2, "validation": 2})))) is None
