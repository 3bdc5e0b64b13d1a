"""Ad studies in the app: an upload of reaction videos kept as a study folder, analysed by a
background job (`jobs.start_analysis`), then browsed: each viewer's frame at a second of an ad.

    source = new_study(files, analyses_dir())         # upload/ inside a new study folder
    jobs.start_analysis(source, source.parents[1])    # the analysis and the ad report, in the background
    study = finished_studies(analyses_dir())[0]
    shown = viewer_frames(report, frames, "ad_a", second=12)

The modules: `folders` (the study folder, the ads themselves, finished studies), `frames`
(the reaction videos' frames at a second of an ad, faces drawn, a face's model input for Grad-CAM)
and `tables` (the report's comparison and moments as a page shows them, the columns to split by).
"""

from .folders import ADS_DIR, UPLOAD_DIR, Study, finished_studies, new_study, save_ad_video
from .frames import ViewerFrame, frame_rows, viewer_frames
from .tables import readable_compare, readable_moments, split_columns

__all__ = ["ADS_DIR", "UPLOAD_DIR", "Study", "ViewerFrame", "finished_studies", "frame_rows",
           "new_study", "readable_compare", "readable_moments", "save_ad_video", "split_columns", "viewer_frames"]
