#!/usr/bin/env bash
# passbridge against the fastest native C on this machine, in one run.
#
#   scripts/compare-native.sh            # 3 rounds
#   ROUNDS=5 scripts/compare-native.sh
#   NATIVE_FILTER=bcrypt scripts/compare-native.sh   # only matching rows
#
# 1. Hash speed: builds the native references (libxcrypt crypt_rn; the
#    reference argon2 C from the argon2-cffi-bindings sdist, -O3
#    -march=native; nettle and OpenSSL for PBKDF2 and the SHA family; see
#    scripts/native/bench.c) and passbridge's release-profile bench
#    (benches/native.rs), generates one stored hash per scheme
#    (scripts/native/gen.py), runs native and passbridge interleaved for
#    ROUNDS rounds (alternating which goes first), and prints: scheme,
#    passbridge ms, fastest native ms (and which), ratio. Both sides run one
#    verification at a time on one thread, with the same sampling.
# 2. Floor vs hook: hook_vs_floor below.
#
# Installs what it needs (Debian: gcc, nettle-dev, libssl-dev, libcrypt-dev,
# wrk; PyPI: the argon2-cffi-bindings sdist). Never run in CI: CI only
# builds the benches. Takes a few minutes; the machine should be otherwise
# idle, and the load average is printed with the table.
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
PASSWORD=${PASSWORD:-"correct horse battery staple"}
WORK=${WORK:-target/compare-native}
mkdir -p "$WORK"

need_debian() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    if ((${#missing[@]})); then
        apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

build_native() {
    need_debian gcc libc6-dev libcrypt-dev nettle-dev libssl-dev python3-pip
    local sdist_dir="$WORK/sdist"
    if ! ls "$sdist_dir"/argon2_cffi_bindings-*.tar.gz >/dev/null 2>&1; then
        mkdir -p "$sdist_dir"
        # The sdist only: its extras/libargon2 is phc-winner-argon2's C.
        python3 -m pip download -q --no-deps --no-binary argon2-cffi-bindings \
            -d "$sdist_dir" argon2-cffi-bindings
    fi
    local sdist
    sdist=$(ls "$sdist_dir"/argon2_cffi_bindings-*.tar.gz | head -n1)
    tar -xzf "$sdist" -C "$sdist_dir"
    local a
    a=$(ls -d "$sdist_dir"/argon2_cffi_bindings-*/extras/libargon2 | head -n1)
    local src=("$a/src/argon2.c" "$a/src/core.c" "$a/src/blake2/blake2b.c"
        "$a/src/thread.c" "$a/src/encoding.c" "$a/src/opt.c")
    # -march=native: opt.c's AVX2/AVX-512 paths are chosen at compile time.
    gcc -O3 -march=native -fPIC -shared -pthread -I"$a/include" -I"$a/src" \
        "${src[@]}" -o "$WORK/libargon2-native.so"
    gcc -O3 -march=native -pthread -Wall -Wno-deprecated-declarations \
        -I"$a/include" -I"$a/src" scripts/native/bench.c "${src[@]}" \
        -o "$WORK/native-bench" -lcrypt -lnettle -lcrypto
}

build_passbridge() {
    # The release profile (bench inherits it): what the shipped binary runs.
    # PB_BENCH=path skips the build (the executable `cargo bench --no-run` printed).
    if [[ -n ${PB_BENCH:-} ]]; then return; fi
    cargo bench --bench native --no-run 2>&1 | tee "$WORK/cargo-bench.log" >&2
    PB_BENCH=$(sed -n 's/.*Executable .*(\(.*\)).*/\1/p' "$WORK/cargo-bench.log" | tail -n1)
    [[ -x $PB_BENCH ]] || { echo "no bench executable in $WORK/cargo-bench.log" >&2; exit 1; }
}

hash_speed() {
    build_native
    build_passbridge
    python3 scripts/native/gen.py "$WORK/libargon2-native.so" "$PASSWORD" >"$WORK/vectors.tsv"
    : >"$WORK/raw.tsv"
    local load_before
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    for ((round = 1; round <= ROUNDS; round++)); do
        echo "round $round of $ROUNDS" >&2
        if ((round % 2)); then
            "$WORK/native-bench" "$PASSWORD" <"$WORK/vectors.tsv" | sed "s/^/$round\t/" >>"$WORK/raw.tsv"
            "$PB_BENCH" "$WORK/vectors.tsv" "$PASSWORD" | sed "s/^/$round\t/" >>"$WORK/raw.tsv"
        else
            "$PB_BENCH" "$WORK/vectors.tsv" "$PASSWORD" | sed "s/^/$round\t/" >>"$WORK/raw.tsv"
            "$WORK/native-bench" "$PASSWORD" <"$WORK/vectors.tsv" | sed "s/^/$round\t/" >>"$WORK/raw.tsv"
        fi
    done
    local load_after
    load_after=$(cut -d' ' -f1-3 /proc/loadavg)
    echo
    echo "## Hash speed, single thread, ms per verification"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'); nproc $(nproc); $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1);" \
        "$(uname -sr); load average $load_before before, $load_after after; $ROUNDS rounds, median of round medians (min-max)."
    echo
    python3 - "$WORK/raw.tsv" "$WORK/vectors.tsv" <<'EOF'
import statistics, sys
from collections import defaultdict
raw, vectors = sys.argv[1], sys.argv[2]
names = [line.split("\t")[0] for line in open(vectors) if line.strip()]
times = defaultdict(lambda: defaultdict(list))   # name -> impl -> [ms per round]
bad = set()
for line in open(raw):
    rnd, name, impl, ms, ok = line.rstrip("\n").split("\t")
    if ok != "ok":
        bad.add((name, impl))
    times[name][impl].append(float(ms))
# Each vector, then its variants ("..., 4 threads": the lanes side by side).
order = []
for name in names:
    order.append(name)
    order.extend(sorted(k for k in times if k.startswith(name + ", ")))
def fmt(v):
    return f"{v:.6f}" if v < 0.01 else f"{v:.4f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.1f}"
def cell(v):
    return f"{fmt(statistics.median(v))} ({fmt(min(v))}-{fmt(max(v))})"
print("| scheme | passbridge ms | fastest native ms | fastest native | ratio |")
print("|---|---|---|---|---|")
for name in order:
    impls = times.get(name, {})
    pb = impls.get("passbridge")
    natives = {k: v for k, v in impls.items() if k != "passbridge"}
    if not pb:
        continue
    if natives:
        best = min(natives, key=lambda k: statistics.median(natives[k]))
        ratio = statistics.median(pb) / statistics.median(natives[best])
        print(f"| {name} | {cell(pb)} | {cell(natives[best])} | {best} | {ratio:.2f} |")
    else:
        print(f"| {name} | {cell(pb)} | - | (passbridge only) | - |")
if bad:
    print()
    print("NOT VALID: these did not compute the stored result:", sorted(bad))
    sys.exit(1)
EOF
}

# The lead's half: wrk against examples/floor.rs and `passbridge serve`
# (req/s, p50, p99, p99.9, ratio). Kept separate so it can be filled in
# without touching the hash half.
# A bare axum endpoint (examples/floor.rs) and `passbridge serve`, one after
# the other per round, driven by the same wrk script at 64 connections; see
# scripts/hook-vs-floor.sh (which also runs on its own).
hook_vs_floor() {
    echo
    echo "## Floor vs hook"
    echo
    ROUNDS=$ROUNDS scripts/hook-vs-floor.sh
}

hash_speed
[ "${HOOK_VS_FLOOR:-1}" = 0 ] || hook_vs_floor  # HOOK_VS_FLOOR=0: the hash table only
