"""The Live page driven by AppTest, around a stand-in for streamlit-webrtc's component.

AppTest has no browser and no real runtime, which streamlit-webrtc needs, so `webrtc_streamer`
is replaced by a stand-in that records what the page asks of it and reports a stream state. The
real component is driven in a real browser by tests/test_browser_live.py.
"""

import asyncio
from types import SimpleNamespace

import av
import pytest
import streamlit as st
import streamlit_webrtc
from streamlit.testing.v1 import AppTest

from emotion_core import registry
from emotion_core.live import HTTPS_HINT
from tests.conftest import PROJECT, needs_photos
from tests.live.frames import webcam_frame

PAGE = str(PROJECT / "views" / "live.py")
TIMEOUT = 60  # the first run loads TensorFlow and the model


@pytest.fixture
def streamer(monkeypatch):
    """The stand-in component: `.calls` holds each call's arguments, `.playing` the state it reports."""
    fake = SimpleNamespace(calls=[], playing=False)

    def webrtc_streamer(**kwargs):
        fake.calls.append(kwargs)
        return SimpleNamespace(state=SimpleNamespace(playing=fake.playing, signalling=False))

    monkeypatch.setattr(streamlit_webrtc, "webrtc_streamer", webrtc_streamer)
    return fake


def run_page(at: AppTest | None = None) -> AppTest:
    if at is None:
        st.cache_resource.clear()  # runs named 'alpha' in another test's registry must not be reused
        at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


def test_the_page_serves_the_deployed_model_until_one_is_set_for_live_use(trained_runs, streamer):
    registry.deploy("alpha")
    at = run_page()
    assert "Model: **alpha** (the deployed one: no model is set for live use" in at.caption[0].value
    assert any("Press **Start** and allow the camera" in caption.value for caption in at.caption)
    assert not at.warning  # localhost: no HTTPS warning

    registry.deploy("beta", alias=registry.LIVE)
    assert "Model: **beta** (set for live use" in run_page().caption[0].value


def test_the_stream_asks_for_640x480_video_and_no_stun_server(trained_runs, streamer, monkeypatch):
    monkeypatch.delenv("EMOTION_RTC_CONFIG", raising=False)
    registry.deploy("alpha")
    run_page()
    (call,) = streamer.calls
    assert call["rtc_configuration"] == {"iceServers": []}
    assert call["media_stream_constraints"]["video"]["width"]["max"] == 640
    assert call["media_stream_constraints"]["audio"] is False
    assert "HTTPS" in call["translations"]["media_api_not_available"]


@needs_photos
def test_while_streaming_the_frame_callback_annotates_frames_and_the_readout_follows(trained_runs, streamer):
    registry.deploy("alpha")
    streamer.playing = True
    at = run_page()
    assert any(caption.value == "Waiting for the first frame…" for caption in at.caption)
    frame = av.VideoFrame.from_ndarray(webcam_frame("astronaut.png"), format="rgb24")
    # What streamlit-webrtc's thread calls with the frames queued since its last call: the newest is read.
    (out,) = asyncio.run(streamer.calls[-1]["queued_video_frames_callback"]([frame, frame, frame]))
    assert (out.width, out.height) == (640, 480)
    processor = at.session_state["live.processor"]
    assert processor.readout().stats.frames == 3  # all three reached the server; the model read one
    assert processor.run_name == "alpha" and at.session_state["live.processor"]._predictor.runtime == "litert"
    run_page(at)
    assert any(text.value.startswith("**Face 1: ") for text in at.markdown)
    (chart,) = at.get("vega_lite_chart")
    history, spec = at.session_state["live.chart"]
    run_page(at)  # nothing new came in: the same chart, not built again
    assert at.session_state["live.chart"][1] is spec and at.session_state["live.chart"][0] == history
    assert at.button[0].label == "Snapshot" and not at.button[0].disabled

    at.button[0].click()
    run_page(at)
    assert at.subheader[0].value.startswith("Snapshot at ")
    assert [button.label for button in at.get("download_button")][:1] == ["Annotated frame (PNG)"]

    streamer.playing = False  # the user pressed Stop: the page lets go of the processor
    processor = at.session_state["live.processor"]
    run_page(at)
    assert processor.closed and "live.processor" not in at.session_state


def test_with_nothing_deployed_the_page_says_so_and_stops(trained_runs, streamer):
    at = run_page()
    assert at.info[0].value.startswith("No model to run: No run is deployed yet")
    assert streamer.calls == []


def test_a_phone_on_plain_http_is_told_in_one_line_why_it_gets_no_camera(trained_runs, streamer, monkeypatch):
    registry.deploy("alpha")
    monkeypatch.setattr(type(st.context), "url", property(lambda self: "http://192.168.1.23:8501/live"))
    at = run_page()
    assert [warning.value for warning in at.warning] == [HTTPS_HINT]
