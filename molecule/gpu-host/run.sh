#!/usr/bin/env bash
# make test-gpu-host: `molecule test -s gpu-host` (see molecule.yml) once the upstream mirror and the stand-in
# models exist (the Makefile builds both: POSE_UPSTREAM_CACHE, POSE_UPSTREAM_MODELS). Runs as root, as molecule's
# default scenario does; reuses its Ansible tools (POSE_MOLECULE_CACHE) and builds its own Debian 13 root filesystem.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
: "${POSE_UPSTREAM_CACHE:?}" "${POSE_UPSTREAM_MODELS:?}"
export POSE_MOLECULE_CACHE=${POSE_MOLECULE_CACHE:-$repo/.molecule-cache}
[ "$(id -u)" = 0 ] || { echo "test-gpu-host boots a systemd container: run it as root" >&2; exit 2; }
# shellcheck source=.ci/ansible-tools.sh
. .ci/ansible-tools.sh
start=$SECONDS
molecule test -s gpu-host
echo "test-gpu-host passed in $(( SECONDS - start )) s"
# The container's /home (venv, models: ~15 GB) is only for inspecting a failed run.
rm -rf "$POSE_UPSTREAM_CACHE/gpu-host-home"
