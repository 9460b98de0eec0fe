#!/usr/bin/env bash
# Install podman (and what building images without a registry needs) where no container engine is.
# Settings found to work on our build machines: runc (crun fails on hybrid cgroups here) and ulimits the
# kernel accepts.
set -euo pipefail
status=0
bash "$(dirname "$0")/apt-install.sh" "podman debootstrap" podman buildah runc debootstrap uidmap || status=$?
[ "$status" = 10 ] || exit "$status"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO mkdir -p /etc/containers
if ! grep -q 'runtime = "runc"' /etc/containers/containers.conf 2>/dev/null; then
  $SUDO tee -a /etc/containers/containers.conf >/dev/null <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]
[engine]
runtime = "runc"
CONF
fi
echo "podman $(podman --version | awk '{print $3}') installed"
