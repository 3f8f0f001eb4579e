#!/usr/bin/env bash
# The one device command: install the carried wheels (prepare.sh), then benchmarks/gpu_real with the carried
# detectron2 and hmr2 sources ahead of the machine's packages; the JSON, the log and nvidia-smi land in $OUT.
# Arguments go to gpu_real (e.g. --frames 60). GPU_REAL_NO_WHEELS=1 skips the install (a CPU smoke in a venv
# that has the packages: the carried sources are still used).
set -uo pipefail
cd "$(dirname "$0")/../.."
carry=${GPU_CARRY:-.gpu-carry}
out=${OUT:-/tmp/gpu-real-out}
site=${GPU_REAL_SITE:-/tmp/gpu-real-site}
python=${PYTHON:-python3}
mkdir -p "$out"
start=$SECONDS
[ -d "$carry/src/detectron2" ] || { echo "run.sh: no $carry/src: run prepare.sh, and carry $carry" >&2; exit 2; }
extra=
if [ -z "${GPU_REAL_NO_WHEELS:-}" ]; then
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" \
        "$carry"/whl/*.whl || exit 3
    extra=:$site
fi
export PYTHONPATH=service/src:.:$carry/src$extra PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
echo "[run.sh +$((SECONDS - start))s] wheels in; $("$python" --version)"
command -v nvidia-smi >/dev/null && nvidia-smi >"$out/nvidia-smi.txt" 2>&1
"$python" -m benchmarks.gpu_real --out "$out" "$@" 2>&1 | tee "$out/gpu_real.log"
rc=${PIPESTATUS[0]}
echo "[run.sh +$((SECONDS - start))s] gpu_real exit $rc"
exit "$rc"
