"""recipes/gpu_train.py: the GPU call's epoch budget and its return of a run (the training itself
is checked by hand on a tiny budget, as the script's docstring says)."""
import importlib.util
import tarfile

import pytest

from tests.conftest import PROJECT

spec = importlib.util.spec_from_file_location("gpu_train", PROJECT / "recipes" / "gpu_train.py")
gpu_train = importlib.util.module_from_spec(spec)
spec.loader.exec_module(gpu_train)


def test_the_epochs_fill_the_time_left_after_restarting_and_the_reserve():
    # 480 s left, 60 s to start again, 75 s kept back: 345 s at 4 s an epoch is 86 epochs.
    assert gpu_train.epochs_that_fit(480, 4.0, 60, max_epochs=300) == 86


def test_the_epochs_stop_at_the_cap():
    assert gpu_train.epochs_that_fit(480, 0.5, 10, max_epochs=150) == 150


def test_no_time_for_one_epoch_is_a_one_line_error():
    with pytest.raises(SystemExit, match="no time left for an epoch"):
        gpu_train.epochs_that_fit(100, 40.0, 60, max_epochs=300)


def test_unpack_adds_the_returned_run_and_refuses_to_overwrite_one(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_train, "PROJECT", tmp_path)
    monkeypatch.setattr(gpu_train, "ASIDE", tmp_path / ".gpu-aside")
    run = tmp_path / "made" / "vgg_gap-gpu-e90"
    run.mkdir(parents=True)
    (run / "history.json").write_text("[]")
    returned = tmp_path / "returned"
    returned.mkdir()
    with tarfile.open(returned / gpu_train.RUN_ARCHIVE, "w:gz") as archive:
        archive.add(run, arcname=run.name)
    (tmp_path / "models").mkdir(exist_ok=True)

    gpu_train.unpack(returned)

    assert (tmp_path / "models" / "vgg_gap-gpu-e90" / "history.json").read_text() == "[]"
    with pytest.raises(SystemExit, match="models/vgg_gap-gpu-e90 exists already"):
        gpu_train.unpack(returned)


def test_unpack_puts_set_aside_weights_back(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_train, "PROJECT", tmp_path)
    monkeypatch.setattr(gpu_train, "ASIDE", tmp_path / ".gpu-aside")
    moved = tmp_path / ".gpu-aside" / "models" / "deployed-run" / "model.keras"
    moved.parent.mkdir(parents=True)
    moved.write_bytes(b"weights")
    (tmp_path / "models" / "deployed-run").mkdir(parents=True)

    with pytest.raises(SystemExit, match="returned no run"):
        gpu_train.unpack(tmp_path / "empty")

    assert (tmp_path / "models" / "deployed-run" / "model.keras").read_bytes() == b"weights"
