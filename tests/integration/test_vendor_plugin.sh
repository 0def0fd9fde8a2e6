#!/usr/bin/env bash
# A vendor builds a plugin out of tree against the *installed* SDK only
# (CMake package and pkg-config), unit-tests it with the mock host, and a
# town runs it in the installed mestysd, as a bundle packed and signed the
# way docs/sdk.md ("Packing a plugin for a region") says, with the signing
# key in the town's trust folder.  `mestys new-plugin` output builds too.
# The install is moved after `cmake --install`: nothing may point at the
# prefix it was installed to.
set -euo pipefail
: "${MESTYS_BUILD_DIR:?run through ctest}" "${MESTYS_SOURCE_DIR:?}" "${MESTYS_TEST_LUA_DIR:?}"
# under the build folder, not /tmp: the daemon loads plugins only from
# folders nobody else can write to, every folder above included
work=$(mktemp -d "$MESTYS_BUILD_DIR/vendor-XXXXXX")
chmod 755 "$work"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; [ -f "$work/town/log" ] && cat "$work/town/log"; exit 1; }

installed=$work/installed
prefix=$work/moved/elsewhere
san=${MESTYS_SANITIZE_FLAGS:-}
cmake --install "$MESTYS_BUILD_DIR" --prefix "$installed" >/dev/null
for f in bin/mestysd bin/mestys include/mestys/plugin.h include/mestys/host.h include/mestys/mock.h \
         lib/pkgconfig/mestys.pc lib/pkgconfig/mestys-mock.pc lib/cmake/mestys/mestys-config.cmake \
         lib/libmestys-mock.a lib/mestys/plugins/heartbeat/1.0.0/heartbeat.so share/mestys/template/plugin.c \
         share/doc/mestys/sdk.md share/doc/mestys/lua.md share/doc/mestys/bus.md share/doc/mestys/http.md \
         share/doc/mestys/config.md share/doc/mestys/examples/vendor-plugin/parking.c \
         share/doc/mestys/examples/vendor-plugin/Makefile; do
  [ -e "$installed/$f" ] || fail "cmake --install did not install $f"
done
mkdir -p "$(dirname "$prefix")"
mv "$installed" "$prefix"
echo "ok - installed, then moved to $prefix"

# 0. pkg-config and the CMake package point at where the tree is now
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
[ "$(pkg-config --cflags mestys | xargs)" = "-I$prefix/lib/pkgconfig/../../include" ] \
  || fail "mestys.pc does not follow the move: $(pkg-config --cflags mestys)"
mock_libs=$(pkg-config --libs mestys-mock)
case "$mock_libs" in *"-L$prefix/lib/pkgconfig/../../lib -lmestys-mock"*"-lsqlite3"*) ;;
  *) fail "pkg-config --libs mestys-mock: $mock_libs" ;; esac
grep -rq "$installed" "$prefix/lib/pkgconfig" "$prefix/lib/cmake" && fail "an SDK file names the install prefix"
[ -f "$(pkg-config --variable=docdir mestys)/sdk.md" ] || fail "docdir of mestys.pc has no sdk.md"
echo "ok - mestys.pc, mestys-mock.pc and the CMake package are relocatable"

# 0b. the installed guide documents every function of the installed host table
doc=$(pkg-config --variable=docdir mestys)/sdk.md
fns=$(sed -n '/^struct mst_host {/,/^};/p' "$prefix/include/mestys/host.h" | grep -o '(\*[a-z_]*)' | tr -d '(*)')
[ "$(echo "$fns" | wc -l)" -ge 40 ] || fail "could not read the host table from host.h: $fns"
missing=""
for f in $fns; do grep -q "\`$f[(\`]" "$doc" || missing="$missing $f"; done
[ -z "$missing" ] || fail "docs/sdk.md does not document host functions:$missing"
echo "ok - docs/sdk.md documents all $(echo "$fns" | wc -l) host functions"

# 1. the example vendor plugin, with CMake, in a copy far from the source tree
cp -r "$MESTYS_SOURCE_DIR/examples/vendor-plugin" "$work/parking"
cmake -S "$work/parking" -B "$work/parking/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$san" >/dev/null
cmake --build "$work/parking/build" >/dev/null
ctest --test-dir "$work/parking/build" --output-on-failure >/dev/null || fail "vendor unit test (CMake build)"
[ -f "$work/parking/build/parking.so" ] || fail "no parking.so from the CMake build"
echo "ok - vendor plugin builds with find_package(mestys) and passes its mock-host test"

# 2. the same with plain make and pkg-config: the unit test with
#    `pkg-config --cflags --libs mestys-mock` and nothing else
rm -rf "$work/parking-make" && cp -r "$MESTYS_SOURCE_DIR/examples/vendor-plugin" "$work/parking-make"
make -C "$work/parking-make" CFLAGS="-O2 -g $san" parking.so check >/dev/null || fail "pkg-config build"
[ -f "$work/parking-make/parking.so" ] || fail "no parking.so from the pkg-config build"
echo "ok - vendor plugin and its mock-host test build with pkg-config mestys / mestys-mock alone"

# 3. the vendor's bundle: packed, signed with the vendor's key (minisign),
#    which the town's trust folder holds with a scope of just this plugin
bundle=$work/bundles/parking/1.2.0
mkdir -p "$bundle" "$work/trust/keys"
cp "$work/parking/build/parking.so" "$bundle/"
"$prefix/bin/mestys" bundle pack "$bundle" --host ">= 0.1.0, < 0.2.0" >/dev/null || fail "mestys bundle pack"
minisign -G -W -p "$work/vendor.pub" -s "$work/vendor.key" >/dev/null
minisign -S -s "$work/vendor.key" -m "$bundle/manifest.json" >/dev/null
cp "$work/vendor.pub" "$work/trust/keys/parking-vendor.pub"
echo '{"names":["parking"],"kinds":["so"]}' > "$work/trust/keys/parking-vendor.scope"
echo "ok - the vendor plugin packed as the bundle parking/1.2.0 and signed"

# 4. mestys plugins describes it, under the town's trust settings
mkdir -p "$work/town"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/town/mestys.json" <<JSON
{
  "node": { "name": "vendorville", "plugin_path": ["$work/bundles"],
            "http": { "listen": "127.0.0.1:$port" } },
  "trust": { "dir": "$work/trust", "require": "signed", "allow_unsigned": ["inject"] },
  "plugins": [
    { "use": "parking", "config": { "lots": [ { "id": "namesti", "name": "Náměstí", "capacity": 40 } ] } },
    { "use": "$MESTYS_TEST_LUA_DIR/inject.lua" },
    { "use": "heartbeat" }
  ],
  "tokens": [ { "token": "vendor-test-operator-token", "role": "operator" } ]
}
JSON
"$prefix/bin/mestys" plugins -c "$work/town/mestys.json" "$bundle" > "$work/describe.txt" || fail "mestys plugins: $(cat "$work/describe.txt")"
grep -q "name       parking 1.2.0 (shared object, plugin ABI 1)" "$work/describe.txt" || fail "mestys plugins output: $(cat "$work/describe.txt")"
grep -q "trust      signed: signed by key parking-vendor" "$work/describe.txt" || fail "mestys plugins trust: $(cat "$work/describe.txt")"
grep -q "lots\[\].capacity" "$work/describe.txt" || fail "mestys plugins shows no nested keys: $(cat "$work/describe.txt")"
echo "ok - mestys plugins describes the vendor plugin: signed by key parking-vendor"

# 5. a town runs it in the installed daemon
"$prefix/bin/mestysd" -c "$work/town/mestys.json" > "$work/town/log" 2>&1 &
pid=$!
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done
health=$(curl -sf "http://127.0.0.1:$port/health")
echo "$health" | grep -q '"status":"ok"' || fail "installed mestysd is not healthy: $health"
echo "$health" | grep -q '"name":"parking","plugin":"parking","version":"1.2.0"[^}]*"trust":"signed"' \
  || fail "parking is not loaded as signed: $health"
echo "$health" | grep -q '"name":"heartbeat"[^}]*"trust":"core"' || fail "the installed heartbeat is not core: $health"
for _ in 1 2 3; do
  curl -sf -X POST -H "Authorization: Bearer vendor-test-operator-token" \
       --data '{"lot":"namesti","delta":1}' "http://127.0.0.1:$port/api/inject/publish/parking/event" >/dev/null \
    || fail "could not publish parking/event"
done
lots=""
for _ in $(seq 100); do
  lots=$(curl -sf "http://127.0.0.1:$port/api/parking/lots")
  echo "$lots" | grep -q '"occupied":3' && break
  sleep 0.05
done
echo "$lots" | grep -q '"id":"namesti","name":"Náměstí","capacity":40,"occupied":3' || fail "lots: $lots"
kill -TERM "$pid"
wait "$pid" || fail "installed mestysd did not exit 0 on SIGTERM"
pid=""
[ -f "$work/town/state/parking/parking.sqlite" ] || fail "no parking.sqlite in the instance's state dir"
echo "ok - the installed daemon runs the vendor plugin; state in state/parking/parking.sqlite"

# 6. mestys new-plugin gives a plugin that builds and passes its test
(cd "$work" && "$prefix/bin/mestys" new-plugin street_lights >/dev/null) || fail "mestys new-plugin"
grep -q '.name = "street_lights"' "$work/street_lights/plugin.c" || fail "template name not replaced"
cmake -S "$work/street_lights" -B "$work/street_lights/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$san" >/dev/null
cmake --build "$work/street_lights/build" >/dev/null
ctest --test-dir "$work/street_lights/build" --output-on-failure >/dev/null || fail "new-plugin's test"
(cd "$work" && "$prefix/bin/mestys" new-plugin street_lights >/dev/null 2>&1) && fail "new-plugin overwrote a folder"
echo "ok - mestys new-plugin street_lights builds and passes its test"
echo "9 passed, 0 failed"
