"""Tests for `python -m emotion_core analyze`: the CSV, the progress line and the printed summary."""

from __future__ import annotations

from emotion_core import registry
from emotion_core.cli import main
from tests.analysis.photos import FACES, LAYOUT, rows, zip_folder
from tests.conftest import needs_photos


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
