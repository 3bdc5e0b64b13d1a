"""How the browser and the server connect for a live stream: ICE servers, camera constraints, HTTPS.

    rtc_configuration(secrets)                 # {"iceServers": []} unless configured
    media_constraints("back", "640x480")       # getUserMedia constraints for streamlit-webrtc
    camera_blocked_reason(page_url)            # "" when the browser may give this page a camera

No STUN or TURN server is used unless one is configured: on a local network the browser and the
server reach each other by their own addresses, and a public STUN server is not reachable offline
(waiting for it only delays the connection). For a stream across networks, configure servers:

    EMOTION_RTC_CONFIG='{"iceServers": [{"urls": "stun:stun.example.org:3478"}]}' streamlit run app.py

or in .streamlit/secrets.toml (read first, as for the admin password):

    [rtc_configuration]
    iceServers = [{urls = "turn:turn.example.org:3478", username = "demo", credential = "secret"}]
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from urllib.parse import urlsplit

RTC_CONFIG_ENV = "EMOTION_RTC_CONFIG"
RTC_SECRET_KEY = "rtc_configuration"

# The page's choices. 640x480 by default: a face at arm's length is still ~150 pixels tall, and
# every pixel more costs decoding, drawing and encoding time on the server's cores.
RESOLUTIONS = {"320x240": (320, 240), "640x480": (640, 480), "1280x720": (1280, 720)}
DEFAULT_RESOLUTION = "640x480"
CAMERAS = {"any": None, "front": "user", "back": "environment"}  # -> the facingMode constraint
FRAME_RATE = 15  # asked of the camera: what the processor keeps up with; more frames would be dropped

HTTPS_HINT = ("This page is plain http://, and phone browsers give the camera only to https:// pages "
              "(or to localhost): serve the app over HTTPS as the README's section \"Demo on a phone\" shows.")
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def rtc_configuration(secrets: Mapping | None = None) -> dict:
    """The RTCConfiguration for both ends: the secret, else EMOTION_RTC_CONFIG, else no ICE servers.

    Raises ValueError, in one line, for a configuration that is not JSON or has no list of
    servers each with "urls".
    """
    value = (secrets or {}).get(RTC_SECRET_KEY)
    source = f"the secret {RTC_SECRET_KEY}"
    if value is None and os.environ.get(RTC_CONFIG_ENV, "").strip():
        source = RTC_CONFIG_ENV
        try:
            value = json.loads(os.environ[RTC_CONFIG_ENV])
        except json.JSONDecodeError as error:
            raise ValueError(f"{RTC_CONFIG_ENV} is not JSON ({error.msg} at character {error.pos}).") from None
    if value is None:
        return {"iceServers": []}  # an empty list, not a missing one: streamlit-webrtc fills those with Google's STUN
    if isinstance(value, list):
        value = {"iceServers": value}
    servers = value.get("iceServers") if isinstance(value, Mapping) else None
    if not isinstance(servers, list) or not all(isinstance(s, Mapping) and s.get("urls") for s in servers):
        raise ValueError(f"{source} must be {{\"iceServers\": [{{\"urls\": ...}}, ...]}} or a list of such servers.")
    return {"iceServers": [dict(server) for server in servers]}


def media_constraints(camera: str = "any", resolution: str = DEFAULT_RESOLUTION) -> dict:
    """getUserMedia constraints: video only, at most `resolution`, from the front or back camera."""
    if camera not in CAMERAS:
        raise ValueError(f"Unknown camera '{camera}': choose one of {', '.join(CAMERAS)}.")
    if resolution not in RESOLUTIONS:
        raise ValueError(f"Unknown resolution '{resolution}': choose one of {', '.join(RESOLUTIONS)}.")
    width, height = RESOLUTIONS[resolution]
    # `max` caps what the camera sends (browsers scale down a larger mode); `ideal` asks for that size.
    video = {"width": {"ideal": width, "max": width}, "height": {"ideal": height, "max": height},
             "frameRate": {"ideal": FRAME_RATE}}
    if CAMERAS[camera]:
        video["facingMode"] = {"ideal": CAMERAS[camera]}
    return {"video": video, "audio": False}


def camera_blocked_reason(url: str | None) -> str:
    """Why a browser will refuse this page a camera (HTTPS_HINT), "" when it will not.

    Browsers give cameras to secure pages only: https://, or http:// on the machine itself.
    An unknown URL gives "" (the browser's own message still appears if it refuses).
    """
    if not url:
        return ""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "http" or host in LOCAL_HOSTS or host.endswith(".localhost") or host.startswith("127."):
        return ""
    return HTTPS_HINT
