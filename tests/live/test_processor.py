"""The frame processor without a browser: frames in, annotated frames and a readout out."""

import gc
import threading
import types

import numpy as np
import pytest

from emotion_core.labels import EMOTIONS
from emotion_core.live import FrameProcessor
from emotion_core.live.processor import HISTORY_SECONDS
from tests.conftest import needs_photos
from tests.live.conftest import StubPredictor
from tests.live.frames import moving_frames, two_face_frame, webcam_frame

pytestmark = needs_photos


class VideoClock:
    """A camera's clock: each call to `tick` is the next frame of a 15 fps stream."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def tick(self):
        self.now += 1 / 15


def test_annotated_frames_keep_the_input_shape_and_leave_the_input_alone(stub_predictor):
    processor = FrameProcessor(stub_predictor)
    for frame in (webcam_frame("astronaut.png"), two_face_frame(), webcam_frame("astronaut.png", size=(320, 240))):
        before = frame.copy()
        annotated = processor.process(frame)
        assert annotated.shape == frame.shape and annotated.dtype == np.uint8
        assert (frame == before).all()
        assert (annotated != frame).any(axis=-1).sum() > 500  # a box, a label and a bar were drawn


def test_the_readout_names_each_face_with_its_number_and_emotion(stub_predictor):
    processor = FrameProcessor(stub_predictor)
    processor.process(two_face_frame())
    readout = processor.readout()
    assert [(face.number, face.label) for face in readout.faces] == [(1, "happy"), (2, "happy")]
    assert sum(readout.faces[0].probabilities.values()) == pytest.approx(1.0)
    assert readout.error == "" and not readout.closed


def test_a_run_of_three_classes_reads_and_charts_those_three():
    processor = FrameProcessor(StubPredictor("sad", classes=("angry", "sad", "neutral")))
    processor.process(webcam_frame("astronaut.png"))
    readout = processor.readout()
    (face,) = readout.faces
    assert (face.label, list(face.probabilities)) == ("sad", ["angry", "sad", "neutral"])
    assert {row["emotion"] for row in readout.history} == {"angry", "sad", "neutral"}


def test_the_live_label_of_a_real_face_is_the_predictors(trained_runs):
    from emotion_core.predictor import Predictor

    predictor = Predictor.load(trained_runs["alpha"])
    frame = webcam_frame("grace_hopper.jpg")
    (expected,) = predictor.predict(frame, min_face_fraction=0.15)
    processor = FrameProcessor(predictor)
    processor.process(frame)
    (face,) = processor.readout().faces
    assert face.label == expected.label
    assert face.probabilities == pytest.approx(expected.probabilities, abs=1e-5)


def keras_and_tensorflow_objects(root, depth: int = 8) -> list:
    """Keras and TensorFlow objects reachable from `root` through its attributes and containers."""
    found, seen, frontier = [], set(), [root]
    for _level in range(depth):
        following = []
        for item in frontier:
            if id(item) in seen or isinstance(item, (type, types.ModuleType, types.FunctionType)):
                continue
            seen.add(id(item))
            if (type(item).__module__ or "").split(".")[0] in ("keras", "tensorflow", "tf_keras"):
                found.append(item)
            else:
                following += gc.get_referents(item)
        frontier = following
    return found


def test_keras_clear_session_between_frames_does_not_reach_the_streams_litert_classifier(trained_runs, monkeypatch):
    """Streamlit runs keras.backend.clear_session() after every script run (the Live readout's
    fragment, twice a second); the stream's classifier holds nothing it clears, and reads as Keras."""
    import keras

    from emotion_core.predictor import Predictor
    from emotion_core.serving.export import litert_file

    model = Predictor.load(trained_runs["alpha"]).model
    run = {"run_name": "alpha", "tta": "zoom", "classes": EMOTIONS}  # zoom: the live model's six views a face
    keras_predictor = Predictor(model, **run)
    predictor = Predictor(model, **run, litert=litert_file(trained_runs["alpha"]))
    assert keras_and_tensorflow_objects(keras_predictor._classifier)  # the search finds them where they are
    assert not keras_and_tensorflow_objects(predictor._classifier)

    frames = {"one face": webcam_frame("grace_hopper.jpg"), "two faces": two_face_frame()}
    expected = {name: keras_predictor.predict(frame, min_face_fraction=0.15) for name, frame in frames.items()}

    def refuse(*args, **kwargs):
        raise AssertionError("the stream's path called the Keras model")

    monkeypatch.setattr(type(model), "predict_on_batch", refuse)
    monkeypatch.setattr(type(model), "__call__", refuse)
    for name, frame in frames.items():
        processor = FrameProcessor(predictor, min_face_fraction=0.15, half_life=0)  # each frame's own reading
        for _frame in range(3):
            keras.backend.clear_session()
            processor.process(frame)
            faces = processor.readout().faces
            assert [face.label for face in faces] == [face.label for face in expected[name]], name
            for face, keras_face in zip(faces, expected[name]):
                assert face.probabilities == pytest.approx(keras_face.probabilities, abs=1e-5)
        assert processor.readout().error == ""


def test_every_nth_frame_is_read_by_the_model_and_the_others_still_show_the_faces(stub_predictor):
    clock = VideoClock()
    processor = FrameProcessor(stub_predictor, every_nth=3, clock=clock)
    frames = moving_frames("astronaut.png", 30)
    annotated = []
    for frame in frames:
        clock.tick()
        annotated.append(processor.process(frame))
    assert stub_predictor.calls == 10
    assert all((out != frame).any(axis=-1).sum() > 500 for out, frame in zip(annotated, frames))
    assert processor.readout().stats.processed_fps == pytest.approx(5.0, abs=0.5)
    processor.configure(every_nth=1)
    processor.process(frames[0])
    processor.process(frames[1])
    assert stub_predictor.calls == 12
    with pytest.raises(ValueError, match="every_nth"):
        processor.configure(every_nth=0)


def test_the_chart_history_covers_the_last_seconds_only(stub_predictor):
    clock = VideoClock()
    processor = FrameProcessor(stub_predictor, clock=clock)
    frame = webcam_frame("astronaut.png")
    for _frame in range(15 * 12):  # twelve seconds of one face
        clock.tick()
        processor.process(frame)
    rows = processor.readout().history
    assert {row["emotion"] for row in rows} == set(EMOTIONS) and {row["face"] for row in rows} == {1}
    seconds = [row["seconds"] for row in rows]
    assert -HISTORY_SECONDS <= min(seconds) and max(seconds) <= 0
    assert 40 <= len(rows) / len(EMOTIONS) <= 55  # about 5 points a second over 10 s


def test_a_failing_model_leaves_the_frame_as_it_was_and_says_why_in_one_line():
    processor = FrameProcessor(StubPredictor(fail=True))
    frame = webcam_frame("astronaut.png")
    assert (processor.process(frame) == frame).all()
    assert processor.readout().error == "RuntimeError: the model is gone"


def test_two_streams_sharing_one_model_have_their_own_results():
    shared = StubPredictor()
    first, second = FrameProcessor(shared), FrameProcessor(shared)
    first.process(two_face_frame())
    second.process(webcam_frame("astronaut.png"))
    assert len(first.readout().faces) == 2 and len(second.readout().faces) == 1
    first.close()
    assert second.readout().faces and not second.readout().closed


def test_a_closed_processor_lets_go_of_the_model_and_frames_and_passes_frames_through(stub_predictor):
    processor = FrameProcessor(stub_predictor)
    frame = webcam_frame("astronaut.png")
    processor.process(frame)
    snapshot = processor.latest_frame()
    assert (snapshot == frame).all() and snapshot is not frame  # the frame as it came in, a copy
    processor.close()
    processor.close()  # twice is fine: the page and the stream's end may both close it
    assert processor.closed and processor.latest_frame() is None and processor.readout().faces == ()
    assert processor.process(frame) is frame
    assert stub_predictor.calls == 1


def test_the_page_can_read_while_the_stream_thread_writes(stub_predictor):
    processor = FrameProcessor(stub_predictor)
    frames = moving_frames("astronaut.png", 20)
    errors = []

    def stream():
        try:
            for frame in frames:
                processor.process(frame)
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)

    thread = threading.Thread(target=stream)
    thread.start()
    readouts = []
    while thread.is_alive():
        readouts.append(processor.readout())
    thread.join()
    assert errors == []
    assert processor.readout().stats.frames == 20
    assert all(len(readout.faces) <= 1 for readout in readouts)
