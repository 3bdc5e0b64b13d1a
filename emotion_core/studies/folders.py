"""A study folder: one upload of reaction videos, its analysis beside it, and the ads themselves.

    DIR/upload/upload.zip (or upload/images/...)   the reaction videos as uploaded, one folder per ad
    DIR/upload/manifest.csv                        the zip's manifest.csv (offsets, segments), if it had one
    DIR/ads/<ad>.mp4                               the ad itself, when the user gave it (to play it)
    DIR/analysis.json, video_*.csv, ad_*.csv ...   what the analysis job writes (`jobs.start_analysis`)

    source = new_study(files, analyses_dir())       # then jobs.start_analysis(source, source.parents[1])
    found = finished_studies(analyses_dir())        # newest first, for the Ads page
"""

from __future__ import annotations

import re
import shutil
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from ..adreport import HTML_OUT, MANIFEST_CSV
from ..analysis.outputs import finished_outputs
from ..analysis.uploads import count_images, write_upload
from ..storage import check_free_space
from ..video import SECONDS_CSV, VIDEO_SUFFIXES

UPLOAD_DIR = "upload"
ADS_DIR = "ads"


@dataclass(frozen=True)
class Study:
    """A finished analysis of reaction videos (an upload's, or one `analyze --out` wrote)."""

    path: Path
    manifest: dict  # analysis.json

    @property
    def label(self) -> str:
        videos = len(self.manifest.get("videos", {}))
        when = str(self.manifest.get("finished", ""))[:16].replace("T", " ")
        return f"{self.path.name}: {videos} reaction video{'s' if videos != 1 else ''}, model {self.manifest.get('model', '?')}, {when}"

    @property
    def report_html(self) -> Path | None:
        path = self.path / HTML_OUT
        return path if path.is_file() else None

    def ad_video(self, ad: str) -> Path | None:
        """The ad itself, when it was given (`save_ad_video`)."""
        found = sorted((self.path / ADS_DIR).glob(f"{_file_stem(ad)}.*"))
        return found[0] if found else None


def new_study(files: list[tuple[str, bytes]], root: Path, name: str = "") -> Path:
    """Save an upload of reaction videos (one .zip, one folder per ad, or loose videos: one ad) as a
    new study folder under `root`; returns what to analyse (the zip, or the folder of videos).

    A manifest.csv in the zip is put beside it, where the report looks for it. Raises ValueError
    in one line for an upload without videos, a broken zip, a zip bomb, a zip mixed with other
    files, or one that does not fit on the disk; then no study folder is left behind.
    """
    if not count_images(files, VIDEO_SUFFIXES):
        raise ValueError(f"The upload holds no videos ({', '.join(sorted(VIDEO_SUFFIXES))}).")
    folder = _new_folder(Path(root), name or _name_of(files))
    try:
        source = write_upload(files, folder / UPLOAD_DIR)
        if source.suffix == ".zip":
            _copy_manifest(source)
    except OSError as error:  # the disk filled up while writing: no half a study
        shutil.rmtree(folder, ignore_errors=True)
        raise ValueError(f"The upload could not be saved ({error.strerror or error}): nothing was kept.") from None
    except ValueError:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return source


def _copy_manifest(source: Path) -> None:
    """The zip's shallowest manifest.csv, streamed beside it (zipfile reads no more than it declares)."""
    with zipfile.ZipFile(source) as archive:
        manifests = sorted((info.filename for info in archive.infolist()
                            if PurePosixPath(info.filename).name == MANIFEST_CSV), key=lambda n: n.count("/"))
        if manifests:
            with archive.open(manifests[0]) as member, open(source.parent / MANIFEST_CSV, "wb") as target:
                shutil.copyfileobj(member, target)


def finished_studies(root: Path) -> list[Study]:
    """The finished analyses of videos directly under `root` (analysis.json and video_seconds.csv),
    newest first; unreadable ones are left out."""
    return [Study(output.path, output.manifest) for output in finished_outputs(root, (SECONDS_CSV,))]


def save_ad_video(study: Study, ad: str, name: str, data: bytes) -> Path:
    """Keep the ad itself (a video named `name`) in the study, in place of one given before."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in VIDEO_SUFFIXES:
        raise ValueError(f"{name} is not a video ({', '.join(sorted(VIDEO_SUFFIXES))}).")
    check_free_space(study.path, len(data), name)
    folder = study.path / ADS_DIR
    folder.mkdir(exist_ok=True)
    for old in folder.glob(f"{_file_stem(ad)}.*"):
        old.unlink()
    target = folder / f"{_file_stem(ad)}{suffix}"
    try:
        target.write_bytes(data)
    except OSError as error:  # the disk filled up meanwhile: no half a video
        target.unlink(missing_ok=True)
        raise ValueError(f"{name} could not be saved ({error.strerror or error}).") from None
    return target


def _name_of(files: list[tuple[str, bytes]]) -> str:
    first = PurePosixPath(files[0][0].replace("\\", "/")).stem if len(files) == 1 else "videos"
    return f"{_file_stem(first)}-{datetime.now():%Y%m%d-%H%M%S}"


def _new_folder(root: Path, name: str) -> Path:
    """A folder under `root` no analysis uses yet: `name`, else `name-2`, `name-3`..."""
    root.mkdir(parents=True, exist_ok=True)
    candidate, number = root / name, 1
    while candidate.exists():
        number += 1
        candidate = root / f"{name}-{number}"
    candidate.mkdir()
    return candidate


def _file_stem(name: str) -> str:
    """A name safe as a file or folder name: letters, digits, dot, dash and underscore."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "ad"
