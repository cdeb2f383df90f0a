#!/bin/sh
# bench/alert_to_serving.bench.sh - issue 17: alert-to-serving. From a
# monitor's webhook (New Relic's, as the demo posts it) to the first new
# node serving requests through a real HAProxy, step by step, and from the
# recovery to the node drained and gone; p50/p95 over BENCH_RUNS cold runs
# (default 10) on the local provider without Chef, the pack's rules,
# workflows and sensor on tests/st2lite. BENCH_POLL: seconds between two
# sensor polls (default 1, as in the demo). The driver is
# bench/alert_to_serving.py; it prints the markdown section, this script
# checks the servers it needs and measures copies of the binaries. Then
# the warm pool: BENCH_WARM_RUNS (default BENCH_RUNS; 0: none) alerts on the
# same group with warm_pool 1, each from the webhook to the first request
# the node taken from the pool answers ("warm" rows beside the cold ones).
# Run through bench/run.sh.
set -eu

bin=${BENCH_BIN:?run me through bench/run.sh}
tmp=${BENCH_TMP:?run me through bench/run.sh}
root=${BENCH_ROOT:-$(pwd)}

for need in haproxy /usr/sbin/pdns_server sqlite3; do
    command -v "$need" > /dev/null 2>&1 || {
        echo "alert_to_serving: $need is missing (deps/test-packages.txt; make deps)" >&2
        exit 1; }
done
[ -x "$bin/governor_tick" ] && [ -x "$bin/demo_app" ] || {
    echo "alert_to_serving: no built actions in $bin (make all)" >&2; exit 1; }

# A concurrent rebuild must not swap a binary mid-run: measure a copy (the
# action names are links to one multi-call binary; -P keeps them links).
mkdir -p "$tmp/bin"
cp -P "$bin"/* "$tmp/bin/"

# The driver's own store, registry and servers live under BENCH_TMP.
BENCH_TMP=$tmp exec /usr/bin/python3 "$root/bench/alert_to_serving.py" "$tmp/bin"
