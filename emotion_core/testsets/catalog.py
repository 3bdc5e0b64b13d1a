"""The list of test sets: labelled folders under the data root that every run is scored on.

    add_folder("my-holdout")                        # a labelled folder already under the data root
    add_zip("posed.zip", data)                      # an upload: a .zip of class folders, unpacked there
    list_sets()                                     # [TestSet(name="posed", split="test", kind="photos", ...)]

The list is `testsets.json` in the data root (the sets' folders stay as they are: a folder may be a
link to data that is not ours to write into). A set is scored on one split, its test split when it
has one, and as face crops (the images are faces, as FER2013's) or as photos (faces are found
first, and the share of photos without one is recorded).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath

from PIL import Image

from .. import registry
from ..analysis.sources import check_size, check_zip, image_names
from ..datasets import Dataset, DatasetError, data_root, open_dataset
from ..faceset import SUMMARY_JSON
from ..faceset.photos import labelled_photos
from ..images import ImageError
from ..labels import canonical_class
from ..storage import check_free_space, now_iso, read_json, write_json_atomic

CATALOG_FILE = "testsets.json"  # in the data root; find_datasets passes over it (not a data set)
KINDS = {"crops": "face crops, scored as they are", "photos": "photos: each one's face is found first"}
AUTO = "auto"
SPLITS = ("test", "validation", "train")  # the split a set is scored on: the first it has
# An upload is a hold-out of faces, not a training set: these keep one from filling the disk.
MAX_SET_IMAGES = 20_000
MAX_SET_BYTES = 2_000_000_000  # unpacked
CROP_MAX_SIDE = 300  # images no larger than this, and about square, are taken for face crops
SAMPLED = 24  # images whose sizes are read to guess the kind


@dataclass(frozen=True)
class TestSet:
    """A labelled folder under the data root that every run with weights is scored on."""

    __test__ = False  # not a pytest class

    name: str  # the folder's name under the data root (the saved reports' `data`)
    split: str
    kind: str  # a key of KINDS
    added: str = ""
    source: str = ""  # where it came from: "folder", or the uploaded file's name

    @property
    def path(self) -> Path:
        return data_root() / self.name

    @property
    def faces(self) -> str:
        """`evaluate --faces` for this set: detect for photos, crops for face crops."""
        return "detect" if self.kind == "photos" else "crops"

    def open(self) -> Dataset:
        """The set's data set; DatasetError in one line when its folder is gone or lost the split."""
        dataset = open_dataset(self.path, require_train=False)
        if self.split not in dataset.items:
            raise DatasetError(f"{self.name} no longer has a {self.split} split (it has {', '.join(dataset.splits)})")
        return dataset


def catalog_path() -> Path:
    return data_root() / CATALOG_FILE


def list_sets() -> list[TestSet]:
    """The test sets, in the order they were added."""
    path = catalog_path()
    if not path.is_file():
        return []
    try:
        records = read_json(path).get("sets", [])
        return [TestSet(**record) for record in records]
    except (OSError, ValueError, TypeError, AttributeError) as error:
        raise DatasetError(f"{path} cannot be read ({error}): fix or delete it") from None


def get_set(name: str) -> TestSet:
    found = [testset for testset in list_sets() if testset.name == name]
    if not found:
        raise DatasetError(f"no test set named {name} (`python -m emotion_core testsets list` shows them)")
    return found[0]


def _write(sets: list[TestSet]) -> None:
    data_root().mkdir(parents=True, exist_ok=True)
    write_json_atomic(catalog_path(), {"sets": [asdict(testset) for testset in sets]})


def add_folder(name: str, kind: str = AUTO, source: str = "folder") -> TestSet:
    """Make the labelled folder `name` under the data root (its name, or its path) a test set; `kind`
    crops, photos or auto (guessed from the images' sizes, `guess_kind`). One-line DatasetError when
    it cannot be one: not under the data root, a test set already, or the data set runs trained on."""
    given = Path(name)
    if given.is_dir() and given.resolve().parent != data_root().resolve():
        raise DatasetError(f"{name} is not under the data root {data_root()}: link it there "
                           f"(ln -s {given.resolve()} {data_root() / given.name}) or add it as a .zip")
    name = given.name if given.is_dir() else name
    if "/" in name or name.startswith(".") or not (data_root() / name).exists():
        raise DatasetError(f"no labelled folder named '{name}' under the data root {data_root()}")
    if any(testset.name == name for testset in list_sets()):
        raise DatasetError(f"{name} is a test set already")
    dataset = open_dataset(data_root() / name, require_train=False)
    if dataset.fingerprint() in {run.dataset.get("fingerprint") for run in registry.list_runs()}:
        raise DatasetError(f"{name} is the data set runs here trained on: its validation figures are the table's "
                           "own columns already")
    split = next(split for split in SPLITS if split in dataset.items)
    if kind == AUTO:
        kind = guess_kind(dataset, split)
    if kind not in KINDS:
        raise DatasetError(f"a test set holds {' or '.join(KINDS)}, not '{kind}'")
    if kind == "photos" and dataset.kind != "folders":
        raise DatasetError(f"{name} is a .csv of face crops: it cannot be scored as photos")
    testset = TestSet(name, split, kind, now_iso(), source)
    _write([*list_sets(), testset])
    return testset


def remove_set(name: str) -> TestSet:
    """Take a set off the list; its folder and the runs' saved figures on it stay."""
    testset = get_set(name)
    _write([other for other in list_sets() if other.name != name])
    return testset


def guess_kind(dataset: Dataset, split: str) -> str:
    """'crops' for a face set (`data faces`) or images about square and at most CROP_MAX_SIDE pixels
    (FER2013's are 48x48), else 'photos'."""
    if dataset.kind == "csv" or (dataset.path / SUMMARY_JSON).is_file():
        return "crops"
    items = dataset.items[split]
    sizes = []
    for relative, _label in items[:: max(1, len(items) // SAMPLED)][:SAMPLED]:
        try:
            with Image.open(dataset.path / relative) as image:
                sizes.append(image.size)
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
    small_squares = [max(size) <= CROP_MAX_SIDE and 0.75 <= size[0] / size[1] <= 1.34 for size in sizes]
    return "crops" if small_squares and all(small_squares) else "photos"


# --- An uploaded .zip -----------------------------------------------------------------------------


def add_zip(filename: str, data: bytes, name: str | None = None, kind: str = AUTO) -> TestSet:
    """Unpack an uploaded .zip of class folders (`happy/1.jpg`, or a data set's `test/happy/1.jpg`, or
    either inside one top folder) into a new folder under the data root and make it a test set.

    Nothing is written when the zip is refused (not a zip, no class folders of images, a path that
    climbs out of it, more than MAX_SET_IMAGES images or MAX_SET_BYTES unpacked), and the data root
    is never left with half a set: it is unpacked beside it and moved in whole. The folder is named
    `name`, else after the file; an existing folder is never overwritten.
    """
    name = set_name(name or PurePosixPath(filename.replace("\\", "/")).stem)
    if (data_root() / name).exists() or any(testset.name == name for testset in list_sets()):
        raise DatasetError(f"a data set named {name} is already under the data root: choose another name")
    if kind != AUTO and kind not in KINDS:
        raise DatasetError(f"a test set holds {' or '.join(KINDS)}, not '{kind}'")
    root = data_root()
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=".testset-"))  # hidden: no data set until moved in
    try:
        _unpack(filename, data, staging / "unpacked")
        _arrange(staging / "unpacked", staging / "set", filename)
        os.replace(staging / "set", root / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    try:
        return add_folder(name, kind, source=PurePosixPath(filename).name)
    except DatasetError:
        shutil.rmtree(root / name, ignore_errors=True)  # ours, just made: not a set without its entry
        raise


def set_name(text: str) -> str:
    """A folder name from a file's or a user's name: letters, digits, '-' and '_'; DatasetError if none."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", text.strip()).strip("-_")[:60]
    if not name:
        raise DatasetError(f"'{text}' has no letters or digits to name a folder by")
    return name


def _unpack(filename: str, data: bytes, folder: Path) -> None:
    """The zip's images written under `folder` at their paths inside it, or a one-line DatasetError."""
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise DatasetError(f"{filename} is not a valid .zip file")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:  # BytesIO shares the upload's bytes: no copy
            check_zip(archive, len(data), filename)
            infos = {info.filename: info for info in archive.infolist() if not info.is_dir()}
            for name in infos:
                path = PurePosixPath(name.replace("\\", "/"))
                if ".." in path.parts or path.is_absolute():
                    raise DatasetError(f"{filename} holds a path outside its folder ({name}): refused")
            names = image_names(infos)
            if not names:
                raise DatasetError(f"{filename} holds no images (.jpg, .png, ...)")
            if len(names) > MAX_SET_IMAGES:
                raise DatasetError(f"{filename} holds {len(names):,} images; a test set takes at most {MAX_SET_IMAGES:,}")
            if sum(infos[name].file_size for name in names) > MAX_SET_BYTES:
                raise DatasetError(f"{filename} unpacks to more than {MAX_SET_BYTES // 1_000_000_000} GB of images")
            check_free_space(folder.parent, sum(infos[name].file_size for name in names), f"{filename} unpacked")
            for name in names:
                parts = [part for part in PurePosixPath(name.replace("\\", "/")).parts if part != "."]
                check_size(infos[name].file_size, unpacked=True)
                target = folder.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(name) as member, open(target, "wb") as written:  # in chunks, not whole
                    shutil.copyfileobj(member, written)  # zipfile reads no more than the size it checked
    except ImageError as error:
        raise DatasetError(f"{filename}: an image in it is too large ({error})") from None
    except ValueError as error:  # a zip bomb, no room on the disk (DatasetError is one too)
        raise DatasetError(str(error)) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError) as error:
        raise DatasetError(f"{filename} cannot be unpacked ({str(error).splitlines()[0] or type(error).__name__})") from None


def _arrange(unpacked: Path, target: Path, filename: str) -> None:
    """The unpacked images as a data set `target/<split>/<class>/...`: a data set's splits kept,
    class folders put under test/ (faceset.photos.labelled_photos reads both); a zipped top folder
    is looked into."""
    top = unpacked
    while True:
        children = [child for child in top.iterdir() if not child.name.startswith(".")]
        if len(children) == 1 and children[0].is_dir() and not _is_labelled(top):
            top = children[0]
        else:
            break
    try:
        root, items = labelled_photos(top, split="test")
    except DatasetError:
        raise DatasetError(f"{filename} has no class folders of images (happy/, sad/, ... or test/happy/, ...)") from None
    for relative, emotion, split in items:
        parts = PurePosixPath(relative).parts
        # the path below the class folder: the one part naming a class, before the file
        below = parts[next(index for index in range(len(parts) - 2, -1, -1) if _is_class(parts[index])) + 1:]
        destination = target.joinpath(split, emotion, *below)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.replace(root / relative, destination)


def _is_class(folder_name: str) -> bool:
    return canonical_class(folder_name) is not None


def _is_labelled(folder: Path) -> bool:
    try:
        labelled_photos(folder)
        return True
    except DatasetError:
        return False
