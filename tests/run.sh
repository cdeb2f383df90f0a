#!/bin/sh
# Run test programs and print one closing line: "tests: N passed, M failed".
# usage: tests/run.sh DIR prog... ; each prog is a cmocka program in DIR.
# cmocka prints its summary on stderr, so both streams are merged and shown.
dir=$1; shift
passed=0; failed=0; broken=""
for t in "$@"; do
    out=$("$dir/$t" 2>&1); rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -n 1)
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    # a program that crashed or exited non-zero without a FAILED line still fails
    if [ $rc -ne 0 ] && [ -z "$f" ]; then failed=$((failed + 1)); broken="$broken $t"; fi
done
[ -n "$broken" ] && echo "crashed or failed without a summary:$broken"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
