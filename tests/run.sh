#!/bin/sh
# Run test programs in parallel and report them.
# usage: tests/run.sh JOBS TREE=BINDIR... -- PROG...
#
# Every PROG of every build TREE runs, at most JOBS at once, the programs
# that took longest last time first (their times are kept in
# TREE/test-times); BINDIR is where TREE's actions are. A PROG is a cmocka
# program in TREE/tests, or a path ending in .py: a Python unittest file.
# Each leaves TREE/test-logs/PROG.log (tests/support/run_one.sh, which
# prints one progress line as it ends). Where `unshare --net` works (as
# root), each program runs in a network namespace of its own, so programs
# running at the same time never take each other's ports.
#
# Then, per TREE, the report, printed and kept in TREE/test-logs/report.txt:
# each program's log in the order given; the ten slowest; the closing line
# "tests: N passed, M failed" (tests/summary.sh adds these up); and, when
# something failed, the failure list (also in TREE/test-logs/failures.txt):
# each failed program, the tests that failed in it and its last lines, at
# the end where the tail of the output shows it. The exit status is
# non-zero when a test failed.
set -u

# Each failed program, the tests that failed in it, and its last lines
# (indented: no line of them reads as a closing line).
failures() { # TREE PROG...
    tree=$1
    shift
    for t in "$@"; do
        log=$tree/test-logs/$t.log
        read -r _ f rc _ broken <"$log.res" 2>/dev/null || { f=1 rc=none broken=1; }
        [ "$f" -gt 0 ] || continue
        if [ "$broken" = 1 ]; then
            echo "FAILED $tree $t: exit status $rc, crashed or failed without a summary"
        else
            echo "FAILED $tree $t: $f failed"
        fi
        # unittest names a failed test "FAIL: name (module.Class.name)",
        # cmocka twice (as it fails, and in its closing list).
        case $t in
        *.py) pattern='s/^\(FAIL\|ERROR\|UNEXPECTED SUCCESS\): \(.*\)$/  failed test: \2/p' ;;
        *) pattern='s/^\[  FAILED  \] \([^0-9 ][^ ]*\)$/  failed test: \1/p' ;;
        esac
        sed -n "$pattern" "$log" 2>/dev/null | awk '!seen[$0]++'
        echo "  last lines of $log:"
        tail -n 40 "$log" 2>/dev/null | sed 's/^/    | /'
    done
}

report() { # TREE PROG...
    tree=$1
    shift
    passed=0 failed=0
    for t in "$@"; do
        log=$tree/test-logs/$t.log
        cat "$log" 2>/dev/null || echo "no log: $log"
        read -r p f _ _ _ <"$log.res" 2>/dev/null || { p=0 f=1; }
        passed=$((passed + p))
        failed=$((failed + f))
    done
    echo "slowest programs ($tree; seconds, CPU seconds):"
    for t in "$@"; do
        read -r _ _ _ secs _ cpu <"$tree/test-logs/$t.log.res" 2>/dev/null &&
            echo "$secs ${cpu:-?} $t"
    done | sort -rn | head -n 10 | awk '{ printf "  %6.1f %6.1f  %s\n", $1, $2, $3 }'
    failures "$tree" "$@" >"$tree/test-logs/failures.txt"
    echo "tests: $passed passed, $failed failed"
    cat "$tree/test-logs/failures.txt"
}

# "<seconds> <log target>" for every program of every tree in $trees,
# longest first by the last known times; programs never timed first of all.
targets() { # PROG...
    for tree in $trees; do
        for t in "$@"; do
            secs=$(awk -v t="$t" '$2 == t { print $1 }' "$tree/test-times" 2>/dev/null)
            echo "${secs:-100000} $tree/test-logs/$t.log"
        done
    done | sort -rn -k1,1 -s
}

# This run's times, and the last known of the programs it did not run.
keep_times() { # TREE PROG...
    tree=$1
    shift
    touch "$tree/test-times"
    for t in "$@"; do
        read -r _ _ _ secs _ <"$tree/test-logs/$t.log.res" 2>/dev/null && echo "$secs $t"
    done | awk 'NR == FNR { seen[$2] = 1; print; next } !($2 in seen)' - "$tree/test-times" \
        >"$tree/test-times.new" && mv "$tree/test-times.new" "$tree/test-times"
}

if [ $# -lt 3 ]; then
    echo "usage: tests/run.sh JOBS TREE=BINDIR... -- PROG..." >&2
    exit 2
fi
jobs=$1
shift
trees=
fd=3
closefds=
while [ "$1" != -- ]; do
    tree=${1%%=*}
    mkdir -p "$tree" || exit 1
    # One run per tree at a time: a second `make test` waits instead of
    # wiping the logs of the first.
    eval "exec $fd>\"\$tree/.test-lock\""
    if ! flock -n "$fd"; then
        echo "tests: waiting for the other test run in $tree to finish"
        flock "$fd"
    fi
    closefds="$closefds $fd>&-"
    fd=$((fd + 1))
    rm -rf "$tree/test-logs"
    mkdir -p "$tree/test-logs" || exit 1
    echo "${1#*=}" >"$tree/test-logs/.bindir"
    trees="$trees $tree"
    shift
done
shift
for t in "$@"; do
    case $t in */*) for tree in $trees; do mkdir -p "$tree/test-logs/${t%/*}"; done ;; esac
done

# Without a network namespace per program (not root, or unshare refused),
# programs running at once would share ports, and the local provider's
# nodes (127.0.x.y:8080) of one program would take another's: one at a time.
TEST_NETNS=0
if [ "$(id -u)" = 0 ] && unshare --net true 2>/dev/null; then
    TEST_NETNS=1
elif [ "$jobs" != 1 ]; then
    echo "tests: one program at a time: no network namespace of their own here" \
        "(not root, or unshare --net refused)"
    jobs=1
fi
export TEST_NETNS
# The pool: make -k so one failure stops nothing; the programs that took at
# least half as long as the longest keep the CPU first (tests/support/run.mk).
# No MAKEFLAGS of an outer make (its jobserver is not this pool's), and no
# lock for the programs (a node a test left running would hold it).
order=$(targets "$@")
first=$(echo "$order" | awk 'NR == 1 { max = $1 } $1 >= max / 2 { print $2 }')
echo "tests: $(echo "$order" | wc -l) programs, $jobs at a time, longest first;" \
    "the CPU first to:" $first
eval "MAKEFLAGS= MAKELEVEL= make -f tests/support/run.mk -k -j\"\$jobs\" FIRST=\"\$first\" \
    \$(echo \"\$order\" | cut -d' ' -f2) $closefds"

status=0
for tree in $trees; do
    keep_times "$tree" "$@"
    report "$tree" "$@" >"$tree/test-logs/report.txt"
    cat "$tree/test-logs/report.txt"
    [ -s "$tree/test-logs/failures.txt" ] && status=1
done
exit $status
