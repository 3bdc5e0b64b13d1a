"""Exports of a small trained run: each format checks itself against Keras and says so in figures."""

import json
import zipfile

import numpy as np
import pytest

from emotion_core import registry
from emotion_core.cli import main
from emotion_core.serving import export
from emotion_core.serving.export import ExportError, export_run
from tests.factories import decisive_model

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("fmt, file_name", [("litert", "alpha.tflite"), ("onnx", "alpha.onnx"),
                                            ("savedmodel", "alpha-savedmodel")])
def test_each_float_format_matches_keras_on_the_validation_faces(trained_runs, tmp_path, fmt, file_name):
    import keras

    record = export_run("alpha", fmt, tmp_path / "out")

    check = record["check"]
    assert record["file"] == file_name and (tmp_path / "out" / file_name).exists()
    assert check["faces"] == 21 and check["source"] == "tiny validation"  # 3 per class of the tiny set
    assert check["max_abs_diff"] <= 1e-4 and check["top_label_agreement"] == 1.0
    assert check["latency_ms"] > 0 and record["bytes"] > 100_000
    assert record["labels"] == list(registry.load_run(trained_runs["alpha"]).classes)
    assert record["input"] == {"shape": [None, 48, 48, 1], "dtype": "float32", "range": [0, 255],
                               "color_mode": "grayscale"}
    # The file on disk, run again here, gives the Keras model's probabilities on other faces too.
    faces = export.generated_faces(5, seed=3)
    model = keras.models.load_model(trained_runs["alpha"] / "model.keras", safe_mode=True)
    got = export.load_exported(tmp_path / "out" / file_name, fmt)(faces)
    np.testing.assert_allclose(got, model.predict_on_batch(faces), atol=1e-4)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    saved = json.loads((tmp_path / "out" / f"{file_name}.json").read_text())
    assert saved["check"] == check and saved["run"] == "alpha"


def test_int8_litert_is_a_quarter_of_the_size_and_keeps_the_top_labels(trained_runs, tmp_path):
    # A 2-epoch tiny model is near uniform (its top labels tie in int8), so this run gets a decisive
    # model of the same input and outputs: what int8 is for.
    decisive_model().save(trained_runs["alpha"] / "model.keras")
    float_record = export_run("alpha", "litert", tmp_path / "out")

    record = export_run("alpha", "litert", tmp_path / "out", quantize="int8")

    assert record["file"] == "alpha-int8.tflite" and record["quantize"] == "int8"
    assert record["check"]["top_label_agreement"] >= 0.99 and record["check"]["min_agreement"] == 0.99
    assert 0 < record["check"]["max_abs_diff"] < 0.2  # quantized: close, not equal
    assert record["bytes"] < float_record["bytes"] / 2.5
    assert "alpha-int8.tflite" in {found["file"] for found in export.list_exports(tmp_path / "out")}


def test_a_near_uniform_model_is_refused_int8_with_its_agreement(trained_runs, tmp_path):
    with pytest.raises(ExportError, match=r"on the top label for only \d+\.\d% of 21 faces \(at least 99% needed\)"):
        export_run("alpha", "litert", tmp_path / "out", quantize="int8")
    assert list((tmp_path / "out").iterdir()) == []


def test_an_export_that_fails_its_check_is_not_kept(trained_runs, tmp_path, monkeypatch):
    monkeypatch.setattr(export, "FLOAT_TOLERANCE", -1.0)  # nothing can pass

    with pytest.raises(ExportError, match="differs from the Keras model by up to .* it was not kept"):
        export_run("alpha", "litert", tmp_path / "out")

    assert list((tmp_path / "out").iterdir()) == []  # neither the file, its sidecar, nor the staging file


def test_without_the_data_set_the_check_runs_on_generated_faces(trained_runs, tmp_path):
    config_file = trained_runs["alpha"] / "config.json"
    config = json.loads(config_file.read_text())
    config_file.write_text(json.dumps({**config, "data": str(tmp_path / "gone")}))

    record = export_run("alpha", "savedmodel", tmp_path / "out", faces=40)

    assert record["check"]["faces"] == 40
    assert record["check"]["source"].startswith("generated faces")


def test_generated_faces_are_face_sized_pixels_that_vary():
    faces = export.generated_faces(20, size=48, channels=3, seed=0)
    assert faces.shape == (20, 48, 48, 3) and faces.dtype == np.float32
    assert 0 <= faces.min() and faces.max() <= 255
    assert len({round(float(face.mean()), 1) for face in faces}) == 20
    np.testing.assert_array_equal(export.generated_faces(3, seed=5), export.generated_faces(3, seed=5))


def test_default_out_is_the_runs_exports_folder_listed_for_download(trained_runs):
    export_run("alpha", "litert")
    export_run("alpha", "savedmodel")

    found = export.list_exports(trained_runs["alpha"] / export.EXPORTS_DIR)
    assert {record["file"] for record in found} == {"alpha.tflite", "alpha-savedmodel"}
    saved_model = next(record for record in found if record["format"] == "savedmodel")
    with zipfile.ZipFile(__import__("io").BytesIO(export.download_bytes(saved_model["path"]))) as archive:
        assert "alpha-savedmodel/saved_model.pb" in archive.namelist()
    tflite = next(record for record in found if record["format"] == "litert")
    assert export.download_bytes(tflite["path"])[4:8] == b"TFL3"  # the flatbuffer's identifier
    assert "alpha.tflite" in export.describe(tflite) and "100.0% of 21 faces" in export.describe(tflite)
    # The run still reads as a healthy run with its exports inside.
    assert registry.load_run(trained_runs["alpha"]).problem == ""


def test_the_live_pages_litert_file_is_exported_once_then_again_for_a_newer_model(trained_runs, tmp_path, monkeypatch):
    import os
    from pathlib import Path

    path = export.litert_file("alpha")
    assert path == trained_runs["alpha"] / export.EXPORTS_DIR / "alpha.tflite"
    made = path.stat().st_mtime_ns
    assert export.litert_file("alpha") == path and path.stat().st_mtime_ns == made  # reused, not redone

    model_time = (trained_runs["alpha"] / registry.MODEL_FILE).stat().st_mtime
    os.utime(path, (model_time - 60, model_time - 60))  # the run was retrained after the export
    assert export.litert_file("alpha") == path and path.stat().st_mtime >= model_time

    def read_only_run_folder(run, fmt, out=None, **options):  # as a deployment's image is
        if Path(out).is_relative_to(trained_runs["alpha"]):
            raise PermissionError(13, "Permission denied", str(out))
        return export_run(run, fmt, out, **options)

    monkeypatch.setattr(export, "export_run", read_only_run_folder)
    os.utime(path, (model_time - 60, model_time - 60))
    cached = export.litert_file("alpha", cache=tmp_path / "cache")
    assert cached == tmp_path / "cache" / "alpha" / "alpha.tflite"
    assert export.list_exports(cached.parent)[0]["check"]["top_label_agreement"] == 1.0


def test_files_without_figures_are_not_listed(tmp_path):
    (tmp_path / "stray.tflite").write_bytes(b"x")
    (tmp_path / "broken.tflite.json").write_text("{not json")
    (tmp_path / "escape.json").write_text(json.dumps({"file": "../x", "exported": "now"}))
    assert export.list_exports(tmp_path) == [] and export.list_exports(tmp_path / "none") == []


def test_bad_requests_are_one_line_errors(trained_runs, monkeypatch):
    with pytest.raises(ExportError, match="only available for litert"):
        export_run("alpha", "onnx", quantize="int8")
    with pytest.raises(ExportError, match="Unknown format"):
        export_run("alpha", "pickle")
    with pytest.raises(registry.RunError, match="No run named"):
        export_run("nobody", "litert")
    monkeypatch.setattr(export, "_importable", lambda name: False)
    with pytest.raises(ExportError, match="^ONNX export needs tf2onnx and onnxruntime"):
        export_run("alpha", "onnx")


def test_a_mixed_precision_model_is_exported_as_its_float32_twin(tmp_path):
    import keras

    inputs = keras.Input((8, 8, 1))
    hidden = keras.layers.Conv2D(4, 3, dtype="mixed_bfloat16")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", dtype="float32")(keras.layers.Flatten()(hidden))
    (tmp_path / "mixed").mkdir()
    keras.Model(inputs, outputs).save(tmp_path / "mixed" / registry.MODEL_FILE)

    model = export._float32_model(registry.Run("mixed", tmp_path / "mixed"))
    assert {layer.dtype_policy.name for layer in model.layers} == {"float32"}
    original = keras.models.load_model(tmp_path / "mixed" / registry.MODEL_FILE)
    faces = np.random.default_rng(0).uniform(0, 1, (4, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(model.predict_on_batch(faces), original.predict_on_batch(faces), atol=0.02)


def test_cli_export_prints_the_figures_and_where_it_wrote(trained_runs, tmp_path, capsys):
    assert main(["export", "alpha", "--format", "litert", "--out", str(tmp_path / "out"), "--faces", "10"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("alpha.tflite  ") and "top label agrees on 100.0% of 10 faces" in out
    assert f"written: {tmp_path / 'out' / 'alpha.tflite'}" in out

    assert main(["export", "alpha", "--format", "onnx", "--quantize", "int8"]) == 2
    assert capsys.readouterr().err == "error: --quantize int8 is only available for litert (int8).\n"


def test_an_ensemble_exports_as_one_file_that_averages_its_members(trained_runs, tmp_path):
    fmt = "litert"  # the phone format; the others go through the same model.export
    from emotion_core.ensemble import make_ensemble

    make_ensemble("duo", ["alpha", "beta"])
    record = export_run("duo", fmt, tmp_path / "out")

    assert record["check"]["max_abs_diff"] <= 1e-4 and record["check"]["top_label_agreement"] == 1.0
    faces = export.generated_faces(4, seed=5)
    members = [export.load_exported(export_run(name, fmt, tmp_path / name)["path"], fmt)(faces)
               for name in ("alpha", "beta")]
    got = export.load_exported(tmp_path / "out" / record["file"], fmt)(faces)
    np.testing.assert_allclose(got, (members[0] + members[1]) / 2, atol=1e-4)


def test_an_analysis_classifies_with_the_int8_file_or_the_float_one_when_asked(trained_runs):
    decisive_model().save(trained_runs["alpha"] / registry.MODEL_FILE)
    lines = []

    int8 = export.analysis_litert("alpha", log=lines.append)
    assert int8 == trained_runs["alpha"] / export.EXPORTS_DIR / "alpha-int8.tflite"
    assert lines == ["exporting alpha to LiteRT int8 and checking it on 500 faces, once (the next runs reuse it)"]
    assert export.analysis_litert("alpha", log=lines.append) == int8 and len(lines) == 1  # reused
    assert export.analysis_litert("alpha", log=lines.append, quantize=None).name == "alpha.tflite"
    assert export.ExportedModel(int8).record["quantize"] == "int8"


def test_an_int8_file_that_fails_its_check_gives_way_to_the_float_file_in_one_line(trained_runs):
    import os

    lines = []  # the tiny run is near uniform: its int8 top labels tie, and the check refuses them
    assert export.analysis_litert("alpha", log=lines.append).name == "alpha.tflite"
    notes = [line for line in lines if line.startswith("note:")]
    assert len(notes) == 1 and "\n" not in notes[0]
    assert notes[0].startswith("note: classifying with the float LiteRT file: no int8 one (The int8 file agrees")
    assert "(at least 99% needed)" in notes[0]
    assert not (trained_runs["alpha"] / export.EXPORTS_DIR / "alpha-int8.tflite").exists()

    lines.clear()  # the next analysis is not made to wait for the same refusal again
    assert export.analysis_litert("alpha", log=lines.append).name == "alpha.tflite"
    assert lines == notes
    model_time = (trained_runs["alpha"] / registry.MODEL_FILE).stat().st_mtime
    refusal = trained_runs["alpha"] / export.EXPORTS_DIR / ".alpha-int8.tflite.refused"
    os.utime(refusal, (model_time - 60, model_time - 60))  # the run was retrained since: int8 is tried again
    lines.clear()
    export.analysis_litert("alpha", log=lines.append)
    assert lines[0] == "exporting alpha to LiteRT int8 and checking it on 500 faces, once (the next runs reuse it)"
