#!/usr/bin/env bash
# Prepare what the slow container test (tests/k8s/test_container_runtime.py) needs,
# since no image registry is reachable here: a Debian rootfs tarball (debootstrap,
# from the Debian mirror) and a wheelhouse of jupyterhub-singleuser (from PyPI,
# versions from constraints.txt; numpy for the native plug-ins). Run once, as root, with network:
#
#     images/testing/prepare-test-rootfs.sh [OUT_DIR]   # default: test-artifacts/k8s
#
# Needs: debootstrap (apt-get install debootstrap), python3 -m pip.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-test-artifacts/k8s}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
PY=${PYTHON:-.venv/bin/python}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

if [[ ! -s "$OUT/rootfs-$SUITE.tar" ]]; then
  command -v debootstrap >/dev/null || { echo "debootstrap missing: apt-get install debootstrap" >&2; exit 2; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates "$SUITE" "$work/rootfs" "$MIRROR"
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" --numeric-owner -cf "$OUT/rootfs-$SUITE.tar.tmp" .
  mv "$OUT/rootfs-$SUITE.tar.tmp" "$OUT/rootfs-$SUITE.tar"
fi

# wheels for the rootfs's python (bookworm: CPython 3.11.2, glibc 2.36); jupyterhub and
# jupyter_server at their locked versions, their dependencies at versions that support 3.11.2;
# numpy for the example native plug-ins (tests/k8s/test_container_runtime.py)
ROOTFS_PY=${ROOTFS_PY:-3.11.2}
pins=$(grep -iE '^(jupyterhub|jupyter[-_]server|numpy)==' constraints.txt)
rm -rf "$OUT/wheelhouse.tmp" && mkdir -p "$OUT/wheelhouse.tmp"
# shellcheck disable=SC2086
"$PY" -m pip download --quiet --only-binary=:all: --python-version "$ROOTFS_PY" \
  -d "$OUT/wheelhouse.tmp" $pins
rm -rf "$OUT/wheelhouse" && mv "$OUT/wheelhouse.tmp" "$OUT/wheelhouse"
echo "ready: $OUT/rootfs-$SUITE.tar and $OUT/wheelhouse ($(ls "$OUT/wheelhouse" | wc -l) wheels)"
