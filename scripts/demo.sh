#!/bin/sh
# demo - `make demo`: the whole lifecycle (create, alert, scale out,
# self-heal, recover, scale on a metric, rolling refresh, decommission) on
# this machine, with the pack's own rules, sensor,
# workflows and policies run by tests/st2lite. See demo/lifecycle.py.
# Needs the packages of deps/build-packages.txt and deps/test-packages.txt (make demo installs them as
# root) and the built actions (make demo builds them first).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
unset ST2_ACTION_API_URL ST2_API_URL ST2_ACTION_AUTH_TOKEN ST2_AUTH_TOKEN || true
exec /usr/bin/python3 "$here/demo/lifecycle.py" "$@"
