"""Tests for emotion_core.studies.frames: the reaction videos' frames at a second of an ad, faces drawn."""

import zipfile

import numpy as np
import pytest

from emotion_core.adreport import build_report
from emotion_core.faces import crop_face
from emotion_core.video import FRAMES_CSV, read_table
from tests.video.videos import decoded_frames


@pytest.fixture(scope="module")
def study(ad_study_template):
    folder, _upload = ad_study_template
    return folder, build_report(folder), read_table(folder / FRAMES_CSV)


def test_each_reaction_video_shows_its_first_analysed_frame_of_the_ads_second(study):
    from emotion_core.studies import frame_rows

    folder, report, frames = study

    rows = frame_rows(report, frames, "ad_a", 1)
    late = frame_rows(report, frames, "ad_b", 0)  # carl.mp4 starts the ad 1 s in (the manifest's offset)

    assert rows.groupby("file")["time"].unique().map(list).to_dict() == {"ad_a/anna.mp4": [1.0], "ad_a/ben.mp4": [1.0]}
    assert sorted(rows[rows["file"] == "ad_a/ben.mp4"]["face"].astype(int)) == [1, 2]
    assert late["time"].tolist() == [1.0] and late["file"].tolist() == ["ad_b/carl.mp4"]
    assert frame_rows(report, frames, "ad_a", 2)["file"].tolist() == ["ad_a/anna.mp4"]  # ben.mp4 is 2 s long
    assert frame_rows(report, frames, "ad_a", 2, segment="all").equals(frame_rows(report, frames, "ad_a", 2))


def test_the_frames_are_the_analysed_ones_with_their_faces_drawn_and_ready_for_grad_cam(study, trained_run_template,
                                                                                       tmp_path):
    from emotion_core.predictor import Predictor
    from emotion_core.studies import viewer_frames

    folder, report, frames = study
    predictor = Predictor.load(trained_run_template / "models" / "alpha")

    anna, ben = viewer_frames(report, frames, "ad_a", 1)

    row = frames[(frames["file"] == "ad_a/ben.mp4") & (frames["time"] == 1.0)].iloc[0]
    with zipfile.ZipFile(folder / "upload" / "upload.zip") as archive:  # decoded here, without emotion_core
        (tmp_path / "ben.mp4").write_bytes(archive.read("ad_a/ben.mp4"))
    assert np.array_equal(ben.rgb, decoded_frames(tmp_path / "ben.mp4")[int(row["frame"])])
    assert (ben.file, ben.time, ben.viewers) == ("ad_a/ben.mp4", 1.0, [1, 2])
    assert ben.rgb.shape == (240, 320, 3)
    assert [face.label for face in ben.faces] == frames[(frames["file"] == "ad_a/ben.mp4") & (
        frames["time"] == 1.0)]["emotion"].tolist()
    drawn = ben.annotated()
    box = ben.faces[0].box
    assert not np.array_equal(drawn[box.y, box.x:box.x + box.width], ben.rgb[box.y, box.x:box.x + box.width])
    assert np.array_equal(ben.model_input(0, predictor), predictor.prepare(crop_face(ben.rgb, box)))
    probabilities = predictor.classify(ben.model_input(0, predictor)[None])[0]
    assert np.allclose(probabilities, [row[name] for name in predictor.classes], atol=1e-3)
    assert anna.viewers == [1]


def test_a_study_whose_videos_are_gone_shows_no_frame(study, tmp_path):
    from emotion_core.studies import viewer_frames

    folder, report, frames = study
    moved = dict(report.facts, source=str(tmp_path / "gone.zip"))

    assert viewer_frames(type(report)(**{**report.__dict__, "facts": moved}), frames, "ad_a", 1) == []
