#!/usr/bin/env bash
# Build (or reuse) the random-weight stand-in models of tests/upstream/stand_ins.py with the upstream venv VENV
# (build-env.sh's), cached beside it and keyed by stand_ins.py and that venv; older sets are removed (~8 GB each).
# Usage: stand-ins.sh VENV. Prints the directory last.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
venv=$1
cache=${POSE_UPSTREAM_CACHE:-/var/cache/pose-service-upstream}
models=$cache/models-$(sha256sum < "$repo/tests/upstream/stand_ins.py" | cut -c1-16)-$(basename "$(dirname "$venv")")
mkdir -p "$models"
find "$cache" -maxdepth 1 -name 'models-*' ! -path "$models" -exec rm -rf {} +
fourd_humans=$("$venv/bin/python" -c \
    'import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec("hmr2").origin).resolve().parents[1])')
printf '[stand-ins +%ss] building (or reusing) %s\n' "$SECONDS" "$models" >&2
"$venv/bin/python" "$repo/tests/upstream/stand_ins.py" "$models" "$fourd_humans" "$repo/service/src" >/dev/null
echo "$models"
