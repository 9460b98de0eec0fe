#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (Playwright drives this system browser: it cannot
# download its own on our machines).
set -euo pipefail
status=0
bash "$(dirname "$0")/apt-install.sh" chromium chromium fonts-dejavu-core || status=$?
[ "$status" = 10 ] || exit "$status"
echo "$(chromium --version) installed"
