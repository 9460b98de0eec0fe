#!/usr/bin/env bash
# Install Debian's faketime (libfaketime), if missing: the chaos runs start a worker with its clock
# shifted a few seconds ahead or behind (LD_PRELOAD of libfaketime; e2e.faults.SkewedClock).
set -euo pipefail
status=0
bash "$(dirname "$0")/apt-install.sh" "faketime" --no-install-recommends faketime || status=$?
[ "$status" = 10 ] || [ "$status" = 0 ] || exit "$status"
[ "$status" = 0 ] || echo "$(dpkg-query -W -f '${Package} ${Version}' faketime) installed"
