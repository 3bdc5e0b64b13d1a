"""Every run with weights scored on every test set, where its saved figure is missing or stale.

    python -m emotion_core testsets score [NAME ...]    # what the background job runs

A saved report is current when it was measured on the same content of the set
(`scoring.content_fingerprint`), the same weights (`scoring.model_fingerprint`), the same TTA and
temperature, and the same way (face crops, or photos through detection): an unchanged run on an
unchanged set is never scored again; a changed set, a retrained or recalibrated run is. Reports
are saved where `evaluate --data NAME --split SPLIT [--faces detect]` saves them
(`scoring.evaluation_key`), so the Models page reads one kind of file whoever scored it.
"""

from __future__ import annotations

from .. import registry, scoring
from ..comparison import deployable_runs
from ..inference import tta_mode
from .catalog import TestSet, catalog_path, get_set, list_sets


def is_current(report: dict | None, run: registry.Run, testset: TestSet, content: str | None) -> bool:
    """Whether `report` (a run's saved report on the set) still holds for the set's content and the run."""
    return bool(report) and content is not None and all((
        report.get("content_fingerprint") == content,
        report.get("model_fingerprint") == scoring.model_fingerprint(run),
        report.get("faces", "crops") == testset.faces,
        report.get("temperature") == run.temperature,
        tta_mode(report.get("tta")) == tta_mode(run.config.get("tta")),
    ))


def scorable_runs() -> list[registry.Run]:
    """The runs every test set is scored for: those that can be deployed (`comparison.deployable_runs`:
    complete, not broken, with weights). A run still training is scored once it completes, not at
    every epoch's save."""
    runs = registry.list_runs()
    names = set(deployable_runs(runs))
    return [run for run in runs if run.name in names]


def stale_runs(testset: TestSet) -> tuple[list[str], list[str], str | None]:
    """(runs to score, runs whose figure on the set is current, the set's content fingerprint)."""
    dataset = testset.open()
    content, fingerprint = scoring.content_fingerprint(dataset, testset.split), dataset.fingerprint()
    stale, current = [], []
    for run in scorable_runs():
        report = run.evaluations.get(scoring.evaluation_key(run, testset.name, testset.split, fingerprint))
        (current if is_current(report, run, testset, content) else stale).append(run.name)
    return stale, current, content


def score_set(testset: TestSet | str, progress=None) -> dict:
    """Score the runs whose figure on the set is missing or stale, saving each report in its run.

    Returns {set, split, kind, scored, unchanged, failed: {run: reason}}: a run that cannot be
    scored on the set (none of its classes there, no face found) is listed, not fatal.
    `progress(done, total)`: runs scored (face crops), or photos whose faces were found (photos).
    """
    testset = get_set(testset) if isinstance(testset, str) else testset
    stale, current, _content = stale_runs(testset)
    failed: dict[str, str] = {}
    reports = []
    if stale and testset.kind == "photos":
        reports = scoring.evaluate_photos_runs(stale, str(testset.path), testset.split, save=True, errors=failed,
                                               progress=progress)
    elif stale:
        reports = scoring.evaluate_runs(stale, str(testset.path), testset.split, save=True, errors=failed,
                                        progress=(lambda run, fraction: progress(stale.index(run) + fraction, len(stale)))
                                        if progress else None)
    return {"set": testset.name, "split": testset.split, "kind": testset.kind,
            "scored": [report["run"] for report in reports], "unchanged": current, "failed": failed}


def score_sets(names: list[str] | None = None, progress=None) -> list[dict]:
    """`score_set` for the named test sets, or every one; a set whose folder is gone is reported
    as failed for every run rather than stopping the others. `progress(set name, done, total)`."""
    from ..datasets import DatasetError

    results = []
    for testset in [get_set(name) for name in names] if names else list_sets():
        try:
            results.append(score_set(testset, (lambda done, total, name=testset.name: progress(name, done, total))
                                     if progress else None))
        except DatasetError as error:
            results.append({"set": testset.name, "split": testset.split, "kind": testset.kind, "scored": [],
                            "unchanged": [], "failed": {"*": str(error)}})
    return results


def last_change() -> float:
    """When the inputs of the scores last changed (a Unix time): the list of sets, a set's folders
    (an image added or removed: `datasets.dataset_version`), a run's weights, config (its TTA),
    temperature or status (a run that just completed). File times only, so a page may ask on every run; the scoring itself compares
    contents, so a touched but unchanged file costs a check, not a rescoring."""
    from ..datasets import dataset_version

    times = [_mtime(catalog_path())]
    for testset in list_sets():
        if testset.path.exists():
            times.append(dataset_version(testset.path))
    for run in scorable_runs():
        times += [_mtime(path) for path in (*run.weights_files, run.path / registry.CONFIG_FILE,
                                            run.path / registry.CALIBRATION_FILE, run.path / registry.STATUS_FILE)]
    return max(times)


def _mtime(path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def status_rows(sets: list[TestSet]) -> list[dict]:
    """Per set: name, split, kind, images, runs (with weights), current (runs whose figure on it holds),
    problem (one line when its folder cannot be read)."""
    from ..datasets import DatasetError

    runs = len(scorable_runs())
    rows = []
    for testset in sets:
        row = {"name": testset.name, "split": testset.split, "kind": testset.kind, "images": 0, "runs": runs,
               "current": 0, "problem": ""}
        try:
            row["images"] = len(testset.open().items[testset.split])
            row["current"] = len(stale_runs(testset)[1])
        except DatasetError as error:
            row["problem"] = str(error)
        rows.append(row)
    return rows
