#!/usr/bin/env bash
# release.sh - a release of mestys for a region's channel (docs/region.md):
# builds with prefix /usr, packs the .debs `mestys` and `mestys-dev` with
# CPack, whose staging step (scripts/cpack_bundles.cmake) writes each shipped
# plugin's manifest with `mestys bundle pack` and signs it with `minisign -S`;
# then unpacks the .debs into a staging folder and checks every shipped
# bundle there with the independent tools: `minisign -V` with the public key
# and `sha256sum -c` from the manifest.
#
#   scripts/release.sh --key release.key [--key new-release.key] [--out DIR] [--build DIR] [--prebuilt]
#
# --key   a minisign secret key (repeat it during a key rotation: the first
#         signs manifest.json.minisig, the others manifest.json.<name>.minisig);
#         its public key is recreated with `minisign -R` for the check.
# --out   where the .debs and the unpacked staging tree go (default
#         build-package/out/).
# --build the release build folder (default build-package/; build-release/
#         is scripts/test.sh --release's).
# --prebuilt  package the --build folder as it is configured and built (its
#         own prefix): what tests/integration/test_apt_channel.sh does.
# Publishing the .debs is the region's `reprepro includedeb` (docs/region.md).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=$src/build-package/out build=$src/build-package keys=() prebuilt=0
while [ $# -gt 0 ]; do
  case $1 in
    --key) keys+=("$(realpath "$2")"); shift 2 ;;
    --out) out=$(realpath -m "$2"); shift 2 ;;
    --build) build=$(realpath -m "$2"); shift 2 ;;
    --prebuilt) prebuilt=1; shift ;;
    *) echo "usage: $0 --key SECRET_KEY [--key SECRET_KEY...] [--out DIR] [--build DIR] [--prebuilt]" >&2; exit 2 ;;
  esac
done
[ ${#keys[@]} -gt 0 ] || { echo "release.sh: a release is signed: give --key (minisign secret key)" >&2; exit 2; }
for k in "${keys[@]}"; do [ -r "$k" ] || { echo "release.sh: cannot read key $k" >&2; exit 2; }; done
for tool in cmake cpack minisign dpkg-deb sha256sum python3; do
  command -v $tool >/dev/null || { echo "release.sh: $tool is missing (scripts/deps.sh)" >&2; exit 2; }
done

# 1. build: prefix /usr, so the unit's ExecStart and the daemon's own folders
#    are the package's; no tests or benchmarks in a release build
if [ $prebuilt = 0 ]; then
  cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
    -DMESTYS_TESTS=OFF -DMESTYS_BENCH=OFF -DMESTYS_WERROR=ON >/dev/null
  cmake --build "$build" -j"${JOBS:-2}"
fi
[ -f "$build/CPackConfig.cmake" ] || { echo "release.sh: $build is not a configured build folder" >&2; exit 2; }

# 2. package: CPack installs into its staging folder, packs and signs the
#    bundles there (cpack_bundles.cmake), then builds the .debs
mkdir -p "$out"
rm -f "$out"/cpack/*.deb
(IFS=:; MESTYS_RELEASE_KEYS="${keys[*]}" cpack --config "$build/CPackConfig.cmake" -B "$out/cpack" >"$out/cpack.log" 2>&1) \
  || { cat "$out/cpack.log" >&2; echo "release.sh: cpack failed" >&2; exit 1; }
debs=("$out"/cpack/*.deb)
[ -e "${debs[0]}" ] || { echo "release.sh: cpack made no .deb" >&2; exit 1; }

# 3. check the shipped bytes: unpack the .debs, then every bundle's manifest
#    against each key with minisign -V and its files with sha256sum -c
rm -rf "$out/staging"
for d in "${debs[@]}"; do dpkg-deb -x "$d" "$out/staging"; done
pubs=$(mktemp -d)
trap 'rm -rf "$pubs"' EXIT
i=0
for k in "${keys[@]}"; do
  minisign -R -s "$k" -p "$pubs/$i.pub" >/dev/null
  i=$((i + 1))
done
n=0
for bundle in "$out"/staging/usr/lib/mestys/plugins/*/*/; do
  bundle=${bundle%/}
  i=0
  for k in "${keys[@]}"; do
    if [ $i = 0 ]; then sig=manifest.json.minisig; else b=$(basename "$k"); sig=manifest.json.${b%.key}.minisig; fi
    minisign -V -q -p "$pubs/$i.pub" -x "$bundle/$sig" -m "$bundle/manifest.json" \
      || { echo "release.sh: $bundle: $sig does not verify" >&2; exit 1; }
    i=$((i + 1))
  done
  (cd "$bundle" && python3 -c 'import json,sys
for p, h in sorted(json.load(open("manifest.json"))["files"].items()): print("%s  %s" % (h, p))' \
    | sha256sum --quiet -c -) || { echo "release.sh: $bundle: a file differs from its manifest" >&2; exit 1; }
  n=$((n + 1))
done
[ $n -gt 0 ] || { echo "release.sh: no bundle in the packages" >&2; exit 1; }
echo "release.sh: $n shipped bundles signed and checked (minisign -V, sha256sum -c)"
for d in "${debs[@]}"; do echo "  $d"; done
