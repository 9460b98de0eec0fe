#!/usr/bin/env bash
# Install uv where it is missing: with pip if the Python has it, else with Debian's python3-pip.
# PEP 668 systems refuse a plain pip install into the system Python; --user with
# --break-system-packages is the documented way for a single tool like this.
set -euo pipefail
if python3 -m uv --version >/dev/null 2>&1 || command -v uv >/dev/null 2>&1; then
  exit 0
fi
if ! python3 -m pip --version >/dev/null 2>&1; then
  echo "installing Debian's python3-pip to install uv" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null
fi
pip_install=(python3 -m pip install --quiet --disable-pip-version-check)
"${pip_install[@]}" uv 2>/dev/null || "${pip_install[@]}" --user --break-system-packages uv
python3 -m uv --version
