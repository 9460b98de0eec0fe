#!/usr/bin/env bash
# Install podman (and what building images without a registry needs) where no container engine is.
# Settings found to work on our build machines: runc (crun fails on hybrid cgroups here) and ulimits the
# kernel accepts.
set -euo pipefail
if command -v podman >/dev/null 2>&1 && command -v debootstrap >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq podman buildah runc debootstrap uidmap >/dev/null
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
