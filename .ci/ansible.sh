#!/usr/bin/env bash
# CI step for the Ansible provisioning: ansible-lint (production profile), syntax check,
# systemd-analyze verify of the rendered units, then `molecule test` (Debian bookworm with a real
# systemd in systemd-nspawn). Runs as root on Debian 12 with no stdin; installs its own tools.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
export POSE_MOLECULE_CACHE=${POSE_MOLECULE_CACHE:-$repo/.molecule-cache}
venv=$POSE_MOLECULE_CACHE/venv-ansible
start=$(date +%s)
step() { printf '\n=== %s (+%ss)\n' "$1" $(( $(date +%s) - start )); }

step "system packages (systemd-container, debootstrap) and the Ansible tools in $venv"
# shellcheck source=.ci/ansible-tools.sh
. .ci/ansible-tools.sh
ansible --version | sed -n 1p

step "ansible-lint (production profile, offline)"
ansible-lint --offline --profile production

step "ansible-playbook --syntax-check"
ansible-playbook --syntax-check site.yml playbooks/provision.yml playbooks/verify.yml playbooks/remove.yml

step "systemd-analyze verify on the rendered unit templates"
rendered=$(mktemp -d)
trap 'rm -rf "$rendered"' EXIT
ansible-playbook -i localhost, -c local tests/roles/render-units.yml -e "pose_render_dir=$rendered" \
    -e "ansible_python_interpreter=$venv/bin/python" >/dev/null
for unit in "$rendered"/*.service "$rendered"/*.timer; do
    echo "verify $(basename "$unit")"
    SYSTEMD_LOG_LEVEL=err systemd-analyze verify --man=no --recursive-errors=no "$unit" 2>&1 \
        | grep -v -e "not executable" -e "No such file" -e "Failed to prepare filename" \
              -e "Unit .* not found" -e "Command .* is not executable" && exit 1 || true
done

step "molecule test (nspawn: create, converge, idempotence, verify, destroy)"
make setup >/dev/null  # verify.yml's attack clients (benchmarks/slow_clients.py) run from the project venv
molecule test

step "done in $(( $(date +%s) - start ))s"
