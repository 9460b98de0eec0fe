#!/usr/bin/env bash
# Install Debian packages unless the commands they bring are already there; used by the install-*.sh
# scripts (make test and make up install what they need, so a fresh machine needs nothing by hand).
#   apt-install.sh "<command> [<command> ...]" [apt-get option ...] <package> [<package> ...]
# Exits 0 at once if every command exists; 10 after installing (so a caller can finish setting up).
set -euo pipefail
needed=$1
shift
missing=0
for command in $needed; do
  command -v "$command" >/dev/null 2>&1 || missing=1
done
[ "$missing" = 1 ] || exit 0
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "$@" >/dev/null
exit 10
