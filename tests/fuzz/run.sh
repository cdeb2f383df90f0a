#!/bin/sh
# Build the alert webhook fuzzer (libFuzzer + ASan + UBSan) and run it for a
# bounded number of inputs, seeded with tests/fixtures/alerts/.
#
#   sh tests/fuzz/run.sh          FUZZ_RUNS (default 20000) inputs
#   FUZZ_RUNS=200000 sh tests/fuzz/run.sh
#
# The fuzzer works on a copy of the seeds, so the fixtures never change.
# The last line says OK or FAILED; the exit status is non-zero on a crash,
# a leak, a sanitizer report or a build failure. A crashing input is kept
# as build/fuzz/crash-* for reproduction: build/fuzz/fuzz_alert <file>.
set -u

cd "$(dirname "$0")/../.." || exit 1

CC_FUZZ=${CC_FUZZ:-clang}
RUNS=${FUZZ_RUNS:-20000}
OUT=build/fuzz
BIN=$OUT/fuzz_alert

case $RUNS in
'' | *[!0-9]*)
    echo "fuzz_alert: FAILED (FUZZ_RUNS must be a number, got '$RUNS')"
    exit 2
    ;;
esac

mkdir -p "$OUT" || exit 1
# shellcheck disable=SC2046 # pkg-config output is meant to split
if ! $CC_FUZZ -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -Wall -Wextra -Werror -Ilib \
    $(pkg-config --cflags json-c) \
    tests/fuzz/fuzz_alert.c lib/alert.c lib/jsonx.c lib/error.c lib/log.c lib/secret.c \
    $(pkg-config --libs json-c) -o "$BIN"; then
    echo "fuzz_alert: FAILED (build; needs clang with libclang-rt-dev)"
    exit 1
fi

corpus=$(mktemp -d "$OUT/corpus.XXXXXX") || exit 1
trap 'rm -rf "$corpus"' EXIT INT TERM
cp tests/fixtures/alerts/* "$corpus"/ || exit 1

start=$(date +%s)
# -artifact_prefix keeps crash files out of the working directory;
# -timeout turns a hang on one input into a failure rather than a stall.
"$BIN" -runs="$RUNS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$OUT/" -print_final_stats=1 "$corpus" >"$OUT/fuzz_alert.log" 2>&1
rc=$?
secs=$(($(date +%s) - start))
tail -n 25 "$OUT/fuzz_alert.log"

if [ $rc -ne 0 ]; then
    echo "fuzz_alert: FAILED (exit $rc after ${secs}s; full log $OUT/fuzz_alert.log)"
    exit 1
fi
done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$OUT/fuzz_alert.log" | tail -n 1)
echo "fuzz_alert: OK, ${done_runs:-$RUNS} inputs in ${secs}s, no crashes"
