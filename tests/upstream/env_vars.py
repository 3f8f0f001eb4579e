"""The role variables of the upstream test environment (written to vars.json by build-env.sh).

Usage: env_vars.py OUT ENV_DIR USER PYTHON MIRROR MANIFEST. MIRROR is the file:// URL of the
upstream mirror (empty: GitHub itself, at the roles' default pins); its snapshot commits come
from ``MANIFEST`` (../shared/upstream/MANIFEST.tsv).
"""

import csv
import json
import sys

# The roles' git sources and the repositories they come from.
SOURCES = {
    "chumpy": "mattloper/chumpy",
    "pyopengl": "mmatl/pyopengl",
    "pytube": "pytube/pytube",
    "detectron2": "facebookresearch/detectron2",
    "neural_renderer_pytorch": "shubham-goel/NMR",
    "phalp": "brjathu/PHALP",
}


def main() -> None:
    out, env_dir, user, python, mirror, manifest = sys.argv[1:]
    v = {
        "pose_service_user": user,
        "pose_service_home": f"{env_dir}/home",
        "pose_service_root": f"{env_dir}/host",
        "pose_service_venv": f"{env_dir}/venv",
        "pose_service_estimator": "hmr2",
        "pose_service_device": "cpu",
        "pose_service_python_interpreter": python,
        # The wheels on these machines' disk: a CUDA 13.0 build that runs on the CPU, and the
        # machine's own nvcc 13.0 for the CUDA extension (PHALP's neural renderer).
        "pose_service_python_torch_packages": ["torch==2.14.1", "torchvision==0.29.1"],
        "pose_service_python_torch_index_url": "",
        "pose_service_python_torch_variant": "cu130",
        "pose_service_python_cuda_home": "/usr/local/cuda-13.0",
        "pose_service_python_cuda_arch_list": "8.0",
        "pose_service_python_build_jobs": 2,
    }
    if mirror:
        with open(manifest, newline="") as handle:
            pins = {
                row["github_url"].removeprefix("https://github.com/"): row["snapshot_commit"]
                for row in csv.DictReader(handle, delimiter="\t")
            }
        # The roles' own clones read the mirror directly (through insteadOf, Ansible's git module
        # sees the origin URL differ from the one asked for and reports a change on every run);
        # pip's git requirements inside the setup.py files still go through insteadOf.
        v["pose_service_fourd_humans_repo"] = f"{mirror}/shubham-goel/4D-Humans.git"
        v["pose_service_fourd_humans_version"] = pins["shubham-goel/4D-Humans"]
        v["pose_service_python_sources"] = {
            name: {"repo": f"{mirror}/{path}", "version": pins[path]}
            for name, path in SOURCES.items()
        }
    with open(out, "w") as handle:
        json.dump(v, handle, indent=1)


if __name__ == "__main__":
    main()
