#!/usr/bin/env bash
# Runs each fuzz target for SECONDS_PER_TARGET (default 600), one at a time,
# at the lowest CPU priority, on the stable toolchain (RUSTC_BOOTSTRAP lets
# cargo-fuzz pass its -Z flags). After a crash the target restarts for the
# rest of its time, so one finding does not end the run; crash inputs land
# in fuzz/artifacts/<target>/. Logs: fuzz/logs/<target>.<n>.log.
set -u
cd "$(dirname "$0")"
SECONDS_PER_TARGET=${SECONDS_PER_TARGET:-600}
TARGETS=${*:-identify_parse family_parse hook_request config_toml import_csv}
mkdir -p logs
export RUSTC_BOOTSTRAP=1
for t in $TARGETS; do
    mkdir -p "corpus/$t"
    start=$(date +%s)
    n=0
    while :; do
        left=$(( SECONDS_PER_TARGET - ($(date +%s) - start) ))
        [ "$left" -le 5 ] && break
        n=$((n + 1))
        nice -n 19 cargo fuzz run -s none -a "$t" "corpus/$t" -- \
            -max_total_time="$left" -rss_limit_mb=2048 -timeout=20 \
            -print_final_stats=1 > "logs/$t.$n.log" 2>&1
        rc=$?
        echo "$(date -u +%H:%M:%S) $t run $n exit $rc"
        [ "$rc" -eq 0 ] && break
        [ "$n" -ge 8 ] && break
    done
done
