#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (Playwright drives this system browser: it cannot
# download its own on our machines).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
echo "$(chromium --version) installed"
