"""Faces of any size: a first pass that settles photos whose faces are all large, the fine scan
where it does not, and "all", which scans finely always (faces.detection.FIRST_PASS_MARGIN)."""

import pickle

import numpy as np
import pytest

from emotion_core.faces import FACE_SIZES, FaceDetector
from emotion_core.images import load_rgb
from tests.conftest import PHOTOS, needs_photos
from tests.faces.scenes import face_tiles, scene

FINE = FACE_SIZES["any"]  # the fine scan's face size: 6% of the shorter side


@pytest.fixture(scope="module")
def tiles():
    return face_tiles()


@pytest.fixture
def scans(monkeypatch):
    """A YuNet detector that notes the face size (fraction of the shorter side) of each scan it runs."""
    detector = FaceDetector()
    sizes = []
    scan = detector._scan

    def noted(rgb, fraction):
        sizes.append(round(fraction, 3))
        return scan(rgb, fraction)

    monkeypatch.setattr(detector, "_scan", noted)
    return detector, sizes


def eye_line(box) -> float:
    """The eye line's angle in degrees: how far the aligned crop is turned."""
    (left_x, left_y), (right_x, right_y) = box.eyes
    return float(np.degrees(np.arctan2(right_y - left_y, right_x - left_x)))


def assert_same_faces(found, expected):
    """The same faces: as many, in the same places, with eyes where the fine scan put them."""
    assert len(found) == len(expected)
    for a, b in zip(found, expected):
        side = (b.width * b.height) ** 0.5
        assert abs((a.x + a.width / 2) - (b.x + b.width / 2)) <= 0.1 * side
        assert abs((a.y + a.height / 2) - (b.y + b.height / 2)) <= 0.1 * side
        assert abs(a.width - b.width) <= 0.1 * side
        assert np.max(np.abs(np.subtract(a.eyes, b.eyes))) <= 0.05 * side
        # BlazeFace places the landmarks on a crop around the box, and a box a few pixels off
        # turns its eye line by a few degrees (Grace Hopper's face at 22%: -2 against +4; the
        # deployed model still reads the same emotions, docs in BENCHMARKS.md "Face detection").
        assert abs(eye_line(a) - eye_line(b)) <= 8


@needs_photos
@pytest.mark.parametrize("name", ["astronaut.png", "grace_hopper.jpg"])
def test_a_portrait_is_settled_by_the_first_pass_with_the_fine_scans_face(scans, name):
    detector, sizes = scans
    rgb = load_rgb(PHOTOS / name)
    found = detector.detect(rgb)
    assert sizes == [detector.first_pass_reach]  # no fine scan
    assert_same_faces(found, detector.detect(rgb, FACE_SIZES["all"]))


@needs_photos
def test_large_faces_side_by_side_are_settled_by_the_first_pass(scans, tiles):
    detector, sizes = scans
    pair = scene([("astronaut.png", 0.30), ("grace_hopper.jpg", 0.22), ("astronaut.png", 0.25)], tiles)
    found = detector.detect(pair)
    assert sizes == [detector.first_pass_reach]
    assert_same_faces(found, detector.detect(pair, FACE_SIZES["all"]))


@needs_photos
def test_a_photo_with_only_a_small_face_still_finds_it(scans, tiles):
    detector, sizes = scans
    (face,) = detector.detect(scene([("grace_hopper.jpg", 0.07)], tiles))
    assert sizes == [detector.first_pass_reach, FINE]  # the first pass found nothing: fine scan
    assert 0.06 * 640 <= (face.width * face.height) ** 0.5 <= 0.09 * 640


@needs_photos
def test_every_face_of_a_group_photo_at_10_to_14_percent_is_found(scans, tiles):
    detector, sizes = scans
    faces = [(name, size) for name in ("astronaut.png", "grace_hopper.jpg") for size in (0.10, 0.12, 0.14)]
    group = scene(faces, tiles)
    found = detector.detect(group)
    assert len(found) == len(faces)
    assert sizes[-1] == FINE  # faces this small are not left to the first pass
    assert_same_faces(found, detector.detect(group, FACE_SIZES["all"]))


@needs_photos
@pytest.mark.parametrize("large, small", [(0.30, 0.12), (0.40, 0.16), (0.22, 0.09)])
def test_a_large_face_keeps_a_neighbour_of_40_percent_of_its_size(scans, tiles, large, small):
    detector, _ = scans
    selfie = scene([("astronaut.png", large), ("grace_hopper.jpg", small)], tiles)
    big, little = detector.detect(selfie)  # left to right: the large face first
    assert big.width > 2 * little.width


@needs_photos
def test_all_sizes_scans_finely_always(scans, tiles):
    detector, sizes = scans
    portrait = load_rgb(PHOTOS / "astronaut.png")
    selfie = scene([("astronaut.png", 0.30), ("grace_hopper.jpg", 0.07)], tiles)
    assert len(detector.detect(portrait, FACE_SIZES["all"])) == 1
    assert len(detector.detect(selfie, FACE_SIZES["all"])) == 2
    assert sizes == [FINE, FINE]
    # What "all" is for: a face under half its neighbour's size and under the first pass's reach.
    assert len(detector.detect(selfie)) == 1


@needs_photos
def test_a_detector_made_for_all_sizes_scans_finely_without_being_told_per_call(monkeypatch):
    detector = FaceDetector(min_face_fraction=FACE_SIZES["all"])
    sizes = []
    scan = detector._scan
    monkeypatch.setattr(detector, "_scan", lambda rgb, fraction: sizes.append(fraction) or scan(rgb, fraction))
    assert len(detector.detect(load_rgb(PHOTOS / "astronaut.png"))) == 1
    assert sizes == [FINE]


def test_all_sizes_keeps_its_meaning_on_the_way_to_other_processes():
    size = pickle.loads(pickle.dumps(FACE_SIZES["all"]))
    assert size == 0.06 and size.exhaustive
    assert not pickle.loads(pickle.dumps(FACE_SIZES["any"])).exhaustive


@needs_photos
def test_the_cascade_has_no_first_pass(monkeypatch):
    detector = FaceDetector("haar")
    sizes = []
    scan = detector._scan
    monkeypatch.setattr(detector, "_scan", lambda rgb, fraction: sizes.append(fraction) or scan(rgb, fraction))
    assert len(detector.detect(load_rgb(PHOTOS / "grace_hopper.jpg"))) == 1
    assert sizes == [FINE]
