"""The image's HEALTHCHECK: exit 0 when the API (/health) or the app (Streamlit's health) answers.

    python deploy/healthcheck.py            # EMOTION_HEALTH_URLS="http://127.0.0.1:8000/health ..." to change
"""

import os
import sys
import urllib.request

URLS = os.environ.get("EMOTION_HEALTH_URLS", "http://127.0.0.1:8000/health http://127.0.0.1:8501/_stcore/health")


def main() -> int:
    for url in URLS.split():
        try:
            with urllib.request.urlopen(url, timeout=4) as response:
                if response.status == 200:
                    return 0
        except OSError:
            continue
    return 1


if __name__ == "__main__":
    sys.exit(main())
