#!/bin/sh
# bench/run.sh - build, run the benchmarks, write bench/RESULTS.md.
#
#   sh bench/run.sh            every bench/*.bench.sh, in name order;
#                              rewrites bench/RESULTS.md
#   sh bench/run.sh startup    only bench/startup.bench.sh; the report goes to
#                              stdout and bench/out/RESULTS.partial.md, and
#                              bench/RESULTS.md is left alone
#
# Environment: CC (compiler of the bench's programs, default cc), MAKE (default make),
# BENCH_NO_BUILD=1 (skip `make all build/release/tests/fake_st2`),
# BENCH_RUNS (runs per command, for the benches that honour it).
#
# Each bench script prints one markdown section ("## ...") on stdout and its
# progress on stderr; see bench/README.md for the contract. Any failing bench
# fails the whole run (exit 1) and no results file is written.
set -eu
LC_ALL=C
export LC_ALL

cd "$(dirname "$0")/.."
root=$(pwd)
out=bench/out
mkdir -p "$out/sections"

say() { printf 'bench: %s\n' "$*" >&2; }

# -- the benches to run ------------------------------------------------------
if [ $# -gt 0 ]; then
    benches=""
    for name in "$@"; do
        f=bench/${name%.bench.sh}.bench.sh
        [ -f "$f" ] || { say "no such benchmark: $f"; exit 2; }
        benches="$benches $f"
    done
    results=$out/RESULTS.partial.md
else
    benches=""
    for f in bench/*.bench.sh; do # globs expand sorted
        [ -f "$f" ] && benches="$benches $f"
    done
    [ -n "$benches" ] || { say "no bench/*.bench.sh found"; exit 2; }
    results=bench/RESULTS.md
fi

# -- build ---------------------------------------------------------------------
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
    # and the st2 API fake startup.bench.sh serves the st2 datastore path from
    say "building (make all build/release/tests/fake_st2)"
    ${MAKE:-make} --no-print-directory all build/release/tests/fake_st2 >&2
fi
say "building the bench's programs (make bench-progs)"
${MAKE:-make} --no-print-directory DEVELOPER=1 bench-progs >&2
progs=$root/build/release/bench

# -- a clean environment -------------------------------------------------------
# No ST2_* variable may leak in (it would switch the actions to the st2 API
# datastore), nor any AUTOSCALE_* setting (log level, datastore choice, ...).
for v in $(env | sed -n 's/^\(ST2_[A-Za-z0-9_]*\)=.*/\1/p; s/^\(AUTOSCALE_[A-Za-z0-9_]*\)=.*/\1/p'); do
    unset "$v"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/autoscale-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# -- the report header ---------------------------------------------------------
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# dirty: anything modified or untracked (the build uses untracked sources
# too), except the results file this script rewrites.
if [ "$commit" != unknown ] &&
   [ -n "$(git status --porcelain 2>/dev/null | grep -v ' bench/RESULTS\.md$' || true)" ]; then
    commit="$commit+dirty"
fi
model=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -n 1)
header=$tmp/header.md
{
    echo "# Benchmark results"
    echo
    echo "Written by \`make bench\` (bench/run.sh); do not edit by hand."
    echo "How to read and extend it: bench/README.md. Speed and memory are"
    echo "judged as ratios against baselines measured in the same run."
    echo
    echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- Machine: $(nproc) CPU(s), ${model:-unknown CPU}, $(uname -sr)"
    echo "- Load average at start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
    echo "- Commit: $commit"
    echo "- Compiler: $(${CC:-cc} --version 2>/dev/null | head -n 1)"
} > "$header"

# -- run -------------------------------------------------------------------------
sections=""
for f in $benches; do
    name=$(basename "$f" .bench.sh)
    say "running $name"
    mkdir -p "$tmp/$name"
    sec=$out/sections/$name.md
    if ! BENCH_ROOT=$root BENCH_HARNESS=$progs/harness BENCH_PROGS=$progs \
         BENCH_BIN=$root/actions/bin BENCH_TMP=$tmp/$name \
         sh "$f" > "$sec.tmp"; then
        rm -f "$sec.tmp"
        say "FAILED: $name; no results written"
        exit 1
    fi
    mv "$sec.tmp" "$sec"
    sections="$sections $sec"
done

# -- assemble --------------------------------------------------------------------
{
    cat "$header"
    for sec in $sections; do
        echo
        cat "$sec"
    done
} > "$results.tmp"
mv "$results.tmp" "$results"
cat "$results"
say "wrote $results"
