#!/usr/bin/env bash
# sign-bundles.sh MESTYS_CLI PLUGIN_DIR HOST_RANGE [SECRET_KEY...]
#
# Every bundle PLUGIN_DIR/NAME/VERSION/ gets its manifest.json from
# `mestys bundle pack --host HOST_RANGE` (the shipped plugins say
# "== <the daemon's version>": they are built with it) and one minisign
# signature per key: the first key
# signs manifest.json.minisig, each further key manifest.json.<key>.minisig
# (<key> = the key file's name without .key), the form a key rotation uses
# (docs/region.md).  Keys without a password (minisign -G -W) sign unattended;
# a key with one asks for it on the terminal, once per bundle.
# Used by scripts/cpack_bundles.cmake (CPack's staging folder) and by hand.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 MESTYS_CLI PLUGIN_DIR HOST_RANGE [SECRET_KEY...]" >&2; exit 2; }
cli=$1 dir=$2 host=$3
shift 3
n=0
for bundle in "$dir"/*/*/; do
  [ -d "$bundle" ] || continue
  bundle=${bundle%/}
  "$cli" bundle pack "$bundle" --host "$host" >/dev/null
  first=1
  for key in "$@"; do
    [ -n "$key" ] || continue
    if [ $first = 1 ]; then sig=$bundle/manifest.json.minisig
    else k=$(basename "$key"); sig=$bundle/manifest.json.${k%.key}.minisig; fi
    minisign -S -s "$key" -x "$sig" -m "$bundle/manifest.json" \
      -t "mestys bundle $(basename "$(dirname "$bundle")") $(basename "$bundle")" >/dev/null
    first=0
  done
  n=$((n + 1))
done
[ $n -gt 0 ] || { echo "sign-bundles.sh: no bundle NAME/VERSION/ under $dir" >&2; exit 1; }
echo "sign-bundles.sh: $n bundles in $dir packed, signed with $# key(s)"
