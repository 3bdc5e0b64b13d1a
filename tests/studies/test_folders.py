"""Tests for emotion_core.studies.folders: an upload kept as a study folder, the finished ones listed."""

import io
import zipfile

import pytest

from emotion_core.analysis.outputs import MANIFEST
from emotion_core.studies import finished_studies, new_study, save_ad_video
from emotion_core.video import SECONDS_CSV


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


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
