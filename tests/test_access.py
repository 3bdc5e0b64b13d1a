"""Access: predicting is open; training, cancelling and deploying ask for the admin password once one is set.

Also what a hostile file cannot do: a model file is loaded in Keras safe mode (no saved Python
runs), nothing unpickles, and a photo sent to the Predict page is not written anywhere.
"""

import ast
import io
import os
import shutil
from pathlib import Path

import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from emotion_core import access, jobs, registry
from emotion_core.cli import main
from emotion_core.predictor import Predictor
from emotion_core.storage import write_json_atomic
from tests.conftest import PHOTOS, PROJECT, needs_photos
from tests.factories import TINY_CONFIG

APP = str(PROJECT / "app.py")
TIMEOUT = 180
PASSWORD = "correct horse battery staple"


# --- The core -------------------------------------------------------------------------------------


def test_no_password_configured_means_open(monkeypatch):
    monkeypatch.delenv(access.PASSWORD_ENV, raising=False)
    assert access.admin_password() is None and not access.password_required()
    assert access.password_matches("", None) and access.is_unlocked(None, None)
    monkeypatch.setenv(access.PASSWORD_ENV, "")  # set but empty: still open, not locked for everyone
    assert access.admin_password() is None


@pytest.mark.parametrize("address, password, closed", [
    ("localhost", None, False), ("127.0.0.1", None, False), ("::1", None, False),
    ("0.0.0.0", None, True), ("192.168.1.23", None, True), (None, None, True),  # unset: every interface
    ("0.0.0.0", PASSWORD, False),  # the password decides instead
])
def test_actions_are_read_only_beyond_localhost_without_a_password(address, password, closed):
    assert access.read_only(password, address) is closed


def test_the_secret_comes_before_the_environment(monkeypatch):
    monkeypatch.setenv(access.PASSWORD_ENV, "from-env")
    assert access.admin_password() == "from-env"
    assert access.admin_password({"admin_password": "from-secrets"}) == "from-secrets"
    assert access.password_required({})


@pytest.mark.parametrize("given, expected", [
    (PASSWORD, True), ("correct horse battery stapl", False), (PASSWORD + " ", False), ("", False),
    (None, False), ("pässwörd", False),
])
def test_only_the_exact_password_matches(given, expected):
    assert access.password_matches(given, PASSWORD) is expected


def test_every_guess_is_decided_by_a_timing_safe_comparison_of_utf8_bytes(monkeypatch):
    # Timing itself is too noisy to assert on; what makes the check constant-time is that every
    # guess, right or wrong, short or long, reaches hmac.compare_digest as bytes, and that its
    # answer alone decides: no `==`, no length check, no early return on a wrong character.
    expected = "pässwörd"  # non-ASCII: compare_digest refuses such str, so both sides must be bytes
    guesses = {expected: True, "pässwörx": False, "xässwörd": False, "pässwör": False, expected * 3: False}
    compared = []
    real = access.hmac.compare_digest

    def recording(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(access.hmac, "compare_digest", recording)
    assert {guess: access.password_matches(guess, expected) for guess in guesses} == guesses
    assert compared == [(guess.encode("utf-8"), expected.encode("utf-8")) for guess in guesses]

    # If the comparison said yes to everything, every non-empty guess would pass: nothing else decides.
    monkeypatch.setattr(access.hmac, "compare_digest", lambda a, b: True)
    assert all(access.password_matches(guess, expected) for guess in guesses)
    # An empty or missing guess is refused without comparing (that it is empty is no secret).
    monkeypatch.setattr(access.hmac, "compare_digest", lambda a, b: pytest.fail("compared an empty guess"))
    assert not access.password_matches("", expected) and not access.password_matches(None, expected)


def test_an_unlocked_session_is_locked_again_when_the_password_changes():
    token = access.unlock_token(PASSWORD)
    assert PASSWORD not in token  # the session keeps a digest, not the password
    assert access.is_unlocked(token, PASSWORD)
    assert not access.is_unlocked(token, "a new password")
    assert not access.is_unlocked(None, PASSWORD)


# --- The pages -----------------------------------------------------------------------------------------


@pytest.fixture
def paused(monkeypatch):
    monkeypatch.setenv(jobs.MAX_JOBS_ENV, "0")  # Start queues a job; no worker (TensorFlow import) is paid for


@pytest.fixture
def listening_beyond_localhost():
    """The app as the container runs it: `--server.address 0.0.0.0`."""
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    yield
    config.set_option("server.address", before)


def open_page(page: str, secrets: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [error.message for error in at.exception]
    return at


def button(at: AppTest, label: str):
    return next(element for element in at.button if element.label == label)


def password_box(at: AppTest):
    boxes = [box for box in at.text_input if box.label == "Admin password"]
    return boxes[0] if boxes else None


def captions(at: AppTest) -> str:
    return "\n".join(caption.value for caption in at.caption)


def write_running_job(tiny_dataset) -> None:
    """A job whose worker is this test's process: alive, so the page offers Cancel."""
    config = {**TINY_CONFIG, "data": str(tiny_dataset), "name": "busy"}
    write_json_atomic(jobs.jobs_dir() / "1.json", {
        "id": "1", "status": "running", "request_id": None, "config": config, "resume": None,
        "resume_epochs": None, "run": None, "created": "2026-01-01T10:00:00+00:00",
        "started": "2026-01-01T10:00:00+00:00", "ended": None, "pid": os.getpid(),
        "pid_start": jobs.process_start(os.getpid()), "reason": "", "cancel_requested": False})


def test_without_a_password_training_is_open_and_no_box_is_shown(tiny_dataset, paused):
    at = open_page("views/train.py")

    assert password_box(at) is None
    assert not button(at, "Start training").disabled
    button(at, "Start training").click().run()
    assert [job["status"] for job in jobs.list_jobs()] == ["queued"]


def test_beyond_localhost_without_a_password_training_and_deploying_are_off_and_say_how_to_turn_on(
        trained_runs, paused, listening_beyond_localhost):
    registry.deploy("alpha")
    at = open_page("views/train.py")

    assert password_box(at) is None and button(at, "Start training").disabled
    (hint,) = [caption for caption in at.caption if "Starting training is turned off" in caption.value]
    assert "can be reached from other computers and has no admin password. Set one to turn it on." in hint.value
    assert access.PASSWORD_ENV not in captions(at) and access.PASSWORD_ENV in hint.proto.help

    at.switch_page("views/models.py").run()
    next(box for box in at.selectbox if box.label == "Run to deploy").select("beta").run()
    at.checkbox(key="confirm_deploy").check().run()
    assert button(at, "Deploy").disabled and button(at, "Use for Live").disabled
    assert "Deploying is turned off" in captions(at)
    assert registry.deployed_name() == "alpha"


def test_beyond_localhost_a_password_unlocks_as_before(tiny_dataset, paused, monkeypatch, listening_beyond_localhost):
    monkeypatch.setenv(access.PASSWORD_ENV, PASSWORD)
    at = open_page("views/train.py")
    assert button(at, "Start training").disabled and "needs the admin password" in captions(at)

    password_box(at).input(PASSWORD).run()
    assert not button(at, "Start training").disabled


def test_with_a_password_start_and_cancel_are_locked_until_it_is_given(tiny_dataset, paused, monkeypatch):
    monkeypatch.setenv(access.PASSWORD_ENV, PASSWORD)
    write_running_job(tiny_dataset)
    at = open_page("views/train.py")

    assert button(at, "Start training").disabled and button(at, "Cancel").disabled
    assert "Starting training needs the admin password" in captions(at)

    password_box(at).input("guess").run()
    assert [error.value for error in at.error] == ["Wrong admin password."]
    assert button(at, "Start training").disabled

    password_box(at).input(PASSWORD).run()
    assert not at.error
    assert not button(at, "Start training").disabled and not button(at, "Cancel").disabled
    button(at, "Start training").click().run()
    assert not at.exception
    assert sorted(job["status"] for job in jobs.list_jobs()) == ["queued", "running"]
    at.run()  # the next visit: unlocked for the rest of the session, the box is gone
    assert password_box(at) is None and not button(at, "Start training").disabled


def test_a_click_arriving_after_the_page_locked_starts_nothing(tiny_dataset, paused, monkeypatch):
    # A tab drawn before the password was set still shows Start enabled. Its click must start nothing:
    # Streamlit drops clicks on a button that is now disabled, and the page checks `allowed` again.
    at = open_page("views/train.py")
    monkeypatch.setenv(access.PASSWORD_ENV, PASSWORD)

    button(at, "Start training").click().run()

    assert not at.exception
    assert jobs.list_jobs() == []
    assert button(at, "Start training").disabled


def test_deploying_asks_for_the_password_from_streamlit_secrets(trained_runs):
    registry.deploy("alpha")
    at = open_page("views/models.py", secrets={"admin_password": PASSWORD})
    next(box for box in at.selectbox if box.label == "Run to deploy").select("beta").run()
    at.checkbox(key="confirm_deploy").check().run()

    assert button(at, "Deploy").disabled
    assert "Deploying needs the admin password" in captions(at)
    password_box(at).input(PASSWORD).run()
    button(at, "Deploy").click().run()

    assert not at.exception
    assert registry.deployed_name() == "beta"


@needs_photos
def test_predicting_never_asks_for_the_password(trained_runs, monkeypatch):
    monkeypatch.setenv(access.PASSWORD_ENV, PASSWORD)
    registry.deploy("alpha")
    st.cache_resource.clear()
    st.cache_data.clear()
    at = open_page("views/predict.py")
    at.file_uploader[0].set_value(("grace_hopper.jpg", (PHOTOS / "grace_hopper.jpg").read_bytes(),
                                   "image/jpeg")).run()

    assert password_box(at) is None and not at.error
    assert len(at.dataframe) == 1


# --- What a hostile file cannot do ---------------------------------------------------------------------


def test_a_model_file_holding_python_code_is_refused_not_run(trained_runs, isolated_dirs, capsys):
    import keras

    marker = str(isolated_dirs["cache"] / "pwned")
    inputs = keras.Input((48, 48, 1))
    # Unsafe deserialisation would rebuild this lambda from its bytecode and run it on every call.
    outputs = keras.layers.Lambda(lambda x: x * 0 + float(bool(open(marker, "w"))))(inputs)  # noqa: SIM115
    hostile = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(keras.layers.Flatten()(outputs)))
    run = isolated_dirs["models"] / "hostile"
    shutil.copytree(trained_runs["alpha"], run)
    (run / registry.MODEL_FILE).unlink()
    hostile.save(run / registry.MODEL_FILE)
    Path(marker).unlink(missing_ok=True)  # building the model ran the lambda once

    with pytest.raises(registry.RunError, match=r"Keras refused hostile/model.keras: .*Lambda"):
        Predictor.load("hostile")
    assert main(["predict", str(PROJECT / "README.md"), "--model", "hostile"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Keras refused hostile/model.keras") and err.count("\n") == 1
    assert not Path(marker).exists()


def _calls(tree: ast.AST, name: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            if called == name:
                yield node


def _keyword(call: ast.Call, name: str):
    return next((ast.literal_eval(k.value) for k in call.keywords if k.arg == name), None)


SOURCES = sorted([*PROJECT.glob("emotion_core/*.py"), *PROJECT.glob("views/*.py"), *PROJECT.glob("ui/*.py"), PROJECT / "app.py",
                  *PROJECT.glob("bench/*.py")])


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: str(path.relative_to(PROJECT)))
def test_models_load_in_safe_mode_and_nothing_unpickles(source):
    tree = ast.parse(source.read_text())

    for call in _calls(tree, "load_model"):
        assert _keyword(call, "safe_mode") is True, f"{source.name}:{call.lineno} load_model without safe_mode=True"
    for call in _calls(tree, "load"):
        if isinstance(call.func, ast.Attribute) and getattr(call.func.value, "id", "") in ("np", "numpy"):
            assert _keyword(call, "allow_pickle") is False, f"{source.name}:{call.lineno} np.load may unpickle"
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names} | {node.module.split(".")[0] for node in ast.walk(tree)
                                           if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"pickle", "dill", "joblib", "cloudpickle", "shelve"}
    assert not list(_calls(tree, "read_pickle"))


def _files(folder: Path) -> dict[str, float]:
    return {str(path): path.stat().st_mtime for path in folder.rglob("*") if path.is_file()}


@needs_photos
def test_a_photo_sent_to_the_predict_page_is_not_written_anywhere(trained_runs, isolated_dirs, tmp_path):
    registry.deploy("alpha")
    at = open_page("views/predict.py")
    photo = io.BytesIO()
    Image.open(PHOTOS / "grace_hopper.jpg").save(photo, "PNG")  # bytes no file on disk holds yet
    before = _files(tmp_path)  # the data root, the registry and the cache all live here

    at.file_uploader[0].set_value(("mine.png", photo.getvalue(), "image/png")).run()

    assert not at.exception and len(at.dataframe) == 1
    assert _files(tmp_path) == before
