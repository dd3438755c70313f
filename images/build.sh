#!/usr/bin/env bash
# Build (and optionally push) the Daisy user images with docker or podman.
#
#   images/build.sh [--engine docker|podman] [--registry REG] [--tag TAG]
#                   [--base-image IMAGE] [--only cpu|gpu] [--push] [--dry-run]
#
# Image names and the default tag come from hub_config/profiles.py (the same
# references the Helm values use); the registry defaults to the values' one.
# The build context is the repository root (see .dockerignore).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENGINE=${CONTAINER_ENGINE:-}
REGISTRY=${REGISTRY:-}
TAG=${TAG:-}
BASE_IMAGE=${BASE_IMAGE:-}
ONLY=""
PUSH=0
DRY=0

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --engine) ENGINE=$2; shift 2 ;;
    --registry) REGISTRY=$2; shift 2 ;;
    --tag) TAG=$2; shift 2 ;;
    --base-image) BASE_IMAGE=$2; shift 2 ;;
    --only) ONLY=$2; shift 2 ;;
    --push) PUSH=1; shift ;;
    --dry-run) DRY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "build.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

if [[ -z "$ENGINE" ]]; then
  if command -v docker >/dev/null 2>&1; then ENGINE=docker
  elif command -v podman >/dev/null 2>&1; then ENGINE=podman
  elif [[ $DRY -eq 1 ]]; then ENGINE=docker
  else echo "build.sh: neither docker nor podman found (set --engine)" >&2; exit 2
  fi
fi
case "$ENGINE" in docker|podman) ;; *) echo "build.sh: --engine must be docker or podman" >&2; exit 2 ;; esac
case "$ONLY" in ""|cpu|gpu) ;; *) echo "build.sh: --only must be cpu or gpu" >&2; exit 2 ;; esac

PY=${PYTHON:-python3}
[[ -x "$ROOT/.venv/bin/python" ]] && PY="$ROOT/.venv/bin/python"
render_args=()
[[ -n "$REGISTRY" ]] && render_args+=(--registry "$REGISTRY")
[[ -n "$TAG" ]] && render_args+=(--tag "$TAG")
declare -A IMAGE
while read -r which ref; do IMAGE[$which]=$ref; done \
  < <("$PY" "$ROOT/hub_config/kubernetes/render_values.py" --print-images "${render_args[@]}")

run() {
  echo "+ $*"
  [[ $DRY -eq 1 ]] || "$@"
}

cd "$ROOT"
# podman: Docker image format so HEALTHCHECK and SHELL are kept
fmt=()
[[ "$ENGINE" == podman ]] && fmt=(--format docker)

if [[ -z "$ONLY" || "$ONLY" == cpu ]]; then
  base=()
  [[ -n "$BASE_IMAGE" ]] && base=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
  run "$ENGINE" build "${fmt[@]}" "${base[@]}" -f images/singleuser/Dockerfile -t "${IMAGE[cpu]}" .
fi
if [[ -z "$ONLY" || "$ONLY" == gpu ]]; then
  run "$ENGINE" build "${fmt[@]}" --build-arg "DAISY_CPU_IMAGE=${IMAGE[cpu]}" \
      -f images/singleuser-gpu/Dockerfile -t "${IMAGE[gpu]}" .
fi
if [[ $PUSH -eq 1 ]]; then
  for which in cpu gpu; do
    [[ -z "$ONLY" || "$ONLY" == "$which" ]] && run "$ENGINE" push "${IMAGE[$which]}"
  done
fi
exit 0
