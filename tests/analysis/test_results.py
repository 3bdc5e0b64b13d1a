"""Tests for emotion_core.analysis.results: reading the results CSV, and resuming from what a run left."""

from __future__ import annotations

import csv
import shutil

import pandas as pd
import pytest

from emotion_core.analysis import (CSV_COLUMNS, STATUS_NO_FACE, TOP_LEVEL, analyze, finished_files, format_summary,
                                   image_summary, pipeline, read_results)
from tests.analysis.photos import LAYOUT, BrightnessPredictor, Interrupt, interrupt_after
from tests.conftest import needs_photos


@needs_photos
def test_an_interrupted_run_continues_where_it_stopped(photo_folder, reference, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "FACES_PER_BATCH", 2)  # write every two photos, so a cut falls mid-way
    csv_path = tmp_path / "results.csv"
    with pytest.raises(Interrupt):
        analyze(photo_folder, csv_path, BrightnessPredictor(), progress=interrupt_after(5))
    finished = finished_files(csv_path)
    assert 0 < len(finished) < len(LAYOUT)

    rerun = BrightnessPredictor()
    seen = []
    counts = analyze(photo_folder, csv_path, rerun, progress=lambda done, total: seen.append((done, total)))

    assert counts["skipped_as_done"] == len(finished)
    assert len(rerun.detector.calls) == len(LAYOUT) - len(finished) - 1  # finished files not redone
    assert seen[0] == (len(finished), len(LAYOUT)) and seen[-1] == (len(LAYOUT), len(LAYOUT))
    assert csv_path.read_bytes() == reference[0].read_bytes()  # as if never interrupted


@needs_photos
def test_a_rerun_of_a_finished_analysis_does_nothing(reference, photo_folder, tmp_path):
    csv_path = tmp_path / "results.csv"
    shutil.copy(reference[0], csv_path)
    predictor = BrightnessPredictor()
    counts = analyze(photo_folder, csv_path, predictor)
    assert counts["skipped_as_done"] == len(LAYOUT) and counts["faces"] == 0
    assert predictor.detector.calls == [] and predictor.batches == []
    assert csv_path.read_bytes() == reference[0].read_bytes()


@needs_photos
def test_rows_cut_short_by_a_crash_are_redone(reference, photo_folder, tmp_path):
    lines = reference[0].read_bytes().decode().splitlines(keepends=True)
    # Drop the second face of a2.jpg (its file is then incomplete) and cut the last line in half.
    second_face = next(i for i, line in enumerate(lines) if line.startswith("ad_a/a2.jpg,ad_a,2,"))
    damaged = "".join(lines[:second_face] + lines[second_face + 1:])
    csv_path = tmp_path / "results.csv"
    csv_path.write_text(damaged[:-len(lines[-1]) // 2], newline="")

    predictor = BrightnessPredictor()
    counts = analyze(photo_folder, csv_path, predictor)

    assert len(predictor.detector.calls) == 2  # a2.jpg and top.png, nothing else
    assert counts["faces"] == 4
    expected = read_results(reference[0]).sort_values(["file", "face"]).reset_index(drop=True)
    repaired = read_results(csv_path).sort_values(["file", "face"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(repaired, expected)


@needs_photos
def test_continuing_with_another_model_or_a_foreign_csv_is_refused(reference, photo_folder, tmp_path):
    csv_path = tmp_path / "results.csv"
    shutil.copy(reference[0], csv_path)
    with pytest.raises(ValueError, match="model stub, not other"):
        analyze(photo_folder, csv_path, BrightnessPredictor("other"))
    (tmp_path / "other.csv").write_text("name,score\nx,1\n")
    with pytest.raises(ValueError, match="not a results file"):
        analyze(photo_folder, tmp_path / "other.csv", BrightnessPredictor())


def test_a_folder_named_na_stays_a_group(tmp_path):
    csv_path = tmp_path / "results.csv"
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerow({"file": "NA/1.png", "group": "NA", "status": STATUS_NO_FACE, "faces_in_image": 0})
        writer.writerow({"file": "top.png", "group": "", "status": STATUS_NO_FACE, "faces_in_image": 0})
    frame = read_results(csv_path)
    assert frame["group"].tolist() == ["NA", ""]
    assert image_summary(frame, by="group")["group"].tolist() == [TOP_LEVEL, "NA"]
    assert format_summary(frame).startswith("2 images: 0 with faces (0 faces), 2 without a face")
