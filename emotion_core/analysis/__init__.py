"""Analysis: the emotional response to an ad, from a folder (or .zip) of face photos.

    python -m emotion_core analyze photos/ --csv results.csv [--model RUN]

    from emotion_core import Predictor, analysis
    analysis.analyze("photos/", "results.csv", Predictor.load("deployed"))
    frame = analysis.read_results("results.csv")
    analysis.emotion_summary(frame, by="group")     # shares and mean probabilities per sub-folder
    analysis.valence_summary(frame, by="group")     # the same for positive, neutral and negative

    # The app: an upload analysed from a temporary folder deleted before this returns.
    held = analysis.analyze_upload([("a.jpg", data)], None, predictor, per_emotion=24)

    # The same rows on Ray Data, on this machine or a cluster (requirements-scale.txt):
    from emotion_core.analysis import ray_engine
    ray_engine.analyze_on_ray("photos/", "out/", ray_engine.RunFiles.of("deployed"), address="auto")

The modules, lowest layer first: `sources` (the images of a folder or .zip), `results` (the
CSV's rows, reading it, resuming), `outputs` (an output folder and its manifest), `pipeline`
(decode, detect, classify, write), `ray_engine` (the pipeline's per-photo work on Ray Data),
`verdict` (a headline in words from counts and their intervals), `summary` (tables of a results
frame, and its verdict), `display` (a finished analysis in memory, with face crops)
and `uploads` (an app's upload, analysed in memory or kept to be resumable).
"""

from .display import THUMBNAIL_PIXELS, Analysis, face_crops, load_analysis, load_output
from .outputs import OUTPUT_CSV, PARQUET_DIR, Output, analyses_dir, check_new_output, finished_outputs, write_manifest
from .pipeline import analyze
from .results import (CSV_COLUMNS, STATUS_NO_FACE, STATUS_OK, STATUS_UNREADABLE, csv_columns, finished_files,
                      read_results, result_classes)
from .sources import ImageSource, list_images
from .summary import (TOP_LEVEL, emotion_summary, format_summary, has_groups, image_summary, readable_summary,
                      shown_faces, top_faces, valence_summary, valence_verdict)
from .uploads import (KEEP_UPLOADS, analyze_in_memory, analyze_upload, count_images, discard_uploads,
                      kept_files_done, results_path, store_uploads, upload_digest)

__all__ = [
    "CSV_COLUMNS", "KEEP_UPLOADS", "OUTPUT_CSV", "PARQUET_DIR", "Output", "analyses_dir", "check_new_output",
    "finished_outputs", "write_manifest", "STATUS_NO_FACE", "STATUS_OK", "STATUS_UNREADABLE", "THUMBNAIL_PIXELS",
    "TOP_LEVEL", "Analysis", "ImageSource", "analyze", "analyze_in_memory", "analyze_upload", "count_images",
    "csv_columns", "discard_uploads", "emotion_summary", "face_crops", "finished_files", "format_summary",
    "has_groups", "image_summary", "kept_files_done", "list_images", "load_analysis", "load_output", "read_results",
    "readable_summary", "result_classes", "results_path", "shown_faces", "store_uploads", "top_faces", "upload_digest",
    "valence_summary", "valence_verdict",
]
