"""An analysis output folder (`analyze ... --out DIR`, either engine) and the folders the app can open.

    DIR/results.csv        one row per face, the columns of `results.csv_columns`
    DIR/results.parquet/   the same rows as Parquet files (the Ray engine; one file per batch)
    DIR/analysis.json      what was analysed: source, model, engine, counts, when

    outputs = finished_outputs(analyses_dir())     # newest first, for the Analyze page
    frame = read_results(outputs[0].csv_path)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..storage import now_iso, read_json, write_json_atomic

OUTPUT_CSV = "results.csv"
PARQUET_DIR = "results.parquet"
MANIFEST = "analysis.json"
ANALYSES_ENV = "EMOTION_ANALYSES_DIR"  # where the app looks for output folders


def analyses_dir() -> Path:
    """The folder whose output folders the Analyze page lists: `EMOTION_ANALYSES_DIR`, else
    `analyses/` beside `models/` (git-ignored)."""
    return Path(os.environ.get(ANALYSES_ENV, Path(__file__).resolve().parents[2] / "analyses"))


@dataclass(frozen=True)
class Output:
    """A finished output folder."""

    path: Path
    manifest: dict

    @property
    def csv_path(self) -> Path:
        return self.path / OUTPUT_CSV

    @property
    def label(self) -> str:
        facts = self.manifest
        return (f"{self.path.name}: {facts.get('images', '?')} images, {facts.get('engine', '?')} engine, "
                f"model {facts.get('model', '?')}, {str(facts.get('finished', ''))[:16].replace('T', ' ')}")


def write_manifest(out_dir: Path, **facts) -> None:
    """Mark `out_dir` finished: its CSV is complete. Written last, so a folder with a manifest is whole."""
    write_json_atomic(Path(out_dir) / MANIFEST, {**facts, "finished": now_iso()})


def check_new_output(out_dir: Path) -> None:
    """Refuse an output folder that already holds results (or is a file): one analysis per folder."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} is a file; --out takes a folder.")
    taken = [name for name in (OUTPUT_CSV, PARQUET_DIR, MANIFEST) if (out_dir / name).exists()]
    if taken:
        raise ValueError(f"{out_dir} already holds an analysis ({taken[0]}); choose a new --out folder.")


def finished_outputs(root: Path, tables=(OUTPUT_CSV,)) -> list[Output]:
    """The finished output folders directly under `root` holding one of `tables` (by default the
    photos' results.csv), newest first; unreadable ones are left out."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        if (folder / MANIFEST).is_file() and any((folder / table).is_file() for table in tables):
            try:
                manifest = read_json(folder / MANIFEST)
            except (OSError, ValueError):
                continue
            if isinstance(manifest, dict):
                found.append(Output(folder, manifest))
    return sorted(found, key=lambda output: str(output.manifest.get("finished", "")), reverse=True)
