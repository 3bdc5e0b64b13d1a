"""Frames per second and latency over the last seconds of a stream."""

import pytest

from emotion_core.live import FrameStats


def test_rates_and_latency_of_a_15_fps_stream_read_every_second_frame():
    stats = FrameStats(window=3.0)
    for index in range(60):  # four seconds at 15 fps: the first second falls out of the window
        stats.record(index / 15, 0.040 if index % 2 == 0 else 0.002, processed=index % 2 == 0)
    summary = stats.summary()
    assert summary.input_fps == pytest.approx(15.0)
    assert summary.processed_fps == pytest.approx(7.5, abs=0.3)
    assert summary.latency_ms == pytest.approx(21.0, abs=0.5)
    assert summary.latency_p95_ms == pytest.approx(40.0)
    assert summary.frames == 60


def test_a_stream_of_one_frame_or_none_has_no_rate_yet():
    stats = FrameStats()
    assert stats.summary().input_fps == 0.0 and stats.summary().frames == 0
    stats.record(0.0, 0.030, processed=True)
    assert stats.summary().processed_fps == 0.0
    assert stats.summary().latency_ms == pytest.approx(30.0)


def test_frames_dropped_for_a_newer_one_count_as_arrived_not_read_and_have_no_latency():
    stats = FrameStats(window=3.0)
    for index in range(45):  # 15 fps; every third frame is read, the two before it dropped unread
        read = index % 3 == 2
        stats.record(index / 15, 0.050 if read else float("nan"), processed=read)
    summary = stats.summary()
    assert summary.input_fps == pytest.approx(15.0)
    assert summary.processed_fps == pytest.approx(5.0, abs=0.3)
    assert summary.latency_ms == pytest.approx(50.0) and summary.latency_p95_ms == pytest.approx(50.0)
