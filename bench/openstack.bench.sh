#!/bin/sh
# bench/openstack.bench.sh - issue #4: requests per add_node and remove_node
# against the OpenStack fake, with the provider's own poll interval.
# Target: one token, one create, no more polls than the fake's states need.
set -eu
root=${BENCH_ROOT:?run me through bench/run.sh}
tmp=${BENCH_TMP:?run me through bench/run.sh}
progs=${BENCH_PROGS:?run me through bench/run.sh} # make bench-progs built it
echo "openstack: one add_node + remove_node against the fake" >&2
AUTOSCALE_LOG_LEVEL=error "$progs/openstack_requests" "$tmp/os.db" > "$tmp/out"
val() { # PHASE KEY
    awk -v phase="phase=$1" -v key="$2" '$1 == phase {
        for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) print kv[2] } }' "$tmp/out"
}
poll=$(sed -n 's/^poll_ms=\([0-9]*\).*/\1/p' "$tmp/out")
row() {
    printf '| `%s` | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(val "$1" auth)" \
        "$(val "$1" list)" "$(val "$1" create)" "$(val "$1" get)" "$(val "$1" delete)" \
        "$(val "$1" total)" "$(val "$1" seconds)"
}
a_auth=$(val add_node auth); a_create=$(val add_node create); a_get=$(val add_node get)
verdict() { [ "$1" = "$2" ] && echo PASS || echo MISS; }
# The fake answers BUILD twice, then ACTIVE: three looks at the most, and a
# poll that starts short and backs off must not look more often than that.
cat <<EOF
## Requests per node against the OpenStack fake (issue #4)

One \`add_node\` then one \`remove_node\` through lib/compute/nodes.c against the
stateful Keystone + Nova fake (tests/fakes/fake_openstack.c), whose servers
answer BUILD for 2 polls before ACTIVE and "deleting" for 1 poll before 404.
Polls back off up to ${poll} ms (the provider's default ceiling): the first after 1 s (lib/compute/compute_openstack.c, poll_first_ms).

| call | token requests | find (list) | create | get (polls) | delete | all requests | wall s |
|---|---:|---:|---:|---:|---:|---:|---:|
$(row add_node)
$(row remove_node)

| target | measured | result |
|---|---:|---|
| one token per run | $a_auth | $(verdict "$a_auth" 1) |
| one create per add | $a_create | $(verdict "$a_create" 1) |
| no more looks than the fake's states need (BUILD, BUILD, ACTIVE) | $a_get | $(verdict "$a_get" 3) |

Notes: the \`find\` before the create is what makes a retried add_node find
the machine a crashed try created instead of making a second one; the token
is reused by remove_node in the same process (0 token requests).
EOF
