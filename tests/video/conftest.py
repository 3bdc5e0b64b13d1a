"""Fixtures of the video tests: generated videos of the real photos' faces, and one analysis of them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PHOTOS
from tests.video.videos import write_bad_inputs, write_scenes


@pytest.fixture(scope="package")
def scenes(tmp_path_factory) -> Path:
    """A folder of one sub-folder per ad, holding the scenes of tests.video.videos."""
    if not PHOTOS.is_dir():
        pytest.skip("../shared/photos is not here")
    folder = tmp_path_factory.mktemp("videos") / "ads"
    write_scenes(folder)
    return folder


@pytest.fixture(scope="package")
def bad_inputs(tmp_path_factory) -> Path:
    """One good video beside every kind of bad input the issue lists."""
    if not PHOTOS.is_dir():
        pytest.skip("../shared/photos is not here")
    return write_bad_inputs(tmp_path_factory.mktemp("bad") / "ads")


@pytest.fixture(scope="package")
def video_predictor(trained_run_template):
    """The tiny trained run 'alpha', loaded once for the package (tests only read it)."""
    from emotion_core.predictor import Predictor

    return Predictor.load(trained_run_template / "models" / "alpha")


@pytest.fixture(scope="package")
def scene_analysis(scenes, video_predictor, tmp_path_factory) -> tuple[Path, dict]:
    """One uninterrupted analysis of the scenes: (output folder, analyze_videos' summary)."""
    from emotion_core.video import analyze_videos

    out = tmp_path_factory.mktemp("scene-analysis")
    return out, analyze_videos(scenes, out, video_predictor)
