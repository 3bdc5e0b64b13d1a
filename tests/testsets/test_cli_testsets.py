"""`testsets add | list | score | remove` and `data list`, which lists test sets beside training sets."""

import json

from emotion_core.cli import main
from emotion_core.datasets import data_root
from tests.conftest import make_image_dataset
from tests.studies.test_folders import zip_of


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_zip_added_from_the_command_line_is_listed_with_the_training_sets_and_scored(trained_runs, tmp_path, capsys):
    posed = make_image_dataset(tmp_path / "posed", {"test": 2}, class_names=("happy", "sad"))
    upload = tmp_path / "posed.zip"
    upload.write_bytes(zip_of({path.relative_to(posed / "test").as_posix(): path.read_bytes()
                               for path in (posed / "test").rglob("*.png")}))

    assert run_cli(capsys, "testsets", "add", str(upload), "--no-score")[1] == "posed: a test set of crops (test split)\n"
    code, out, _ = run_cli(capsys, "data", "list")
    assert out.splitlines() == ["posed                    folders  test 4  [test set: test, crops]",
                                "tiny                     folders  train 42, validation 21"]
    assert json.loads(run_cli(capsys, "testsets", "list", "--json")[1]) == [
        {"name": "posed", "split": "test", "kind": "crops", "images": 4, "runs": 2, "current": 0, "problem": ""}]

    code, out, _ = run_cli(capsys, "testsets", "score")
    assert (code, out) == (0, "posed: 2 runs scored, 0 unchanged\n")
    assert run_cli(capsys, "testsets", "score", "posed")[1] == "posed: 0 runs scored, 2 unchanged\n"
    assert "2 of 2 runs scored" in run_cli(capsys, "testsets", "list")[1]

    assert run_cli(capsys, "testsets", "remove", "posed")[0] == 0
    assert run_cli(capsys, "testsets", "list")[1].startswith("No test sets yet")
    assert (data_root() / "posed" / "test").is_dir()  # the folder stays


def test_a_bad_zip_or_an_unknown_folder_is_one_line_and_status_2(tmp_path, capsys):
    (tmp_path / "bad.zip").write_bytes(b"not a zip")

    assert run_cli(capsys, "testsets", "add", str(tmp_path / "bad.zip")) == (2, "", "error: bad.zip is not a valid .zip file\n")
    code, out, err = run_cli(capsys, "testsets", "add", "nowhere")
    assert (code, out, err.count("\n")) == (2, "", 1) and "no labelled folder named 'nowhere'" in err
    assert list(data_root().iterdir()) == []
