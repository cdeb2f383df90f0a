#!/bin/sh
# bench/startup.bench.sh - issue #14 (first #2): what an action costs, start to
# finish, on both datastore paths.
#
# Table 1, one harness run, interleaved: a static C hello (the floor),
# /bin/true, asg_get on the embedded SQLite store, asg_get on the st2 path
# (st2's key-value API, here tests/fakes' fake_st2 on 127.0.0.1), a Python
# peer doing asg_get's job on each path (bench/peer_asg_get.py, its output
# checked identical first), and python3 -c 'import json' (the reference for
# ratios). Table 2, a second harness run: every action that can repeat on the
# st2 path without a cloud and without changing the store, beside the same
# Python reference. Prints its markdown section on stdout. Run through
# bench/run.sh, which sets BENCH_ROOT, BENCH_HARNESS, BENCH_BIN and BENCH_TMP,
# builds build/release/tests/fake_st2 and cleans the environment.
set -eu
set -f # action arguments are split on spaces below, never globbed

runs=${BENCH_RUNS:-300}
runs2=$((runs / 3))
[ "$runs2" -ge 10 ] || runs2=10
warmup=10
python=/usr/bin/python3
root=${BENCH_ROOT:?run me through bench/run.sh}
harness=${BENCH_HARNESS:?run me through bench/run.sh}
bin=${BENCH_BIN:?run me through bench/run.sh}
tmp=${BENCH_TMP:?run me through bench/run.sh}
fake_built=$root/build/release/tests/fake_st2
token=bench-token

# the targets of issue 14
emb_vs_hello=1.4   # embedded asg_get median at most 1.4x the static hello's
emb_vs_py=12       # ... at least 12x faster than python -c 'import json'
emb_kib=2048       # ... peak RSS at most 2 MiB
st2_vs_py=10       # every action on the st2 path: at least 10x faster
st2_kib=4096       # ... peak RSS at most 4 MiB

say() { printf 'startup: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ -x "$python" ] || die "$python not found"
[ -x "$fake_built" ] || die "$fake_built not found: build it with" \
    "\`make build/release/tests/fake_st2\` (bench/run.sh does unless BENCH_NO_BUILD=1)"

# -- what is measured: copies, so a concurrent rebuild cannot swap them ----------
# The actions are links to a multi-call binary: copy it once and link the
# names to the copy, as actions/bin does (st2 runs them through the link).
actions="asg_define asg_get asg_list asg_update node_list node_pick lease_release
governor_tick reconcile lb_sync lb_add lb_remove dns_register dns_unregister notify"
mkdir -p "$tmp/bin"
for a in $actions; do
    if [ -L "$bin/$a" ]; then
        target=$(readlink -f "$bin/$a")
        [ -e "$tmp/bin/${target##*/}" ] || cp "$target" "$tmp/bin/${target##*/}"
        ln -s "${target##*/}" "$tmp/bin/$a"
    else
        cp "$bin/$a" "$tmp/bin/$a"
    fi
done
bin=$tmp/bin
cp "$fake_built" "$tmp/fake_st2"

# The floor: static so no loader runs (make bench-progs builds it).
cp "${BENCH_PROGS:?run me through bench/run.sh}/hello" "$tmp/hello"
[ "$("$tmp/hello")" = hello ] || die "bench/hello.c's program did not print hello"

peer=$root/bench/peer_asg_get.py
store=$root/bench/startup_store.py

# The embedded store, and the local provider's registry (node_list and
# reconcile look there), both private to this run.
AUTOSCALE_DB=$tmp/autoscale.db
AUTOSCALE_LOCAL_DIR=$tmp/local
export AUTOSCALE_DB AUTOSCALE_LOCAL_DIR

# once LABEL CMD [ARG...]: run it once; exit 0 and no error object, or die.
# Its stdout is left in $tmp/once.out.
# (sh has no locals: callers' variables, such as label, are left alone.)
once() {
    once_what=$1
    shift
    "$@" < /dev/null > "$tmp/once.out" 2> "$tmp/once.err" || {
        say "$once_what failed (exit $?):"
        cat "$tmp/once.out" "$tmp/once.err" >&2
        exit 1
    }
    if grep -q '^{"error"' "$tmp/once.out"; then
        say "$once_what printed an error:"
        cat "$tmp/once.out" >&2
        exit 1
    fi
}
# expect LABEL TEXT: the last once's output contains TEXT, or die.
expect() {
    grep -qF -- "$2" "$tmp/once.out" || {
        say "$1: expected $2 in its output:"
        head -c 2000 "$tmp/once.out" >&2
        exit 1
    }
}

# -- the fake st2 API ------------------------------------------------------------
fake_pid=
stop_fake() {
    if [ -n "$fake_pid" ]; then
        kill "$fake_pid" 2>/dev/null || true
        wait "$fake_pid" 2>/dev/null || true
        fake_pid=
    fi
}
trap stop_fake EXIT
trap 'exit 130' INT TERM
"$tmp/fake_st2" --control "$token" > "$tmp/fake.url" 2> "$tmp/fake.err" &
fake_pid=$!
url=
for _ in $(seq 100); do
    url=$(head -n 1 "$tmp/fake.url")
    case $url in http://*/v1) break ;; esac
    kill -0 "$fake_pid" 2>/dev/null || break
    sleep 0.05
done
case $url in
http://*/v1) ;;
*) cat "$tmp/fake.err" >&2; die "fake_st2 did not print its URL" ;;
esac
# st2 CMD [ARG...]: CMD on the st2 path (the URL wins over AUTOSCALE_DB)
st2() { /usr/bin/env ST2_ACTION_API_URL="$url" ST2_AUTH_TOKEN="$token" "$@"; }

# -- one group in each store: the spec, 3 nodes, an incident, 2 events -----------
say "setting up a group in each store"
once "asg_define (embedded)" "$bin/asg_define" --name=web --compute_provider=local
once "seeding the embedded store" "$python" "$store" seed web
once "asg_define (st2)" st2 "$bin/asg_define" --name=web --compute_provider=local
once "seeding the st2 store" st2 "$python" "$store" seed web
# The embedded peer reads its own copy of the store: a read-only SQLite
# connection leaves -wal and -shm behind, which would change what each
# asg_get run finds at open and close.
once "copying the embedded store" "$python" "$store" copy "$tmp/peer.db"

# asg_get and its peer must print the same bytes, and the group must be there.
once "asg_get (embedded)" "$bin/asg_get" --name=web
expect "asg_get (embedded)" '"counts":{"total":3,'
cp "$tmp/once.out" "$tmp/get_emb.out"
once "peer (embedded)" /usr/bin/env AUTOSCALE_DB="$tmp/peer.db" "$python" "$peer" --name=web
cmp -s "$tmp/get_emb.out" "$tmp/once.out" || {
    say "the Python peer's output differs from asg_get's (embedded store):"
    diff "$tmp/get_emb.out" "$tmp/once.out" >&2 || true
    exit 1
}
once "stats" st2 "$python" "$store" stats
before=$(cat "$tmp/once.out")
once "asg_get (st2)" st2 "$bin/asg_get" --name=web
expect "asg_get (st2)" '"counts":{"total":3,'
cp "$tmp/once.out" "$tmp/get_st2.out"
once "stats" st2 "$python" "$store" stats
get_reqs=$(printf '%s %s\n' "$before" "$(cat "$tmp/once.out")" |
    awk '{ print $5 - $1 "/" $6 - $2 "/" $7 - $3 "/" $8 - $4 }')
before=$(cat "$tmp/once.out")
once "peer (st2)" st2 "$python" "$peer" --name=web
cmp -s "$tmp/get_st2.out" "$tmp/once.out" || {
    say "the Python peer's output differs from asg_get's (st2 path):"
    diff "$tmp/get_st2.out" "$tmp/once.out" >&2 || true
    exit 1
}
once "stats" st2 "$python" "$store" stats
peer_reqs=$(printf '%s %s\n' "$before" "$(cat "$tmp/once.out")" |
    awk '{ print $5 - $1 "/" $6 - $2 "/" $7 - $3 "/" $8 - $4 }')
[ "$get_reqs" = "$peer_reqs" ] ||
    die "the st2 peer made other requests than asg_get (GET/PUT/DEL/list $peer_reqs, not $get_reqs)"

# -- table 1 -------------------------------------------------------------------------
# The st2 rows get their variables from the harness's NAME=VALUE words (no
# /usr/bin/env hop: its exec would cost as much as the floor itself).
say "table 1: $runs runs of each of 7 commands, interleaved (~$((runs / 4)) s)"
"$harness" -n "$runs" -w "$warmup" \
    ::: hello "$tmp/hello" \
    ::: true /bin/true \
    ::: asg_get "$bin/asg_get" --name=web \
    ::: asg_get_st2 ST2_ACTION_API_URL="$url" ST2_AUTH_TOKEN="$token" \
        "$bin/asg_get" --name=web \
    ::: peer AUTOSCALE_DB="$tmp/peer.db" "$python" "$peer" --name=web \
    ::: peer_st2 ST2_ACTION_API_URL="$url" ST2_AUTH_TOKEN="$token" \
        "$python" "$peer" --name=web \
    ::: python "$python" -c 'import json' > "$tmp/harness.out"

# -- table 2: the actions on the st2 path ----------------------------------------
# label|arguments|what its output must contain (the no-op it is here)
cat > "$tmp/actions.txt" <<'EOF'
asg_get|asg_get --name=web|"counts":{"total":3,
asg_list|asg_list|"count":1,
node_list|node_list --name=web|"count":3,
asg_define|asg_define --name=web --compute_provider=local|"created":false
asg_update|asg_update --name=web --min=3|"updated":false,"changed":[]
governor_tick|governor_tick|"dry_run":true
node_pick|node_pick --name=web --count=1|"nodes":[]
lease_release|lease_release --name=web|"released":false
reconcile|reconcile --name=web|"fixed":false
lb_sync|lb_sync --name=web|"changed":false
lb_add|lb_add --name=web --node=web-00000001|"changed":false
lb_remove|lb_remove --name=web --node=web-00000001|"changed":false
dns_register|dns_register --name=web --node=web-00000001|"changed":false
dns_unregister|dns_unregister --name=web --node=web-00000001|"changed":false
notify|notify --name=web --event=scale_out|"delivered":false
EOF

say "table 2: checking each action once"
once "dump" st2 "$python" "$store" dump
cp "$tmp/once.out" "$tmp/dump.before"
: > "$tmp/requests.txt"
set --
n_actions=0
while IFS='|' read -r label args want; do
    once "stats" st2 "$python" "$store" stats
    before=$(cat "$tmp/once.out")
    # shellcheck disable=SC2086 # args is split on purpose
    once "$label (st2)" st2 "$bin/"$args
    expect "$label (st2)" "$want"
    once "stats" st2 "$python" "$store" stats
    printf '%s %s %s\n' "$label" "$before" "$(cat "$tmp/once.out")" |
        awk '{ print $1, $6 - $2 "/" $7 - $3 "/" $8 - $4 "/" $9 - $5 }' >> "$tmp/requests.txt"
    # shellcheck disable=SC2086
    set -- "$@" ::: "$label" ST2_ACTION_API_URL="$url" \
        ST2_AUTH_TOKEN="$token" "$bin/"$args
    n_actions=$((n_actions + 1))
done < "$tmp/actions.txt"
set -- "$@" ::: python "$python" -c 'import json'
once "dump" st2 "$python" "$store" dump
cmp -s "$tmp/dump.before" "$tmp/once.out" || {
    say "an action changed the st2 store; it cannot be timed as a repeatable no-op:"
    diff "$tmp/dump.before" "$tmp/once.out" >&2 || true
    exit 1
}

say "table 2: $runs2 runs of each of $((n_actions + 1)) commands, interleaved"
"$harness" -n "$runs2" -w 3 "$@" > "$tmp/harness2.out"
once "dump" st2 "$python" "$store" dump
cmp -s "$tmp/dump.before" "$tmp/once.out" || {
    say "the st2 store changed while the actions were timed:"
    diff "$tmp/dump.before" "$tmp/once.out" >&2 || true
    exit 1
}
stop_fake

# -- the report ------------------------------------------------------------------------
# field FILE LABEL KEY: one value from a harness output
field() {
    awk -v label="$2" -v key="$3" '
        $1 == "label=" label {
            for (i = 2; i <= NF; i++) {
                split($i, kv, "=")
                if (kv[1] == key) { print kv[2]; exit }
            }
        }' "$1"
}
f1() { field "$tmp/harness.out" "$@"; }
f2() { field "$tmp/harness2.out" "$@"; }
# calc EXPR: awk arithmetic / formatting
calc() { awk "BEGIN { $1 }"; }
verdict() { calc "print ($1) ? \"PASS\" : \"MISS\""; }

py=$(f1 python median_ms)
hello=$(f1 hello median_ms)
row1() { # LABEL DISPLAY [HELLO_LABEL]: the hello run the same way
    med=$(f1 "$1" median_ms)
    base=$(f1 "${3:-hello}" median_ms)
    printf '| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %s | %s |\n' "$2" \
        "$med" "$(f1 "$1" p90_ms)" "$(f1 "$1" min_ms)" \
        "$(f1 "$1" cpu_median_ms)" "$(f1 "$1" rss_max_mib)" \
        "$(calc "printf \"%.1fx\", $py / $med")" \
        "$(calc "printf \"%.2fx\", $med / $base")"
}
emb=$(f1 asg_get median_ms)
emb_kib_got=$(f1 asg_get rss_max_kib)
s2=$(f1 asg_get_st2 median_ms)
s2_kib_got=$(f1 asg_get_st2 rss_max_kib)
emb_hello=$(calc "printf \"%.2f\", $emb / $hello")
emb_py=$(calc "printf \"%.1f\", $py / $emb")
s2_py=$(calc "printf \"%.1f\", $py / $s2")
vs_peer=$(calc "printf \"%.1f\", $(f1 peer median_ms) / $emb")
vs_peer_st2=$(calc "printf \"%.1f\", $(f1 peer_st2 median_ms) / $s2")
cpu_emb_py=$(calc "printf \"%.1f\", $(f1 python cpu_median_ms) / $(f1 asg_get cpu_median_ms)")
cpu_s2_py=$(calc "printf \"%.1f\", $(f1 python cpu_median_ms) / $(f1 asg_get_st2 cpu_median_ms)")

py2=$(f2 python median_ms)
row2() { # LABEL ARGS REQUESTS
    med=$(f2 "$1" median_ms)
    kib=$(f2 "$1" rss_max_kib)
    r=$(calc "printf \"%.1f\", $py2 / $med")
    fast=$(verdict "$r >= $st2_vs_py")
    small=$(verdict "$kib <= $st2_kib")
    # shellcheck disable=SC2016 # the backquotes are markdown
    printf '| `%s` | %s | %.2f | %.2f | %.2f | %sx | %s | %s |\n' "$2" "$3" "$med" \
        "$(f2 "$1" cpu_median_ms)" "$(f2 "$1" rss_max_mib)" "$r" "$fast" "$small"
}
table2=$tmp/table2.md
while IFS='|' read -r label args want; do
    row2 "$label" "$args" "$(awk -v l="$label" '$1 == l { print $2 }' "$tmp/requests.txt")"
done < "$tmp/actions.txt" > "$table2"
met=$(grep -c '| PASS | PASS |$' "$table2" || true)

pyver=$("$python" -c 'import platform; print(platform.python_version())')
harness_kib=$(sed -n 's/^harness rss_self_kib=//p' "$tmp/harness.out")

# shellcheck disable=SC2016 # the backquotes below are markdown
cat <<EOF
## What an action costs, on both datastore paths (issues #2, #14)

One group \`web\` in each store: its spec (from \`asg_define\`), 3 active
nodes, a closed incident and 2 scaling events (bench/startup_store.py). The
**embedded** path reads the SQLite file \`AUTOSCALE_DB\`; the **st2** path is
what every action takes under StackStorm: st2's key-value API over HTTP
(\`ST2_ACTION_API_URL\`, \`ST2_AUTH_TOKEN\`), served here by
tests/fakes' \`fake_st2\` on 127.0.0.1.

### asg_get beside its floor, its Python peer and Python

$runs runs of each after $warmup warm-up rounds, interleaved round-robin in
one run of bench/harness.c, so machine noise hits all alike.

| command | median ms | p90 ms | min ms | CPU median ms | peak RSS MiB | ratio vs python | x static hello |
|---|---:|---:|---:|---:|---:|---:|---:|
$(row1 hello '`static C hello` (the floor)')
$(row1 true '`/bin/true`')
$(row1 asg_get '`asg_get --name=web`, embedded')
$(row1 asg_get_st2 '`asg_get --name=web`, st2 path')
$(row1 peer '`peer_asg_get.py --name=web`, embedded')
$(row1 peer_st2 '`peer_asg_get.py --name=web`, st2 path')
$(row1 python "\`python3 -c 'import json'\` (the reference)")

Targets (issue #14):

| path | target | measured | result |
|---|---|---:|---|
| embedded | median at most ${emb_vs_hello}x the static hello's | ${emb_hello}x | $(verdict "$emb_hello <= $emb_vs_hello") |
| embedded | at least ${emb_vs_py}x faster than python (median) | ${emb_py}x | $(verdict "$emb_py >= $emb_vs_py") |
| embedded | peak RSS at most 2 MiB ($emb_kib KiB) | $emb_kib_got KiB | $(verdict "$emb_kib_got <= $emb_kib") |
| st2 | at least ${st2_vs_py}x faster than python (median) | ${s2_py}x | $(verdict "$s2_py >= $st2_vs_py") |
| st2 | peak RSS at most 4 MiB ($st2_kib KiB) | $s2_kib_got KiB | $(verdict "$s2_kib_got <= $st2_kib") |

### Every repeatable action on the st2 path

$runs2 runs of each after 3 warm-up rounds, interleaved in a second harness
run with the same Python reference (median $(calc "printf \"%.2f\", $py2") ms
there). Requests: what one run asks the API (GET/PUT/DELETE/list, from the
fake's counters). Targets (issue #14): at least ${st2_vs_py}x faster than
python, peak RSS at most 4 MiB. **$met of $n_actions actions meet both.**

| action | requests G/P/D/L | median ms | CPU median ms | peak RSS MiB | ratio vs python | >= ${st2_vs_py}x | <= 4 MiB |
|---|---:|---:|---:|---:|---:|---|---|
$(cat "$table2")

Notes:

- Wall time is CLOCK_MONOTONIC around posix_spawn .. wait4, stdout drained
  through a pipe (as st2's runner reads it); CPU is the child's user + system
  time; peak RSS is the largest \`ru_maxrss\` of all runs. That figure counts
  the harness's pages, which the child shares until it execs, so nothing is
  below the hello rows (the harness's own peak: $harness_kib KiB).
- Every command is spawned directly; the st2 rows get their two variables
  from the harness (\`NAME=VALUE\` words before the command, bench/README.md),
  not through \`/usr/bin/env\`, whose own exec (0.6-0.9 ms) would be on
  both sides of the "x static hello" ratio and flatten it towards 1.
- Ratio vs python = python median / row median: higher is faster. By CPU
  median, which a busy machine disturbs less, asg_get is ${cpu_emb_py}x
  (embedded) and ${cpu_s2_py}x (st2) faster than python.
- The Python peer (bench/peer_asg_get.py) does asg_get's job in Python with
  the standard library: the same keys read the same way (\`sqlite3\` on the
  file opened read-only; \`http.client\` on one kept-alive connection, the
  requests of lib/store/ds_st2.c: $get_reqs G/P/D/L for both, checked) and
  the same JSON document, byte for byte (checked before timing). It checks
  less than asg_get (the spec is printed as stored). asg_get is
  ${vs_peer}x faster than its peer on the embedded store, ${vs_peer_st2}x on
  the st2 path. The embedded peer reads a copy of the store (a read-only
  SQLite connection leaves -wal and -shm files behind, which would change
  what each asg_get run finds).
- The st2 API is a C fake (libmicrohttpd) on this machine, sharing its
  $(nproc) CPU(s): a real st2 (Python, MongoDB) answers each request more
  slowly, which both asg_get and the peer would pay alike.
- Table 2 holds every action that runs here with no cloud and leaves the
  store as it was (its output checked for the no-op, the whole store
  compared before and after all the runs): \`asg_define\` of the existing
  spec, \`asg_update\` to the same min (both take and free the spec lock),
  \`governor_tick\` (a dry run: \`act\` is false by default; it has no
  \`--dry_run\`), \`node_pick\` with the group at its min (picks none),
  \`lease_release\` with no lease, \`reconcile\` without \`fix\` (local
  provider, an empty registry in BENCH_TMP), the \`lb_*\`/\`dns_*\` actions
  with provider none, \`notify\` with notifications off. Left out:
  \`add_node\`/\`remove_node\` (make and destroy machines: processes with
  the local provider), \`alert_event\` and \`scaling_record\` (each run
  writes an incident or event record), \`asg_retire\`/\`asg_forget\` (end
  the group), \`chef_bootstrap\`/\`chef_cleanup\` (SSH to a node and a Chef
  server; the separate autoscale_chef binary).
- Python is \`$python\` (Python $pyver), not whatever \`python3\` is on
  PATH: a pyenv shim would add a shell and pyenv's own start-up.
- The binaries measured are copies of actions/bin's, and of
  build/release/tests/fake_st2, taken at the start, so a concurrent rebuild
  cannot swap them mid-run. Every run of every command exited 0 (the harness
  stops at the first that does not). Environment: no ST2_* or AUTOSCALE_*
  variable except AUTOSCALE_DB, AUTOSCALE_LOCAL_DIR and, on the st2 rows,
  ST2_ACTION_API_URL and ST2_AUTH_TOKEN.
EOF

# the same numbers, machine-readable, for whoever wants to diff runs
echo
echo "<details><summary>harness output</summary>"
echo
echo '```'
cat "$tmp/harness.out"
echo
cat "$tmp/harness2.out"
echo '```'
echo
echo "</details>"
