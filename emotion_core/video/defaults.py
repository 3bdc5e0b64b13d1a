"""The video analysis's defaults, each with its reason (the CLI's help and the API's docs show them).

Kept free of imports, so the command line reads them without loading PyAV or OpenCV.
"""

# Frames analysed a second: an expression lasts half a second to a few seconds, so 5 a second
# catch every one, at a sixth of the cost of every frame of a 30 fps video.
VIDEO_FPS = 5.0
# A webcam or phone filming its viewer frames the face at 15% or more of the picture (faces.FACE_SIZES
# "large"): looking for large faces only is several times faster, and passers-by far behind are not viewers.
VIDEO_FACES = "large"
# A face undetected for this long (turned away, a hand over it) frees its number; the next new
# face takes the smallest free number, so a lone viewer who comes back is viewer 1 again.
VIEWER_FORGET = 1.0  # seconds
