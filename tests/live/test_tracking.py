"""Face tracks: identities kept across the frames of a moving face, probabilities smoothed."""

import pytest

from emotion_core.faces import FACE_SIZES, FaceBox, FaceDetector
from emotion_core.labels import EMOTIONS
from emotion_core.live import FaceTracker, box_iou, smoothing_weight
from tests.conftest import needs_photos
from tests.live.frames import moving_frames, two_face_frame



def reading(**shares) -> dict[str, float]:
    """A model's probabilities, {emotion: p} in EMOTIONS order, from the shares given."""
    return {name: float(shares.get(name, 0.0)) for name in EMOTIONS}


HAPPY, SAD = reading(happy=1.0), reading(sad=1.0)
FRAME = 1 / 15  # seconds between two frames of a 15 fps camera


def box(x, y, side=100):
    return FaceBox(x, y, side, side, 0.9)


def test_box_iou_of_boxes_that_overlap_by_half_and_not_at_all():
    assert box_iou(box(0, 0), box(0, 0)) == 1.0
    assert box_iou(box(0, 0), box(50, 0)) == pytest.approx(50 * 100 / (2 * 100 * 100 - 50 * 100))
    assert box_iou(box(0, 0), box(100, 0)) == 0.0


def test_smoothing_weight_halves_an_old_reading_after_one_half_life():
    assert smoothing_weight(0.3, half_life=0.3) == pytest.approx(0.5)
    assert smoothing_weight(0.6, half_life=0.3) == pytest.approx(0.75)
    assert smoothing_weight(0.1, half_life=0.0) == 1.0  # smoothing off


def test_smoothed_probabilities_converge_to_a_new_expression_and_stay_a_distribution():
    tracker = FaceTracker(half_life=0.3)
    tracker.update([(box(100, 100), HAPPY)], now=0.0)
    labels, now = [], 0.0
    for _frame in range(30):  # two seconds of a sad face
        now += FRAME
        (track,) = tracker.update([(box(100, 100), SAD)], now)
        labels.append(track.label)
        assert track.scores.sum() == pytest.approx(1.0)
    # One frame later the face still reads happy (no flicker); within half a second it reads sad.
    assert labels[0] == "happy"
    assert labels.index("sad") <= round(0.5 / FRAME)
    assert track.probabilities["sad"] > 0.98


@pytest.mark.parametrize("half_life, flips", [(0.0, 19), (0.3, 0)])
def test_a_flickering_reading_flips_the_label_only_without_smoothing(half_life, flips):
    tracker = FaceTracker(half_life=half_life)
    usual, misread = reading(happy=0.6, sad=0.4), reading(happy=0.4, sad=0.6)  # every third frame reads sad
    labels = [tracker.update([(box(100, 100), misread if i % 3 == 2 else usual)], i * FRAME)[0].label
              for i in range(30)]
    assert sum(a != b for a, b in zip(labels, labels[1:])) == flips


def test_tracks_keep_their_numbers_when_two_faces_move_and_one_leaves():
    tracker = FaceTracker()
    for step in range(10):
        tracks = tracker.update([(box(50 + 8 * step, 100), HAPPY), (box(400 - 8 * step, 120), SAD)], step * FRAME)
        assert [(t.number, t.label) for t in tracks] == [(1, "happy"), (2, "sad")]
    # The sad face leaves; its track is kept a moment (a blink, a turn) and then forgotten.
    now = 10 * FRAME
    assert len(tracker.update([(box(130, 100), HAPPY)], now)) == 2
    assert [t.number for t in tracker.update([(box(138, 100), HAPPY)], now + 1.0)] == [1]
    # Someone new arrives: the free number 2 again, not 3.
    assert [t.number for t in tracker.update([(box(146, 100), HAPPY), (box(400, 100), SAD)], now + 1.1)] == [1, 2]


def test_a_face_that_jumps_less_than_its_width_keeps_its_track_one_further_does_not():
    tracker = FaceTracker()
    tracker.update([(box(100, 100), HAPPY)], 0.0)
    assert [t.number for t in tracker.update([(box(180, 100), HAPPY)], FRAME)] == [1]  # IoU 0.11, shift 0.8
    numbers = [t.number for t in tracker.update([(box(400, 100), HAPPY)], 2 * FRAME)]
    assert numbers == [1, 2]  # a new face; the old track waits to be forgotten


@needs_photos
def test_a_real_moving_face_keeps_one_identity_through_its_frames():
    detector = FaceDetector()
    tracker = FaceTracker()
    lefts, numbers = [], set()
    for index, frame in enumerate(moving_frames("astronaut.png", 30, sway=150)):
        boxes = detector.detect(frame, FACE_SIZES["large"])
        assert len(boxes) == 1
        tracks = tracker.update([(boxes[0], HAPPY)], index * FRAME)
        numbers.update(t.number for t in tracks)
        lefts.append(boxes[0].x)
    assert numbers == {1}
    assert max(lefts) - min(lefts) > 200  # the face really crossed the frame


@needs_photos
def test_two_real_faces_moving_together_keep_their_own_numbers():
    detector = FaceDetector()
    tracker = FaceTracker()
    for index in range(12):
        boxes = detector.detect(two_face_frame(shift=10 * index - 60), FACE_SIZES["large"])
        tracks = tracker.update([(b, HAPPY if b.x < 320 else SAD) for b in boxes], index * FRAME)
        assert [(t.number, t.label, t.box.x < 320) for t in tracks] == [(1, "happy", True), (2, "sad", False)]
