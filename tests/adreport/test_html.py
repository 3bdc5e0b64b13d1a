"""report.html as a stakeholder gets it: one file that loads nothing, both ads named, charts inline,
the comparison marked, the small sample flagged, the model's measured accuracy."""

from __future__ import annotations

import json
import re

from emotion_core.adreport import HTML_OUT, build_report, write_html
from emotion_core.registry import load_run
from tests.adreport.hand import write_analysis

# Anything fetched from the network: a script, a style sheet, an image, a font, a frame.
REMOTE = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//""", re.I)


def contrast_study(tmp_path, model: str = "hand"):
    """ad_a: 12 viewers, 3 happy and 9 neutral, all happy at second 4; ad_b: 4 viewers, 3 sad, 1 neutral; 8 s."""
    viewers = {(f"ad_a/v{index}.mp4", 1): ["happy" if index < 3 or second == 4 else "neutral" for second in range(8)]
               for index in range(12)}
    viewers |= {(f"ad_b/w{index}.mp4", 1): ["sad" if index < 3 else "neutral"] * 8 for index in range(4)}
    folder = write_analysis(tmp_path / "study", viewers, source=tmp_path / "videos")
    (folder / "analysis.json").write_text(json.dumps({"source": str(tmp_path / "videos"), "model": model}))
    return build_report(folder)


def test_report_html_is_one_offline_file_naming_both_ads_with_inline_charts(tmp_path):
    report = contrast_study(tmp_path)
    path = write_html(report, tmp_path / "out")
    assert path.name == HTML_OUT
    page = path.read_text()
    assert not REMOTE.search(page), REMOTE.search(page).group(0)
    assert "<script" not in page  # charts are drawn already, as SVG
    assert "<title>Ad test report: ad_a vs ad_b</title>" in page
    assert "<h2>ad_a</h2>" in page and "<h2>ad_b</h2>" in page
    # the overlaid curves, then per ad its timeline and its viewers' strips
    assert page.count("<svg") == 5 and page.count("</svg>") == 5
    assert "net valence (positive − negative): ad_a vs ad_b" in page  # the compare chart's title, drawn as SVG text
    assert "How to read this" in page and "Sample sizes" in page
    assert "reading positive (happy, surprise) minus the share reading negative (angry, disgust, fear, sad)" in page


def test_report_html_marks_gaps_beyond_chance_flags_few_viewers_and_names_the_moment(tmp_path):
    page = write_html(contrast_study(tmp_path), tmp_path / "out").read_text()
    # ad_a's net valence (+0.34) leads ad_b's (−0.75) beyond chance; ad_b has only 4 viewers
    net_row = page[page.index("Net valence, whole ad"):].split("</tr>")[0]
    assert "class='number lead'" in net_row and "▲ beyond chance over ad_b" in net_row
    assert "only 4 viewers: too few to tell" in page
    # the verdict quotes the table's own gap, whose interval leaves out 0 as the ▲ says, and agrees with the note
    said = page[page.index("<h2>In short</h2>"):].split("</p>")[0]
    assert ("ad_a read more positive than ad_b (mean net valence +0.34 vs −0.75; gap +1.09, 95% interval +" in said
            and said.endswith("but with 12 and 4 viewers that is too few to tell.</b>"))
    # the moment: every viewer of ad_a happy at second 4 (3 of 12 otherwise)
    moments = page[page.index("<h2>ad_a</h2>"):page.index("<h2>ad_b</h2>")]
    assert "<td>peak happy</td><td class='number'>4 s</td><td class='number'>100%</td>" in moments
    assert "No faces shown: the reaction videos were not found" in moments  # the hand-made study has no videos
    assert "not known here: the run is not in this registry" in page  # the model 'hand'


def test_report_html_gives_the_models_measured_accuracy_from_the_registry(tmp_path, trained_run_template, monkeypatch):
    monkeypatch.setenv("EMOTION_RUNS_DIR", str(trained_run_template / "models"))
    report = contrast_study(tmp_path, model="alpha")
    accuracy = load_run(trained_run_template / "models" / "alpha").accuracy
    assert report.facts["model_accuracy"] == accuracy
    page = write_html(report, tmp_path / "out").read_text()
    assert f"Faces read by <b>alpha</b>; measured accuracy: {accuracy:.2%} of validation faces right over 7 classes" in page


def test_report_html_names_the_file_that_classified(tmp_path):
    viewers = {("ad_a/v0.mp4", 1): ["happy"] * 3, ("ad_b/w0.mp4", 1): ["sad"] * 3}
    folder = write_analysis(tmp_path / "study", viewers, source=tmp_path / "videos")
    classifier = {"file": "hand-int8.tflite", "precision": "int8"}  # as `analyze` records it
    (folder / "analysis.json").write_text(json.dumps({"source": str(tmp_path / "videos"), "model": "hand",
                                                      "classifier": classifier}))
    report = build_report(folder)
    assert report.facts["classifier"] == classifier  # ad_summary.json keeps it too
    assert "Faces read by <b>hand</b> (its int8 LiteRT file); measured accuracy" in write_html(report, tmp_path).read_text()
