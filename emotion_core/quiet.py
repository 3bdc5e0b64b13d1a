"""Keep native libraries' start-up chatter out of a command's answer.

TensorFlow's C++ libraries print the oneDNN notice and "Could not find cuda drivers" before its
logging is set up, and TFLite announces its XNNPACK delegate with a bare fprintf, so neither
TF_CPP_MIN_LOG_LEVEL nor Python's warnings can hide them; only file descriptor 2 can.
"""

from __future__ import annotations

import contextlib
import os
import sys

TF_LOG_LEVEL = "TF_CPP_MIN_LOG_LEVEL"


def wants_quiet() -> bool:
    """True unless the user asked TensorFlow for its notices (TF_CPP_MIN_LOG_LEVEL=0)."""
    return os.environ.get(TF_LOG_LEVEL, "3") != "0"


@contextlib.contextmanager
def native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for the block; Python's own errors raise after it is back."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
