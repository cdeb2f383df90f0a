#!/bin/sh
# demo - the quick start on the embedded defaults: create a group in a fresh
# embedded store, read it back, list it, and delete it, printing each step.
# (The whole five-phase lifecycle replaces this once the workflows land.)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/actions/bin"
dir=$(mktemp -d /tmp/autoscale-demo.XXXXXX)
trap 'rm -rf "$dir"' EXIT
export AUTOSCALE_DB="$dir/autoscale.db"
unset ST2_ACTION_API_URL ST2_API_URL ST2_ACTION_AUTH_TOKEN ST2_AUTH_TOKEN || true

step() { printf '\n== %s\n$ %s\n' "$1" "$2"; }
run() { "$@"; }

step "phase 0: create a group (min 2, max 6)" "asg_create --name=demo --min=2 --max=6"
run "$bin/asg_create" --name=demo --min=2 --max=6
step "create it again: idempotent (created=false)" "asg_create --name=demo --min=2 --max=6"
run "$bin/asg_create" --name=demo --min=2 --max=6
step "read it back" "asg_get --name=demo"
run "$bin/asg_get" --name=demo
step "change its scale-out cooldown" "asg_update --name=demo --scale_out_cooldown=60"
run "$bin/asg_update" --name=demo --scale_out_cooldown=60
step "every group" "asg_list"
run "$bin/asg_list"
step "bad input is refused with a JSON error and exit 2" "asg_create --name='demo;reboot'"
if "$bin/asg_create" --name='demo;reboot'; then echo "UNEXPECTED: accepted"; exit 1; fi
step "phase 4: delete the group" "asg_delete --name=demo"
run "$bin/asg_delete" --name=demo
printf '\ndemo: done (store was %s, now removed)\n' "$AUTOSCALE_DB"
