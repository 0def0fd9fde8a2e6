#!/usr/bin/env bash
# Installs what is missing, builds, and runs mestysd on the example town
# (examples/town/mestys.json: state in examples/town/state/, HTTP on
# http://127.0.0.1:8080).  Ctrl-C stops it cleanly.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh"
cmake -S "$here" -B "$here/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$here/build" -j"$(nproc)"
exec "$here/build/mestysd" -c "$here/examples/town/mestys.json"
