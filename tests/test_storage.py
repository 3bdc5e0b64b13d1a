"""Tests for emotion_core.storage: whole files or none, and the time stamp run files record."""

from datetime import datetime, timedelta, timezone

import pytest

from emotion_core import storage


def test_a_write_replaces_the_file_whole_and_leaves_nothing_beside_it(tmp_path):
    target = tmp_path / "deep" / "status.json"  # missing folders are made

    storage.write_json_atomic(target, {"state": "running"})
    storage.write_json_atomic(target, {"state": "complete"})

    assert storage.read_json(target) == {"state": "complete"}
    assert [path.name for path in target.parent.iterdir()] == ["status.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path):
    target = tmp_path / "run" / "history.json"  # a folder of its own: conftest's folders sit in tmp_path
    target.parent.mkdir()
    target.write_text("[]")

    with pytest.raises(RuntimeError), storage.replacing(target) as temporary:
        temporary.write_text("[{half")
        raise RuntimeError("killed mid-write")

    assert target.read_text() == "[]"
    assert [path.name for path in target.parent.iterdir()] == ["history.json"]


@pytest.mark.parametrize("name, suffix, pattern", [("dataset.json", ".tmp", ".dataset.json.*.tmp"),
                                                   ("model.keras", ".keras", ".model.*.keras")])
def test_temporaries_are_hidden_files_named_as_remove_partial_files_expects(tmp_path, name, suffix, pattern):
    with storage.replacing(tmp_path / name, suffix) as temporary:
        assert temporary.parent == tmp_path and temporary.match(pattern)
        temporary.write_bytes(b"whole")

    assert (tmp_path / name).read_bytes() == b"whole"


def test_now_iso_is_utc_to_the_second():
    stamp = storage.now_iso()

    parsed = datetime.fromisoformat(stamp)
    assert parsed.utcoffset() == timedelta(0) and parsed.microsecond == 0
    assert abs(datetime.now(timezone.utc) - parsed) < timedelta(seconds=5)
