"""Tests for emotion_core.proxy: the real-face proxy is photo-like, reproducible, and its faces are found."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from emotion_core.faces import FaceDetector
from emotion_core.proxy import build_proxy, proxy_photo
from tests.conftest import PHOTOS, make_image_dataset, needs_photos


def test_every_face_of_the_split_becomes_one_photo_in_its_class_and_a_rebuild_is_identical(isolated_dirs):
    data = make_image_dataset(isolated_dirs["data"] / "faces", {"train": 1, "validation": 2})
    manifest = build_proxy(data, isolated_dirs["data"] / "proxy", limit=1)

    photos = sorted((isolated_dirs["data"] / "proxy" / "validation").glob("*/*.jpg"))
    assert len(photos) == 7 and sorted(manifest["counts"].values()) == [1] * 7  # one a class, by the limit
    assert {photo.parent.name for photo in photos} == set(manifest["counts"])
    for photo in photos:
        image = Image.open(photo)
        assert image.format == "JPEG" and image.mode == "RGB" and image.size in ((640, 480), (480, 640))
    saved = json.loads((isolated_dirs["data"] / "proxy" / "proxy.json").read_text())
    assert saved["split"] == "validation" and saved["seed"] == 0

    before = [photo.read_bytes() for photo in photos]
    build_proxy(data, isolated_dirs["data"] / "proxy", limit=1)
    assert [photo.read_bytes() for photo in photos] == before


def test_a_split_the_data_set_lacks_is_refused_in_one_line(isolated_dirs):
    data = make_image_dataset(isolated_dirs["data"] / "faces", {"train": 1})
    with pytest.raises(ValueError, match="faces has no validation split to build a proxy from"):
        build_proxy(data, isolated_dirs["data"] / "proxy")


@needs_photos
def test_a_real_face_in_a_proxy_photo_is_found_where_it_was_put_at_every_seed():
    detector = FaceDetector()
    portrait = np.asarray(Image.open(PHOTOS / "grace_hopper.jpg").convert("RGB"))
    (box,) = detector.detect(portrait)
    face = Image.fromarray(portrait).convert("L").crop((box.x, box.y, box.x + box.width, box.y + box.height))
    face = np.asarray(face.resize((48, 48)))  # a FER2013-sized crop of a real face

    for seed in range(6):
        photo = np.asarray(Image.open(io.BytesIO(proxy_photo(face, np.random.default_rng(seed)))))
        found = detector.detect(photo)
        assert len(found) == 1, f"seed {seed}: {len(found)} faces"
        assert found[0].width > 40  # the upscaled face, not a speck of background
