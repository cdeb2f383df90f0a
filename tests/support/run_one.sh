#!/bin/sh
# Run one test program for tests/run.sh and keep what it did.
# usage: tests/support/run_one.sh TREE/test-logs/PROG.log
#
# PROG is a cmocka program in TREE/tests, or a path ending in .py: a Python
# unittest file run with /usr/bin/python3. Its stdout and stderr (cmocka
# prints its summary on stderr) go to the log; one line goes to LOG.res:
#   <passed> <failed> <exit status> <seconds> <1 if it failed without a summary> <CPU seconds>
# and one progress line to stdout. Exits 0 whatever the tests did, so that
# make -k runs every other program; tests/run.sh reports.
#
# With TEST_NETNS=1 the program runs in a network namespace of its own (as
# root; tests/run.sh checks that unshare works): its servers' ports and the
# local compute provider's 127.0.x.y:port nodes can then never collide with
# another program's running at the same time. The programs that change the
# machine itself run one at a time, whichever test run they belong to.
log=$1
tree=${log%%/test-logs/*}
prog=${log#*/test-logs/}
prog=${prog%.log}
AUTOSCALE_BIN_DIR=$(cat "$tree/test-logs/.bindir") || exit 1
AUTOSCALE_TEST_DIR=$(cd "$tree/tests" && pwd) || exit 1
export AUTOSCALE_BIN_DIR AUTOSCALE_TEST_DIR
# The pool's make is no business of the tests (some run make themselves).
unset MAKEFLAGS MFLAGS MAKELEVEL

case $prog in
*.py) set -- /usr/bin/python3 -m unittest -v "$prog" ;;
*) set -- "$tree/tests/$prog" ;;
esac
case $prog in
tests/pack/test_install.py) # creates and removes the user stanley, the group st2packs
    set -- flock /tmp/autoscale-tests-machine.lock "$@" ;;
esac
if [ "${TEST_NETNS:-0}" = 1 ]; then
    # A new namespace's loopback is down: bring it up (SIOCGIFFLAGS, then
    # SIOCSIFFLAGS with IFF_UP), then become the test program.
    set -- unshare --net -- /usr/bin/python3 -c '
import fcntl, os, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
name, flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", b"lo", 0))[:18])
fcntl.ioctl(s, 0x8914, struct.pack("16sH", name, flags | 1))
s.close()
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
fi

start=$(date +%s%N)
"$@" >"$log" 2>&1 </dev/null
rc=$?
end=$(date +%s%N)
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
# The CPU time of the program and every process it waited for: the
# second line of `times` (run here: a subshell would count its own).
times >"$log.cpu"
cpu=$(awk 'NR == 2 { gsub(/[ms]/, " "); printf "%.1f", $1 * 60 + $2 + $3 * 60 + $4 }' "$log.cpu")
rm -f "$log.cpu"

sum() { awk '{ s += $1 } END { print s + 0 }'; }
case $prog in
*.py)
    ran=$(sed -n 's/^Ran \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
    # FAILED (failures=1, errors=2, skipped=3): skipped ones count as passed
    failed=$(sed -n 's/^FAILED (\(.*\))$/\1/p' "$log" | tail -n 1 | tr ',' '\n' |
        sed -n 's/^ *\(failures\|errors\|unexpected successes\)=\([0-9]*\)$/\2/p' | sum)
    passed=$((${ran:-0} - failed))
    [ "$passed" -ge 0 ] || passed=0 ;; # an error in setUpClass is counted, not run
*)
    # Every group's summary, in case a program runs several.
    passed=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | sum)
    failed=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | sum) ;;
esac
# A program that crashed or exited non-zero without a failure counted
# still fails, once.
broken=0
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    broken=1
    failed=1
fi
echo "$passed $failed $rc $secs $broken $cpu" >"$log.res"

name=$(basename "$tree")
if [ "$failed" -gt 0 ]; then word=FAIL; else word=ok; fi
printf '  %-5s %-8s %s (%s s, CPU %s s)\n' "$word" "$name" "$prog" "$secs" "$cpu"
exit 0
