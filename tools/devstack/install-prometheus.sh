#!/usr/bin/env bash
# Install Debian's Prometheus (the server `make up` runs, and promtool, which `make test` runs on the
# alerting and recording rules) if missing. Only the binaries are used: devstack runs its own server
# with its own configuration and data under .run/prometheus, so a system service the package might
# start is stopped and disabled again (it would hold port 9090).
set -euo pipefail
status=0
bash "$(dirname "$0")/apt-install.sh" "prometheus promtool" --no-install-recommends prometheus || status=$?
[ "$status" = 10 ] || exit "$status"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
elif [ -x /etc/init.d/prometheus ] && /etc/init.d/prometheus status >/dev/null 2>&1; then
  $SUDO /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  $SUDO update-rc.d prometheus disable >/dev/null 2>&1 || true
fi
echo "$(prometheus --version 2>&1 | head -1) installed"
