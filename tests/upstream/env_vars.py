"""The role variables that point the roles at the upstream snapshots (and a local env's paths).

Usage: ``env_vars.py OUT --mirror URL --manifest TSV [--env-dir DIR --user USER --python PY]``.
``--mirror`` is the file:// URL of the upstream mirror (empty: GitHub itself, at the roles' default
pins); the snapshot commits come from ``--manifest`` (../shared/upstream/MANIFEST.tsv). With
``--env-dir``, the paths of a local test environment (build-env.sh) are added; without, the roles'
own defaults stand (the gpu-host scenario's container). torch, the CUDA compiler, the architectures
and the build jobs are always the roles' defaults: what a user's site.yml installs.
"""

import argparse
import csv
import json

# The roles' git sources and the repositories they come from.
SOURCES = {
    "chumpy": "mattloper/chumpy",
    "pyopengl": "mmatl/pyopengl",
    "pytube": "pytube/pytube",
    "detectron2": "facebookresearch/detectron2",
    "neural_renderer_pytorch": "shubham-goel/NMR",
    "phalp": "brjathu/PHALP",
}


def upstream_pins(mirror: str, manifest: str) -> dict:
    """Repository URLs and commits of the snapshots, for the roles' clones and git installs."""
    with open(manifest, newline="") as handle:
        pins = {
            row["github_url"].removeprefix("https://github.com/"): row["snapshot_commit"]
            for row in csv.DictReader(handle, delimiter="\t")
        }
    # The roles' own clones read the mirror directly (through insteadOf, Ansible's git module
    # sees the origin URL differ from the one asked for and reports a change on every run);
    # pip's git requirements inside the setup.py files still go through insteadOf.
    return {
        "pose_service_fourd_humans_repo": f"{mirror}/shubham-goel/4D-Humans.git",
        "pose_service_fourd_humans_version": pins["shubham-goel/4D-Humans"],
        "pose_service_python_sources": {
            name: {"repo": f"{mirror}/{path}", "version": pins[path]}
            for name, path in SOURCES.items()
        },
    }


def local_env(env_dir: str, user: str, python: str) -> dict:
    """The paths of a test environment built on this machine, outside any container."""
    return {
        "pose_service_user": user,
        "pose_service_home": f"{env_dir}/home",
        "pose_service_root": f"{env_dir}/host",
        "pose_service_venv": f"{env_dir}/venv",
        "pose_service_estimator": "hmr2",
        "pose_service_device": "cpu",
        "pose_service_python_interpreter": python,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--mirror", default="")
    parser.add_argument("--manifest", default="")
    parser.add_argument("--env-dir")
    parser.add_argument("--user")
    parser.add_argument("--python")
    args = parser.parse_args()
    v: dict = {}
    if args.env_dir:
        v.update(local_env(args.env_dir, args.user, args.python))
    if args.mirror:
        v.update(upstream_pins(args.mirror, args.manifest))
    with open(args.out, "w") as handle:
        json.dump(v, handle, indent=1)


if __name__ == "__main__":
    main()
