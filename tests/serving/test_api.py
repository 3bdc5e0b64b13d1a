"""The REST API through FastAPI's TestClient, and once as a real `serve` process on localhost."""

import base64
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from emotion_core import registry
from emotion_core.predictor import Predictor
from emotion_core.serving.api import create_app, validation_message
from tests.conftest import PHOTOS, PROJECT, face_like_image, needs_photos
from tests.test_images import png_claiming_size

pytestmark = [pytest.mark.slow,
              # Starlette 1.x suggests httpx2 for its TestClient; httpx (pinned) still drives it.
              pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")]


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def face_png(label: int = 3, seed: int = 0) -> bytes:
    """A 48x48 face-like crop (no face for a detector: sent with whole_image=true)."""
    return png(face_like_image(label, np.random.default_rng(seed)))


@pytest.fixture
def client(trained_runs):
    from fastapi.testclient import TestClient

    registry.deploy("alpha")
    return TestClient(create_app())


def post(client, *files, **params):
    """POST /predict with (name, bytes) files under `file`."""
    return client.post("/predict", params=params, files=[("file", (name, data, "application/octet-stream"))
                                                         for name, data in files])


# --- endpoints ------------------------------------------------------------------------------


def test_health_names_the_run_served(client):
    assert client.get("/health").json() == {"status": "ok", "model": "alpha"}


def test_models_lists_runs_with_weights_and_what_each_alias_serves(client):
    answer = client.get("/models").json()

    assert answer["default"] == "deployed"
    assert answer["aliases"]["deployed"] == "alpha"
    assert set(answer["aliases"]) == set(registry.ALIASES)
    assert {run["run"] for run in answer["runs"]} == {"alpha", "beta"}
    alpha = next(run for run in answer["runs"] if run["run"] == "alpha")
    assert alpha["architecture"] == "vgg_gap_small" and alpha["state"] == "complete"
    assert len(alpha["classes"]) == 7


def test_predict_answers_as_predict_json_does(client, trained_runs):
    image = face_png()

    answer = post(client, ("crop.png", image), whole_image="true").json()

    expected = [face.as_dict() for face in Predictor.load("alpha").predict(image, whole_image_fallback=True)]
    assert answer == {"model": "alpha", "images": [{"file": "crop.png", "faces": expected}]}
    (face,) = answer["images"][0]["faces"]
    assert face["whole_image"] is True and face["label"] in face["probabilities"]
    assert sum(face["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)


def test_a_crop_without_whole_image_has_no_face(client):
    assert post(client, ("crop.png", face_png())).json()["images"] == [{"file": "crop.png", "faces": []}]


def test_model_query_picks_another_run(client):
    answer = post(client, ("crop.png", face_png()), model="beta", whole_image="true").json()
    assert answer["model"] == "beta"


def test_a_new_deployment_is_served_without_a_restart(client):
    registry.deploy("beta")
    assert client.get("/health").json()["model"] == "beta"
    assert post(client, ("crop.png", face_png()), whole_image="true").json()["model"] == "beta"


def test_the_live_alias_serves_the_deployed_run_until_it_is_set(client):
    assert post(client, ("crop.png", face_png()), model="live", whole_image="true").json()["model"] == "alpha"
    registry.deploy("beta", alias=registry.LIVE)
    assert post(client, ("crop.png", face_png()), model="live", whole_image="true").json()["model"] == "beta"
    assert client.get("/models").json()["aliases"] == {"deployed": "alpha", "live": "beta"}


@needs_photos
def test_a_photo_gets_its_face_and_a_gradcam_png_per_face(client):
    answer = post(client, ("astronaut.png", (PHOTOS / "astronaut.png").read_bytes()), explain="gradcam").json()

    (face,) = answer["images"][0]["faces"]
    assert 150 < face["box"]["x"] < 220 and face["box"]["width"] > 60  # the astronaut's face
    heatmap = Image.open(io.BytesIO(base64.b64decode(face["heatmap_png"])))
    assert heatmap.format == "PNG" and heatmap.size == (48, 48) and heatmap.mode == "RGB"


def test_explain_adds_a_heatmap_only_when_asked(client):
    plain = post(client, ("crop.png", face_png()), whole_image="true").json()["images"][0]["faces"][0]
    explained = post(client, ("crop.png", face_png()), whole_image="true", explain="gradcam").json()
    face = explained["images"][0]["faces"][0]
    assert "heatmap_png" not in plain
    assert {key: value for key, value in face.items() if key != "heatmap_png"} == plain


def test_openapi_docs_are_served(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/models", "/predict"} <= set(paths)


# --- bad input ------------------------------------------------------------------------------


def test_bad_files_get_their_own_errors_and_the_good_one_is_still_answered(trained_runs):
    from fastapi.testclient import TestClient

    registry.deploy("alpha")
    client = TestClient(create_app(max_file_bytes=50_000))
    truncated = png(Image.new("RGB", (64, 64), (200, 30, 30)))[:60]
    big = png(Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)))
    assert len(big) > 50_000

    response = post(client, ("good.png", face_png()), ("notes.jpg", b"just some text"), ("cut.png", truncated),
                    ("bomb.png", png_claiming_size(50_000, 50_000)), ("big.png", big), ("empty.png", b""),
                    whole_image="true")

    assert response.status_code == 200
    images = response.json()["images"]
    assert [image["file"] for image in images] == ["good.png", "notes.jpg", "cut.png", "bomb.png", "big.png",
                                                   "empty.png"]
    assert len(images[0]["faces"]) == 1
    assert [image.get("status") for image in images] == [None, 400, 400, 400, 413, 400]
    assert images[1]["error"].startswith("'notes.jpg': The file is not an image PIL can read")
    assert images[2]["error"].startswith("'cut.png': The file is truncated or corrupt")
    assert images[3]["error"].startswith("'bomb.png': The file is too large")
    assert images[4]["error"] == "'big.png' is over 49 KB; send a smaller photo."
    assert images[5]["error"] == "'empty.png': The file is empty."
    assert all("\n" not in image.get("error", "") for image in images)


def test_a_request_of_bad_files_only_has_their_status(client):
    response = post(client, ("notes.jpg", b"just some text"))
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "'notes.jpg': The file is not an image PIL can read (unrecognised file format)."
    assert body["images"][0]["status"] == 400
    assert "\n" not in response.text  # one line of JSON


def test_an_oversized_request_is_refused_before_it_is_read(trained_runs):
    from fastapi.testclient import TestClient

    registry.deploy("alpha")
    client = TestClient(create_app(max_request_bytes=10_000, max_file_bytes=5_000))
    response = post(client, ("a.png", b"x" * 20_000))
    assert response.status_code == 413
    assert response.json() == {"error": "The request is 20 KB; at most 10 KB a request (5 KB a file)."}


def test_a_chunked_upload_without_its_length_is_411(client):
    response = client.post("/predict", content=iter([b"--x\r\n"]),
                           headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert response.status_code == 411
    assert response.json() == {"error": "Send the upload with a Content-Length header, not chunked."}


def test_a_bug_is_a_500_in_one_line_of_json(trained_runs, monkeypatch):
    from fastapi.testclient import TestClient

    import emotion_core.serving.api as api

    registry.deploy("alpha")
    client = TestClient(create_app(), raise_server_exceptions=False)
    monkeypatch.setattr(api, "predict_and_explain", lambda *args, **kwargs: 1 / 0)
    response = post(client, ("crop.png", face_png()))
    assert response.status_code == 500
    assert response.json() == {"error": "internal error (ZeroDivisionError); the server log has the details"}


def test_too_many_files_in_one_request_is_413(trained_runs):
    from fastapi.testclient import TestClient

    registry.deploy("alpha")
    client = TestClient(create_app(max_files=2))
    response = post(client, *[(f"{k}.png", face_png()) for k in range(3)])
    assert response.status_code == 413 and response.json() == {"error": "3 files in one request; at most 2."}


@pytest.mark.parametrize("params, message", [
    ({"faces": "tiny"}, "faces: Input should be 'any', 'all' or 'large'"),
    ({"explain": "magic"}, "explain: Input should be 'gradcam', 'gradcam++' or 'scorecam'"),
    ({"whole_image": "perhaps"}, "whole_image: Input should be a valid boolean, unable to interpret input"),
])
def test_bad_parameters_are_422_in_one_line(client, params, message):
    response = post(client, ("crop.png", face_png()), **params)
    assert response.status_code == 422 and response.json() == {"error": message}


def test_no_file_is_422(client):
    response = client.post("/predict")
    assert response.status_code == 422 and response.json() == {"error": "file: Field required"}


@pytest.mark.parametrize("model, message", [
    ("nobody", "No run named 'nobody'."),
    ("../alpha", "'../alpha' is not a run name of the registry."),
    ("/etc", "'/etc' is not a run name of the registry."),
])
def test_an_unknown_model_is_400(client, model, message):
    response = post(client, ("crop.png", face_png()), model=model)
    assert response.status_code == 400 and response.json()["error"].startswith(message)


def test_an_unknown_model_is_named_without_the_servers_paths(client, isolated_dirs):
    response = post(client, ("crop.png", face_png()), model="nope")

    assert response.json() == {"error": "No run named 'nope'."}
    assert str(isolated_dirs["models"]) not in response.text


def test_an_unknown_path_is_a_json_404(client):
    response = client.get("/nothing")
    assert response.status_code == 404 and response.json() == {"error": "Not Found"}


def test_validation_messages_are_joined_in_one_line():
    errors = [{"loc": ("query", "faces"), "msg": "bad"}, {"loc": ("body", "file"), "msg": "Field required"}]
    assert validation_message(errors) == "faces: bad; file: Field required"


def test_a_registry_without_a_deployment_stops_the_start_in_one_line(trained_runs):
    with pytest.raises(registry.RunError, match="^No run is deployed yet in .*; deploy one with `runs deploy RUN`.$"):
        create_app()


# --- the API key ----------------------------------------------------------------------------


def test_with_an_api_key_set_every_endpoint_but_health_asks_for_it(trained_runs, monkeypatch):
    from fastapi.testclient import TestClient

    registry.deploy("alpha")
    monkeypatch.setenv("EMOTION_API_KEY", "a long shared secret")
    client = TestClient(create_app())

    assert client.get("/health").status_code == 200
    for headers in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}, {"X-API-Key": "a long shared secret "}):
        assert client.get("/models", headers=headers).status_code == 401
        response = client.post("/predict", headers=headers, files=[("file", ("crop.png", face_png()))])
        assert response.status_code == 401
        assert response.json() == {"error": "missing or wrong X-API-Key header"}
    good = {"X-API-Key": "a long shared secret"}
    assert client.get("/models", headers=good).status_code == 200
    response = client.post("/predict", headers=good, params={"whole_image": "true"},
                           files=[("file", ("crop.png", face_png()))])
    assert response.status_code == 200 and len(response.json()["images"][0]["faces"]) == 1


def test_the_key_is_compared_in_constant_time(trained_runs, monkeypatch):
    import emotion_core.serving.api as api

    compared = []
    monkeypatch.setattr(api, "password_matches", lambda given, expected: compared.append((given, expected)) or False)
    from fastapi.testclient import TestClient

    registry.deploy("alpha")
    assert TestClient(create_app(api_key="k")).get("/models", headers={"X-API-Key": "guess"}).status_code == 401
    assert compared == [("guess", "k")]  # access.password_matches: hmac.compare_digest


# --- a real server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = "emotion-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
             f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n" for name, data in files]
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def post_real(url: str, files, api_key: str) -> tuple[int, dict]:
    body, content_type = multipart(files)
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": content_type, "X-API-Key": api_key})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def server(trained_runs, tmp_path):
    """`python -m emotion_core serve` on a free localhost port, serving alpha; yields its base URL."""
    registry.deploy("alpha")
    port = free_port()
    env = {**os.environ, "EMOTION_API_KEY": "k", "TF_CPP_MIN_LOG_LEVEL": "3"}
    log = tmp_path / "serve.log"
    with open(log, "w") as output:
        process = subprocess.Popen([sys.executable, "-m", "emotion_core", "serve", "--port", str(port),
                                    "--log-level", "warning"], cwd=PROJECT, env=env, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # imports TensorFlow and loads the model on two busy cores
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                    assert json.loads(response.read()) == {"status": "ok", "model": "alpha"}
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"serve did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def test_eight_clients_at_once_get_the_answers_one_client_gets_in_turn(server):
    photos = [(p.name, p.read_bytes()) for p in sorted(PHOTOS.glob("*.png"))[:3]] if PHOTOS.is_dir() else []
    requests = [[(f"crop{k}.png", face_png(label=k, seed=k))] for k in range(4)]
    requests += [[photo] for photo in photos] + [[("notes.jpg", b"text"), ("crop.png", face_png())]]
    url = f"{server}/predict?whole_image=true"

    in_turn = [post_real(url, files, "k") for files in requests]

    start = threading.Barrier(8)
    at_once = [None] * 8

    def client(number: int) -> None:
        start.wait()  # all eight post together
        at_once[number] = [post_real(url, files, "k") for files in requests[number:] + requests[:number]]

    threads = [threading.Thread(target=client, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    for number, answers in enumerate(at_once):
        assert answers == in_turn[number:] + in_turn[:number], f"client {number}"
    assert all(status == 200 for status, _ in in_turn)
    assert in_turn[-1][1]["images"][0]["status"] == 400 and len(in_turn[-1][1]["images"][1]["faces"]) == 1
    assert post_real(url, requests[0], "wrong")[0] == 401


def test_a_calibration_is_served_from_the_next_request_on(trained_runs):
    from emotion_core.serving.api import ModelPool

    pool = ModelPool()
    before, _ = pool.get("alpha")
    (trained_runs["alpha"] / registry.CALIBRATION_FILE).write_text(json.dumps({"temperature": 0.5}))
    after, _ = pool.get("alpha")

    assert (before.temperature, after.temperature) == (1.0, 0.5)
    assert pool.get("alpha")[0] is after  # loaded once per calibration, not per request
