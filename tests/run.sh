#!/bin/sh
# Run test programs and print one closing line: "tests: N passed, M failed".
# usage: tests/run.sh DIR prog... ; each prog is a cmocka program in DIR, or a
# path ending in .py: a Python unittest file run with /usr/bin/python3.
# cmocka prints its summary on stderr, so both streams are merged and shown.
dir=$1; shift
passed=0; failed=0; broken=""
for t in "$@"; do
    case "$t" in
    *.py)
        out=$(/usr/bin/python3 -m unittest -v "$t" 2>&1); rc=$?
        printf '%s\n' "$out"
        n=$(printf '%s\n' "$out" | sed -n 's/^Ran \([0-9]*\) test.*/\1/p' | tail -n 1)
        f=$(printf '%s\n' "$out" | sed -n 's/^FAILED (\(.*\))$/\1/p' | tr ',' '\n' |
            sed -n 's/.*=\([0-9]*\)/\1/p' | awk '{s+=$1} END {print s+0}')
        p=$(( ${n:-0} - ${f:-0} ))
        [ "${f:-0}" -gt 0 ] || f="" ;;
    *)
        out=$("$dir/$t" 2>&1); rc=$?
        printf '%s\n' "$out"
        p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
        f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1) ;;
    esac
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    # a program that crashed or exited non-zero without a FAILED line still fails
    if [ $rc -ne 0 ] && [ -z "$f" ]; then failed=$((failed + 1)); broken="$broken $t"; fi
done
[ -n "$broken" ] && echo "crashed or failed without a summary:$broken"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
