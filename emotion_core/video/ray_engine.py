"""Videos on Ray: one task per video, the local engine's tables row for row.

    python -m emotion_core analyze videos/ --engine ray --out results/            # this machine
    python -m emotion_core analyze /shared/videos/ --engine ray --address auto --out results/

    summary = analyze_videos_on_ray("videos/", "results/", RunFiles.of("deployed"))

Each task opens its video where it lies (a folder, or its member of a .zip, on this machine or
storage every node mounts), loads the Predictor once per worker process from the run's files
shipped with the job (`analysis.ray_engine.RunFiles`), and returns the video's rows and facts
(`pipeline.analyze_video`). The driver writes them in the listing's order with the local
engine's writer, so the tables are the same, byte for byte. Ray runs a task again when its
worker dies (VIDEO_RETRIES), and the video is then analysed whole, from its start.
"""

from __future__ import annotations

import functools
import uuid
from collections import deque
from pathlib import Path

from ..analysis.outputs import MANIFEST, write_manifest
from ..analysis.ray_engine import connect, load_shared, import_ray
from ..analysis.sources import ImageSource
from ..storage import read_json
from .defaults import VIDEO_FPS
from .pipeline import analyze_video, list_videos
from .reading import VIDEO_SUFFIXES
from .tables import VideoTables, frame_columns, second_columns

VIDEO_RETRIES = 3  # tries after a worker died mid-video (killed, out of memory, a node lost)

_predictors: dict[str, object] = {}  # one Predictor per worker process, by analysis


def _worker_predictor(analysis: str, load):
    if analysis not in _predictors:
        _predictors.clear()  # another analysis: the last one's model is not needed any more
        _predictors[analysis] = load()
    return _predictors[analysis]


def analyze_one_video(analysis: str, load, container: str, name: str, group: str, fps: float,
                      min_face_fraction: float | None) -> tuple[list[dict], list[dict], dict, tuple]:
    """A task: (frame rows, second rows, facts, the model's classes) of one video. `analysis`
    names the call of `analyze_videos_on_ray` it belongs to: its tasks share a worker's Predictor."""
    predictor = _worker_predictor(analysis, load)
    frames: list[dict] = []
    seconds, facts = analyze_video(ImageSource(name, Path(container), group), predictor, fps, min_face_fraction,
                                   write_frames=frames.extend)
    return frames, seconds, facts, tuple(predictor.classes)


def analyze_videos_on_ray(source: str | Path, out_dir: Path, run_files, fps: float = VIDEO_FPS,
                          min_face_fraction: float | None = None, address: str | None = None,
                          workers: int | None = None, load_predictor=None) -> dict:
    """Analyse every video of `source` (a folder, .zip or video) on Ray into `out_dir`'s video tables.

    `workers` caps the videos analysed at once (default: one per CPU Ray has); `load_predictor`
    replaces `run_files.load` (tests wrap it). Returns analyze_videos' summary ("videos",
    "skipped_as_done": 0, "facts"). Raises ValueError for a URI, no videos, or tables already there.
    """
    ray = import_ray()
    if "://" in str(source):
        raise ValueError("--engine ray reads videos from a folder, .zip or file every node can open "
                         "(shared storage mounted as a folder), not from a URI.")
    sources = list_videos(Path(source).resolve())
    if not sources:
        raise ValueError(f"No videos ({', '.join(sorted(VIDEO_SUFFIXES))}) found in {source}.")
    tables = VideoTables(Path(out_dir))
    taken = [path.name for path in (tables.frames_csv, tables.seconds_csv, tables.finished_jsonl) if path.exists()]
    if taken:
        raise ValueError(f"{out_dir} already holds video tables ({taken[0]}); choose a new --out folder.")
    connect(ray, address)
    workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    load = load_predictor or functools.partial(load_shared, ray.put(run_files))
    task = ray.remote(analyze_one_video).options(num_cpus=1, max_retries=VIDEO_RETRIES)
    submit = functools.partial(task.remote, uuid.uuid4().hex, load, fps=fps, min_face_fraction=min_face_fraction)
    pending, remaining = deque(), iter(sources)
    for video in remaining:
        pending.append(submit(str(video.container), video.name, video.group))
        if len(pending) >= workers:
            break
    tables.folder.mkdir(parents=True, exist_ok=True)
    facts = {}
    # In the listing's order, at most `workers` videos at once: the tables come out as the local engine's.
    while pending:
        frames, seconds, video_facts, classes = ray.get(pending.popleft())
        for video in remaining:
            pending.append(submit(str(video.container), video.name, video.group))
            break
        tables.append(tables.frames_csv, frame_columns(classes), frames)
        tables.append(tables.seconds_csv, second_columns(classes), seconds)
        tables.mark_finished(video_facts)
        facts[video_facts["file"]] = video_facts
    return {"videos": len(sources), "skipped_as_done": 0, "facts": facts}


def add_videos_to_manifest(out_dir: Path, facts: dict, **photoless) -> None:
    """Write `out_dir`'s analysis.json with the videos' facts: beside what the photos' analysis
    wrote there, or with `photoless` facts (source, model, address) and no images."""
    path = Path(out_dir) / MANIFEST
    manifest = read_json(path) if path.exists() else {
        **photoless, "engine": "ray", "images": 0, "faces": 0, "no_face": 0, "unreadable": 0}
    write_manifest(out_dir, **{key: value for key, value in manifest.items() if key != "finished"}, videos=facts)
