#!/usr/bin/env bash
# The OCA OCPP 1.6 JSON schemas, as the pinned npm package ocpp-rpc bundles them, copied unchanged into
# plugins/charging/schemas/ocpp1_6.json (see README.md).
#   update.sh           copy them from tests/integration/node_modules (run `npm ci` there first)
#   update.sh --check   fail if the committed copy differs from the pinned package's (a ctest runs this)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
pkg=$root/tests/integration/node_modules/ocpp-rpc
want=$(node -e 'const l=require(process.argv[1]);console.log(l.packages["node_modules/ocpp-rpc"].version)' \
  "$root/tests/integration/package-lock.json")
if [ ! -f "$pkg/package.json" ]; then
  echo "ocpp-rpc is not installed: run (cd tests/integration && npm ci --no-audit --no-fund)" >&2
  exit 1
fi
have=$(node -e 'console.log(require(process.argv[1]).version)' "$pkg/package.json")
if [ "$have" != "$want" ]; then
  echo "tests/integration/node_modules has ocpp-rpc $have, the lock file pins $want: run npm ci there" >&2
  exit 1
fi
src=$pkg/lib/schemas/ocpp1_6.json
if [ "${1:-}" = "--check" ]; then
  if ! cmp -s "$src" "$here/ocpp1_6.json"; then
    echo "plugins/charging/schemas/ocpp1_6.json differs from ocpp-rpc $have's lib/schemas/ocpp1_6.json:" >&2
    diff -u "$src" "$here/ocpp1_6.json" | head -20 >&2 || true
    echo "run plugins/charging/schemas/update.sh to copy it again (and review what changed)" >&2
    exit 1
  fi
  echo "ocpp1_6.json is ocpp-rpc $have's copy ($(wc -c <"$src") bytes)"
  exit 0
fi
cp "$src" "$here/ocpp1_6.json"
echo "copied ocpp1_6.json from ocpp-rpc $have"
