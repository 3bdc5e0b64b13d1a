#!/usr/bin/env bash
# Build the image and check it for real: the app and the API from compose.yaml over one models
# volume, the API's /health and /predict on a real photo, the API key, the app's first page.
#
#   deploy/check_container.sh                                   # base local/bookworm, made by debootstrap
#   BASE=python:3.11-slim-bookworm deploy/check_container.sh    # where a registry can be reached
#   KEEP=1 deploy/check_container.sh                            # leave the containers running afterwards
#
# Needs a running Docker daemon (Debian: apt-get install docker.io; dockerd &), debootstrap when the
# base image is missing, and a photo with a face (PHOTO, default ../shared/photos/astronaut.png).
# The wheels are built on this machine first (deploy/wheels, from requirements.txt), so the image
# build itself needs no package index. Without docker compose (v2) or docker-compose (v1), the
# two containers are started with docker run, as compose.yaml would start them. Takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${BASE:-local/bookworm}
IMAGE=${IMAGE:-emotion-explorer:check}
APP_PORT=${APP_PORT:-18501}
API_PORT=${API_PORT:-18000}
PHOTO=${PHOTO:-../shared/photos/astronaut.png}
KEY=check-key-$RANDOM$RANDOM
PROJECT=emotioncheck
export BASE IMAGE APP_PORT API_PORT

step() { echo "== $*" >&2; }
fail() { echo "FAILED: $*" >&2; exit 1; }

[ -f "$PHOTO" ] || fail "no photo at $PHOTO (set PHOTO)"
docker info >/dev/null 2>&1 || fail "no Docker daemon (Debian: apt-get install docker.io, then dockerd &)"

# --- 1. the base image: Debian bookworm, made here when no registry can be reached ------------------
if ! docker image inspect "$BASE" >/dev/null 2>&1 && [ "$BASE" = local/bookworm ]; then
  command -v debootstrap >/dev/null || fail "$BASE is missing and debootstrap is not installed"
  step "making $BASE with debootstrap (about a minute)"
  rootfs=$(mktemp -d)
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
  tar -C "$rootfs" -c . | docker import - "$BASE" >/dev/null
  rm -rf "$rootfs"
fi

# --- 2. wheels for every requirement, built by this machine's pip (its certificates, its index) ------
if python3 -c 'import sys, platform; sys.exit(sys.version_info[:2] != (3, 11) or platform.machine() != "x86_64")'; then
  step "wheels for requirements.txt into deploy/wheels"
  python3 -m pip wheel -q -r requirements.txt -w deploy/wheels 2> >(grep -v "^WARNING: Location" >&2)
else
  step "this Python is not 3.11 on x86_64: the image's pip will use the package index"
fi

# --- 3. build ------------------------------------------------------------------------------------
step "docker build --build-arg BASE=$BASE -t $IMAGE"
started=$(date +%s)
docker build -q --build-arg BASE="$BASE" -t "$IMAGE" . 2> >(grep -v -e DEPRECATED -e buildx -e "^ *https://docs.docker" -e '^$' >&2) >/dev/null
echo "built $IMAGE in $(( $(date +%s) - started )) s, $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.2f GB", $1 / 1e9}')"

# --- 4. run the app and the API over one models volume ------------------------------------------------
if docker compose version >/dev/null 2>&1; then compose=(docker compose)
elif command -v docker-compose >/dev/null; then compose=(docker-compose); else compose=(); fi

cleanup() {
  if [ -n "${KEEP:-}" ]; then echo "left running (KEEP=1): app :$APP_PORT, API :$API_PORT"; return; fi
  if [ ${#compose[@]} -gt 0 ]; then "${compose[@]}" -p "$PROJECT" down -v >/dev/null 2>&1 || true
  else docker rm -f "$PROJECT-app" "$PROJECT-api" >/dev/null 2>&1 || true; docker volume rm "$PROJECT-models" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

if [ ${#compose[@]} -gt 0 ]; then
  "${compose[@]}" config -q || fail "compose.yaml does not validate"
  step "${compose[*]} up (compose.yaml), app on :$APP_PORT, API on :$API_PORT"
  EMOTION_API_KEY=$KEY "${compose[@]}" -p "$PROJECT" up -d --no-build
  app=$("${compose[@]}" -p "$PROJECT" ps -q app)
  api=$("${compose[@]}" -p "$PROJECT" ps -q api)
else
  step "docker run (no compose here), app on :$APP_PORT, API on :$API_PORT"
  docker volume create "$PROJECT-models" >/dev/null
  app=$(docker run -d --name "$PROJECT-app" -p "$APP_PORT:8501" -v "$PROJECT-models:/app/models" "$IMAGE")
  api=$(docker run -d --name "$PROJECT-api" -p "$API_PORT:8000" -v "$PROJECT-models:/app/models" \
        -e EMOTION_API_KEY="$KEY" "$IMAGE" python -m emotion_core serve --host 0.0.0.0 --port 8000)
fi

step "waiting for both HEALTHCHECKs"
for _ in $(seq 1 100); do
  states="$(docker inspect -f '{{.State.Health.Status}}' "$app") $(docker inspect -f '{{.State.Health.Status}}' "$api")"
  [ "$states" = "healthy healthy" ] && break
  case "$states" in *unhealthy*) break;; esac
  sleep 3
done
echo "health: app $(docker inspect -f '{{.State.Health.Status}}' "$app"), api $(docker inspect -f '{{.State.Health.Status}}' "$api") (user $(docker exec "$api" id -un))"
[ "$states" = "healthy healthy" ] || { docker logs --tail 30 "$api" >&2; docker logs --tail 30 "$app" >&2; fail "not healthy: $states"; }

# --- 5. the checks ----------------------------------------------------------------------------------
api_url=http://127.0.0.1:$API_PORT
step "GET /health"
health=$(curl -sf "$api_url/health") || fail "/health"
echo "$health"

step "GET /models without the key, then with it"
code=$(curl -s -o /dev/null -w '%{http_code}' "$api_url/models")
echo "without X-API-Key: $code"
[ "$code" = 401 ] || fail "/models answered $code without the key"
curl -sf -H "X-API-Key: $KEY" "$api_url/models" | python3 -c \
  'import json, sys; m = json.load(sys.stdin); print("aliases", m["aliases"], "|", len(m["runs"]), "runs with weights")'

step "POST /predict $(basename "$PHOTO")"
answer=$(curl -sf -H "X-API-Key: $KEY" -F "file=@$PHOTO" "$api_url/predict") || fail "/predict"
echo "$answer"
echo "$answer" | python3 -c 'import json, sys; a = json.load(sys.stdin); sys.exit(len(a["images"][0]["faces"]) < 1)' \
  || fail "no face found in $PHOTO"

step "the app's first page"
curl -sf "http://127.0.0.1:$APP_PORT/_stcore/health" | sed 's/^/streamlit health: /'; echo
if [ -x /usr/bin/chromium ] && python3 -c 'import playwright' 2>/dev/null; then
  # Streamlit draws its page with JavaScript over a websocket: a browser shows what a user sees.
  page=$(python3 deploy/first_page.py "http://127.0.0.1:$APP_PORT/") || fail "the app's first page: $page"
  echo "$page"
  case "$page" in *"Facial emotion model explorer"*) ;; *) fail "the app's first page does not show its title";; esac
else
  echo "(no chromium + playwright here: the HTML shell only)"
  curl -sf "http://127.0.0.1:$APP_PORT/" | grep -o '<title>[^<]*</title>' || fail "the app's first page"
fi
step "all checks passed"
