"""The analysis on Ray Data: the local engine's rows, from one machine's cores to a cluster's.

    python -m emotion_core analyze photos/ --engine ray --out results/              # this machine
    python -m emotion_core analyze s3://bucket/ads/ --engine ray --address auto --out results/

    counts = analyze_on_ray("photos/", "results/", RunFiles.of("deployed"))

Ray Data reads the images: a URI its file systems accept (s3://, gs://, file://) with
`read_binary_files`; a local folder's or .zip's files are read by the actors themselves, so they
must sit where the workers can read them (this machine, or shared storage), and an unreadable
file is a row, not a failed job. `map_batches` hands batches of them to `FaceAnalyzer` actors.
Each actor loads the Predictor once, from the run's files shipped with the job (a cluster needs
no copy of models/), and does the local engine's per-photo work (`pipeline.examine`,
`pipeline.classified_rows`).
Ray restarts a killed actor and retries its batch; the rows then pass through `complete_rows`,
which drops a batch written twice and fails loudly on a file with no rows.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import registry
from ..images import IMAGE_SUFFIXES
from ..inference import LiteRTModel, classifier_facts
from .outputs import OUTPUT_CSV, PARQUET_DIR, check_new_output, write_manifest
# ONE_THREAD: Ray counts an actor as one CPU, so a machine runs one actor per core.
from .pipeline import FACES_PER_BATCH, ONE_THREAD, classified_rows, examine
from .results import STATUS_NO_FACE, STATUS_OK, STATUS_UNREADABLE, file_rows_complete, results_table
from .sources import ImageSource, check_size, group_depth, group_of, image_names, list_images

INSTALL_HINT = "pip install -r requirements-scale.txt"
# Reading a file mostly waits on storage. An actor asks for a little less than a CPU so that
# one actor per CPU still leaves room for the read tasks: with whole CPUs each, the actors hold
# every CPU, no read task can start, and the job waits forever.
READ_CPUS = 0.1
ACTOR_CPUS = 1 - READ_CPUS
RUN_FILES_SKIPPED = {registry.CHECKPOINT_FILE}  # a finished run needs only its model


class RayMissing(RuntimeError):
    """Ray is not installed; the message says how to install it."""


def import_ray():
    """The ray module, or RayMissing with the one line that installs it."""
    try:
        import ray
        import ray.data  # noqa: F401  (Ray core alone lacks Ray Data)
    except ImportError:
        raise RayMissing(f"--engine ray needs Ray Data, which is not installed: {INSTALL_HINT}") from None
    return ray


@dataclass(frozen=True)
class RunFiles:
    """A run folder's files in memory, shipped to every worker; `load()` gives its Predictor there."""

    name: str
    files: dict[str, bytes] = field(repr=False)
    detector: str = "yunet"
    warning: str = ""  # registry.resolve_serving's, when `deployed` fell back to an earlier run
    valence: dict = field(default_factory=dict, repr=False)  # the run's (registry.Run.valence)
    litert: str = ""  # the name in `files` of the run's LiteRT file, which then classifies alone (no Keras)
    classifier: dict = field(default_factory=lambda: classifier_facts(None))  # its name and precision (analysis.json)

    @classmethod
    def of(cls, run: str | Path = registry.DEPLOYED, detector: str = "yunet", root: Path | None = None,
           litert: Path | None = None) -> "RunFiles":
        """`litert`: the run's checked LiteRT file (`serving.export.analysis_litert`: int8 or float), shipped
        for the workers to classify with, as the local engine does (`cli.analysis_predictor`): the same
        probabilities."""
        run_dir, warning = registry.resolve_serving(run, root)
        info = registry.load_run(run_dir)
        files = {path.name: path.read_bytes() for path in sorted(Path(run_dir).iterdir())
                 if path.is_file() and path.name not in RUN_FILES_SKIPPED}
        if registry.MODEL_FILE not in files and info.members:  # an ensemble keeps only its members' names
            files[registry.MODEL_FILE] = _assembled_model(info)
        if litert:
            files[Path(litert).name] = Path(litert).read_bytes()
        return cls(Path(run_dir).name, files, detector, warning, info.valence, Path(litert).name if litert else "",
                   classifier_facts(LiteRTModel(litert) if litert else None))

    def load(self):
        from ..predictor import Predictor

        folder = Path(tempfile.mkdtemp(prefix="emotion-run-")) / self.name
        folder.mkdir()
        for name, data in self.files.items():
            (folder / name).write_bytes(data)
        try:
            return Predictor.load(folder, detector=self.detector, litert=folder / self.litert if self.litert else None,
                                  litert_only=True)
        finally:
            shutil.rmtree(folder.parent, ignore_errors=True)  # Keras has read the model into memory


def _assembled_model(run: registry.Run) -> bytes:
    """An ensemble's model file, assembled from its members (ensemble.load_run_model)."""
    from ..ensemble import load_run_model

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / registry.MODEL_FILE
        load_run_model(run).save(path)
        return path.read_bytes()


@dataclass(frozen=True)
class Listing:
    """What the driver found to analyse: every image's name (as in the CSV) and where they are."""

    kind: str  # "folder", "zip" or "uri"
    root: str  # the folder (absolute), the .zip or the URI, without a trailing '/'
    names: list[str]

    @property
    def depth(self) -> int:
        return group_depth(self.names)

    def paths(self) -> list[str]:
        return [f"{self.root}/{name}" for name in self.names]


def list_source(source: str | Path) -> Listing:
    """The images of a local folder or .zip (as `list_images` finds them) or of a URI.

    Raises ValueError when there is nothing to analyse.
    """
    text = str(source)
    if "://" in text:
        names = _list_uri(text)
        listing = Listing("uri", text.rstrip("/"), names)
    else:
        path = Path(text).resolve()
        names = [image.name for image in list_images(path)]
        listing = Listing("folder" if path.is_dir() else "zip", str(path), names)
    if not listing.names:
        raise ValueError(f"No images ({', '.join(sorted(IMAGE_SUFFIXES))}) found in {source}.")
    return listing


def _list_uri(uri: str) -> list[str]:
    import pyarrow.fs

    try:
        filesystem, root = pyarrow.fs.FileSystem.from_uri(uri)
        infos = filesystem.get_file_info(pyarrow.fs.FileSelector(root, recursive=True))
    except (OSError, ValueError) as error:  # pyarrow: unknown scheme, no such bucket, no credentials
        raise ValueError(f"Cannot list {uri}: {' '.join(str(error).split())}") from error
    prefix = root.rstrip("/") + "/"
    return image_names(info.path[len(prefix):] for info in infos
                       if info.type == pyarrow.fs.FileType.File and info.path.startswith(prefix))


class FaceAnalyzer:
    """Ray Data's callable class: one Predictor per actor, the local engine's work on each batch.

    It gets where the images are (`kind`, `root`, the group `depth`), not the listing: a
    million names would travel to every actor.
    """

    def __init__(self, load_predictor, kind: str, root: str, depth: int, min_face_fraction: float | None):
        self.predictor = load_predictor()
        self.classes = tuple(self.predictor.classes)
        self.kind, self.root, self.depth, self.min_face_fraction = kind, root, depth, min_face_fraction
        self.archive = None
        if kind == "zip":
            import zipfile

            self.archive = zipfile.ZipFile(root)

    def __call__(self, batch: dict[str, np.ndarray]) -> pd.DataFrame:
        examined = []
        for position, path in enumerate(batch["path"]):
            source = self._source(str(path))
            # Ray's reader brought a URI's bytes; a folder's or zip's file is read here.
            read = (functools.partial(_checked_bytes, batch["bytes"][position]) if self.kind == "uri"
                    else functools.partial(source.read, self.archive))
            examined.append(examine(source, read, self.predictor, self.min_face_fraction))
        return results_table(classified_rows(examined, self.predictor, Counter()), self.classes)

    def _source(self, path: str) -> ImageSource:
        name = _relative(path, self.root) if self.kind == "uri" else path
        return ImageSource(name, Path(self.root), group_of(name, self.depth))


def load_shared(run_files_ref):
    """The Predictor of RunFiles put in Ray's object store once, not copied into every actor's arguments."""
    import ray

    return ray.get(run_files_ref).load()


def _checked_bytes(data) -> bytes:
    check_size(len(data))
    return bytes(data)


def _relative(path: str, root: str) -> str:
    """`path` as Ray reports it, relative to `root`: Ray drops a URI's scheme, and may keep or
    drop a local path's leading '/'."""
    key = root.split("://", 1)[-1].strip("/") + "/"
    path = path.split("://", 1)[-1].lstrip("/")
    if not path.startswith(key):
        raise ValueError(f"Ray read {path}, which is not under {root}")
    return path[len(key):]


def complete_rows(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The rows in the local engine's order (file as listed, then face), each file's once.

    A batch Ray retried after a worker died may have been written twice: a file's rows are
    kept once. Raises RuntimeError when a file has no rows or incomplete ones.
    """
    order = {name: position for position, name in enumerate(names)}
    frame = frame.drop_duplicates(subset=["file", "face", "status"], keep="first")
    frame = frame.assign(_order=frame["file"].map(order)).sort_values(["_order", "face"], kind="stable")
    seen = set(frame["file"])
    missing = [name for name in names if name not in seen]
    broken = [name for name, rows in frame.groupby("file", sort=False)
              if not file_rows_complete(rows.astype({"face": str, "faces_in_image": str}).to_dict("records"))]
    if missing or broken or frame["_order"].isna().any():
        raise RuntimeError(f"Ray's output is incomplete: {len(missing)} files without rows "
                           f"(first: {(missing or ['-'])[0]}), {len(broken)} with incomplete rows.")
    return frame.drop(columns="_order").reset_index(drop=True)


def analyze_on_ray(source: str | Path, out_dir: Path, run_files: RunFiles, address: str | None = None,
                   min_face_fraction: float | None = None, workers: int | None = None, load_predictor=None) -> dict:
    """Analyse every image of `source` on Ray into `out_dir` (results.parquet/, results.csv, analysis.json).

    `address` is a cluster's ("auto", "ray://host:10001"); None starts Ray on this machine (or
    uses the Ray already started in this process). `workers` caps the actors (default: one per
    CPU Ray has). `load_predictor` replaces `run_files.load` (tests wrap it).
    Returns counts: images, faces, no_face, unreadable.
    """
    ray = import_ray()
    out_dir = Path(out_dir)
    check_new_output(out_dir)
    listing = list_source(source)
    connect(ray, address)
    actors = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    if listing.kind == "uri":
        images = ray.data.read_binary_files(listing.paths(), include_paths=True, num_cpus=READ_CPUS)
    else:
        # A local folder or zip: the actors read each file themselves, so a file that cannot be
        # read (no permission, gone since the listing) is a row saying so, as in the local engine;
        # in Ray's reader it would fail the whole job.
        images = ray.data.from_items([{"path": name} for name in listing.names])
    load = load_predictor or functools.partial(load_shared, ray.put(run_files))
    rows = images.map_batches(
        FaceAnalyzer, fn_constructor_args=(load, listing.kind, listing.root, listing.depth, min_face_fraction),
        batch_size=FACES_PER_BATCH, batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=ACTOR_CPUS)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows.write_parquet(str(out_dir / PARQUET_DIR))
    frame = complete_rows(pd.read_parquet(out_dir / PARQUET_DIR), listing.names)
    # The csv module's line ends, so the file is the local engine's byte for byte.
    frame.to_csv(out_dir / OUTPUT_CSV, index=False, lineterminator="\r\n")
    counts = {"images": len(listing.names), "faces": int((frame["status"] == STATUS_OK).sum()),
              "no_face": int(frame["status"].eq(STATUS_NO_FACE).sum()),
              "unreadable": int(frame["status"].str.startswith(STATUS_UNREADABLE).sum())}
    write_manifest(out_dir, source=listing.root, model=run_files.name, classifier=run_files.classifier, engine="ray",
                   address=address or "local", **counts)
    return counts


def connect(ray, address: str | None) -> None:
    if ray.is_initialized():
        return
    # On a cluster the workers get this package with the job (py_modules); its dependencies
    # (requirements.txt) must be installed on every node.
    import emotion_core

    runtime_env = {"env_vars": ONE_THREAD}
    if address:
        runtime_env["py_modules"] = [str(Path(emotion_core.__file__).parent)]
    ray.init(address=address, runtime_env=runtime_env, include_dashboard=False, log_to_driver=False,
             logging_level="ERROR")
