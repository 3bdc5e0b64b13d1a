"""Fixtures of the analysis tests: one generated photo folder and one analysis of it, for the package."""

from __future__ import annotations

from pathlib import Path

import pytest

from emotion_core.analysis import analyze
from tests.analysis.photos import BrightnessPredictor, write_folder
from tests.conftest import PHOTOS


@pytest.fixture(scope="package")
def photo_folder(tmp_path_factory) -> Path:
    if not PHOTOS.is_dir():
        pytest.skip("../shared/photos is not here")
    return write_folder(tmp_path_factory.mktemp("photos") / "campaign")


@pytest.fixture(scope="package")
def reference(photo_folder, tmp_path_factory) -> tuple[Path, dict, BrightnessPredictor]:
    """One uninterrupted analysis of the folder: (CSV, counts, predictor)."""
    predictor = BrightnessPredictor()
    csv_path = tmp_path_factory.mktemp("reference") / "results.csv"
    counts = analyze(photo_folder, csv_path, predictor)
    return csv_path, counts, predictor
