#!/bin/sh
# bench/startup.bench.sh - issue #2: start-up cost of an action.
#
# asg_get on the embedded store, beside /bin/true (the floor: spawn, exec,
# exit) and /usr/bin/python3 -c 'import json' (the least a Python action pays
# before st2's own wrapper), interleaved in one harness run. Prints its
# markdown section on stdout. Run through bench/run.sh, which sets
# BENCH_HARNESS, BENCH_BIN and BENCH_TMP and cleans the environment.
set -eu

runs=${BENCH_RUNS:-300}
warmup=10
python=/usr/bin/python3
harness=${BENCH_HARNESS:?run me through bench/run.sh}
bin=${BENCH_BIN:?run me through bench/run.sh}
tmp=${BENCH_TMP:?run me through bench/run.sh}

# targets for asg_get
target_ms=3
target_kib=8192 # 8 MiB
target_ratio=10

[ -x "$python" ] || { echo "startup: $python not found" >&2; exit 1; }

# Measure a private copy: in a shared tree a concurrent `make` may relink
# actions/bin/asg_get in the middle of a run (briefly non-executable).
cp "$bin/asg_define" "$bin/asg_get" "$tmp/"
bin=$tmp

# -- a store with one group -----------------------------------------------------
AUTOSCALE_DB=$tmp/autoscale.db
export AUTOSCALE_DB
"$bin/asg_define" --name=web --compute_provider=local > "$tmp/create.out" 2> "$tmp/create.err" || {
    echo "startup: asg_define --name=web --compute_provider=local failed:" >&2
    cat "$tmp/create.out" "$tmp/create.err" >&2
    exit 1
}
# asg_get must answer with the group, not an error object that exits 0
"$bin/asg_get" --name=web > "$tmp/get.out" 2> "$tmp/get.err" || {
    echo "startup: asg_get --name=web failed:" >&2
    cat "$tmp/get.out" "$tmp/get.err" >&2
    exit 1
}
grep -q '"name":"web"' "$tmp/get.out" || {
    echo "startup: asg_get --name=web did not print the group:" >&2
    cat "$tmp/get.out" >&2
    exit 1
}

# -- measure ----------------------------------------------------------------------
echo "startup: $runs runs of each of 3 commands, interleaved (~$((runs / 10)) s)" >&2
"$harness" -n "$runs" -w "$warmup" \
    ::: true /bin/true \
    ::: asg_get "$bin/asg_get" --name=web \
    ::: python "$python" -c 'import json' > "$tmp/harness.out"

# field LABEL KEY: one value from the harness output
field() {
    awk -v label="$1" -v key="$2" '
        $1 == "label=" label {
            for (i = 2; i <= NF; i++) {
                split($i, kv, "=")
                if (kv[1] == key) { print kv[2]; exit }
            }
        }' "$tmp/harness.out"
}
# calc EXPR: awk arithmetic / formatting
calc() { awk "BEGIN { $1 }"; }

py_med=$(field python median_ms)
get_med=$(field asg_get median_ms)
true_med=$(field true median_ms)
get_kib=$(field asg_get rss_max_kib)

row() { # LABEL DISPLAY
    med=$(field "$1" median_ms)
    printf '| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %s |\n' "$2" \
        "$med" "$(field "$1" p90_ms)" "$(field "$1" min_ms)" \
        "$(field "$1" cpu_median_ms)" "$(field "$1" rss_max_mib)" \
        "$(calc "printf \"%.1fx\", $py_med / $med")"
}
verdict() { calc "print ($1) ? \"PASS\" : \"MISS\""; }

ratio=$(calc "printf \"%.1f\", $py_med / $get_med")
cpu_ratio=$(calc "printf \"%.1f\", $(field python cpu_median_ms) / $(field asg_get cpu_median_ms)")
above=$(calc "printf \"%.2f\", $get_med - $true_med")
pyver=$("$python" -c 'import platform; print(platform.python_version())')
harness_kib=$(sed -n 's/^harness rss_self_kib=//p' "$tmp/harness.out")
path_py=$(command -v python3 2>/dev/null || true)
if [ -z "$path_py" ]; then
    path_note="none"
elif [ "$(head -c 2 "$path_py" 2>/dev/null)" = '#!' ]; then
    path_note="\`$path_py\`, a script shim"
else
    path_note="\`$path_py\`"
fi

# shellcheck disable=SC2016 # the backquotes below are markdown
cat <<EOF
## Start-up cost of an action (issue #2)

\`asg_get --name=web\` on the embedded SQLite store holding one group, beside
\`/bin/true\` (the floor: spawn, exec, exit) and \`python3 -c 'import json'\`
(the least any Python action pays before st2's own wrapper). $runs runs of
each after $warmup warm-up rounds, interleaved round-robin in one run of
bench/harness.c so machine noise hits all three alike.

| command | median ms | p90 ms | min ms | CPU median ms | peak RSS MiB | ratio vs python |
|---|---:|---:|---:|---:|---:|---:|
$(row true '`/bin/true`')
$(row asg_get '`asg_get --name=web`')
$(row python "\`python3 -c 'import json'\`")

Targets for \`asg_get\`:

| target | measured | result |
|---|---:|---|
| median < $target_ms ms | $(calc "printf \"%.2f ms\", $get_med") | $(verdict "$get_med < $target_ms") |
| peak RSS < 8 MiB ($target_kib KiB) | $get_kib KiB | $(verdict "$get_kib < $target_kib") |
| at least ${target_ratio}x faster than Python (median) | ${ratio}x | $(verdict "$ratio >= $target_ratio") |

Notes:

- Wall time is CLOCK_MONOTONIC around posix_spawn .. wait4, stdout drained
  through a pipe (as st2's runner reads it); CPU is the child's user + system
  time; peak RSS is the largest \`ru_maxrss\` of all runs. That figure
  counts the harness's pages, which the child shares until it execs, so the
  floor row's RSS is mostly the harness's (its own peak: $harness_kib KiB);
  a figure well above it is the command's own.
- Ratio vs python = python median / row median: higher is faster. By CPU
  median, which a busy machine disturbs less, \`asg_get\` is ${cpu_ratio}x faster.
- \`asg_get\` costs $above ms above the \`/bin/true\` floor (median minus
  median). On a loaded or virtualised machine the floor alone can approach the
  ${target_ms} ms target; the ratio is the figure that carries across machines.
- Python is \`$python\` (Python $pyver), not whatever \`python3\` is on
  PATH (here: $path_note): a pyenv shim would add a shell and
  pyenv's own start-up and unfairly inflate the Python floor.
- The binaries measured are copies of actions/bin/asg_get and asg_define
  taken at the start, so a concurrent rebuild cannot swap them mid-run.
- Every run of every command exited 0 (the harness stops at the first that
  does not). Environment: no ST2_* or AUTOSCALE_* variable except
  AUTOSCALE_DB.
EOF

# the same numbers, machine-readable, for whoever wants to diff runs
echo
echo "<details><summary>harness output</summary>"
echo
echo '```'
cat "$tmp/harness.out"
echo '```'
echo
echo "</details>"
