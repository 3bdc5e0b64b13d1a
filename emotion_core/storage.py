"""Atomic file writes: a reader never sees half a file, a crash never leaves one behind; room on
the disk checked before a large write (`check_free_space`).

Also the time stamp every run, job and evaluation file records (`now_iso`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path


def now_iso() -> str:
    """The current UTC time to the second, as run and job files record it: 2026-11-21T14:00:00+00:00."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@contextmanager
def replacing(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside `path` to write; renamed over `path` if the block succeeds, else deleted.

    Its name starts with a dot (`.<name>.<random>.tmp`, or `.<stem>.<random>.keras` when `suffix`
    is the file's own, as Keras insists on), which `registry.remove_partial_files` relies on.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stem = path.stem if suffix == path.suffix else path.name
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{stem}.", suffix=suffix)
    os.close(handle)
    try:
        yield Path(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# Left free after an upload is written, for the tables, logs and checkpoints that follow it.
MIN_FREE_BYTES = 100 * 2**20


def check_free_space(folder: Path, needed: int, what: str) -> None:
    """ValueError in one line when writing `needed` bytes of `what` under `folder` (or its nearest
    existing parent) would leave less than MIN_FREE_BYTES free on that disk."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if needed + MIN_FREE_BYTES > free:
        raise ValueError(f"{what} needs {needed / 2**20:,.0f} MB on this server's disk and {free / 2**20:,.0f} MB "
                         f"is free (of which {MIN_FREE_BYTES // 2**20} MB stays free): nothing was written.")


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename it over `path`."""
    with replacing(path) as temporary, open(temporary, "wb") as stream:
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def write_json_atomic(path: Path, value) -> None:
    write_bytes_atomic(path, (json.dumps(value, indent=2, allow_nan=False) + "\n").encode())


def read_json(path: Path):
    return json.loads(Path(path).read_text())
