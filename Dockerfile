# The app (default) or the REST API (by command) in one image.
#
#   docker build -t emotion-explorer .                                  # base: python:3.11-slim-bookworm
#   docker build --build-arg BASE=local/bookworm -t emotion-explorer .  # any Debian bookworm base (no registry)
#   docker run -p 8501:8501 emotion-explorer                            # the Streamlit app
#   docker run -p 8000:8000 emotion-explorer python -m emotion_core serve --host 0.0.0.0   # the API
#
# Wheels in deploy/wheels/ (`pip wheel -r requirements.txt -w deploy/wheels`) are installed
# without an index, so the build needs no network then; without them pip uses the index.
# deploy/check_container.sh builds and checks the image for real; compose.yaml runs both services.
# Plain Dockerfile syntax (no BuildKit features): Debian's docker.io builds it as it is.

ARG BASE=python:3.11-slim-bookworm

# --- Python 3.11 and the user the services run as ----------------------------------------------
FROM ${BASE} AS python
# python:3.11-slim has Python 3.11; a bare Debian bookworm base gets Debian's (also 3.11).
RUN if ! command -v python3.11 >/dev/null 2>&1; then \
        apt-get update \
        && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
        && rm -rf /var/lib/apt/lists/*; \
    fi \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin app

# --- the packages, in a stage of their own: the wheels never reach the final image's layers ------
FROM python AS packages
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /tmp/requirements.txt
COPY deploy/wheels/ /tmp/wheels/
RUN python3 -m venv /opt/venv \
    && if ls /tmp/wheels/*.whl >/dev/null 2>&1; then \
        /opt/venv/bin/pip install --no-index --find-links /tmp/wheels -r /tmp/requirements.txt; \
    else \
        /opt/venv/bin/pip install -r /tmp/requirements.txt; \
    fi

# --- the app and the API -------------------------------------------------------------------------
FROM python
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    TF_CPP_MIN_LOG_LEVEL=3 \
    EMOTION_RUNS_DIR=/app/models \
    EMOTION_DATA_DIR=/app/data \
    EMOTION_CACHE_DIR=/home/app/.cache/emotion_explorer
COPY --from=packages /opt/venv /opt/venv

# What runs, no more (no tests, no wheels). The code stays root's, read-only to the app; the
# registry and the data root are the app's, since training, deploying and exporting write there.
WORKDIR /app
COPY app.py README.md ./
COPY .streamlit/config.toml .streamlit/
COPY emotion_core/ emotion_core/
COPY ui/ ui/
COPY views/ views/
COPY recipes/ recipes/
COPY deploy/healthcheck.py deploy/
COPY --chown=app:app models/ models/
RUN mkdir -p /app/data /home/app/.cache/emotion_explorer \
    && chown -R app:app /app/data /home/app/.cache

USER app
EXPOSE 8501 8000
# Whichever of the two is running answers: the API's /health or Streamlit's own.
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "/app/deploy/healthcheck.py"]
CMD ["streamlit", "run", "app.py", "--server.address", "0.0.0.0", "--server.port", "8501"]
