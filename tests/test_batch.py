"""Tests for emotion_core.batch: analysing a folder or a .zip of photos into a CSV, and its summaries.

The photo folder is generated from ../shared/photos: the two portraits' faces are cut out and
tiled on plain canvases (one or two per photo) in sub-folders, beside photos without a face and
a file that is not an image. Most tests use `BrightnessPredictor`, the real face detector with a
stand-in model that calls the astronaut's (brighter) face happy and Grace Hopper's neutral, so
the figures a user reads are known exactly; the CLI tests run a real tiny model.
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from emotion_core import batch, registry
from emotion_core.cli import main
from emotion_core.faces import FACE_SIZES, FaceDetector, crop_face, prepare_face
from emotion_core.images import load_rgb
from emotion_core.labels import EMOTIONS
from tests.conftest import PHOTOS, needs_photos
from tests.test_faces import face_grid

HAPPY = np.array([0.05, 0.02, 0.03, 0.70, 0.05, 0.05, 0.10], np.float32)
NEUTRAL = np.array([0.05, 0.02, 0.03, 0.10, 0.15, 0.05, 0.60], np.float32)
# 48x48 gray means of the two faces as detected on the tiles: astronaut ~146-158, Grace Hopper ~113-119.
BRIGHT = 133.0

# The generated folder: file -> (faces of each portrait, or what it is). Groups are the sub-folders.
LAYOUT = {
    "ad_a/a1.png": ["astronaut"],
    "ad_a/a2.jpg": ["astronaut", "astronaut"],
    "ad_a/a3.png": "gradient",
    "ad_a/nested/a4.png": ["astronaut"],
    "ad_b/b1.png": ["grace"],
    "ad_b/b2.png": ["grace", "grace"],
    "ad_b/b3.jpg": "text",
    "ad_b/b4.png": "cat",
    "top.png": ["astronaut", "grace"],
}
FACES = 9
NOT_IMAGES = ["notes.txt", ".hidden.png", "ad_a/.DS_Store"]


class CountingDetector(FaceDetector):
    """The real detector, remembering how many photos it was asked about."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def detect(self, rgb, min_face_fraction=None):
        self.calls.append(rgb.shape)  # list.append is atomic: analyze detects on worker threads
        return super().detect(rgb, min_face_fraction)


class BrightnessPredictor:
    """Stands in for Predictor: real detection and preparation, a known 'model'."""

    def __init__(self, run_name: str = "stub"):
        self.run_name = run_name
        self.detector = CountingDetector()
        self.batches = []  # faces per model call

    def prepare(self, crop):
        return prepare_face(crop, 48, "grayscale")

    def classify(self, faces):
        self.batches.append(len(faces))
        bright = faces.reshape(len(faces), -1).mean(axis=1) > BRIGHT
        return np.where(bright[:, None], HAPPY, NEUTRAL)


# --- fixtures -----------------------------------------------------------------------------------


def face_tiles() -> dict[str, np.ndarray]:
    detector = FaceDetector()
    tiles = {}
    for key, name in (("astronaut", "astronaut.png"), ("grace", "grace_hopper.jpg")):
        rgb = load_rgb(PHOTOS / name)
        (box,) = detector.detect(rgb)
        tiles[key] = crop_face(rgb, box, margin=0.3)
    return tiles


def group_photo(tiles, faces: list[str], side: int = 110, size=(320, 240)) -> Image.Image:
    """Faces of `side` pixels spread across a plain gray canvas (the detector finds them all)."""
    width, height = size
    canvas = np.full((height, width, 3), 128, np.uint8)
    gap = (width - len(faces) * side) // (len(faces) + 1)
    for index, face in enumerate(faces):
        left, top = gap + index * (side + gap), (height - side) // 2
        canvas[top:top + side, left:left + side] = np.asarray(
            Image.fromarray(tiles[face]).resize((side, side), Image.Resampling.LANCZOS))
    return Image.fromarray(canvas)


def no_face_photo(kind: str) -> Image.Image:
    if kind == "gradient":
        ramp = np.linspace(0, 255, 320, dtype=np.uint8)
        return Image.fromarray(np.stack([np.tile(ramp, (240, 1))] * 3, axis=-1))
    return Image.open(PHOTOS / "chelsea.png").convert("RGB")  # a real photo of a cat


def write_folder(root: Path) -> Path:
    tiles = face_tiles()
    for name, content in LAYOUT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == "text":
            path.write_text("not a photo, just notes")
        elif isinstance(content, str):
            no_face_photo(content).save(path)
        else:
            group_photo(tiles, content).save(path)
    for name in NOT_IMAGES:
        (root / name).write_bytes(b"ignored")
    return root


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory) -> Path:
    if not PHOTOS.is_dir():
        pytest.skip("../shared/photos is not here")
    return write_folder(tmp_path_factory.mktemp("photos") / "campaign")


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    """Zip a folder as a user would: every entry under `prefix`, plus macOS's resource forks."""
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                name = prefix + path.relative_to(folder).as_posix()
                archive.write(path, name)
                archive.writestr("__MACOSX/" + name, b"resource fork")
    return target


@pytest.fixture(scope="module")
def reference(photo_folder, tmp_path_factory) -> tuple[Path, dict, BrightnessPredictor]:
    """One uninterrupted analysis of the folder: (CSV, counts, predictor)."""
    predictor = BrightnessPredictor()
    csv_path = tmp_path_factory.mktemp("reference") / "results.csv"
    counts = batch.analyze(photo_folder, csv_path, predictor)
    return csv_path, counts, predictor


def rows(csv_path: Path) -> list[dict]:
    with open(csv_path, newline="") as handle:
        return list(csv.DictReader(handle))


# --- listing ------------------------------------------------------------------------------------


@needs_photos
def test_list_images_finds_every_image_recursively_in_order_with_its_group(photo_folder):
    sources = batch.list_images(photo_folder)
    assert [source.name for source in sources] == sorted(LAYOUT)
    assert {source.name: source.group for source in sources}["ad_a/nested/a4.png"] == "ad_a"
    assert {source.group for source in sources} == {"ad_a", "ad_b", ""}


@needs_photos
def test_a_zip_of_the_folder_lists_the_same_images_and_groups(photo_folder, tmp_path):
    # Zipping the folder itself puts every name under 'campaign/': that shared folder is no group.
    archive = zip_folder(photo_folder, tmp_path / "photos.zip", prefix="campaign/")
    sources = batch.list_images(archive)
    assert [source.name for source in sources] == ["campaign/" + name for name in sorted(LAYOUT)]
    assert [source.group for source in sources] == [source.group for source in batch.list_images(photo_folder)]
    assert sources[0].read() == (photo_folder / min(LAYOUT)).read_bytes()


def test_list_images_refuses_what_is_not_a_folder_or_zip(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        batch.list_images(tmp_path / "missing")
    (tmp_path / "photo.jpg").write_bytes(b"x")
    with pytest.raises(ValueError, match="neither a folder nor a .zip"):
        batch.list_images(tmp_path / "photo.jpg")


# --- analysing ----------------------------------------------------------------------------------


@needs_photos
def test_one_row_per_face_and_one_per_photo_without_a_readable_face(reference):
    csv_path, counts, _ = reference
    table = rows(csv_path)
    assert counts == {"images": 9, "skipped_as_done": 0, "faces": FACES, "no_face": 2, "unreadable": 1}
    assert len(table) == FACES + 3
    assert [row["file"] for row in table] == sorted(row["file"] for row in table)  # file order
    by_file = {}
    for row in table:
        by_file.setdefault(row["file"], []).append(row)
    for name, content in LAYOUT.items():
        if isinstance(content, list):
            assert [row["face"] for row in by_file[name]] == [str(i) for i in range(len(content))]
            assert {row["faces_in_image"] for row in by_file[name]} == {str(len(content))}
    assert [row["status"] for row in by_file["ad_a/a3.png"]] == [batch.STATUS_NO_FACE]
    assert [row["status"] for row in by_file["ad_b/b4.png"]] == [batch.STATUS_NO_FACE]
    (unreadable,) = by_file["ad_b/b3.jpg"]
    assert unreadable["status"].startswith("unreadable: ") and unreadable["emotion"] == ""


@needs_photos
def test_face_rows_hold_the_box_label_and_probabilities(reference):
    csv_path, _, _ = reference
    frame = batch.read_results(csv_path)
    faces = frame[frame["status"] == "ok"]
    assert np.allclose(faces[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-3)
    assert (faces["emotion"] == faces[list(EMOTIONS)].idxmax(axis=1)).all()
    assert np.allclose(faces["confidence"], faces[list(EMOTIONS)].max(axis=1))
    assert ((faces["x"] >= 0) & (faces["x"] + faces["width"] <= 320)).all()
    assert (faces["detection_score"] > 0).all() and (faces["model"] == "stub").all()
    # Left to right in top.png: the astronaut (happy), then Grace Hopper (neutral).
    assert faces[faces["file"] == "top.png"]["emotion"].tolist() == ["happy", "neutral"]


@needs_photos
def test_faces_from_many_photos_are_classified_in_one_model_call(reference):
    _, _, predictor = reference
    assert predictor.batches == [FACES]  # six photos with faces, one batch
    assert len(predictor.detector.calls) == len(LAYOUT) - 1  # every readable photo, once


@needs_photos
def test_a_zip_gives_the_same_rows_as_the_folder(photo_folder, reference, tmp_path):
    archive = zip_folder(photo_folder, tmp_path / "photos.zip", prefix="campaign/")
    counts = batch.analyze(archive, tmp_path / "zip.csv", BrightnessPredictor())
    assert counts == reference[1]
    from_zip = batch.read_results(tmp_path / "zip.csv")
    from_folder = batch.read_results(reference[0])
    assert (from_zip["file"] == "campaign/" + from_folder["file"]).all()
    pd.testing.assert_frame_equal(from_zip.drop(columns="file"), from_folder.drop(columns="file"))


def test_an_empty_folder_is_a_one_line_error(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No images"):
        batch.analyze(tmp_path / "empty", tmp_path / "out.csv", BrightnessPredictor())


# --- resuming -----------------------------------------------------------------------------------


class Interrupt(KeyboardInterrupt):
    pass


def interrupt_after(files: int):
    def progress(done, total):
        if done >= files:
            raise Interrupt  # as Ctrl+C would, between two files
    return progress


@needs_photos
def test_an_interrupted_run_continues_where_it_stopped(photo_folder, reference, tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "FACES_PER_BATCH", 2)  # write every two photos, so a cut falls mid-way
    csv_path = tmp_path / "results.csv"
    with pytest.raises(Interrupt):
        batch.analyze(photo_folder, csv_path, BrightnessPredictor(), progress=interrupt_after(5))
    finished = batch.finished_files(csv_path)
    assert 0 < len(finished) < len(LAYOUT)

    rerun = BrightnessPredictor()
    seen = []
    counts = batch.analyze(photo_folder, csv_path, rerun, progress=lambda done, total: seen.append((done, total)))

    assert counts["skipped_as_done"] == len(finished)
    assert len(rerun.detector.calls) == len(LAYOUT) - len(finished) - 1  # finished files not redone
    assert seen[0] == (len(finished), len(LAYOUT)) and seen[-1] == (len(LAYOUT), len(LAYOUT))
    assert csv_path.read_bytes() == reference[0].read_bytes()  # as if never interrupted


@needs_photos
def test_a_rerun_of_a_finished_analysis_does_nothing(reference, photo_folder, tmp_path):
    csv_path = tmp_path / "results.csv"
    shutil.copy(reference[0], csv_path)
    predictor = BrightnessPredictor()
    counts = batch.analyze(photo_folder, csv_path, predictor)
    assert counts["skipped_as_done"] == len(LAYOUT) and counts["faces"] == 0
    assert predictor.detector.calls == [] and predictor.batches == []
    assert csv_path.read_bytes() == reference[0].read_bytes()


@needs_photos
def test_rows_cut_short_by_a_crash_are_redone(reference, photo_folder, tmp_path):
    lines = reference[0].read_bytes().decode().splitlines(keepends=True)
    # Drop the second face of a2.jpg (its file is then incomplete) and cut the last line in half.
    second_face = next(i for i, line in enumerate(lines) if line.startswith("ad_a/a2.jpg,ad_a,1,"))
    damaged = "".join(lines[:second_face] + lines[second_face + 1:])
    csv_path = tmp_path / "results.csv"
    csv_path.write_text(damaged[:-len(lines[-1]) // 2], newline="")

    predictor = BrightnessPredictor()
    counts = batch.analyze(photo_folder, csv_path, predictor)

    assert len(predictor.detector.calls) == 2  # a2.jpg and top.png, nothing else
    assert counts["faces"] == 4
    expected = batch.read_results(reference[0]).sort_values(["file", "face"]).reset_index(drop=True)
    repaired = batch.read_results(csv_path).sort_values(["file", "face"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(repaired, expected)


@needs_photos
def test_continuing_with_another_model_or_a_foreign_csv_is_refused(reference, photo_folder, tmp_path):
    csv_path = tmp_path / "results.csv"
    shutil.copy(reference[0], csv_path)
    with pytest.raises(ValueError, match="model stub, not other"):
        batch.analyze(photo_folder, csv_path, BrightnessPredictor("other"))
    (tmp_path / "other.csv").write_text("name,score\nx,1\n")
    with pytest.raises(ValueError, match="not a results file"):
        batch.analyze(photo_folder, tmp_path / "other.csv", BrightnessPredictor())


# --- summaries ----------------------------------------------------------------------------------


@needs_photos
def test_group_summary_figures(reference):
    frame = batch.read_results(reference[0])
    images = batch.image_summary(frame, by="group").set_index("group")
    assert images.loc["ad_a"].to_dict() == {"images": 4, "with_faces": 3, "no_face": 1, "unreadable": 0,
                                            "faces": 4, "no_face_share": 0.25}
    assert images.loc["ad_b"].to_dict() == {"images": 4, "with_faces": 2, "no_face": 1, "unreadable": 1,
                                            "faces": 3, "no_face_share": pytest.approx(1 / 3)}
    assert images.loc[batch.TOP_LEVEL, "faces"] == 2

    emotions = batch.emotion_summary(frame, by="group").set_index(["group", "emotion"])
    assert emotions.loc[("ad_a", "happy"), "faces"] == 4 and emotions.loc[("ad_a", "happy"), "share"] == 1.0
    assert emotions.loc[("ad_b", "neutral"), "share"] == 1.0 and emotions.loc[("ad_b", "happy"), "faces"] == 0
    assert emotions.loc[(batch.TOP_LEVEL, "happy"), "share"] == 0.5
    # Every ad_b face has the same probabilities: the mean is exact and the interval has no width.
    row = emotions.loc[("ad_b", "neutral")]
    assert row["mean_probability"] == pytest.approx(0.6) and row["ci_low"] == pytest.approx(row["ci_high"])
    assert emotions.groupby("group")["share"].sum().tolist() == pytest.approx([1.0, 1.0, 1.0])


@needs_photos
def test_overall_summary_figures(reference):
    frame = batch.read_results(reference[0])
    overall = batch.image_summary(frame).iloc[0]
    assert (overall["images"], overall["faces"], overall["no_face"], overall["unreadable"]) == (9, 9, 2, 1)
    assert overall["no_face_share"] == pytest.approx(2 / 8)  # of the 8 photos that could be read
    emotions = batch.emotion_summary(frame).set_index("emotion")
    assert emotions["faces"].to_dict() == {"angry": 0, "disgust": 0, "fear": 0, "happy": 5, "sad": 0,
                                           "surprise": 0, "neutral": 4}
    assert emotions.loc["happy", "mean_probability"] == pytest.approx((5 * 0.7 + 4 * 0.1) / 9, abs=1e-4)


def summary_frame(happy: list[float], groups: list[str]) -> pd.DataFrame:
    """A results frame of faces whose happy probability is given; the rest goes to neutral."""
    records = []
    for index, (p, group) in enumerate(zip(happy, groups)):
        probabilities = {emotion: 0.0 for emotion in EMOTIONS} | {"happy": p, "neutral": 1 - p}
        records.append({"file": f"{index}.png", "group": group, "status": "ok",
                        "emotion": "happy" if p > 0.5 else "neutral", **probabilities})
    return pd.DataFrame(records)


def test_the_interval_is_students_t_on_the_face_probabilities():
    frame = summary_frame([0.6, 0.8, 1.0, 0.2], ["x", "x", "x", "y"])
    summary = batch.emotion_summary(frame, by="group").set_index(["group", "emotion"])
    x = summary.loc[("x", "happy")]
    half_width = 4.303 * 0.2 / np.sqrt(3)  # t(0.975, 2 df) x sd / sqrt(n)
    assert x["mean_probability"] == pytest.approx(0.8)
    assert x["ci_low"] == pytest.approx(0.8 - half_width) and x["ci_high"] == 1.0  # clipped to [0, 1]
    y = summary.loc[("y", "happy")]
    assert y["mean_probability"] == pytest.approx(0.2) and np.isnan(y["ci_low"]) and np.isnan(y["ci_high"])


def test_the_t_table_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in (1, 2, 5, 10, 30, 120, 1000):
        assert batch._t95(df) == pytest.approx(stats.t.ppf(0.975, df), abs=1e-3)
    for df in (11, 45, 5000):  # between table entries: the next lower one, never narrower
        assert batch._t95(df) >= stats.t.ppf(0.975, df)


def test_a_folder_named_na_stays_a_group(tmp_path):
    csv_path = tmp_path / "results.csv"
    with open(csv_path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=batch.CSV_COLUMNS)
        writer.writeheader()
        writer.writerow({"file": "NA/1.png", "group": "NA", "status": batch.STATUS_NO_FACE, "faces_in_image": 0})
        writer.writerow({"file": "top.png", "group": "", "status": batch.STATUS_NO_FACE, "faces_in_image": 0})
    frame = batch.read_results(csv_path)
    assert frame["group"].tolist() == ["NA", ""]
    assert batch.image_summary(frame, by="group")["group"].tolist() == [batch.TOP_LEVEL, "NA"]
    assert batch.format_summary(frame).startswith("2 images: 0 with faces (0 faces), 2 without a face")


@needs_photos
def test_the_printed_summary_has_overall_figures_and_folders_side_by_side(reference):
    text = batch.format_summary(batch.read_results(reference[0]))
    lines = text.splitlines()
    assert lines[0] == "9 images: 6 with faces (9 faces), 2 without a face, 1 unreadable"
    assert any(line.split()[:3] == ["happy", "5", "55.6%"] for line in lines)
    header = next(line for line in lines if "ad_a" in line)
    assert header.split() == ["(top", "level)", "ad_a", "ad_b"]
    assert next(line for line in lines if line.startswith("no face")).split() == ["no", "face", "0%", "25%", "33%"]


# --- faces for display and uploads --------------------------------------------------------------


@needs_photos
def test_face_crops_are_the_squares_the_model_saw(reference, photo_folder):
    frame = batch.read_results(reference[0])
    faces = frame[frame["status"] == "ok"].head(3)
    crops = batch.face_crops(photo_folder, faces)
    assert [crop.shape for crop in crops] == [(w, w, 3) for w in faces["width"]]
    predictor = BrightnessPredictor()
    again = predictor.classify(np.stack([predictor.prepare(crop) for crop in crops]))
    assert np.allclose(again, faces[list(EMOTIONS)].to_numpy(), atol=1e-4)


@needs_photos
def test_top_faces_are_the_most_confident_and_shown_faces_covers_every_grid(reference):
    frame = batch.read_results(reference[0])
    happy = batch.top_faces(frame, "happy", 3)
    assert len(happy) == 3 and (happy["emotion"] == "happy").all()
    assert batch.top_faces(frame, "neutral", 10, group="ad_b")["file"].str.startswith("ad_b/").all()
    # The best face of each emotion found, overall and in each group: the overall best happy
    # and neutral faces (ties go to the first file) are also their groups' best.
    shown = batch.shown_faces(frame, per_emotion=1)
    assert shown.groupby("group")["emotion"].apply(sorted).to_dict() == {
        "": ["happy", "neutral"], "ad_a": ["happy"], "ad_b": ["neutral"]}


def upload_of(folder: Path, tmp_path: Path) -> list[tuple[str, bytes]]:
    """The folder as the app receives it: one .zip, read into memory."""
    return [("photos.zip", zip_folder(folder, tmp_path / "photos.zip").read_bytes())]




@needs_photos
def test_an_upload_analysed_in_memory_leaves_nothing_on_disk(photo_folder, reference, tmp_path, private_tmp,
                                                             isolated_dirs):
    files = upload_of(photo_folder, tmp_path)
    during = []
    predictor = BrightnessPredictor()
    analysis = batch.analyze_uploads(files, predictor, lambda done, total: during.append(any(private_tmp.iterdir())),
                                     per_emotion=24)

    assert during and all(during)  # the photos were in a temporary folder while being analysed...
    assert list(private_tmp.iterdir()) == [] and list(isolated_dirs["cache"].iterdir()) == []  # ...and only then
    assert analysis.csv == reference[0].read_bytes()
    pd.testing.assert_frame_equal(analysis.results, batch.read_results(reference[0]))
    # Every face (24 per emotion is all of them here), as the grid and Grad-CAM need it.
    faces = analysis.results[analysis.results["status"] == "ok"]
    assert sorted(analysis.thumbnails) == sorted(analysis.model_inputs) == faces.index.tolist()
    assert {thumb.shape for thumb in analysis.thumbnails.values()} == {(batch.THUMBNAIL_PIXELS,) * 2 + (3,)}
    inputs = np.stack([analysis.model_inputs[row] for row in faces.index])
    assert inputs.shape == (FACES, 48, 48, 1)
    assert np.allclose(predictor.classify(inputs), faces[list(EMOTIONS)].to_numpy(), atol=1e-4)


@needs_photos
def test_an_interrupted_analysis_in_memory_leaves_nothing_either(photo_folder, tmp_path, private_tmp):
    with pytest.raises(Interrupt):
        batch.analyze_uploads(upload_of(photo_folder, tmp_path), BrightnessPredictor(), interrupt_after(3),
                              per_emotion=24)
    assert list(private_tmp.iterdir()) == []


@needs_photos
def test_gif_uploads_are_analysed_from_their_first_frame(private_tmp):
    tiles = face_tiles()
    buffer = io.BytesIO()
    first, second = group_photo(tiles, ["astronaut", "grace"]), no_face_photo("gradient")
    first.save(buffer, format="GIF", save_all=True, append_images=[second])
    analysis = batch.analyze_uploads([("ad.gif", buffer.getvalue())], BrightnessPredictor(), per_emotion=24)
    assert analysis.results["file"].tolist() == ["ad.gif", "ad.gif"]
    assert analysis.results["emotion"].tolist() == ["happy", "neutral"]  # astronaut, then Grace Hopper
    assert batch.count_images([("ad.gif", b"")]) == 1


def test_count_images_reads_the_upload_in_memory(tmp_path):
    assert batch.count_images([("a.png", b""), ("../b.GIF", b""), ("notes.txt", b"")]) == 2
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("ad/1.png", "ad/2.webp", "ad/.hidden.png", "__MACOSX/ad/1.png", "ad/readme.md"):
            archive.writestr(name, b"x")
    assert batch.count_images([("photos.zip", buffer.getvalue())]) == 2
    with pytest.raises(ValueError, match="not a valid .zip"):
        batch.count_images([("broken.zip", b"PK not really")])


def png(color) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_uploads_are_stored_once_by_content_with_safe_unique_names(tmp_path):
    files = [("a.png", png("red")), ("a.png", png("blue")), ("../../evil.png", png("green"))]
    folder = batch.store_uploads(files, tmp_path / "uploads")
    assert sorted(p.name for p in folder.iterdir()) == ["a-2.png", "a.png", "evil.png"]
    assert batch.store_uploads(list(reversed(files)), tmp_path / "uploads").parent == folder.parent
    assert batch.results_path(folder, "alpha") == folder.parent / "results-alpha.csv"


@needs_photos
def test_large_faces_only_reports_a_crowd_of_small_faces_as_no_face(tmp_path):
    tiles = face_tiles()
    group_photo(tiles, ["astronaut"]).save(tmp_path / "portrait.png")  # a face ~30% of the photo
    crowd, _ = face_grid(np.asarray(Image.fromarray(tiles["astronaut"]).resize((150, 150))), 20, 5, gap=37)
    Image.fromarray(crowd).save(tmp_path / "crowd.png")  # 5 x 4 faces, each ~12% of the photo's height
    results = {}
    for face_size in FACE_SIZES:
        csv_path = batch.results_path(tmp_path / "upload", "stub", face_size)
        batch.analyze(tmp_path, csv_path, BrightnessPredictor(), min_face_fraction=FACE_SIZES[face_size])
        results[face_size] = batch.read_results(csv_path).groupby("file")["faces_in_image"].first().to_dict()
    assert results["any"] == {"crowd.png": 20, "portrait.png": 1}
    assert results["large"] == {"crowd.png": 0, "portrait.png": 1}
    assert batch.results_path(tmp_path / "upload", "stub", "large").name == "results-stub-large-faces.csv"


def test_a_zip_upload_is_analysed_as_it_is_and_mixing_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ad/1.png", png("red"))
    stored = batch.store_uploads([("photos.zip", buffer.getvalue())], tmp_path / "uploads")
    assert stored.suffix == ".zip" and [s.name for s in batch.list_images(stored)] == ["ad/1.png"]
    with pytest.raises(ValueError, match="either one .zip or several images"):
        batch.store_uploads([("photos.zip", buffer.getvalue()), ("a.png", png("red"))], tmp_path / "uploads")
    with pytest.raises(ValueError, match="not a valid .zip"):
        batch.store_uploads([("broken.zip", b"PK not really")], tmp_path / "uploads")


def test_discarding_an_upload_deletes_its_folder_and_results_only(tmp_path):
    kept = [("a.png", png("red"))]
    other = batch.store_uploads([("b.png", png("blue"))], tmp_path / "uploads")
    folder = batch.store_uploads(kept, tmp_path / "uploads")
    batch.results_path(folder, "alpha").write_text("file\n")
    assert batch.discard_uploads(list(kept), tmp_path / "uploads")
    assert not folder.parent.exists() and other.exists()
    assert not batch.discard_uploads(kept, tmp_path / "uploads")  # nothing left to delete


def test_only_the_latest_uploads_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(batch, "KEEP_UPLOADS", 2)
    folders = [batch.store_uploads([(f"{i}.png", png((i, i, i)))], tmp_path / "uploads").parent
               for i in range(4)]
    assert [folder.exists() for folder in folders] == [False, False, True, True]


# --- the command line ---------------------------------------------------------------------------


def run_cli(capsys, *args) -> tuple[int, str, str]:
    try:
        code = main([str(arg) for arg in args])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


@needs_photos
def test_cli_analyze_writes_the_csv_prints_progress_and_the_summary(trained_runs, photo_folder, tmp_path, capsys):
    csv_path = tmp_path / "results.csv"
    code, out, err = run_cli(capsys, "analyze", photo_folder, "--csv", csv_path, "--model", "alpha")
    assert code == 0, err
    assert len(rows(csv_path)) == FACES + 3 and {row["model"] for row in rows(csv_path)} == {"alpha"}
    assert f"] {len(LAYOUT)}/{len(LAYOUT)} images" in err
    assert out.startswith("9 images: 6 with faces (9 faces), 2 without a face, 1 unreadable")
    assert "By folder" in out
    assert "--faces large" in err  # the hint towards the faster setting

    code, _, err = run_cli(capsys, "analyze", photo_folder, "--csv", tmp_path / "large.csv", "--model", "alpha",
                           "--faces", "large")
    assert code == 0 and "--faces large" not in err
    assert len(rows(tmp_path / "large.csv")) == len(rows(csv_path))  # the test photos' faces are all large

    code, _, err = run_cli(capsys, "analyze", photo_folder, "--csv", csv_path, "--model", "alpha")
    assert code == 0 and "0 images analysed" in err and f"({len(LAYOUT)} done earlier)" in err
    assert len(rows(csv_path)) == FACES + 3


@needs_photos
def test_cli_analyze_reads_a_zip_with_the_deployed_model(trained_runs, photo_folder, tmp_path, capsys):
    registry.deploy("beta")
    archive = zip_folder(photo_folder, tmp_path / "photos.zip")
    code, _, err = run_cli(capsys, "analyze", archive, "--csv", tmp_path / "zip.csv")
    assert code == 0, err
    table = rows(tmp_path / "zip.csv")
    assert len(table) == FACES + 3 and {row["model"] for row in table} == {"beta"}


def test_cli_analyze_of_a_missing_folder_is_one_line(trained_runs, tmp_path, capsys):
    code, out, err = run_cli(capsys, "analyze", tmp_path / "nowhere", "--csv", tmp_path / "out.csv",
                             "--model", "alpha")
    assert (code, out) == (2, "") and err.startswith("error: ") and err.count("\n") == 1
