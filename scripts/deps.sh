#!/usr/bin/env bash
# Installs what městys needs to build and test, from Debian 12's packages
# (and the npm registry for the integration tests' independent clients and
# the browser tests' puppeteer-core and axe-core).
# Safe to run again: it installs only what is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libuv1-dev libnng-dev libsqlite3-dev libcjson-dev liblua5.4-dev
  libwebsockets-dev libwebsockets-evlib-uv libssl-dev zlib1g-dev
  libcmocka-dev python3 curl sqlite3 openssl wrk
  groff-base man-db
  clang libclang-rt-14-dev   # tests/fuzz: clang with libFuzzer and its sanitizer runtimes
  chromium fonts-dejavu-core # tests/browser: the pages in Debian's browser, with Czech glyphs
  minisign reprepro gnupg dpkg-dev # signed bundles and the region's apt channel (and its tests)
  postgresql-15 libpq-dev libcurl4-openssl-dev # the regional node (pgstore) and a town's uplink
)
# The integration tests' independent clients run on Node.js; any node and
# npm on PATH will do, else Debian's.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ "${1:-}" = "--test" ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  (cd "$here/tests/integration" && npm ci --no-audit --no-fund --loglevel=error)
  # puppeteer-core drives the chromium above; nothing may fetch a browser of
  # its own (tests/browser/.npmrc also turns install scripts off)
  (cd "$here/tests/browser" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
