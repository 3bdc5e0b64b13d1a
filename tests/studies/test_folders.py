"""Tests for emotion_core.studies.folders: an upload kept as a study folder, the finished ones listed."""

import errno
import io
import zipfile
from collections import namedtuple
from pathlib import Path

import pytest

from emotion_core import storage
from emotion_core.analysis import sources
from emotion_core.analysis.outputs import MANIFEST
from emotion_core.studies import finished_studies, new_study, save_ad_video
from emotion_core.video import SECONDS_CSV


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zip_bomb(megabytes: int = 2) -> bytes:
    """A few kilobytes that claim `megabytes` of zeros unpacked: a zip bomb once the floor is lowered
    below it (sources.ZIP_BOMB_FLOOR, 100 MB as shipped; a test needs no real 100 MB)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("study/ad_a/anna.mp4", bytes(megabytes * 2**20))
    return buffer.getvalue()


def free_disk(monkeypatch, free: int) -> None:
    """The disk as storage.check_free_space sees it: `free` bytes left."""
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(storage.shutil, "disk_usage", lambda path: usage(10 * 2**30, 10 * 2**30 - free, free))


def test_a_zip_becomes_a_study_folder_with_its_manifest_beside_it(tmp_path):
    upload = zip_of({"study/ad_a/anna.mp4": b"video", "study/ad_b/carl.mov": b"video",
                     "study/manifest.csv": b"file,offset\nanna.mp4,2\n", "study/ad_b/notes.txt": b"x"})

    source = new_study([("Spring test.zip", upload)], tmp_path, name="spring")
    again = new_study([("Spring test.zip", upload)], tmp_path, name="spring")

    assert source == tmp_path / "spring" / "upload" / "upload.zip"
    assert source.read_bytes() == upload
    assert (source.parent / "manifest.csv").read_text() == "file,offset\nanna.mp4,2\n"
    assert again == tmp_path / "spring-2" / "upload" / "upload.zip"  # never into an earlier study
    named = new_study([("Spring test.zip", upload)], tmp_path)
    assert named.parents[1].name.startswith("Spring_test-")


def test_loose_videos_are_one_ad_and_an_upload_without_videos_is_refused(tmp_path):
    tmp_path = tmp_path / "studies"
    source = new_study([("a.mp4", b"v1"), ("../b.webm", b"v2")], tmp_path, name="loose")

    assert sorted(path.name for path in source.iterdir()) == ["a.mp4", "b.webm"]
    cases = [([("photo.jpg", b"x")], "The upload holds no videos"),
             ([("a.zip", zip_of({"a/photo.png": b"x"}))], "The upload holds no videos"),
             ([("a.zip", b"not a zip")], "a.zip is not a valid .zip file"),
             ([("a.zip", zip_of({"a/x.mp4": b"x"})), ("b.mp4", b"x")], "either one .zip or several")]
    for files, message in cases:
        with pytest.raises(ValueError, match=message):
            new_study(files, tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["loose"]  # nothing left by a refusal


def test_finished_studies_are_the_folders_with_video_tables_newest_first(tmp_path):
    tmp_path = tmp_path / "studies"
    tmp_path.mkdir()
    for name, finished in (("old", "2026-12-01T10:00:00+00:00"), ("new", "2026-12-05T10:00:00+00:00")):
        (tmp_path / name).mkdir()
        (tmp_path / name / MANIFEST).write_text(f'{{"finished": "{finished}", "model": "alpha", "videos": {{"a.mp4": {{}}}}}}')
        (tmp_path / name / SECONDS_CSV).write_text("file\n")
    (tmp_path / "photos-only").mkdir()
    (tmp_path / "photos-only" / MANIFEST).write_text("{}")
    (tmp_path / "running").mkdir()
    (tmp_path / "running" / SECONDS_CSV).write_text("file\n")

    found = finished_studies(tmp_path)

    assert [study.path.name for study in found] == ["new", "old"]
    assert found[0].label == "new: 1 reaction video, model alpha, 2026-12-05 10:00"
    assert finished_studies(tmp_path / "nowhere") == []


def test_the_ad_itself_is_kept_once_per_ad(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / MANIFEST).write_text("{}")
    (tmp_path / "s" / SECONDS_CSV).write_text("file\n")
    (study,) = finished_studies(tmp_path)

    save_ad_video(study, "ad_a", "Spring cut.MP4", b"first")
    save_ad_video(study, "ad_a", "final.webm", b"second")

    assert study.ad_video("ad_a").name == "ad_a.webm" and study.ad_video("ad_a").read_bytes() == b"second"
    assert study.ad_video("ad_b") is None
    with pytest.raises(ValueError, match="notes.txt is not a video"):
        save_ad_video(study, "ad_b", "notes.txt", b"x")


def test_a_zip_bomb_or_an_upload_the_disk_cannot_hold_is_refused_in_one_line_leaving_nothing(tmp_path, monkeypatch):
    tmp_path = tmp_path / "studies"
    monkeypatch.setattr(sources, "ZIP_BOMB_FLOOR", 2**20)
    bomb = zip_bomb(2)
    with pytest.raises(ValueError) as refused:
        new_study([("spring.zip", bomb)], tmp_path)
    assert "spring.zip claims to unpack to 2 MB from 0.0 MB" in str(refused.value)
    assert "zip bomb" in str(refused.value) and "\n" not in str(refused.value)

    upload = zip_of({"study/ad_a/anna.mp4": bytes(3 * 2**20)})  # stored: 3 MB claimed from 3 MB
    free_disk(monkeypatch, storage.MIN_FREE_BYTES + 2 * 2**20)
    with pytest.raises(ValueError, match=r"^The upload needs 3 MB on this server's disk and 102 MB is free .*"
                                         r"nothing was written\.$"):
        new_study([("spring.zip", upload)], tmp_path)
    assert not any(tmp_path.iterdir())  # no study folder, not even an empty one

    free_disk(monkeypatch, storage.MIN_FREE_BYTES + 4 * 2**20)  # room enough: the same upload is kept
    assert new_study([("spring.zip", upload)], tmp_path, name="spring").read_bytes() == upload


def test_a_disk_filling_up_while_writing_leaves_no_half_study(tmp_path, monkeypatch):
    tmp_path = tmp_path / "studies"
    def full(path, data):  # half the file reaches the disk, then it is full
        Path(path).open("wb").write(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(ValueError, match=r"^The upload could not be saved \(No space left on device\): nothing was kept\.$"):
        new_study([("a.mp4", b"v1" * 1000), ("b.mp4", b"v2")], tmp_path)
    assert not any(tmp_path.iterdir())


def test_the_ad_itself_is_refused_when_the_disk_cannot_hold_it(tmp_path, monkeypatch):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / MANIFEST).write_text("{}")
    (tmp_path / "s" / SECONDS_CSV).write_text("file\n")
    (study,) = finished_studies(tmp_path)
    free_disk(monkeypatch, storage.MIN_FREE_BYTES)

    with pytest.raises(ValueError, match="^final.mp4 needs 0 MB on this server's disk"):
        save_ad_video(study, "ad_a", "final.mp4", b"video")
    assert study.ad_video("ad_a") is None
