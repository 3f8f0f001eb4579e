#!/usr/bin/env bash
# Fill the git-ignored carry folder (default .gpu-carry/) with what benchmarks/gpu_real.py needs on the lent GPU
# machine and that machine lacks (it has torch, torchvision, timm, pytorch-lightning, numpy, scipy, opencv, but no
# detectron2, smplx, yacs, ... and no network): wheels for Python 3.12 x86-64 in whl/, and the pure-Python sources
# of detectron2 (with its model-zoo configs) and 4D-Humans' hmr2 package in src/, from the upstream bundles.
# detectron2 is carried unbuilt: ViTDet-H's cascade needs none of its compiled ops (ROIAlign is torchvision's;
# deform_conv.py guards `from detectron2 import _C` and the rotated ops are only called for rotated boxes).
# Run it here, from the checkout the device tool sends (the session's own, e.g. /work/main):
#   bash benchmarks/device/prepare.sh            (POSE_UPSTREAM_SOURCES=DIR for other bundles)
# Prints the folder's size last; fails above 50 MiB (a call carries at most 64 MiB with the tree).
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=${GPU_CARRY:-.gpu-carry}
sources=${POSE_UPSTREAM_SOURCES:-$(cd .. && pwd)/shared/upstream}
[ -d "$sources" ] || sources=/work/shared/upstream
python=${PYTHON:-python3}
exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
grep -qxF "/$carry/" "$exclude" 2>/dev/null || echo "/$carry/" >>"$exclude"
rm -rf "$carry" && mkdir -p "$carry/whl" "$carry/src"
git check-ignore -q "$carry" || { echo "prepare.sh: $carry is not ignored by git" >&2; exit 1; }

# The upstream venv's versions (tests/upstream), as cp312 manylinux wheels; setuptools<81 for pkg_resources,
# which detectron2.model_zoo imports. pyrender (and its GL) is not carried: gpu_real stubs it (never rendered).
wheels=(yacs==0.1.8 smplx==0.1.28 iopath==0.1.9 omegaconf==2.3.1 pycocotools==2.0.11 termcolor==3.3.0
        trimesh==5.2.0 dill==0.4.1 setuptools==80.10.2 structlog==26.1.0 orjson==3.13.0 pybase64==1.5.1
        simplejpeg==1.9.0)
platforms=()
for n in 17 24 27 28 31 34 35; do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
"$python" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" --platform manylinux2014_x86_64 -d "$carry/whl" "${wheels[@]}"
# Pure-Python packages published as sdists only: built into py3-none-any wheels here.
"$python" -m pip wheel -q --no-deps -w "$carry/whl" \
    fvcore==0.1.5.post20221221 antlr4-python3-runtime==4.9.3

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$sources/facebookresearch+detectron2.bundle" "$work/detectron2"
git clone -q "$sources/shubham-goel+4D-Humans.bundle" "$work/4D-Humans"
cp -r "$work/detectron2/detectron2" "$carry/src/detectron2"
cp -r "$work/detectron2/configs" "$carry/src/detectron2/model_zoo/configs"  # what setup.py copies there
cp -r "$work/4D-Humans/hmr2" "$carry/src/hmr2"
find "$carry/src" -name '__pycache__' -prune -exec rm -rf {} +
printf '%s\t%s\n' detectron2 "$(git -C "$work/detectron2" rev-parse HEAD)" 4D-Humans \
    "$(git -C "$work/4D-Humans" rev-parse HEAD)" >"$carry/SOURCES.tsv"

size_kib=$(du -sk "$carry" | cut -f1)
ls "$carry/whl"
echo "$carry: $((size_kib / 1024)) MiB"
[ "$size_kib" -le $((50 * 1024)) ] || { echo "prepare.sh: $carry is over 50 MiB" >&2; exit 1; }
