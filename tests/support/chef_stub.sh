#!/bin/sh
# chef_stub.sh - the stand-in for chef-solo / chef-client on a test "node"
# (Chef itself cannot be installed here). A test copies it to <dir>/bin/<name>
# and points chef_solo_command or chef_client_command at that path.
#
# It records what it was asked in <dir>/record/:
#   argv        every argument, each followed by a NUL byte (exact bytes)
#   attrs.json  a copy of the file given with -j
#   client.rb   a copy of the file given with -c (chef-client mode)
#   env         CHEF_LICENSE and the user it ran as
#   runs        one line per run
#   pid         its process id (the deadline tests check it is killed)
# and takes its orders from <dir>/control/ (absent files: the default):
#   exit        its exit status (0)
#   sleep       seconds to sleep before finishing (none)
#   updated     resources "updated" in the closing line (2)
#   output      text printed verbatim before the closing line
#   cat         paths of files to print (one a line), as a careless tool would
d=$(cd "$(dirname "$0")/.." && pwd)
rec="$d/record"
ctl="$d/control"
mkdir -p "$rec"

: >"$rec/argv"
for a in "$@"; do
    printf '%s\0' "$a" >>"$rec/argv"
done
echo "$$" >"$rec/pid"
echo run >>"$rec/runs"
printf 'CHEF_LICENSE=%s\nUSER=%s\n' "${CHEF_LICENSE-<unset>}" "$(id -un)" >"$rec/env"

prev=
for a in "$@"; do
    case "$prev" in
    -j) cp "$a" "$rec/attrs.json" ;;
    -c) cp "$a" "$rec/client.rb" ;;
    esac
    prev=$a
done

echo "Starting Chef Infra Client, version 18.2.7 (autoscale test stub)"
echo "[stub] running as $(id -un)" >&2
[ -f "$ctl/output" ] && cat "$ctl/output"
if [ -f "$ctl/cat" ]; then
    while IFS= read -r f; do cat "$f"; done <"$ctl/cat"
fi
if [ -f "$ctl/sleep" ]; then
    touch "$rec/sleeping"
    sleep "$(cat "$ctl/sleep")"
fi
status=$(cat "$ctl/exit" 2>/dev/null || echo 0)
updated=$(cat "$ctl/updated" 2>/dev/null || echo 2)
if [ "$status" = 0 ]; then
    echo "Infra Phase complete, $updated/10 resources updated in 01 seconds"
    echo "Chef Infra Client finished, $updated/10 resources updated in 01 seconds"
else
    echo "FATAL: Chef::Exceptions::ChildConvergeError: stub run failed with status $status" >&2
fi
exit "$status"
