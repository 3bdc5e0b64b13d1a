"""The ad report of analysed videos, end to end: the scenes' two ads (tests.video.videos), a manifest
that says one reaction video started a second before its ad, `python -m emotion_core report`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emotion_core.adreport import COMPARE_OUT, MOMENTS_OUT, SECONDS_OUT
from emotion_core.labels import EMOTIONS
from emotion_core.video import SECONDS_CSV, read_table
from tests.analysis.test_cli_analyze import run_cli


def test_report_of_analysed_videos_aligns_and_counts_viewers(scene_analysis, tmp_path, capsys):
    analysis, _ = scene_analysis
    (tmp_path / "manifest.csv").write_text("file,offset,panel\nleaving.mp4,1,web\nmoving.mp4,0,lab\n")
    code, out, err = run_cli(capsys, "report", analysis, "--manifest", tmp_path / "manifest.csv",
                             "--out", tmp_path / "report")
    assert code == 0, err
    assert out.startswith("2 ads, 6 viewers;") and out.count("\n") == 1
    compared = pd.read_csv(tmp_path / "report" / COMPARE_OUT).set_index("ad")
    # ad_a: moving (3 s) and leaving (4 s less the 1 s before the ad); ad_b: two faces, phone, the 3.5 s VFR video
    assert compared.loc["ad_a", ["viewers", "duration"]].tolist() == [2, 3]
    assert compared.loc["ad_b", ["viewers", "duration"]].tolist() == [4, 4]
    assert compared["note"].str.contains("too few to tell").all()

    seconds = pd.read_csv(tmp_path / "report" / SECONDS_OUT)
    ad_a = seconds[seconds["ad"] == "ad_a"].set_index("second")
    # leaving.mp4's face is there in its seconds 0-1 and 3, gone in 2: on the ad's clock, 0 and 2
    assert ad_a["viewers"].tolist() == [2, 1, 2]
    # attention counts every viewer whose video covers the second; both face the camera whenever found:
    # leaving.mp4's face is in 3 of the 5 frames of its second 1 (gone from 1.5 s), moving's in all
    assert ad_a["attention"].tolist() == pytest.approx([(1 + 3 / 5) / 2, 1 / 2, 1.0])
    table = read_table(analysis / SECONDS_CSV).set_index(["file", "second"])
    expected = np.mean([table.loc[("ad_a/moving.mp4", 0), list(EMOTIONS)].to_numpy(dtype=float),
                        table.loc[("ad_a/leaving.mp4", 1), list(EMOTIONS)].to_numpy(dtype=float)], axis=0)
    assert ad_a.loc[0, [f"p_{name}" for name in EMOTIONS]].to_numpy(dtype=float) == pytest.approx(expected, abs=1e-4)
    present = seconds[seconds["viewers"] > 0]
    assert np.allclose(present[[f"share_{name}" for name in EMOTIONS]].sum(axis=1), 1)
    assert np.allclose(present["net_valence"], present["valence_positive"] - present["valence_negative"], atol=1e-3)

    moments = pd.read_csv(tmp_path / "report" / MOMENTS_OUT)
    for ad in ("ad_a", "ad_b"):
        assert {"opening", "ending", "peak-end score"} <= set(moments.loc[moments["ad"] == ad, "moment"])
