"""The Models page offers a run's checked exports for download, with the check's figures."""

import pytest

from emotion_core import registry
from emotion_core.serving.export import export_run
from tests.test_pages_explore import frames, open_page, texts, widget

pytestmark = pytest.mark.slow


def test_models_page_lists_the_exported_files_of_the_chosen_run_with_their_figures(trained_runs):
    registry.deploy("alpha")
    export_run("alpha", "litert", faces=10)
    export_run("alpha", "savedmodel", faces=10)

    at = open_page("views/models.py")

    assert widget(at, "selectbox", "Exports of run").value == "alpha"  # the deployed run first
    table = next(frame for frame in frames(at) if "top label agreement" in frame.columns)
    assert sorted(table["file"]) == ["alpha-savedmodel.zip", "alpha.tflite"]
    assert list(table["top label agreement"]) == [1.0, 1.0]
    assert (table["max diff"] <= 1e-4).all() and set(table["checked on"]) == {"10 faces, tiny validation"}
    buttons = [element.proto.label for element in at.get("download_button")]
    assert {"alpha.tflite", "alpha-savedmodel.zip"} <= set(buttons)

    widget(at, "selectbox", "Exports of run").select("beta").run()
    assert "Nothing exported yet: `python -m emotion_core export beta --format litert`" in texts(at)
