#!/usr/bin/env bash
# A region's signed package channel, end to end, with the real tools and
# nothing from outside (docs/region.md):
#   a plugin bundle signed with a throwaway minisign key → `mestys bundle deb`
#   → a reprepro repository signed with a throwaway gpg key (ValidFor)
#   → apt-get update + install into a temporary root with its own sources
#     list (signed-by keyring) → the daemon loads the plugin, `signed`;
#   a tampered Packages, the wrong key and an expired Valid-Until are refused
#   by apt; `apt-get install mestys-plugin-aptdemo=OLD` rolls back to the old
#   version's own folder; the `mestys` package from CPack installs there too
#   and its daemon runs its signed shipped plugins and the channel's plugin.
#
# Needs root (dpkg --root and apt-get install refuse to run without it): in CI
# it runs as root in the job's container.  As another user it FAILS with that
# reason rather than skipping into green; locally, run it as root in a
# container or leave it out with `ctest -E apt_channel`.
#
# The machine's own apt and dpkg state is never touched: apt reads only
# $R/apt.conf (APT_CONFIG; Dir, status file, sources, lists, cache, logs all
# inside $R) and dpkg runs with --root=$R; the test checks that
# /var/lib/dpkg/status, /etc/passwd and /var/lib/apt/lists are unchanged.
set -euo pipefail
: "${MESTYS_BUILD_DIR:?run through ctest}" "${MESTYS_SOURCE_DIR:?}"
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || fail "test_apt_channel.sh needs root (dpkg --root, apt-get install into a temporary root); \
run it as root (CI does), or leave it out locally with: ctest -E apt_channel"
for tool in minisign reprepro gpg gpgconf apt-get dpkg-deb cpack curl cc python3; do
  command -v $tool >/dev/null || fail "$tool is missing (scripts/deps.sh installs it)"
done

# Under the build folder, not /tmp: the daemon refuses plugins and trust files
# below a folder others can write to (/tmp is 1777).
work=$(mktemp -d "$MESTYS_BUILD_DIR/apt-channel-XXXXXX")
chmod 755 "$work" # apt reads file: sources as its _apt user
export GNUPGHOME=$work/gnupg
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  gpgconf --kill gpg-agent 2>/dev/null || true # this GNUPGHOME's agent only
  rm -rf "$work"
}
trap cleanup EXIT
mestys=$MESTYS_BUILD_DIR/mestys
mestysd=$MESTYS_BUILD_DIR/mestysd
passed=0
ok() { echo "ok - $* (${SECONDS}s)"; passed=$((passed + 1)); }

# what must not change on this machine
state_sum() {
  { sha256sum /var/lib/dpkg/status /etc/passwd /etc/group
    find /var/lib/apt/lists /etc/apt -maxdepth 2 -printf '%p %s %T@\n' 2>/dev/null | sort; } | sha256sum
}
before=$(state_sum)

# --- 1. the region's keys: minisign release key (bundles), gpg key (repository)
mkdir -p "$GNUPGHOME" "$work/keys" && chmod 700 "$GNUPGHOME"
minisign -G -W -p "$work/keys/release.pub" -s "$work/keys/release.key" >/dev/null
minisign -G -W -p "$work/keys/root.pub" -s "$work/keys/root.key" >/dev/null
gpg --batch -q --passphrase '' --quick-gen-key 'mestys test region <region@mestys.invalid>' ed25519 sign 1d 2>/dev/null
gpg --batch -q --passphrase '' --quick-gen-key 'somebody else <other@mestys.invalid>' ed25519 sign 1d 2>/dev/null
fprs=($(gpg --with-colons --list-secret-keys 2>/dev/null | awk -F: '/^fpr/{print $10}'))
[ ${#fprs[@]} = 2 ] || fail "expected two gpg keys, got ${#fprs[@]}"
region=${fprs[0]} other=${fprs[1]}
gpg --export "$region" > "$work/keys/region.gpg"
gpg --export "$other" > "$work/keys/other.gpg"

# the trust folder a town of this region has (docs/region.md)
trust=$work/trust
mkdir -p "$trust/keys"
cp "$work/keys/root.pub" "$trust/root.pub"
cp "$work/keys/release.pub" "$trust/keys/region.pub"
echo '{"names":["*"],"kinds":["so","lua"]}' > "$trust/keys/region.scope"
ok "throwaway keys: minisign release and root keys, gpg keys for the repository and a stranger"

# --- 2. the plugin, two versions, each a signed bundle and a .deb
san=${MESTYS_SANITIZE_FLAGS:-}
mkdir -p "$work/debs"
for v in 1.0.0 1.1.0; do
  b=$work/bundles/aptdemo/$v
  mkdir -p "$b"
  # shellcheck disable=SC2086
  cc -shared -fPIC -O2 $san -fvisibility=hidden -I"$MESTYS_SOURCE_DIR/sdk/include" \
    -DAPTDEMO_VERSION="\"$v\"" -o "$b/aptdemo.so" "$MESTYS_SOURCE_DIR/tests/plugins/aptdemo.c"
  "$mestys" bundle pack "$b" --host ">= 0.1.0, < 0.2.0" >/dev/null || fail "mestys bundle pack $b"
  minisign -S -s "$work/keys/release.key" -m "$b/manifest.json" >/dev/null
  minisign -V -q -p "$work/keys/release.pub" -m "$b/manifest.json" || fail "minisign -V of $v"
  "$mestys" bundle deb "$b" --out "$work/debs" >/dev/null || fail "mestys bundle deb $b"
done
deb_old=$(ls "$work"/debs/mestys-plugin-aptdemo_1.0.0*.deb) || fail "no .deb for 1.0.0 in $(ls "$work/debs")"
deb_new=$(ls "$work"/debs/mestys-plugin-aptdemo_1.1.0*.deb) || fail "no .deb for 1.1.0"
# (listings to files: grep -q closing a pipe early kills dpkg-deb's tar)
dpkg-deb -c "$deb_new" > "$work/aptdemo.list"
grep -q '\./usr/lib/mestys/plugins/aptdemo/1\.1\.0/manifest\.json\.minisig$' "$work/aptdemo.list" \
  || fail "the .deb has no signature in its bundle folder: $(cat "$work/aptdemo.list")"
ok "aptdemo 1.0.0 and 1.1.0 packed, signed (minisign -V agrees) and made .debs"

# --- 3. the mestys package from CPack, its shipped bundles signed with the
#     same release key: scripts/release.sh on this build (--prebuilt), which
#     also checks every bundle in the .debs with minisign -V and sha256sum -c
bash "$MESTYS_SOURCE_DIR/scripts/release.sh" --prebuilt --build "$MESTYS_BUILD_DIR" --out "$work/release" \
  --key "$work/keys/release.key" > "$work/release.log" 2>&1 || { cat "$work/release.log"; fail "release.sh"; }
deb_mestys=$(ls "$work"/release/cpack/mestys_*.deb) || fail "release.sh made no mestys_*.deb"
ls "$work"/release/cpack/mestys-dev_*.deb >/dev/null || fail "release.sh made no mestys-dev_*.deb"
dpkg-deb -c "$deb_mestys" > "$work/mestys.list"
grep -q '/usr/lib/mestys/plugins/heartbeat/1\.0\.0/manifest\.json\.minisig$' "$work/mestys.list" \
  || fail "the mestys package has no signed heartbeat bundle"
grep -q "shipped bundles signed and checked" "$work/release.log" || fail "release.sh: $(cat "$work/release.log")"
ok "release.sh: mestys and mestys-dev from CPack, the shipped plugins signed bundles (minisign -V, sha256sum -c)"

# --- 4. the region's repository: current releases in `stable`, the one before
#     in `previous` (reprepro keeps one version per suite; a rollback needs the
#     old one in some signed index)
repo=$work/repo
mkdir -p "$repo/conf"
for suite in stable previous; do
  cat >> "$repo/conf/distributions" <<EOF
Origin: mestys-test-region
Label: mestys
Codename: $suite
Architectures: $(dpkg --print-architecture)
Components: main
Description: mestys test region, $suite
SignWith: $region
ValidFor: 7d

EOF
done
rr() { reprepro -b "$repo" "$@" > "$work/reprepro.log" 2>&1 || { cat "$work/reprepro.log"; fail "reprepro $*"; }; }
rr includedeb stable "$deb_old"
rr includedeb stable "$deb_mestys"
rr copy previous stable mestys-plugin-aptdemo
rr includedeb stable "$deb_new"
grep -q '^Valid-Until: ' "$repo/dists/stable/Release" || fail "no Valid-Until in Release"
ok "reprepro: stable (aptdemo 1.1.0, mestys) and previous (aptdemo 1.0.0), signed, Valid-Until set"

# --- 5. a town: apt in a temporary root, its own sources list and keyring
new_root() { # new_root DIR REPO KEYRING SUITE...: an apt+dpkg root that shares nothing with /
  local R=$1 repo_dir=$2 keyring=$3
  shift 3
  mkdir -p "$R"/etc/apt/{apt.conf.d,sources.list.d,preferences.d,trusted.gpg.d} "$R"/var/lib/apt/lists/partial \
    "$R"/var/cache/apt/archives/partial "$R"/var/lib/dpkg/{info,updates} "$R"/var/log/apt "$R/keys"
  cp /var/lib/dpkg/status "$R/var/lib/dpkg/status" # so libc6 and friends count as installed
  cp "$keyring" "$R/keys/region.gpg"
  cat > "$R/apt.conf" <<EOF
Dir "$R/";
Dir::State::status "$R/var/lib/dpkg/status";
Dir::Log "$R/var/log/apt";
APT::Get::AllowUnauthenticated "false";
Acquire::AllowInsecureRepositories "false";
DPkg::Options { "--root=$R"; "--force-script-chrootless"; "--log=$R/var/log/dpkg.log"; };
EOF
  local suite
  for suite in "$@"; do
    echo "deb [signed-by=$R/keys/region.gpg] file:$repo_dir $suite main"
  done > "$R/etc/apt/sources.list"
}
apt_in() { local R=$1; shift; APT_CONFIG=$R/apt.conf apt-get -q "$@"; }

R=$work/town
new_root "$R" "$repo" "$work/keys/region.gpg" stable previous
apt_in "$R" update > "$work/update.log" 2>&1 || { cat "$work/update.log"; fail "apt-get update"; }
apt_in "$R" install -y mestys mestys-plugin-aptdemo > "$work/install.log" 2>&1 \
  || { cat "$work/install.log"; fail "apt-get install"; }
[ -f "$R/usr/lib/mestys/plugins/aptdemo/1.1.0/aptdemo.so" ] || fail "aptdemo 1.1.0 not in its bundle folder"
[ -x "$R/usr/bin/mestysd" ] || fail "mestysd not installed"
[ -f "$R/usr/lib/mestys/plugins/heartbeat/1.0.0/manifest.json.minisig" ] || fail "heartbeat bundle not installed"
grep -q '^Package: mestys-plugin-aptdemo$' "$R/var/lib/dpkg/status" || fail "dpkg of the town does not know aptdemo"
(cd "$R/usr/lib/mestys/plugins/aptdemo/1.1.0" && python3 -c 'import json
for p, h in sorted(json.load(open("manifest.json"))["files"].items()): print("%s  %s" % (h, p))' \
  | sha256sum --quiet -c -) || fail "sha256sum -c disagrees with the installed manifest"
minisign -V -q -p "$work/keys/release.pub" -m "$R/usr/lib/mestys/plugins/aptdemo/1.1.0/manifest.json" \
  || fail "minisign -V of the installed manifest"
ok "apt-get update + install into the town's root: mestys, aptdemo 1.1.0 (sha256sum -c, minisign -V agree)"

# --- 6. the daemons load it: the build's daemon with the town's plugin folder
#     (outside its own folders: verified against the trust folder, `signed`),
#     and the installed daemon (its own folder)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
run_town() { # run_town DAEMON NAME PLUGIN_PATH_JSON [TRUST_DIR]: starts it, prints /health
  local daemon=$1 name=$2 path=$3 tdir=${4:-$trust} port
  port=$(free_port)
  mkdir -p "$work/$name"
  cat > "$work/$name/mestys.json" <<EOF
{ "node": { "name": "$name", "plugin_path": $path, "http": { "listen": "127.0.0.1:$port" } },
  "trust": { "dir": "$tdir", "require": "signed" },
  "plugins": [ { "use": "aptdemo" }, { "use": "heartbeat" } ] }
EOF
  "$daemon" -c "$work/$name/mestys.json" > "$work/$name/log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  local h=""
  for _ in $(seq 200); do
    h=$(curl -sf "http://127.0.0.1:$port/health" 2>/dev/null) && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -n "$h" ] || { cat "$work/$name/log" >&2; return 1; }
  echo "$h"
}
inst() { python3 -c 'import json,sys
h = json.load(sys.stdin)
i = [i for i in h["instances"] if i["name"] == sys.argv[1]][0]
print(i.get("version"), i.get("trust"), i.get("trust_reason", ""))' "$1"; }

h=$(run_town "$mestysd" channel-build "[\"$R/usr/lib/mestys/plugins\"]") || fail "the build's daemon did not start"
read -r ver st why <<< "$(echo "$h" | inst aptdemo)"
[ "$ver $st" = "1.1.0 signed" ] || fail "build daemon: aptdemo is $ver $st ($why); /health: $h"
ok "the build's daemon loads the town's aptdemo 1.1.0: signed"

# the same files with a trust folder that does not hold the region's key
mkdir -p "$work/trust-stranger/keys"
cp "$work/keys/root.pub" "$work/trust-stranger/root.pub"
if h=$(run_town "$mestysd" channel-stranger "[\"$R/usr/lib/mestys/plugins\"]" "$work/trust-stranger" 2>/dev/null); then
  fail "a town without the region's key loaded aptdemo: $h"
fi
grep -q 'aptdemo.*not in the trust folder' "$work/channel-stranger/log" \
  || fail "no reason naming the unknown key: $(cat "$work/channel-stranger/log")"
ok "a town whose trust folder lacks the region's key refuses the same bundle (unknown key)"

h=$(run_town "$R/usr/bin/mestysd" channel-installed "[]") || fail "the installed daemon did not start"
read -r ver st why <<< "$(echo "$h" | inst aptdemo)"
# /usr/lib/mestys/plugins is the installed daemon's own folder: what dpkg put
# there is `core` (hashes and floors checked, not the signature; docs/region.md)
[ "$ver $st" = "1.1.0 core" ] || fail "installed daemon: aptdemo is $ver $st ($why); /health: $h"
read -r hver hst hwhy <<< "$(echo "$h" | inst heartbeat)"
[ "$hver $hst" = "1.0.0 core" ] || fail "installed daemon: heartbeat is $hver $hst ($hwhy)"
ok "the installed daemon loads aptdemo 1.1.0 and its heartbeat bundle from its own folder: core"

# --- 7. rollback: the old version from `previous`, into its own folder
apt_in "$R" install -y --allow-downgrades mestys-plugin-aptdemo=1.0.0-1 > "$work/rollback.log" 2>&1 \
  || { cat "$work/rollback.log"; fail "apt-get install mestys-plugin-aptdemo=1.0.0-1"; }
[ -f "$R/usr/lib/mestys/plugins/aptdemo/1.0.0/aptdemo.so" ] || fail "rollback: no aptdemo/1.0.0/"
[ ! -e "$R/usr/lib/mestys/plugins/aptdemo/1.1.0" ] || fail "rollback: dpkg left aptdemo/1.1.0/ behind"
h=$(run_town "$mestysd" channel-rollback "[\"$R/usr/lib/mestys/plugins\"]") || fail "daemon after rollback"
read -r ver st why <<< "$(echo "$h" | inst aptdemo)"
[ "$ver $st" = "1.0.0 signed" ] || fail "after rollback aptdemo is $ver $st ($why)"
ok "apt-get install mestys-plugin-aptdemo=1.0.0-1: folder aptdemo/1.0.0/, loaded and signed"

# --- 8. what apt refuses, each in a fresh town root
refused() { # refused NAME REPO KEYRING MESSAGE: apt-get update fails saying MESSAGE, installs nothing
  local T=$work/town-$1
  new_root "$T" "$2" "$3" stable
  if apt_in "$T" update > "$work/$1.log" 2>&1; then cat "$work/$1.log"; fail "$1: apt-get update succeeded"; fi
  grep -q "$4" "$work/$1.log" || { cat "$work/$1.log"; fail "$1: apt did not say '$4'"; }
  if apt_in "$T" install -y mestys-plugin-aptdemo > "$work/$1-install.log" 2>&1; then
    fail "$1: apt-get install succeeded"
  fi
  [ ! -e "$T/usr/lib/mestys" ] || fail "$1: something was installed"
}
# a Packages file changed after signing (both forms, consistently)
cp -a "$repo" "$work/repo-tampered"
pk=$work/repo-tampered/dists/stable/main/binary-$(dpkg --print-architecture)/Packages
sed -i 's/^Description: .*/Description: nothing to see here/' "$pk"
gzip -9nc "$pk" > "$pk.gz"
refused tampered "$work/repo-tampered" "$work/keys/region.gpg" "Hash Sum mismatch"
ok "a tampered Packages: Hash Sum mismatch, nothing installed"

refused wrongkey "$repo" "$work/keys/other.gpg" "NO_PUBKEY"
ok "signed-by a key that did not sign: NO_PUBKEY, nothing installed"

# expired: Release dated two days ago, valid until yesterday, re-signed as
# reprepro's SignWith does (ValidFor cannot be under a day)
cp -a "$repo" "$work/repo-expired"
rel=$work/repo-expired/dists/stable/Release
sed -i -e "s/^Date: .*/Date: $(date -u -R -d '-2 days' | sed 's/+0000/UTC/')/" \
  -e "s/^Valid-Until: .*/Valid-Until: $(date -u -R -d '-1 day' | sed 's/+0000/UTC/')/" "$rel"
rm -f "${rel%Release}InRelease" "$rel.gpg"
gpg --batch -q -u "$region" --clearsign -o "${rel%Release}InRelease" "$rel"
gpg --batch -q -u "$region" -abs -o "$rel.gpg" "$rel"
refused expired "$work/repo-expired" "$work/keys/region.gpg" "is expired"
ok "an expired Valid-Until: is expired, nothing installed"

# --- 9. nothing of this machine changed
[ "$(state_sum)" = "$before" ] || fail "the machine's dpkg status, users or apt lists changed"
ok "/var/lib/dpkg/status, /etc/passwd, /etc/group, /var/lib/apt/lists and /etc/apt unchanged"
echo "$passed passed, 0 failed"
