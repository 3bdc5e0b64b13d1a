"""Test sets: a user's labelled folders (their own faces, photos or crops) that every run is scored on.

    python -m emotion_core testsets add posed.zip [--kind photos]   # a .zip of class folders, unpacked
    python -m emotion_core testsets add my-holdout                  # a labelled folder under the data root
    python -m emotion_core testsets list
    python -m emotion_core testsets score [NAME ...]                # the runs missing or stale on them

`catalog` keeps the list (`testsets.json` in the data root) and unpacks uploads; `score` scores
the runs whose saved figure on a set is missing or stale (a changed set, a retrained or recalibrated
run) through `scoring` and saves them where `evaluate --data NAME` does; `jobs/score_job` runs
that in the background. The Models page shows the figures (comparison.test_sets_frame).
"""

from .catalog import AUTO, KINDS, MAX_SET_BYTES, MAX_SET_IMAGES, TestSet, add_folder, add_zip, get_set, list_sets, remove_set
from .score import is_current, last_change, score_set, score_sets, stale_runs, status_rows

__all__ = ["AUTO", "KINDS", "MAX_SET_BYTES", "MAX_SET_IMAGES", "TestSet", "add_folder", "add_zip", "get_set",
           "is_current", "last_change", "list_sets", "remove_set", "score_set", "score_sets", "stale_runs", "status_rows"]
