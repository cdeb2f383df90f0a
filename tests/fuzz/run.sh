#!/bin/sh
# Build the libFuzzer targets (clang, ASan + UBSan) and run each for a
# bounded number of inputs, seeded with its seeds.
#
#   sh tests/fuzz/run.sh                 every target, its default number of inputs
#   FUZZ_RUNS=200000 sh tests/fuzz/run.sh  that many inputs for every target
#   sh tests/fuzz/run.sh http records    only these targets
#
# Targets (tests/fuzz/fuzz_<name>.c) and what they parse:
#   alert        webhook bodies (lib/alert/alert.c); seeds tests/fixtures/alerts/
#   args         argv as st2 builds it (actions/runner/st2.c) and the spec it feeds (lib/model/group.c)
#   records      stored group specs, node, incident, lease and event records
#   haproxy      HAProxy runtime API replies, `show stat` CSV (lib/lb/lb_haproxy.c)
#   http         OpenStack, DigitalOcean (compute, DNS, LB), PowerDNS and st2
#                datastore replies, Retry-After and error bodies (lib/core/http.c),
#                through tests/fuzz/fake_curl.c in place of libcurl (every request
#                by the curl transport, whatever its URL)
#   http_response  raw HTTP/1.1 responses, whole and cut in pieces, through the
#                plain transport's parser (lib/core/http_parse.c) into lib/core/http.c
#   known_hosts  known_hosts files (sshc_forget_host, lib/core/ssh_known_hosts.c)
# Seeds: tests/fuzz/seeds/<name>/ (alert: tests/fixtures/alerts/).
# Default inputs per target keep all of them near 45 s on two cores (the
# records target is slowest: ~15 datastore listings per input, each a
# 256 KiB arena that ASan maps and unmaps).
#
# The library is built once per change into build/fuzz/lib (the Makefile's
# own rules, clang, -fsanitize=fuzzer-no-link), each target is linked
# against it. Each target works on a copy of its seeds, so they never
# change. The last line says OK or FAILED; the exit status is non-zero on a
# crash, a leak, a sanitizer report, a timeout or a build failure. A crashing
# input is kept as build/fuzz/<name>/crash-* for reproduction:
#   LD_LIBRARY_PATH=build/fuzz/fakecurl build/fuzz/fuzz_<name> <file>
set -u

cd "$(dirname "$0")/../.." || exit 1

CC_FUZZ=${CC_FUZZ:-clang}
RUNS=${FUZZ_RUNS:-}
OUT=build/fuzz
ALL_TARGETS="alert args records haproxy http http_response known_hosts"
TARGETS=${*:-$ALL_TARGETS}

case ${RUNS:-0} in
*[!0-9]*)
    echo "fuzz: FAILED (FUZZ_RUNS must be a number, got '$RUNS')"
    exit 2
    ;;
esac

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
PKGS=$(sh deps/packages.sh --pkgconfig build)
mkdir -p "$OUT/fakecurl" || exit 1

# lib/ is in folders by area: every one of them on the include path.
LIB_INCLUDES=$(make --no-print-directory -s print-includes)
# The library: the Makefile's rules with clang's coverage instrumentation.
if ! make --no-print-directory -s -j2 BUILD="$OUT/lib" CC="$CC_FUZZ" \
    CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $SAN" \
    "$OUT/lib/libautoscale.a"; then
    echo "fuzz: FAILED (building lib/ with $CC_FUZZ; needs clang with libclang-rt-dev)"
    exit 1
fi

# libcurl's stand-in, found by http_curl.c's dlopen("libcurl.so.4") first.
if ! $CC_FUZZ -std=c11 -D_GNU_SOURCE -O1 -g -fPIC -shared -Wall -Wextra -Werror \
    -Wl,-soname,libcurl.so.4 \
    tests/fuzz/fake_curl.c -ldl -o "$OUT/fakecurl/libcurl.so.4"; then
    echo "fuzz: FAILED (building tests/fuzz/fake_curl.c)"
    exit 1
fi

failed=""
total_start=$(date +%s)
for t in $TARGETS; do
    bin=$OUT/fuzz_$t
    log=$OUT/fuzz_$t.log
    mkdir -p "$OUT/$t" || exit 1
    # shellcheck disable=SC2046,SC2086 # pkg-config output and flags are meant to split
    if ! $CC_FUZZ -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer $SAN \
        -Wall -Wextra -Werror $LIB_INCLUDES -Itests/fuzz $(pkg-config --cflags $PKGS) \
        "tests/fuzz/fuzz_$t.c" tests/fuzz/fuzz_common.c "$OUT/lib/libautoscale.a" \
        -Wl,-Bstatic $(pkg-config --libs json-c sqlite3) -Wl,-Bdynamic \
        $(pkg-config --libs yaml-0.1 libssh libcrypto) -lm -lpthread -ldl \
        -Wl,--wrap=as_sleep_ms -o "$bin"; then
        echo "fuzz_$t: FAILED (build)"
        failed="$failed $t"
        continue
    fi

    case $t in
    alert) runs=20000 ;; args) runs=50000 ;; records) runs=3000 ;;
    haproxy) runs=15000 ;; http) runs=30000 ;; http_response) runs=100000 ;;
    *) runs=20000 ;;
    esac
    # http_response: room for a head past its 64 KiB limit
    max_len=65536
    [ "$t" = http_response ] && max_len=140000
    runs=${RUNS:-$runs}
    seeds=tests/fuzz/seeds/$t
    [ "$t" = alert ] && seeds=tests/fixtures/alerts
    corpus=$(mktemp -d "$OUT/corpus.XXXXXX") || exit 1
    cp "$seeds"/* "$corpus"/ || exit 1

    start=$(date +%s)
    # -artifact_prefix keeps crash files out of the working directory;
    # -timeout turns a hang on one input into a failure rather than a stall.
    LD_LIBRARY_PATH="$PWD/$OUT/fakecurl${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
        "$bin" -runs="$runs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$OUT/$t/" -print_final_stats=1 "$corpus" >"$log" 2>&1
    rc=$?
    rm -rf "$corpus"
    secs=$(($(date +%s) - start))
    if [ $rc -ne 0 ]; then
        tail -n 40 "$log"
        echo "fuzz_$t: FAILED (exit $rc after ${secs}s; full log $log)"
        failed="$failed $t"
        continue
    fi
    done_runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\) ft: \([0-9]*\).*/\1 edges, \2 features/p' "$log" | tail -n 1)
    echo "fuzz_$t: OK, ${done_runs:-$runs} inputs in ${secs}s, ${cov:-coverage unknown}, no crashes"
done

secs=$(($(date +%s) - total_start))
if [ -n "$failed" ]; then
    echo "fuzz: FAILED:$failed (${secs}s)"
    exit 1
fi
echo "fuzz: OK, every target ($TARGETS) in ${secs}s"
