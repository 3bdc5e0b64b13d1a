"""`python -m emotion_core report`: an analysis folder's ad report, its files and the line it prints."""

from __future__ import annotations

import json

import pandas as pd

from emotion_core.adreport import COMPARE_OUT, DIFFERENCES_OUT, MOMENTS_OUT, REPORT_JSON, SECONDS_OUT, build_report
from tests.adreport.hand import write_analysis
from tests.analysis.test_cli_analyze import run_cli

# ad_a's second reaction video starts 2 s before the ad (offset 2): after alignment every viewer
# of ad_a is happy in seconds 0-2, and ad_b's viewers are sad in theirs.
VIEWERS = {("ad_a/anna.mp4", 1): ["happy", "happy", "happy"],
           ("ad_a/ben.mp4", 1): ["neutral", "neutral", "happy", "happy", "happy"],
           ("ad_b/cleo.mp4", 1): ["sad", "sad"],
           ("ad_b/dan.mp4", 1): ["sad", "neutral"]}


def study(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "manifest.csv").write_text("file,offset,market\nben.mp4,2,UK\nanna.mp4,0,FR\ncleo.mp4,0,UK\n")
    return write_analysis(tmp_path / "out", VIEWERS, source=videos)


def test_the_manifest_beside_the_videos_aligns_the_viewers(tmp_path):
    report = build_report(study(tmp_path))
    seconds = report.seconds.set_index(["ad", "second"])
    assert seconds.loc["ad_a", "viewers"].tolist() == [2, 2, 2]
    assert seconds.loc["ad_a", "share_happy"].tolist() == [1.0, 1.0, 1.0]
    assert seconds.loc["ad_b", "net_valence"].tolist() == [-1.0, -0.5]
    compared = report.compare.set_index("ad")
    assert compared.loc["ad_a", "duration"] == 3 and compared.loc["ad_a", "mean_net_valence"] == 1.0
    assert report.facts["manifest"].endswith("manifest.csv")
    assert report.headline.startswith("2 ads, 4 viewers; mean net valence ad_a +1.00 [+1.00, +1.00], ad_b -0.75 [")


def test_report_writes_its_tables_and_prints_one_line(tmp_path, capsys):
    folder = study(tmp_path)
    code, out, err = run_cli(capsys, "report", folder)
    assert (code, err) == (0, "") and out.count("\n") == 1
    assert "2 ads, 4 viewers" in out and "with 2 viewers each that is too few to tell" in out
    for name in (SECONDS_OUT, MOMENTS_OUT, COMPARE_OUT, DIFFERENCES_OUT, REPORT_JSON):
        assert (folder / name).is_file()
    compared = pd.read_csv(folder / COMPARE_OUT)
    assert compared["ad"].tolist() == ["ad_a", "ad_b"] and compared["viewers"].tolist() == [2, 2]
    assert compared["note"].str.startswith("only 2 viewers").all()
    document = json.loads((folder / REPORT_JSON).read_text())
    assert [ad["ad"] for ad in document["ads"]] == ["ad_a", "ad_b"] and document["model"] == "hand"
    assert {moment["moment"] for moment in document["ads"][0]["moments"]} >= {"opening", "ending", "peak-end score"}

    code, out, _ = run_cli(capsys, "report", folder, "--by", "market", "--out", tmp_path / "split")
    assert code == 0
    split = pd.read_csv(tmp_path / "split" / COMPARE_OUT)
    assert list(zip(split["ad"], split["segment"], split["viewers"])) == [
        ("ad_a", "FR", 1), ("ad_a", "UK", 1), ("ad_b", "(not in manifest)", 1), ("ad_b", "UK", 1)]
    gaps = pd.read_csv(tmp_path / "split" / DIFFERENCES_OUT)
    assert set(zip(gaps["ad"], gaps["other"], gaps["segment"])) == {("ad_a", "ad_b", "UK")}  # within a segment


def test_report_errors_are_one_line(tmp_path, capsys):
    code, out, err = run_cli(capsys, "report", tmp_path)
    assert (code, out) == (2, "") and err.count("\n") == 1 and "holds no video_seconds.csv" in err
    folder = study(tmp_path)
    (tmp_path / "bad.csv").write_text("file,offset\nnobody.mp4,1\n")
    code, _, err = run_cli(capsys, "report", folder, "--manifest", tmp_path / "bad.csv")
    assert code == 2 and err.count("\n") == 1 and "'nobody.mp4' is not among the analysed videos" in err
    code, _, err = run_cli(capsys, "report", folder, "--by", "age")
    assert code == 2 and "cannot split by 'age'" in err
