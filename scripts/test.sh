#!/usr/bin/env bash
# Installs what is missing, builds with warnings as errors, and runs every
# test (cmocka unit tests and the real daemon against real clients).
#   scripts/test.sh             the suite
#   scripts/test.sh --sanitize  the suite again under ASan + UBSan (build-asan/)
#   scripts/test.sh --release   a Release build (-O3, other warnings) with warnings as
#                               errors, and the unit tests in it (build-release/)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/deps.sh" --test
tests=()
if [ "${1:-}" = "--sanitize" ]; then
  dir=$here/build-asan
  flags=(-DMESTYS_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug)
elif [ "${1:-}" = "--release" ]; then
  dir=$here/build-release
  flags=(-DCMAKE_BUILD_TYPE=Release)
  tests=(-R '^unit_')
else
  dir=$here/build
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
cmake -S "$here" -B "$dir" -DMESTYS_WERROR=ON "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
ctest --test-dir "$dir" --output-on-failure -j2 "${tests[@]}"
