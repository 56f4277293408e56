#!/usr/bin/env bash
# Builds hindsight's one native module, src/native/malloc-tune.c (see src/host/malloc-tune.ts), into
# dist/src/native/. Plain cc against node's own headers (node_api.h): no node-gyp, no download.
# Without a C compiler or the headers hindsight still runs, slower on operating systems; the build
# says so on stderr, and the test suite checks the module loads.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/dist/src/native/malloc-tune.node"
src="$root/src/native/malloc-tune.c"
[ "$out" -nt "$src" ] && exit 0
prefix="$(node -p 'process.config.variables.node_prefix || ""')"
bindir="$(dirname "$(node -p process.execPath)")"
for dir in "$prefix/include/node" "$bindir/../include/node" /usr/include/node /usr/local/include/node; do
  if [ -f "$dir/node_api.h" ]; then headers="$dir"; break; fi
done
if [ -z "${headers:-}" ] || ! command -v cc >/dev/null; then
  echo "build-native: no C compiler or no node headers (node_api.h): skipping src/native/malloc-tune.c (slower on OS guests)" >&2
  exit 0
fi
mkdir -p "$(dirname "$out")"
cc -O2 -shared -fPIC -DNODE_GYP_MODULE_NAME=malloc_tune -I"$headers" -o "$out.tmp" "$src"
mv "$out.tmp" "$out"
