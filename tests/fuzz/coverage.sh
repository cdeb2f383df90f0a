#!/bin/sh
# Which lines of the parsers the fuzz targets reach: builds the library and
# the targets again with clang's source-based coverage (no sanitizers), runs
# each target for FUZZ_RUNS inputs (default 5000) from its seeds, and prints
# llvm-cov's per-file report for the files each target is there to reach.
# Not part of `make check`; run it after adding a target or a parser.
#
#   sh tests/fuzz/coverage.sh [target...]
set -u

cd "$(dirname "$0")/../.." || exit 1

RUNS=${FUZZ_RUNS:-5000}
OUT=build/fuzz-cov
PKGS="libcurl json-c sqlite3 yaml-0.1 libssh libcrypto"
COV="-fprofile-instr-generate -fcoverage-mapping"
TARGETS=${*:-"args records haproxy http http_response known_hosts"}

files_for() {
    case $1 in
    args) echo actions/runner/st2.c lib/model/group.c ;;
    records) echo lib/model/group.c lib/model/asg.c lib/model/node.c lib/compute/nodes.c lib/model/incident.c lib/store/lease.c lib/model/governor.c lib/alert/alert_route.c lib/core/jsonx.c ;;
    haproxy) echo lib/lb/lb_haproxy.c ;;
    http) echo lib/core/http.c lib/compute/compute_openstack.c lib/compute/compute_digitalocean.c lib/dns/dns_digitalocean.c lib/lb/lb_digitalocean.c lib/core/digitalocean.c lib/dns/dns_powerdns.c lib/store/ds_st2.c ;;
    http_response) echo lib/core/http_parse.c lib/core/http.c ;;
    known_hosts) echo lib/core/ssh_known_hosts.c ;;
    esac
}

# lib/ is in folders by area: every one of them on the include path.
LIB_INCLUDES=$(make --no-print-directory -s print-includes)
make --no-print-directory -s -j2 BUILD="$OUT/lib" CC=clang \
    CFLAGS="-O0 -g -fsanitize=fuzzer-no-link $COV -Wno-format-nonliteral" \
    "$OUT/lib/libautoscale.a" || exit 1
mkdir -p "$OUT/fakecurl"
clang -std=c11 -D_GNU_SOURCE -O1 -fPIC -shared \
    -Wl,-soname,libcurl.so.4 tests/fuzz/fake_curl.c -ldl -o "$OUT/fakecurl/libcurl.so.4" || exit 1

for t in $TARGETS; do
    # shellcheck disable=SC2046,SC2086
    clang -std=c11 -D_GNU_SOURCE -g -O0 -fsanitize=fuzzer $COV $LIB_INCLUDES -Itests/fuzz \
        $(pkg-config --cflags $PKGS) "tests/fuzz/fuzz_$t.c" tests/fuzz/fuzz_common.c \
        "$OUT/lib/libautoscale.a" -Wl,-Bstatic $(pkg-config --libs json-c sqlite3) \
        -Wl,-Bdynamic $(pkg-config --libs yaml-0.1 libssh libcrypto) -lm -lpthread -ldl \
        -Wl,--wrap=as_sleep_ms -o "$OUT/fuzz_$t" || exit 1
    corpus=$(mktemp -d "$OUT/corpus.XXXXXX") || exit 1
    cp tests/fuzz/seeds/"$t"/* "$corpus"/
    LLVM_PROFILE_FILE="$OUT/$t.profraw" LD_LIBRARY_PATH="$PWD/$OUT/fakecurl" \
        "$OUT/fuzz_$t" -runs="$RUNS" -max_len=65536 "$corpus" >"$OUT/$t.log" 2>&1
    rm -rf "$corpus"
    llvm-profdata merge -sparse "$OUT/$t.profraw" -o "$OUT/$t.profdata" || exit 1
    echo "== fuzz_$t ($RUNS inputs)"
    tail -n 3 "$OUT/$t.log" | grep -q 'Done\|DONE' || { tail -n 20 "$OUT/$t.log"; exit 1; }
    llvm-cov report "$OUT/fuzz_$t" -instr-profile="$OUT/$t.profdata" >"$OUT/$t.report"
    # file, then functions / missed, line coverage %
    for f in $(files_for "$t"); do
        awk -v f="$f" '$1 == f {printf "  %-28s functions %3d (%3d missed)  lines %s\n", $1, $5, $6, $10}' \
            "$OUT/$t.report"
    done
done
