"""Print {distribution: commit or path} for what pip installed from git or a local directory.

Read by the pose_service_python role so a pinned source is installed only when its commit
changed (pip re-resolves, and rebuilds a local directory, on every call otherwise).
"""

import json
from importlib import metadata

found = {}
for dist in metadata.distributions():
    name = dist.metadata["Name"].lower().replace("-", "_")
    raw = dist.read_text("direct_url.json")
    if not raw:
        found[name] = ""
        continue
    info = json.loads(raw)
    found[name] = info.get("vcs_info", {}).get("commit_id") or info.get("url", "")
print(json.dumps(found, sort_keys=True))
