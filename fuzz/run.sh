#!/usr/bin/env bash
# Builds the fuzz targets once (stable toolchain; RUSTC_BOOTSTRAP lets
# cargo-fuzz pass its -Z flags; no sanitizer; debug assertions on, so integer
# overflow panics), then runs each target's binary for SECONDS_PER_TARGET
# (default 600), one at a time, at the lowest CPU priority. After a crash
# the target restarts for the rest of its time, so one finding does not end
# the run; crash inputs land in fuzz/artifacts/<target>/. Logs:
# fuzz/logs/<target>.<n>.log.
set -u
cd "$(dirname "$0")"
SECONDS_PER_TARGET=${SECONDS_PER_TARGET:-600}
TARGETS=${*:-identify_parse family_parse hook_request config_toml import_csv jwt}
export RUSTC_BOOTSTRAP=1
nice -n 19 cargo fuzz build -s none -a || exit 1
bin=target/x86_64-unknown-linux-gnu/release
mkdir -p logs
for t in $TARGETS; do
    mkdir -p "corpus/$t" "artifacts/$t"
    start=$(date +%s)
    n=0
    while :; do
        left=$(( SECONDS_PER_TARGET - ($(date +%s) - start) ))
        [ "$left" -le 5 ] && break
        n=$((n + 1))
        nice -n 19 "$bin/$t" -artifact_prefix="artifacts/$t/" \
            -max_total_time="$left" -rss_limit_mb=2048 -timeout=20 \
            -print_final_stats=1 "corpus/$t" > "logs/$t.$n.log" 2>&1
        rc=$?
        echo "$(date -u +%H:%M:%S) $t run $n exit $rc"
        [ "$rc" -eq 0 ] && break
        [ "$n" -ge 8 ] && break
    done
done
