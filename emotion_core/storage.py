"""Atomic file writes: a reader never sees half a file, a crash never leaves one behind.

Also the time stamp every run, job and evaluation file records (`now_iso`).
"""

from __future__ import annotations

import json
import os
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
