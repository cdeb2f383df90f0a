#!/bin/sh
# Add up the closing lines of several tests/run.sh logs into the one plain
# line CI reads: "check: N passed, M failed".
passed=0; failed=0
for log in "$@"; do
    line=$(grep -E '^tests: [0-9]+ passed, [0-9]+ failed$' "$log" 2>/dev/null | tail -n 1)
    if [ -z "$line" ]; then failed=$((failed + 1)); echo "no test summary in $log"; continue; fi
    p=$(echo "$line" | sed 's/^tests: \([0-9]*\) passed.*/\1/')
    f=$(echo "$line" | sed 's/.* \([0-9]*\) failed$/\1/')
    passed=$((passed + p)); failed=$((failed + f))
done
echo "check: $passed passed, $failed failed"
