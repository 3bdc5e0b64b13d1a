"""Live: emotions of the faces in a webcam or phone video stream, in real time, and a snapshot.

streamlit-webrtc carries the video; `emotion_core.live.FrameProcessor` annotates each frame on the
stream's own thread and keeps what the readout shows behind a lock, so this page never touches
Streamlit from that thread: a fragment reads the processor a few times a second. One processor per
browser session (in session state), sharing the cached model of the `live` alias, which classifies
on its LiteRT file: Streamlit clears Keras's session after every script run, the fragment's
included, and that must not reach the stream (ui.common.load_predictor).
"""

from datetime import datetime
from functools import partial

import av
import pandas as pd
import streamlit as st
from streamlit_webrtc import WebRtcMode, webrtc_streamer

from emotion_core import registry
from emotion_core.drawing import annotate, place_on_image, png_bytes
from emotion_core.explain import predict_and_explain
from emotion_core.faces import FACE_SIZES
from emotion_core.live import (CAMERAS, DEFAULT_RESOLUTION, LIVE_FACE_SIZE, RESOLUTIONS, FrameProcessor,
                               camera_blocked_reason, media_constraints, rtc_configuration)
from emotion_core.live.connection import HTTPS_HINT, RTC_SECRET_KEY
from emotion_core.live.processor import HISTORY_SECONDS
from emotion_core.live.tracking import HALF_LIFE
from emotion_core.predictor import results_frame
from emotion_core.wording import plural
from ui import charts
from ui.common import face_panel_ui, load_explainer, load_predictor

PROCESSOR_KEY = "live.processor"  # session state: this session's FrameProcessor
CHART_KEY = "live.chart"  # session state: (history, Vega-Lite spec) of the readout's last chart
RUNTIME = "litert"  # what classifies the stream's faces (ui.common.RUNTIMES)
SNAPSHOT_KEY = "live.snapshot"  # session state: the frozen frame, its faces and heat maps
REFRESH_SECONDS = 0.5  # the readout's refresh: fresh to the eye, and each one costs the server a fragment run
CAMERA_LABELS = {"any": "Any (or pick one under Select device)", "front": "Front (selfie)", "back": "Back"}
TRANSLATIONS = {  # streamlit-webrtc's own messages for the errors a user meets, in this app's words
    "media_api_not_available": HTTPS_HINT,
    "device_access_denied": "Camera access was refused: allow it in the browser's site settings "
                            "(the camera icon in the address bar), then press Start again.",
    "device_not_available": "No camera found, or another app is using it: connect one or close the other "
                            "app, then press Start again.",
}


def settings_ui() -> tuple[dict, int, float]:
    """Camera constraints, every how many frames the model reads, and the smoothing half life."""
    with st.expander("Camera and speed", icon=":material/tune:"):
        camera_col, size_col = st.columns(2)
        camera = camera_col.selectbox("Camera", list(CAMERAS), format_func=CAMERA_LABELS.get,
                                      help="On a phone, front or back; applies from the next Start.")
        resolution = size_col.selectbox("Largest frame", list(RESOLUTIONS), index=list(RESOLUTIONS).index(DEFAULT_RESOLUTION),
                                        help="The camera sends at most this size; smaller frames cost the server less.")
        every_nth = st.select_slider(
            "The model reads every Nth frame", [1, 2, 3, 4], value=1,
            help="If the readout shows fewer frames a second than the camera sends, 2 or 3 keeps the video smooth: "
                 "the frames between show the faces where they were last seen.")
        half_life = st.slider("Smoothing (seconds)", 0.0, 1.0, HALF_LIFE, 0.05,
                              help="After this long an earlier reading of a face counts half: more steadies the "
                                   "labels, less follows a change of expression sooner. 0 turns smoothing off.")
    return media_constraints(camera, resolution), every_nth, half_life


def rtc_ui() -> dict:
    """The ICE servers (none unless configured); a bad configuration is one error line, then none."""
    try:
        secret = {RTC_SECRET_KEY: st.secrets[RTC_SECRET_KEY]} if RTC_SECRET_KEY in st.secrets else {}
    except FileNotFoundError:  # no secrets.toml
        secret = {}
    try:
        return rtc_configuration(secret)
    except ValueError as error:
        st.error(f"{error} Using no STUN/TURN server, which works on a local network.")
        return {"iceServers": []}


def session_processor(predictor) -> FrameProcessor:
    """This session's processor; a new one once the last stream closed it or the model changed."""
    processor = st.session_state.get(PROCESSOR_KEY)
    if processor is None or processor.closed or processor.run_name != predictor.run_name:
        if processor is not None:
            processor.close()
        processor = FrameProcessor(predictor, min_face_fraction=FACE_SIZES[LIVE_FACE_SIZE])
        st.session_state[PROCESSOR_KEY] = processor
    return processor


async def on_frames(processor: FrameProcessor, frames: list[av.VideoFrame]) -> list[av.VideoFrame]:
    """Runs on streamlit-webrtc's thread, never Streamlit's, with the frames that arrived since its
    last call: the newest goes through the processor, the older ones count as dropped."""
    processor.skip(len(frames) - 1)
    return [av.VideoFrame.from_ndarray(processor.process(frames[-1].to_ndarray(format="rgb24")), format="rgb24")]


def readout_ui(processor: FrameProcessor) -> None:
    """What the processor knows now: each face's emotion, the last seconds, fps and latency."""
    readout = processor.readout()
    if readout.error:
        st.error(f"The model could not read the last frame: {readout.error}")
    stats = readout.stats
    fps_col, latency_col = st.columns(2)
    fps_col.metric("Frames read", f"{stats.processed_fps:.1f} /s",
                   help=f"The model read {stats.processed_fps:.1f} of the {stats.input_fps:.1f} frames a second "
                        "that reached the server.")
    latency_col.metric("Latency", f"{stats.latency_ms:.0f} ms",
                       help=f"From a frame's arrival to its annotated frame, mean (95th percentile "
                            f"{stats.latency_p95_ms:.0f} ms); the network adds its own.")
    if not stats.frames:
        st.caption("Waiting for the first frame…")
    elif not readout.faces:
        st.caption("No face in view: face the camera, close enough that the face is about a sixth of the picture.")
    for face in readout.faces:
        st.markdown(f"**Face {face.number}: {face.label}** · {face.confidence:.0%}")
        st.progress(face.confidence)
    if readout.history:
        timeline_ui(readout.history)


def timeline_ui(history: tuple[dict, ...]) -> None:
    """The last seconds' chart, built again only when its points changed (not on every refresh)."""
    history_shown, spec = st.session_state.get(CHART_KEY, ((), None))
    if history != history_shown:
        # Not validated again: the chart is this code's own, and its spec is checked in tests/ui.
        spec = charts.live_timeline(pd.DataFrame(history), HISTORY_SECONDS).to_dict(validate=False)
        st.session_state[CHART_KEY] = (history, spec)
    st.vega_lite_chart(spec)


def take_snapshot(processor: FrameProcessor, predictor) -> None:
    """Freeze the last frame and read it as the Predict page reads a photo (faces, Grad-CAM)."""
    frame = processor.latest_frame()
    if frame is None:
        st.toast("No frame has arrived yet.")
        return
    faces, maps = predict_and_explain(predictor, frame, "gradcam",
                                      explainer=lambda: load_explainer(registry.LIVE, runtime=RUNTIME),
                                      min_face_fraction=FACE_SIZES[LIVE_FACE_SIZE])
    st.session_state[SNAPSHOT_KEY] = {"rgb": frame, "faces": faces, "maps": maps, "run": predictor.run_name,
                                      "classes": predictor.classes, "taken": datetime.now().strftime("%H:%M:%S")}


def snapshot_ui(snapshot: dict) -> None:
    faces, maps, stem = snapshot["faces"], snapshot["maps"], f"snapshot-{snapshot['taken'].replace(':', '')}"
    st.subheader(f"Snapshot at {snapshot['taken']}")
    shown = snapshot["rgb"]
    for face, heatmap in zip(faces, maps if maps is not None else []):
        shown = place_on_image(shown, heatmap, face.box, 0.45)
    shown = annotate(shown, faces)
    st.image(shown, caption=f"{plural(len(faces), 'face')}, Grad-CAM on each", width=640)
    if not faces:
        st.info("No face in this frame.")
        return
    st.download_button("Annotated frame (PNG)", partial(png_bytes, shown), f"{stem}.png", "image/png",
                       icon=":material/download:")
    for number, face in enumerate(faces, start=1):
        with st.expander(f"Face {number}: {face.label} ({face.confidence:.0%})", expanded=True):
            face_panel_ui(face.model_input, maps[number - 1], "Grad-CAM", f"**{face.label}** · {face.confidence:.0%}",
                          face.probabilities)
    results = results_frame(faces, f"{stem}.png", snapshot["run"], classes=snapshot["classes"])
    st.dataframe(results, hide_index=True)
    csv_col, json_col = st.columns(2)
    csv_col.download_button("Results (CSV)", partial(results.to_csv, index=False), f"{stem}.csv", "text/csv",
                            icon=":material/download:")
    json_col.download_button("Results (JSON)", partial(results.to_json, orient="records", indent=2),
                             f"{stem}.json", "application/json", icon=":material/download:")


st.title("Live")
if reason := camera_blocked_reason(st.context.url):
    st.warning(reason, icon=":material/lock:")
try:
    _served, warning = registry.resolve_serving(registry.LIVE)  # a broken live run falls back, and says so
    predictor = load_predictor(registry.LIVE, runtime=RUNTIME)
except (registry.RunError, OSError, ValueError) as error:  # nothing deployed, or a model file Keras refuses
    st.info(f"No model to run: {str(error).splitlines()[0]}")
    st.stop()
if warning:
    st.warning(warning, icon=":material/warning:")
chosen = "set for live use" if registry.aliases()[registry.LIVE] else "the deployed one: no model is set for live use"
st.caption(f"Model: **{predictor.run_name}** ({chosen}; the Models page sets it).")
constraints, every_nth, half_life = settings_ui()

processor = session_processor(predictor)
processor.configure(every_nth=every_nth, half_life=half_life)
video_col, readout_col = st.columns([3, 2])
with video_col:
    context = webrtc_streamer(
        key="live", mode=WebRtcMode.SENDRECV, rtc_configuration=rtc_ui(), media_stream_constraints=constraints,
        queued_video_frames_callback=partial(on_frames, processor), on_video_ended=processor.close,
        video_html_attrs={"autoPlay": True, "controls": False, "muted": True, "style": {"width": "100%"}},
        translations=TRANSLATIONS)
    streaming = context.state.playing or context.state.signalling
    if st.button("Snapshot", icon=":material/photo_camera:", disabled=not context.state.playing,
                 help="Freeze the current frame and read it as the Predict page reads a photo, with Grad-CAM."):
        take_snapshot(processor, predictor)
with readout_col:
    if streaming:
        st.fragment(run_every=REFRESH_SECONDS)(readout_ui)(processor)
    else:
        processor.close()  # the stream stopped (or never started): let go of the model and the frames
        st.session_state.pop(PROCESSOR_KEY, None)
        st.caption("Press **Start** and allow the camera. Each face gets a box, its emotion and a confidence bar; "
                   "the readout here follows them.")

if SNAPSHOT_KEY in st.session_state:
    snapshot_ui(st.session_state[SNAPSHOT_KEY])
