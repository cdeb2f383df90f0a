#!/bin/sh
# bench/governor.bench.sh - issue #3: governor_tick (a dry run) over 100, 1,000
# and 10,000 groups with 10 nodes each on the embedded store, beside the same
# tick over an empty store (the baseline: process start, open, five empty
# listings). Prints its markdown section on stdout. Run through bench/run.sh.
set -eu

harness=${BENCH_HARNESS:?run me through bench/run.sh}
bin=${BENCH_BIN:?run me through bench/run.sh}
tmp=${BENCH_TMP:?run me through bench/run.sh}
runs=${BENCH_RUNS:-15}
[ "$runs" -gt 30 ] && runs=30 # one 10,000-group tick is long: keep it bounded

target_ms=200   # 10,000 groups
target_growth=12 # ratio of the 10,000 and 1,000 medians

cp "$bin/governor_tick" "$bin/asg_define" "$tmp/"
bin=$tmp

# populate DB GROUPS: groups g00000.. with 10 active nodes each; every tenth
# group has an open critical incident, so decisions are not all alike. The
# rows go straight into the store's table in one transaction: creating
# 110,000 records through actions would take minutes and measure nothing new.
populate() {
    db=$1 n=$2
    AUTOSCALE_DB=$db "$bin/asg_define" --name=seed --compute_provider=local > /dev/null 2>&1
    awk -v n="$n" 'BEGIN {
        print "BEGIN;";
        print "DELETE FROM kv;";
        for (g = 0; g < n; g++) {
            name = sprintf("g%05d", g);
            printf "INSERT INTO kv VALUES(\x27autoscale.spec.%s\x27,\x27{\"name\":\"%s\",\"min\":3,\"max\":20,\"created_at\":1,\"updated_at\":1,\"status\":\"active\"}\x27,NULL);\n", name, name;
            for (k = 0; k < 10; k++)
                printf "INSERT INTO kv VALUES(\x27autoscale.node.%s.%s-n%02d\x27,\x27{\"name\":\"%s-n%02d\",\"state\":\"active\",\"created_at\":1}\x27,NULL);\n", name, name, k, name, k;
            if (g % 10 == 0)
                printf "INSERT INTO kv VALUES(\x27autoscale.incident.%s.i%d\x27,\x27{\"id\":\"i%d\",\"state\":\"open\",\"severity\":\"critical\",\"opened_at\":2000000000}\x27,NULL);\n", name, g, g;
        }
        print "COMMIT;";
    }' | sqlite3 "$db"
}

for n in 0 100 1000 10000; do
    echo "governor: populating $n groups" >&2
    populate "$tmp/g$n.db" "$n"
    out=$(AUTOSCALE_DB="$tmp/g$n.db" AUTOSCALE_TEST_NOW=2000000100 "$bin/governor_tick") || {
        echo "governor: tick over $n groups failed: $out" >&2; exit 1; }
    echo "$out" | grep -q "\"evaluated\":$n," || {
        echo "governor: tick over $n groups did not evaluate $n: $(echo "$out" | head -c 300)" >&2
        exit 1; }
done

echo "governor: $runs runs of each size, interleaved" >&2
AUTOSCALE_TEST_NOW=2000000100 "$harness" -n "$runs" -w 2 \
    ::: empty /usr/bin/env AUTOSCALE_DB="$tmp/g0.db" "$bin/governor_tick" \
    ::: g100 /usr/bin/env AUTOSCALE_DB="$tmp/g100.db" "$bin/governor_tick" \
    ::: g1000 /usr/bin/env AUTOSCALE_DB="$tmp/g1000.db" "$bin/governor_tick" \
    ::: g10000 /usr/bin/env AUTOSCALE_DB="$tmp/g10000.db" "$bin/governor_tick" \
    > "$tmp/harness.out"

field() {
    awk -v label="$1" -v key="$2" '
        $1 == "label=" label {
            for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) { print kv[2]; exit } }
        }' "$tmp/harness.out"
}
calc() { awk "BEGIN { $1 }"; }
verdict() { calc "print ($1) ? \"PASS\" : \"MISS\""; }

base=$(field empty median_ms)
row() { # LABEL GROUPS
    med=$(field "$1" median_ms)
    printf '| %s | %s | %.1f | %.1f | %.1f | %.2f | %s |\n' "$2" "$(( $2 * 11 ))" "$med" \
        "$(field "$1" cpu_median_ms)" "$(calc "printf \"%.1f\", $med - $base")" \
        "$(field "$1" rss_max_mib)" \
        "$(calc "printf \"%.1fx\", $med / $base")"
}
m1k=$(field g1000 median_ms)
m10k=$(field g10000 median_ms)
growth=$(calc "printf \"%.1f\", ($m10k - $base) / ($m1k - $base)")
growth_raw=$(calc "printf \"%.1f\", $m10k / $m1k")

cat <<EOF
## Governor tick over many groups (issue #3)

\`governor_tick (a dry run)\` over stores of 100, 1,000 and 10,000 groups with
10 active nodes each (every tenth group in critical alert), beside the same
tick over an empty store (the baseline: start, open, five empty listings).
$runs runs of each, interleaved.

| groups | records | median ms | CPU median ms | above baseline ms | peak RSS MiB | ratio vs empty |
|---:|---:|---:|---:|---:|---:|---:|
$(row empty 0)
$(row g100 100)
$(row g1000 1000)
$(row g10000 10000)

| target | measured | result |
|---|---:|---|
| 10,000 groups under $target_ms ms (median) | $(calc "printf \"%.1f ms\", $m10k") | $(verdict "$m10k < $target_ms") |
| linear growth: 10,000/1,000 under $target_growth | ${growth_raw} (${growth} above the baseline) | $(verdict "$growth_raw < $target_growth") |

Notes:

- The tick reads every group with five prefix listings (specs, nodes,
  incidents, events, leases), not one query per group, then decides each
  group in memory; its output is one decision per group.
- Records are inserted directly into the embedded store's table; the tick
  runs with \`AUTOSCALE_TEST_NOW\` pinned so every run decides alike.
- Each command runs through \`/usr/bin/env\` to select its store; the
  baseline pays the same.
