"""Tests for `python -m emotion_core analyze`: the CSV, the progress line and the printed summary."""

from __future__ import annotations

import json

import numpy as np

from emotion_core import registry
from emotion_core.cli import main
from emotion_core.labels import EMOTIONS
from tests.analysis.photos import FACES, LAYOUT, rows, zip_folder
from tests.conftest import needs_photos
from tests.factories import decisive_model


def run_cli(capsys, *args) -> tuple[int, str, str]:
    try:
        code = main([str(arg) for arg in args])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


@needs_photos
def test_cli_analyze_writes_the_csv_prints_progress_and_the_summary(trained_runs, photo_folder, tmp_path, capsys):
    csv_path = tmp_path / "results.csv"
    code, out, err = run_cli(capsys, "analyze", photo_folder, "--csv", csv_path, "--model", "alpha")
    assert code == 0, err
    assert len(rows(csv_path)) == FACES + 3 and {row["model"] for row in rows(csv_path)} == {"alpha"}
    assert f"] {len(LAYOUT)}/{len(LAYOUT)} images" in err
    assert out.startswith("9 images: 6 with faces (9 faces), 2 without a face, 1 unreadable")
    assert "By folder" in out
    assert "--faces large" in err  # the hint towards the faster setting
    # the tiny run is near uniform: its int8 file fails the check, and the float file classifies, said once
    assert err.count("note: classifying with the float LiteRT file: no int8 one") == 1

    code, _, err = run_cli(capsys, "analyze", photo_folder, "--csv", tmp_path / "large.csv", "--model", "alpha",
                           "--faces", "large")
    assert code == 0 and "--faces large" not in err
    assert len(rows(tmp_path / "large.csv")) == len(rows(csv_path))  # the test photos' faces are all large

    code, _, err = run_cli(capsys, "analyze", photo_folder, "--csv", csv_path, "--model", "alpha")
    assert code == 0 and "0 images analysed" in err and f"({len(LAYOUT)} done earlier)" in err
    assert len(rows(csv_path)) == FACES + 3


@needs_photos
def test_cli_analyze_reads_a_zip_with_the_deployed_model(trained_runs, photo_folder, tmp_path, capsys):
    registry.deploy("beta")
    archive = zip_folder(photo_folder, tmp_path / "photos.zip")
    code, _, err = run_cli(capsys, "analyze", archive, "--csv", tmp_path / "zip.csv")
    assert code == 0, err
    table = rows(tmp_path / "zip.csv")
    assert len(table) == FACES + 3 and {row["model"] for row in table} == {"beta"}


def test_cli_analyze_of_a_missing_folder_is_one_line(trained_runs, tmp_path, capsys):
    code, out, err = run_cli(capsys, "analyze", tmp_path / "nowhere", "--csv", tmp_path / "out.csv",
                             "--model", "alpha")
    assert (code, out) == (2, "") and err.startswith("error: ") and err.count("\n") == 1


@needs_photos
def test_cli_analyze_classifies_with_the_int8_file_and_with_the_float_one_on_request(trained_runs, photo_folder,
                                                                                      tmp_path, capsys):
    from emotion_core.analysis import analyze
    from emotion_core.predictor import Predictor

    decisive_model().save(trained_runs["alpha"] / registry.MODEL_FILE)  # one whose int8 file passes its check
    exports = trained_runs["alpha"] / "exports"
    for flags, folder, file in (([], "int8", "alpha-int8.tflite"), (["--float"], "float", "alpha.tflite")):
        code, _, err = run_cli(capsys, "analyze", photo_folder, "--out", tmp_path / folder, "--model", "alpha", *flags)
        assert code == 0 and "note:" not in err, err
        manifest = json.loads((tmp_path / folder / "analysis.json").read_text())
        assert manifest["classifier"] == {"file": file, "precision": folder}
        # The rows are a Predictor's that classifies with that same file.
        same_file = Predictor.load("alpha", litert=exports / file, litert_only=True)
        analyze(photo_folder, tmp_path / f"{folder}.csv", same_file)
        assert rows(tmp_path / folder / "results.csv") == rows(tmp_path / f"{folder}.csv")

    int8, exact = (probabilities(tmp_path / folder / "results.csv") for folder in ("int8", "float"))
    keras = tmp_path / "keras.csv"
    analyze(photo_folder, keras, Predictor.load("alpha"))
    np.testing.assert_allclose(exact, probabilities(keras), atol=2e-4)  # --float: Keras's probabilities
    assert 1e-3 < np.abs(int8 - exact).max() < 0.2  # int8: close to them, not equal


def probabilities(csv_path) -> np.ndarray:
    """The faces' probability columns of a results table (rows without a face left out)."""
    table = [row for row in rows(csv_path) if row["emotion"]]
    return np.array([[float(row[name]) for name in EMOTIONS] for row in table])
