"""A face set from folders of labelled photos: each photo's face found, turned upright and framed.

    python -m emotion_core data faces my-photos/ --out data/my-faces [--split test] [--faces large]

    record = faces_from_photos("my-photos/", "data/my-faces")

The photos' labels are their folders: class folders (`happy/`, `Sadness/`: the aliases a data set's
folders may use), or a data set's split folders of class folders, whose splits are kept. A photo
labels one person: its most confident face is kept (the manifest says how many were found), as
`evaluate --faces detect` scores a photo by it. Photos without a face, and files that are not
images, are counted and left out.
"""

from __future__ import annotations

from pathlib import Path

from ..datasets import DatasetError, open_dataset, resolve_dataset_path
from ..faces import DEFAULT_DETECTOR, FACE_SIZES, FaceDetector, crop_face
from ..images import IMAGE_SUFFIXES, ImageError, load_rgb
from ..labels import EMOTIONS, canonical_class
from .writer import FaceSetWriter

DEFAULT_SPLIT = "test"  # your own faces are first a hold-out to score models on


def labelled_photos(photos: str | Path, split: str = DEFAULT_SPLIT) -> tuple[Path, list[tuple[str, str, str]]]:
    """The folder and its photos as (path relative to it, emotion, split): a data set's splits as
    they are, or class folders directly under `photos` as `split`. DatasetError when it has neither."""
    root = resolve_dataset_path(photos)
    try:
        dataset = open_dataset(root, require_train=False)
    except DatasetError:
        dataset = None
    if dataset is not None:
        if dataset.kind != "folders":
            raise DatasetError(f"{root} is a .csv of 48x48 face crops already: nothing to detect")
        return dataset.path, [(name, EMOTIONS[label], name_split) for name_split, items in dataset.items.items()
                              for name, label in items]
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder of labelled photos")
    found = []
    for folder in sorted(child for child in root.iterdir() if child.is_dir()):
        emotion = canonical_class(folder.name)
        if emotion:
            found += [(file.relative_to(root).as_posix(), emotion, split) for file in sorted(folder.rglob("*"))
                      if file.suffix.lower() in IMAGE_SUFFIXES and not file.name.startswith(".")]
    if not found:
        raise DatasetError(f"{root} has no class folders of photos (happy/, sad/, ... or train/happy/, test/sad/, ...)")
    return root, found


def faces_from_photos(photos: str | Path, out: str | Path, split: str = DEFAULT_SPLIT,
                      detector: str = DEFAULT_DETECTOR, face_size: str = "any", progress=None) -> dict:
    """Detect, align and crop the face of every labelled photo into the new face set `out`.

    Returns what `faceset.json` records: faces written per split and class, photos, no_face,
    unreadable, several_faces (photos where more than one face was found). `progress(done, total)`.
    """
    root, items = labelled_photos(photos, split)
    finder = FaceDetector(detector)
    writer = FaceSetWriter(out)  # refuses a folder that holds files, before any work
    no_face, unreadable, several = 0, 0, 0
    try:
        for done, (name, emotion, photo_split) in enumerate(items, start=1):
            try:
                rgb = load_rgb(root / name)
            except (ImageError, OSError):
                unreadable += 1
                continue
            boxes = finder.detect(rgb, FACE_SIZES[face_size])
            if not boxes:
                no_face += 1
            else:
                several += len(boxes) > 1
                best = max(boxes, key=lambda box: box.score)
                writer.add(crop_face(rgb, best), emotion, photo_split, name, best, face=boxes.index(best) + 1)
            if progress:
                progress(done, len(items))
    except BaseException:
        writer.abandon()  # no faceset.json: the folder does not pass for a whole face set
        raise
    return writer.close(source=str(root.resolve()), detector=finder.name, face_size=face_size,
                        photos=len(items), no_face=no_face, unreadable=unreadable, several_faces=several)
