#!/usr/bin/env bash
# Builds the libFuzzer targets with clang in build-fuzz/ and runs each for a
# short bounded time from a copy of its seed corpus (the corpus in the tree
# never grows here), under ASan and UBSan.  Fails if any target finds a
# crash, a leak or undefined behaviour; what it found is kept in
# build-fuzz/findings/<target>/ with the log.
#   tests/fuzz/run.sh                  every target, FUZZ_SECONDS (20) each
#   tests/fuzz/run.sh lora_gwmp time        only these
#   FUZZ_SECONDS=300 tests/fuzz/run.sh a longer run
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILD_DIR:-$here/build-fuzz}
seconds=${FUZZ_SECONDS:-20}
all=(lora_gwmp lora_uplink lora_cayenne lora_csv config time opendata lua_json store_query pgstore_query pgstore_batch uplink_answer charging_tariff charging_booking charging_station ws_subprotocol charging_rpc charging_site voting_pb voting_ballot voting_register voting_identity http_static_path web_config manifest_parse version_range regcat_record)
# voting_pb's seeds also come from the shared reference elections, read at fuzz time
pabulib=${MESTYS_PABULIB_DIR:-$here/../shared/reference/pabulib}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")

"$here/scripts/deps.sh"
cmake -S "$here" -B "$build" -DCMAKE_C_COMPILER=clang -DMESTYS_FUZZ=ON -DMESTYS_WERROR=ON \
  -DMESTYS_TESTS=OFF -DMESTYS_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"${FUZZ_JOBS:-2}" --target "${targets[@]/#/fuzz_}"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
failed=()
for t in "${targets[@]}"; do
  work=$build/work/$t findings=$build/findings/$t
  rm -rf "$work" "$findings" && mkdir -p "$work" "$findings" # no finding of an earlier run left behind
  cp "$here/tests/fuzz/corpus/$t/"* "$work/"
  if [ "$t" = voting_pb ]; then
    cp "$pabulib/"*.pb "$work/" || { echo "fuzz_voting_pb: no reference .pb files in $pabulib"; exit 1; }
  fi
  log=$findings/run.log
  if "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
       -artifact_prefix="$findings/" -max_len=4096 "$work" >"$log" 2>&1; then
    echo "fuzz_$t: ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs in ${seconds} s)"
  else
    echo "fuzz_$t: FAILED, see $log and $findings/"
    grep -m1 -E 'ERROR: |runtime error|SUMMARY' "$log" || tail -5 "$log"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) found something: ${failed[*]}"
  exit 1
fi
