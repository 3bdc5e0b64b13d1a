"""Adding test sets: a labelled folder under the data root, or an uploaded .zip of class folders.

A refused zip or folder gets one line and leaves the data root as it was.
"""

import io
import zipfile

import pytest
from PIL import Image

from emotion_core import storage
from emotion_core.analysis import sources
from emotion_core.datasets import DatasetError, data_root, find_datasets, open_dataset
from emotion_core.testsets import add_folder, add_zip, catalog, get_set, list_sets, remove_set
from tests.conftest import make_image_dataset
from tests.studies.test_folders import free_disk, zip_bomb
from tests.studies.test_folders import zip_of as zipped


def png(size=(48, 48), value=120) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, value).save(buffer, "PNG")
    return buffer.getvalue()


def data_root_listing() -> list[str]:
    return sorted(path.relative_to(data_root()).as_posix() for path in data_root().rglob("*"))


def test_a_zip_of_class_folders_becomes_a_test_split_under_the_data_root_named_after_the_file():
    data = zipped({"happy/a.png": png(), "happy/b.png": png(), "Sadness/c.png": png(), "sad/nested/d.png": png(),
                   "__MACOSX/happy/._a.png": b"junk", "notes.txt": b"not an image"})

    testset = add_zip("My posed faces.zip", data)

    assert (testset.name, testset.split, testset.kind, testset.source) == ("My-posed-faces", "test", "crops",
                                                                          "My posed faces.zip")
    dataset = open_dataset(testset.path, require_train=False)
    assert dataset.counts()["test"]["happy"] == 2 and dataset.counts()["test"]["sad"] == 2  # Sadness is sad
    assert (testset.path / "test" / "sad" / "nested" / "d.png").is_file()
    assert list_sets() == [testset]
    assert [path.name for path in find_datasets(require_train=False)] == ["My-posed-faces"]
    assert [path.name for path in find_datasets()] == []  # not a training set: no train/


def test_a_zipped_folder_of_a_data_sets_splits_keeps_its_splits_and_large_images_read_as_photos():
    data = zipped({"holdout/test/happy/a.jpg": png((640, 480)), "holdout/test/angry/b.jpg": png((480, 640)),
                   "holdout/validation/happy/c.jpg": png((640, 480))})

    testset = add_zip("holdout.zip", data, name="real")

    assert (testset.name, testset.split, testset.kind) == ("real", "test", "photos")
    assert open_dataset(testset.path, require_train=False).splits == ["validation", "test"]


@pytest.mark.parametrize("data, reason", [
    (b"PK\x03\x04 not really", "posed.zip is not a valid .zip file"),
    (zipped({"a.txt": b"text"}), "posed.zip holds no images"),
    (zipped({"cats/a.png": png(), "dogs/b.png": png()}), "posed.zip has no class folders of images"),
    (zipped({"happy/a.png": png(), "../happy/b.png": png()}),
     "posed.zip holds a path outside its folder (../happy/b.png): refused"),
    (zipped({"/happy/b.png": png()}), "posed.zip holds a path outside its folder (/happy/b.png): refused"),
])
def test_a_bad_zip_is_refused_in_one_line_and_leaves_nothing_behind(data, reason):
    make_image_dataset(data_root() / "kept", {"test": 1})
    before = data_root_listing()

    with pytest.raises(DatasetError) as refused:
        add_zip("posed.zip", data)

    assert str(refused.value).startswith(reason) and "\n" not in str(refused.value)
    assert data_root_listing() == before and list_sets() == []


def test_a_zip_over_the_limits_or_with_a_taken_name_is_refused_before_anything_is_unpacked(monkeypatch):
    monkeypatch.setattr(catalog, "MAX_SET_IMAGES", 2)
    with pytest.raises(DatasetError, match="holds 3 images; a test set takes at most 2"):
        add_zip("posed.zip", zipped({f"happy/{n}.png": png() for n in range(3)}))
    make_image_dataset(data_root() / "posed", {"test": 1})
    with pytest.raises(DatasetError, match="a data set named posed is already under the data root"):
        add_zip("posed.zip", zipped({"happy/a.png": png()}))
    assert list_sets() == [] and [path.name for path in data_root().iterdir()] == ["posed"]


def test_a_zip_bomb_or_a_set_the_disk_cannot_hold_is_refused_and_members_are_unpacked_in_chunks(monkeypatch):
    monkeypatch.setattr(sources, "ZIP_BOMB_FLOOR", 2**20)
    with pytest.raises(DatasetError, match=r"^bomb.zip claims to unpack to 2 MB from 0.0 MB.*zip bomb\.$"):
        add_zip("bomb.zip", zip_bomb(2))
    data = zipped({"happy/a.png": png(), "sad/b.png": png()})
    free_disk(monkeypatch, storage.MIN_FREE_BYTES)
    with pytest.raises(DatasetError, match="^posed.zip unpacked needs 0 MB on this server's disk"):
        add_zip("posed.zip", data)
    assert list_sets() == [] and data_root_listing() == []
    free_disk(monkeypatch, 2**30)

    def whole(*args, **kwargs):
        raise AssertionError("a member was read into memory whole")

    monkeypatch.setattr(zipfile.ZipFile, "read", whole)  # each image is copied to disk through a stream
    testset = add_zip("posed.zip", data)
    assert (testset.path / "test" / "happy" / "a.png").read_bytes() == png()


def test_a_folder_under_the_data_root_is_added_once_on_its_test_split_and_removed_without_its_files():
    make_image_dataset(data_root() / "holdout", {"validation": 1, "test": 2}, size=48)

    testset = add_folder("holdout")
    assert (testset.split, testset.kind, testset.source) == ("test", "crops", "folder")
    assert get_set("holdout") == testset
    with pytest.raises(DatasetError, match="holdout is a test set already"):
        add_folder("holdout")
    with pytest.raises(DatasetError, match="no labelled folder named 'elsewhere'"):
        add_folder("elsewhere")
    with pytest.raises(DatasetError, match="a test set holds crops or photos, not 'videos'"):
        add_zip("x.zip", zipped({"happy/a.png": png()}), kind="videos")

    remove_set("holdout")
    assert list_sets() == [] and (data_root() / "holdout" / "test").is_dir()


def test_a_folder_is_taken_by_its_path_under_the_data_root_but_not_from_elsewhere_nor_the_training_set(
        trained_runs, tmp_path):
    make_image_dataset(data_root() / "holdout", {"test": 1})
    assert add_folder(str(data_root() / "holdout")).name == "holdout"

    elsewhere = make_image_dataset(tmp_path / "elsewhere", {"test": 1})
    with pytest.raises(DatasetError, match=f"elsewhere is not under the data root {data_root()}: link it there"):
        add_folder(str(elsewhere))
    with pytest.raises(DatasetError, match="tiny is the data set runs here trained on"):
        add_folder("tiny")
    assert [testset.name for testset in list_sets()] == ["holdout"]
