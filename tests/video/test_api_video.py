"""POST /analyze/video through FastAPI's TestClient: a generated video's seconds (and frames) back,
the limits' 413 in one line naming the command line and Ray, and the route in /docs."""

from __future__ import annotations

import pytest

from emotion_core import registry
from emotion_core.serving.api import create_app
from emotion_core.video import read_table

pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")]


def client_of(**limits):
    from fastapi.testclient import TestClient

    registry.deploy("alpha")
    return TestClient(create_app(**limits))


def post(client, path, **params):
    with open(path, "rb") as handle:
        return client.post("/analyze/video", params=params, files={"file": (path.name, handle, "video/mp4")})


def test_a_posted_video_gets_its_seconds_and_frames_back(trained_runs, scenes, scene_analysis):
    reference, _ = scene_analysis
    client = client_of()
    answer = post(client, scenes / "ad_b" / "two.webm")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"] == "alpha" and "frames" not in body
    assert (body["video"]["viewers"], body["video"]["frames_analysed"], body["video"]["error"]) == (2, 10, "")
    assert [(row["face"], row["second"]) for row in body["seconds"]] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    # The rows of `analyze`'s video_seconds.csv for the same video, with the same model.
    expected = read_table(reference / "video_seconds.csv")
    expected = expected[expected["file"] == "ad_b/two.webm"]
    assert [row["emotion"] for row in body["seconds"]] == expected["emotion"].tolist()
    assert [row["happy"] for row in body["seconds"]] == pytest.approx(expected["happy"].tolist())

    answer = post(client, scenes / "ad_a" / "leaving.mp4", frames="true", fps=2)
    body = answer.json()
    assert answer.status_code == 200 and len(body["frames"]) == 8  # 4 s at 2 a second
    away = [row for row in body["frames"] if row["status"] == "no face found"]
    assert away and all(row["face"] is None and row["emotion"] is None for row in away)
    assert {row["face"] for row in body["frames"]} - {None} == {1}
    assert body["seconds"][2]["emotion"] is None and body["seconds"][2]["face_share"] == 0


def test_limits_give_a_413_naming_the_cli_and_ray(trained_runs, scenes):
    video = scenes / "ad_a" / "moving.mp4"
    for limits in ({"max_video_seconds": 2}, {"max_video_bytes": 1000}):
        answer = post(client_of(**limits), video)
        message = answer.json()["error"]
        assert answer.status_code == 413 and "\n" not in message
        assert "python -m emotion_core analyze VIDEO --out DIR" in message and "--engine ray" in message


def test_a_file_that_is_no_video_is_one_line(trained_runs, tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video")
    answer = post(client_of(), bad)
    assert answer.status_code == 400
    assert answer.json() == {
        "error": "'notes.mp4': not a video PyAV can read (Invalid data found when processing input)"}


def test_the_route_is_in_the_docs(trained_runs):
    schema = client_of().get("/openapi.json").json()
    route = schema["paths"]["/analyze/video"]["post"]
    assert {parameter["name"] for parameter in route["parameters"]} >= {"model", "fps", "faces", "frames"}
