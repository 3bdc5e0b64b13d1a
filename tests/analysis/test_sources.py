"""Tests for emotion_core.analysis.sources: the images of a folder or a .zip, and their groups."""

from __future__ import annotations

import pytest

from emotion_core.analysis import list_images
from tests.analysis.photos import LAYOUT, zip_folder
from tests.conftest import needs_photos


@needs_photos
def test_list_images_finds_every_image_recursively_in_order_with_its_group(photo_folder):
    sources = list_images(photo_folder)
    assert [source.name for source in sources] == sorted(LAYOUT)
    assert {source.name: source.group for source in sources}["ad_a/nested/a4.png"] == "ad_a"
    assert {source.group for source in sources} == {"ad_a", "ad_b", ""}


@needs_photos
def test_a_zip_of_the_folder_lists_the_same_images_and_groups(photo_folder, tmp_path):
    # Zipping the folder itself puts every name under 'campaign/': that shared folder is no group.
    archive = zip_folder(photo_folder, tmp_path / "photos.zip", prefix="campaign/")
    sources = list_images(archive)
    assert [source.name for source in sources] == ["campaign/" + name for name in sorted(LAYOUT)]
    assert [source.group for source in sources] == [source.group for source in list_images(photo_folder)]
    assert sources[0].read() == (photo_folder / min(LAYOUT)).read_bytes()


def test_list_images_refuses_what_is_not_a_folder_or_zip(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        list_images(tmp_path / "missing")
    (tmp_path / "photo.jpg").write_bytes(b"x")
    with pytest.raises(ValueError, match="neither a folder nor a .zip"):
        list_images(tmp_path / "photo.jpg")
