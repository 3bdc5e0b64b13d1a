"""The images of an analysis: every image file in a folder (recursively) or inside a .zip.

    sources = list_images("photos/")       # [ImageSource("ad_a/1.jpg", Path("photos"), "ad_a"), ...]
    data = sources[0].read()
"""

from __future__ import annotations

import zipfile
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..images import IMAGE_SUFFIXES, ImageError

# Larger than any 8-bit photo within images.MAX_INPUT_PIXELS (50 MP x 3 bytes = 150 MB), small
# enough that one zip member claiming gigabytes (a zip bomb) cannot exhaust memory.
MAX_IMAGE_BYTES = 200_000_000

# Photos and videos barely compress (a zip of them unpacks to about its own size; a manifest or
# PNG crops to a few times it), so a zip claiming this many times its size is a zip bomb. Below
# ZIP_BOMB_FLOOR unpacked any ratio passes: a small zip of text is harmless.
MAX_UNPACKED_RATIO = 20
ZIP_BOMB_FLOOR = 100 * 2**20


@dataclass(frozen=True)
class ImageSource:
    """One image in a folder or a zip: its name as shown in the CSV and how to read its bytes."""

    name: str  # path relative to the folder or inside the zip, with '/' separators
    container: Path
    group: str = ""  # the sub-folder it sits in (one per ad or campaign); '' for top-level files

    def read(self, archive: zipfile.ZipFile | None = None) -> bytes:
        """The file's bytes; pass the open archive when reading many files from one zip."""
        if self.container.is_dir():
            path = self.container / self.name
            check_size(path.stat().st_size)
            return path.read_bytes()
        with nullcontext(archive) if archive is not None else zipfile.ZipFile(self.container) as opened:
            check_size(opened.getinfo(self.name).file_size, unpacked=True)
            return opened.read(self.name)


def list_images(path: Path, suffixes=IMAGE_SUFFIXES) -> list[ImageSource]:
    """Every image file (or file with one of `suffixes`: video.VIDEO_SUFFIXES) under a folder
    (recursively) or inside a .zip, in a stable order.

    Hidden files and macOS resource forks are skipped. An image's group is the first folder
    below the one all images share, so zipping a folder of campaign folders groups by campaign.
    """
    path = Path(path)
    if path.is_dir():
        names = [p.relative_to(path).as_posix() for p in path.rglob("*") if p.is_file()]
    elif path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            names = [info.filename for info in archive.infolist() if not info.is_dir()]
    elif not path.exists():
        raise ValueError(f"{path} does not exist.")
    else:
        raise ValueError(f"{path} is neither a folder nor a .zip file.")
    names = image_names(names, suffixes)
    depth = group_depth(names)
    return [ImageSource(name, path, group_of(name, depth)) for name in names]


def group_depth(names: list[str]) -> int:
    """Which folder level names the groups: 1 when every image sits in one shared top folder
    (a zipped folder of campaign folders), else 0."""
    folders = [PurePosixPath(name).parts[:-1] for name in names]
    return 1 if folders and all(folders) and len({parts[0] for parts in folders}) == 1 else 0


def group_of(name: str, depth: int) -> str:
    """The group of an image named `name` (see `group_depth`); '' for a file above the groups."""
    folders = PurePosixPath(name).parts[:-1]
    return folders[depth] if len(folders) > depth else ""


def check_zip(archive: zipfile.ZipFile, size: int, name: str) -> int:
    """The bytes the zip `name` (`size` bytes) unpacks to, from its members' declared sizes (which
    zipfile never reads past); ValueError in one line for a zip bomb (MAX_UNPACKED_RATIO)."""
    unpacked = sum(info.file_size for info in archive.infolist())
    if unpacked > ZIP_BOMB_FLOOR and unpacked > MAX_UNPACKED_RATIO * max(size, 1):
        raise ValueError(f"{name} claims to unpack to {unpacked / 2**20:,.0f} MB from {size / 2**20:,.1f} MB, "
                         f"more than {MAX_UNPACKED_RATIO} times its size: refused as a zip bomb.")
    return unpacked


def check_size(size: int, unpacked: bool = False) -> None:
    """Refuse a file too large to be a photo (MAX_IMAGE_BYTES) before it is decoded."""
    if size > MAX_IMAGE_BYTES:
        raise ImageError(f"the file is larger than {MAX_IMAGE_BYTES // 1_000_000} MB" + (" unpacked" if unpacked else ""))


def image_names(names, suffixes=IMAGE_SUFFIXES) -> list[str]:
    """The names that are images (or end in one of `suffixes`), sorted: no hidden files, no macOS resource forks."""
    return sorted(name for name in names
                  if PurePosixPath(name).suffix.lower() in suffixes
                  and not any(part.startswith(".") or part == "__MACOSX" for part in PurePosixPath(name).parts))
