#!/usr/bin/env python3
"""Print, as JSON, the host's pip configuration for the container.

Output: {"env": {PIP_*: value}, "binds": [dirs]}.

Reads `pip config list` and the PIP_* environment (the environment wins, as for pip itself). Every
local path it names (find-links folders, file:// indexes, the constraints file, the CA bundle's
folder is left out: the container has its own updated bundle) becomes a read-only bind mount at the
same path, so the same values work inside the container.
"""

import json
import os
import subprocess
import sys

env = {}
try:
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    ).stdout
except OSError:
    listed = ""
for line in listed.splitlines():
    key, _, value = line.partition("=")
    section, _, option = key.partition(".")
    if section not in ("global", "install", ":env:") or not option:
        continue
    env["PIP_" + option.upper().replace("-", "_")] = value.strip().strip("'\"")
env.update({k: v for k, v in os.environ.items() if k.startswith("PIP_")})
env["PIP_CERT"] = "/etc/ssl/certs/ca-certificates.crt"
env.pop("PIP_CACHE_DIR", None)
env.pop("PIP_CONFIG_FILE", None)

binds = set()
for value in env.values():
    for item in value.split():
        path = item[len("file://") :] if item.startswith("file://") else item
        if not path.startswith("/") or path.startswith("/etc/ssl"):
            continue
        if os.path.isfile(path):
            path = os.path.dirname(path)
        if os.path.basename(path.rstrip("/")) == "simple":  # indexes link to ../files
            path = os.path.dirname(path.rstrip("/"))
        if os.path.isdir(path):
            binds.add(path)
print(json.dumps({"env": env, "binds": sorted(binds)}))
