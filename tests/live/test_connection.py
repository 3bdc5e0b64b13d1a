"""ICE servers, camera constraints and the plain-http phone page."""

import json

import pytest

from emotion_core.live import HTTPS_HINT, camera_blocked_reason, media_constraints, rtc_configuration
from emotion_core.live.connection import RTC_CONFIG_ENV

TURN = {"urls": "turn:turn.example.org:3478", "username": "demo", "credential": "secret"}


def test_no_ice_server_by_default_as_an_empty_list(monkeypatch):
    monkeypatch.delenv(RTC_CONFIG_ENV, raising=False)
    # An empty list, not a missing key: streamlit-webrtc fills a missing one with a public STUN server.
    assert rtc_configuration() == {"iceServers": []}
    assert rtc_configuration({}) == {"iceServers": []}


def test_servers_from_the_environment_or_the_secret_which_wins(monkeypatch):
    monkeypatch.setenv(RTC_CONFIG_ENV, json.dumps({"iceServers": [{"urls": "stun:stun.example.org:3478"}]}))
    assert rtc_configuration() == {"iceServers": [{"urls": "stun:stun.example.org:3478"}]}
    assert rtc_configuration({"rtc_configuration": {"iceServers": [TURN]}}) == {"iceServers": [TURN]}
    monkeypatch.setenv(RTC_CONFIG_ENV, json.dumps([TURN]))  # a bare list of servers is fine too
    assert rtc_configuration() == {"iceServers": [TURN]}


@pytest.mark.parametrize("value, message", [
    ("{not json", r"EMOTION_RTC_CONFIG is not JSON \(.* at character 1\)\."),
    ('{"iceServers": [{"username": "demo"}]}', r"EMOTION_RTC_CONFIG must be \{\"iceServers\""),
    ('"stun:stun.example.org"', r"EMOTION_RTC_CONFIG must be"),
])
def test_a_bad_configuration_is_one_line_naming_where_it_came_from(monkeypatch, value, message):
    monkeypatch.setenv(RTC_CONFIG_ENV, value)
    with pytest.raises(ValueError, match=message) as error:
        rtc_configuration()
    assert "\n" not in str(error.value)


def test_media_constraints_cap_the_resolution_and_pick_a_camera():
    constraints = media_constraints()
    assert constraints["audio"] is False
    assert constraints["video"]["width"] == {"ideal": 640, "max": 640}
    assert constraints["video"]["height"] == {"ideal": 480, "max": 480}
    assert "facingMode" not in constraints["video"]
    back = media_constraints("back", "320x240")["video"]
    assert back["facingMode"] == {"ideal": "environment"} and back["width"]["max"] == 320
    with pytest.raises(ValueError, match="Unknown camera 'side'"):
        media_constraints("side")


@pytest.mark.parametrize("url, blocked", [
    ("http://192.168.1.23:8501/live", True),
    ("http://emotion-demo.lan:8501/", True),
    ("https://192.168.1.23:8501/live", False),
    ("http://localhost:8501/live", False),
    ("http://127.0.0.1:8501/live", False),
    ("http://[::1]:8501/live", False),
    ("", False),
])
def test_only_a_plain_http_page_away_from_localhost_is_refused_a_camera(url, blocked):
    assert camera_blocked_reason(url) == (HTTPS_HINT if blocked else "")
    assert "\n" not in HTTPS_HINT and "Demo on a phone" in HTTPS_HINT
