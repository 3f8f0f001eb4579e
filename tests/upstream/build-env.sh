#!/usr/bin/env bash
# Build (or reuse) the venv of the real upstream stack for `make test-upstream`, with the project's own roles:
# 4D-Humans cloned, torch, detectron2 built from source, chumpy, the PyOpenGL fork, NMR (a CUDA extension, built
# with the nvcc wheels the role installs into the venv) and PHALP, all under the roles' one constraints file, on
# the roles' defaults for torch and CUDA; converged twice, the second time changing nothing. Then the service's
# own dependencies (lite and test extras).
#
# The upstream repositories come from ../shared/upstream (git bundles of the real trees, standing in for
# github.com through git's url.<base>.insteadOf), or from GitHub itself when POSE_UPSTREAM_BUNDLES is empty.
# The venv is cached outside the clone, keyed by everything the roles build it from. Prints its path last.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/tests/upstream
bundles=${POSE_UPSTREAM_BUNDLES-$repo/../shared/upstream}
cache=${POSE_UPSTREAM_CACHE:-/var/cache/pose-service-upstream}
user=${POSE_UPSTREAM_USER:-pose-upstream}
python=${POSE_UPSTREAM_PYTHON:-/usr/bin/python3}
manifest=${bundles:+$bundles/MANIFEST.tsv}
log() { printf '[build-env +%ss] %s\n' "$SECONDS" "$*" >&2; }

[ "$(id -u)" = 0 ] || { echo "build-env.sh runs the roles as root (it creates the user $user)" >&2; exit 2; }
# The key: what the venv is built from (the roles' docs excluded: they change no build).
key=$( { cat "$here/provision-env.yml" "$here/env_vars.py"; find "$repo/roles/pose_service" \
          "$repo/roles/pose_service_python" "$repo/roles/pose_service_fourd_humans" -type f ! -name '*.md' ! -path '*/__pycache__/*' \
          | LC_ALL=C sort | xargs cat
        [ -z "$manifest" ] || cat "$manifest"; "$python" --version; } | sha256sum | cut -c1-16)
env_dir=$cache/env-$key
venv=$env_dir/venv

# What the preflight role installs on a host and these steps need: ACLs (Ansible's become to an
# unprivileged user hands it files by ACL) and OSMesa (hmr2.models imports pyrender, which needs a GL).
if ! command -v setfacl >/dev/null || ! ldconfig -p | grep -q libOSMesa; then
    log "installing acl and libosmesa6"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq acl libosmesa6 >/dev/null
fi

mkdir -p "$cache" && chmod 0755 "$cache"
id "$user" >/dev/null 2>&1 || useradd --system --shell /bin/bash "$user"

# The mirror is kept even when the venv is cached: the gpu-host scenario mounts it into its container.
mirror=
export GIT_CONFIG_COUNT=0
if [ -n "$bundles" ]; then
    gh=$cache/github
    mirror=file://$gh
    log "mirroring the upstream bundles into $gh"
    while IFS=$'\t' read -r url _branch _upstream snapshot _omitted _licence; do
        [ "$url" = github_url ] && continue
        name=${url#https://github.com/}
        if ! git -c safe.directory='*' -C "$gh/$name.git" cat-file -e "$snapshot^{commit}" 2>/dev/null; then
            rm -rf "$gh/$name.git"
            git clone -q --bare "$bundles/${name/\//+}.bundle" "$gh/$name.git"
        fi
    done < "$manifest"
    # The service user clones from it: git refuses a repository another user owns (safe.directory).
    chown -R "$user:" "$gh"
    export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="url.$mirror/.insteadOf" GIT_CONFIG_VALUE_0=https://github.com/
fi

if [ ! -f "$env_dir/.converged" ]; then
    # Venvs built from older roles are ~6 GB each: keep only the one being built.
    find "$cache" -maxdepth 1 -name 'env-*' ! -path "$env_dir" -exec rm -rf {} +
    ansible_venv=$cache/ansible
    if [ ! -x "$ansible_venv/bin/ansible-playbook" ]; then
        log "installing ansible-core into $ansible_venv"
        python3 -m venv "$ansible_venv"
        "$ansible_venv/bin/pip" install -q ansible  # ansible-core and the collections (profile_tasks times each task)
    fi

    mkdir -p "$env_dir/home"  # a half-built one is converged again: the roles are idempotent
    chown "$user:" "$env_dir" "$env_dir/home"
    vars=$env_dir/vars.json
    "$python" "$here/env_vars.py" "$vars" --env-dir "$env_dir" --user "$user" --python "$python" \
        --mirror "$mirror" --manifest "${manifest:-}"

    converge() {
        ANSIBLE_PIPELINING=1 ANSIBLE_NOCOLOR=1 ANSIBLE_ROLES_PATH=$repo/roles ANSIBLE_CONFIG=$repo/ansible.cfg \
            "$ansible_venv/bin/ansible-playbook" -i localhost, "$here/provision-env.yml" -e "@$vars"
    }
    log "running the roles (pose_service_fourd_humans, pose_service_python)"
    converge >&2
    log "running them again: nothing may change"
    converge | tee "$env_dir/second-converge.log" >&2
    if ! grep -Eq 'localhost +: ok=[0-9]+ +changed=0 ' "$env_dir/second-converge.log"; then
        echo "the second converge changed something (see $env_dir/second-converge.log)" >&2
        exit 1
    fi
    touch "$env_dir/.converged"
else
    log "reusing $env_dir (converged)"
fi

log "installing the service package's dependencies (lite, test) into the venv"
# Not editable: the cached venv outlives this clone. The tests put this clone's service/src first on sys.path.
"$venv/bin/pip" install -q -c "$env_dir/host/pip-constraints.txt" "$repo/service[lite,test]" >&2
log "done: $venv"
echo "$venv"
