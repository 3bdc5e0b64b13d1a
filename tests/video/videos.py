"""Small videos written with PyAV for the video tests, from the faces of ../shared/photos.

Each scene is a list of (time in seconds, [(portrait, left, top)]) frames on a plain gray canvas:
the astronaut's or Grace Hopper's face (cut out as tests.analysis.photos does) pasted where the
scene says. Videos are a few seconds at 320x240, so a test analyses a few dozen frames.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from tests.analysis.photos import face_tiles

SIZE = (320, 240)  # width, height
FACE = 110  # pixels: 46% of the height, a webcam's framing


def canvas(tiles, faces, size=SIZE, side: int = FACE) -> np.ndarray:
    """An RGB frame: `faces` is [(portrait, left, top)] on gray."""
    width, height = size
    frame = np.full((height, width, 3), 128, np.uint8)
    for portrait, left, top in faces:
        frame[top:top + side, left:left + side] = np.asarray(
            Image.fromarray(tiles[portrait]).resize((side, side), Image.Resampling.LANCZOS))
    return frame


def write_video(path: Path, frames, codec: str = "libx264", rotation: int = 0, rate: int = 30,
                options: dict | None = None, key_frame_every: int | None = None,
                time_base: Fraction = Fraction(1, 1000)) -> Path:
    """Encode (time, rgb) frames, each at its own timestamp (ms), so gaps make a variable frame rate.

    `frames` may be a generator (the benches' long 720p videos are never held whole). `rotation`:
    the display matrix's degrees counter-clockwise (a phone's tag); the frames are stored as given.
    `options`: the encoder's (preset, crf); `key_frame_every`: frames between key frames (the
    encoder's choice when None); `time_base`: the timestamps' clock, ms by default (1/rate: a
    constant frame rate, as the benches' videos have).
    """
    frames = iter(frames)
    first = next(frames)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, options=options or {})
        stream.width, stream.height = first[1].shape[1], first[1].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.time_base = stream.codec_context.time_base = time_base  # ms, or pts snap to 1/30 s
        if key_frame_every:
            stream.codec_context.gop_size = key_frame_every
        if rotation:
            stream.set_display_rotation(rotation)
        for time, rgb in itertools.chain([first], frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = round(time / time_base), time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def scene(tiles, placements, fps: float = 10, size=SIZE):
    """(time, frame) of a scene: `placements(time)` gives the faces at each time."""
    return lambda duration: [(index / fps, canvas(tiles, placements(index / fps), size))
                             for index in range(round(duration * fps))]


def moving(tiles, duration: float = 3.0):
    """The astronaut crossing the frame from left to right."""
    travel = SIZE[0] - FACE
    return scene(tiles, lambda t: [("astronaut", round(travel * t / duration), 60)])(duration)


def leaving(tiles):
    """The astronaut at the left for 1.5 s, gone for 1.5 s, back at the right for 1 s."""
    return scene(tiles, lambda t: [("astronaut", 20, 60)] if t < 1.5 else
                 [] if t < 3.0 else [("astronaut", 190, 60)])(4.0)


def two_faces(tiles):
    """Grace Hopper at the left and the astronaut at the right, both still, for 2 s."""
    return scene(tiles, lambda t: [("grace", 20, 60), ("astronaut", 190, 60)])(2.0)


def phone(tiles):
    """A portrait phone video: an upright 240x320 picture stored turned a quarter clockwise, with the
    tag that turns it back (90 degrees counter-clockwise), as phones record."""
    frames = scene(tiles, lambda t: [("astronaut", 65, 100)], size=(240, 320))(2.0)
    return [(time, np.ascontiguousarray(np.rot90(rgb, -1))) for time, rgb in frames]


VFR_TIMES = [*np.arange(0, 1, 1 / 30), *np.arange(1, 2.5, 1 / 4), *np.arange(2.5, 3.5, 1 / 15)]


def variable_rate(tiles):
    """30 fps for a second, 4 fps for 1.5 s, then 15 fps for a second; the face drifts right."""
    return [(float(time), canvas(tiles, [("astronaut", round(40 * time), 60)])) for time in VFR_TIMES]


def no_face(duration: float = 2.0):
    ramp = np.tile(np.linspace(0, 255, SIZE[0], dtype=np.uint8), (SIZE[1], 1))
    return [(index / 10, np.stack([ramp] * 3, axis=-1)) for index in range(round(duration * 10))]


def write_scenes(folder: Path) -> dict[str, Path]:
    """Every scene as a video in `folder` (groups: one sub-folder per 'ad')."""
    tiles = face_tiles()
    videos = {"ad_a/moving.mp4": moving(tiles), "ad_a/leaving.mp4": leaving(tiles),
              "ad_b/two.webm": two_faces(tiles), "ad_b/phone.mov": phone(tiles),
              "ad_b/vfr.mkv": variable_rate(tiles)}
    written = {}
    for name, frames in videos.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        codec = "libvpx-vp9" if name.endswith(".webm") else "libx264"
        written[name] = write_video(path, frames, codec, rotation=90 if "phone" in name else 0)
    return written


def decoded_frames(path: Path) -> dict[int, np.ndarray]:
    """Every frame of a video as upright RGB, by position, decoded here without emotion_core."""
    frames = {}
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            rgb = frame.to_ndarray(format="rgb24")
            frames[index] = np.ascontiguousarray(np.rot90(rgb, round((frame.rotation or 0) / 90)))
    return frames


def write_bad_inputs(folder: Path) -> Path:
    """moving.mp4 (good) beside each bad input: truncated, not a video, empty, audio only, no
    face, and an 8K video (downscaled, not refused)."""
    tiles = face_tiles()
    folder.mkdir(parents=True)
    good = write_video(folder / "moving.mp4", moving(tiles, 2.0))
    whole = write_video(folder / "whole.mkv", variable_rate(tiles)).read_bytes()
    (folder / "whole.mkv").unlink()
    (folder / "truncated.mkv").write_bytes(whole[: len(whole) // 2])
    (folder / "notes.mp4").write_text("not a video, just notes")
    (folder / "empty.avi").write_bytes(b"")
    write_audio(folder / "audio.mp4")
    write_video(folder / "noface.mp4", no_face())
    eight_k = (7680, 4320)
    frame = canvas(tiles, [("grace", 3000, 1200)], size=eight_k, side=1600)
    write_video(folder / "8k.avi", [(0.0, frame), (0.2, frame)], codec="mpeg4")
    assert good.exists()
    return folder


def write_audio(path: Path, seconds: float = 1.0) -> Path:
    """An AAC file with no video stream."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        for index in range(round(seconds * 16000 / 1024)):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, index * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
