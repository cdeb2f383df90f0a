#!/bin/sh
# bench/nodes.bench.sh - issue #4: add_node + remove_node with the local
# provider. (1) the CPU our code spends per call, the wait for the machine
# excluded (CPU time of the action process; the wait is sleep), beside
# asg_get measured the same way; (2) 50 nodes added by 10 parallel callers:
# no duplicate, no lost record, wall time. Run through bench/run.sh.
set -eu

bin=${BENCH_BIN:?run me through bench/run.sh}
tmp=${BENCH_TMP:?run me through bench/run.sh}
runs=${BENCH_RUNS:-20}
[ "$runs" -gt 50 ] && runs=50

for b in asg_define asg_get asg_list add_node remove_node node_list demo_app; do
    cp "$bin/$b" "$tmp/"
done
bin=$tmp
export AUTOSCALE_DB="$tmp/store.db"
local="--local_dir=$tmp/local"
port="--local_port=18181"
"$bin/asg_define" --name=bench --min=0 --max=60 --compute_provider=local > /dev/null 2>&1

# cpu CMD...: "user+sys ms" of one run (getrusage of the child: microsecond
# resolution, where time(1) has 10 ms), failing loudly on a non-zero exit
cpu() {
    /usr/bin/python3 -c '
import resource, subprocess, sys
out = sys.argv[1] + ".out"
p = subprocess.run(sys.argv[2:], stdout=open(out, "wb"), stderr=subprocess.STDOUT)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
if p.returncode:
    sys.exit("nodes: %s exited %d: %s" % (" ".join(sys.argv[2:]), p.returncode, open(out).read()))
print("%.2f" % ((r.ru_utime + r.ru_stime) * 1000))' "$tmp/cpu" "$@"
}
median() { sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f", m }'; }

echo "nodes: $runs add/remove pairs" >&2
: > "$tmp/add"; : > "$tmp/rm"; : > "$tmp/get"
i=0
while [ $i -lt "$runs" ]; do
    cpu "$bin/add_node" --name=bench --node=bench-one $local $port >> "$tmp/add"
    cpu "$bin/asg_get" --name=bench >> "$tmp/get"
    cpu "$bin/remove_node" --name=bench --node=bench-one $local $port >> "$tmp/rm"
    i=$((i + 1))
done
add_ms=$(median < "$tmp/add"); rm_ms=$(median < "$tmp/rm"); get_ms=$(median < "$tmp/get")

echo "nodes: 50 nodes by 10 parallel callers" >&2
start=$(date +%s.%N)
c=0
while [ $c -lt 10 ]; do
    ( k=0; while [ $k -lt 5 ]; do
          "$bin/add_node" --name=bench --node="bench-c$c-$k" $local $port > "$tmp/p$c-$k.out" 2>&1 || echo fail >> "$tmp/failures"
          k=$((k + 1)); done ) &
    c=$((c + 1))
done
wait
end=$(date +%s.%N)
wall=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
failures=$(cat "$tmp/failures" 2>/dev/null | wc -l)
records=$("$bin/asg_get" --name=bench | grep -o '"total":[0-9]*' | head -1 | cut -d: -f2)
machines=$(ls "$tmp/local"/bench.*.json 2>/dev/null | wc -l)
addresses=$(cat "$tmp"/p*.out | grep -o '"address":"[0-9.]*"' | sort -u | wc -l)
serving=$(cat "$tmp"/p*.out | grep -o '"address":"[0-9.]*"' | cut -d'"' -f4 |
    /usr/bin/python3 -c '
import sys, urllib.request
ok = 0
for a in sys.stdin.read().split():
    try:
        body = urllib.request.urlopen("http://%s:18181/" % a, timeout=5).read().decode()
        ok += body.startswith("node bench-")
    except OSError:
        pass
print(ok)')
for f in "$tmp"/p*.out; do
    n=$(grep -o '"name":"bench-c[0-9]-[0-9]"' "$f" | head -1 | cut -d'"' -f4)
    [ -n "$n" ] && "$bin/remove_node" --name=bench --node="$n" $local $port > /dev/null 2>&1 &
done
wait
left=$(ls "$tmp/local"/bench.*.json 2>/dev/null | wc -l)
[ "$failures" -eq 0 ] && [ "$records" -eq 50 ] && [ "$machines" -eq 50 ] && [ "$addresses" -eq 50 ] && [ "$left" -eq 0 ] || {
    echo "nodes: parallel run failed: failures=$failures records=$records machines=$machines addresses=$addresses left=$left" >&2
    exit 1; }

cat <<EOF
## Nodes with the local provider (issue #4)

CPU time of the action process (user + system, median of $runs runs), which
is our code's cost: the wait for the machine is spent sleeping between polls
and costs no CPU. \`asg_get\` on the same store is the baseline.

| call | CPU median ms | ratio vs asg_get |
|---|---:|---:|
| \`asg_get\` (baseline) | $get_ms | 1.0x |
| \`add_node\` (record, spawn, poll until serving, record the address) | $add_ms | $(awk -v a="$add_ms" -v b="$get_ms" 'BEGIN { printf "%.1fx", a / b }') |
| \`remove_node\` (SIGTERM, wait for exit, forget) | $rm_ms | $(awk -v a="$rm_ms" -v b="$get_ms" 'BEGIN { printf "%.1fx", a / b }') |

50 nodes added by 10 parallel callers (5 each) into one group:

| failures | node records | machines registered | distinct addresses | nodes answering HTTP | wall time s | left after removing all |
|---:|---:|---:|---:|---:|---:|---:|
| $failures | $records | $machines | $addresses | $serving | $wall | $left |

Notes:

- The wall time includes each node's start and the 100 ms polls until it
  serves; the demo app starts in a few milliseconds.
- "No duplicate, no lost record": records = machines = distinct addresses
  = 50, and removing them all leaves no registry entry (checked; the
  benchmark fails otherwise).
EOF
