#!/usr/bin/env bash
# Build Go programs from the Go module proxy at the versions a module of ours pins (tools/go/<module>/:
# its go.mod names the release, its go.sum locks every dependency), into .run/tools/bin/. A second run
# with the same go.mod, go.sum and Go finds them there and does nothing; Go's own caches (~/go/pkg/mod,
# ~/.cache/go-build) make a rebuild after a change quick.
#   usage: install-go-tool.sh MODULE [NAME=]PACKAGE...   e.g. install-go-tool.sh tilt github.com/tilt-dev/tilt/cmd/tilt
# A program is named after its package's folder, or NAME where given (Temporal's cmd/server would be "server").
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
module="$1"
shift
source_dir="$root/tools/go/$module"
bin="$root/.run/tools/bin"
# The machine's Go, or one from the Go module proxy where there is none (install-go.sh).
go_binary="$(bash "$(dirname "$0")/install-go.sh")"
PATH="$(dirname "$go_binary"):$PATH"
stamp="$bin/.$module.stamp"
# Every file of the module (names and contents) and the Go that builds it (asked in the module: a go.mod
# may make it switch toolchains).
files_hash="$(cd "$source_dir" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
wanted="$files_hash $(cd "$source_dir" && go env GOVERSION)"
packages=()
names=()
for argument in "$@"; do
  package="${argument#*=}"
  packages+=("$package")
  if [ "$package" = "$argument" ]; then names+=("$(basename "$package")"); else names+=("${argument%%=*}"); fi
done
cached=1
for name in "${names[@]}"; do
  [ -x "$bin/$name" ] || cached=0
done
if [ "$cached" = 1 ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
  echo "$module: cached in .run/tools/bin ($*)"
  exit 0
fi
mkdir -p "$bin"
staging="$(mktemp -d "$bin/.build-$module.XXXXXX")"
trap 'rm -rf "$staging"' EXIT
started=$(date +%s)
echo "$module: building $* from the Go module proxy (the first time takes minutes)"
# -mod=readonly: go.sum must already lock every module the build reads (no silent re-resolution).
# A module's ldflags file sets what a release build would stamp in (Tilt's version, say).
ldflags="$(cat "$source_dir/ldflags" 2>/dev/null || true)"
build_dir="$source_dir"
mode=readonly
if [ -d "$source_dir/vendor-files" ]; then
  # Files a release build generates before it compiles (Tilt's web page, embedded with go:embed): the
  # module cache is read-only, so build from a vendored copy (.run/tools/src/<module>) with them added.
  build_dir="$root/.run/tools/src/$module"
  rm -rf "$build_dir"
  mkdir -p "$build_dir"
  cp "$source_dir"/go.mod "$source_dir"/go.sum "$source_dir"/*.go "$build_dir/"
  (cd "$build_dir" && go mod vendor)
  cp -r "$source_dir/vendor-files/." "$build_dir/vendor/"
  mode=vendor
fi
(cd "$build_dir" && GOFLAGS="-mod=$mode -buildvcs=false" go build -trimpath -ldflags="$ldflags" -o "$staging/" "${packages[@]}")
for index in "${!packages[@]}"; do
  mv -f "$staging/$(basename "${packages[$index]}")" "$bin/${names[$index]}"
done
echo "$wanted" >"$stamp"
echo "$module: built in $(($(date +%s) - started)) s into .run/tools/bin"
