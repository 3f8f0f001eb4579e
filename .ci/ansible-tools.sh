# Sourced by .ci/ansible.sh and molecule/gpu-host/run.sh: the system tools (systemd-nspawn, debootstrap) and the
# Ansible tools (ansible, molecule, ansible-lint) in $POSE_MOLECULE_CACHE/venv-ansible, put first on PATH.
: "${POSE_MOLECULE_CACHE:?set POSE_MOLECULE_CACHE}"
export DEBIAN_FRONTEND=noninteractive
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 ANSIBLE_NOCOLOR=1 NO_COLOR=1
if ! command -v systemd-nspawn >/dev/null || ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq systemd-container debootstrap >/dev/null
fi
if [ ! -x "$POSE_MOLECULE_CACHE/venv-ansible/bin/molecule" ]; then
    python3 -m venv "$POSE_MOLECULE_CACHE/venv-ansible"
    "$POSE_MOLECULE_CACHE/venv-ansible/bin/pip" install -q ansible-core ansible molecule molecule-plugins ansible-lint
fi
export PATH=$POSE_MOLECULE_CACHE/venv-ansible/bin:$PATH
