#!/usr/bin/env bash
# Print the path of a Go for tools/devstack/install-go-tool.sh: the machine's `go` where it is 1.21 or
# newer (those fetch the toolchain a module asks for by themselves, from the Go module proxy), else
# Go 1.26.8 from the Go module proxy's toolchain modules (the very archive such a `go` would fetch),
# checked against its pinned sha256 and unpacked into .run/tools/go/. A second run finds it there.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
if command -v go >/dev/null 2>&1; then
  minor="$(go env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
  if [ -n "$minor" ] && [ "$minor" -ge 21 ]; then
    command -v go
    exit 0
  fi
fi
version=go1.26.8
sha256=30c2b1bf7dcc88d3eb0a1364e47ddd9128edb3110a30e8a0ef61cd5856b31de7
home="$root/.run/tools/go"
if [ "$("$home/bin/go" env GOVERSION 2>/dev/null || true)" = "$version" ]; then
  echo "$home/bin/go"
  exit 0
fi
echo "no Go 1.21 or newer here: fetching $version from the Go module proxy" >&2
proxy="${GOPROXY:-https://proxy.golang.org}"
proxy="${proxy%%,*}"
archive="$(mktemp --suffix=.zip)"
trap 'rm -f "$archive"' EXIT
curl -fsSL -o "$archive" "$proxy/golang.org/toolchain/@v/v0.0.1-$version.linux-amd64.zip"
echo "$sha256  $archive" | sha256sum --check --quiet >&2
rm -rf "$home" "$home.unpack"
mkdir -p "$home.unpack"
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$archive" "$home.unpack"
mv "$home.unpack/golang.org/toolchain@v0.0.1-$version.linux-amd64" "$home"
rm -rf "$home.unpack"
chmod +x "$home"/bin/* "$home"/pkg/tool/*/*
echo "$home/bin/go"
