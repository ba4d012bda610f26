#!/usr/bin/env bash
# Runs the whole suite under ThreadSanitizer in its own build folder (.build-tsan), so the
# normal build is untouched. Takes a few minutes on 2 cores. Exits non-zero on any test
# failure or any ThreadSanitizer report.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
swift test --sanitize=thread --scratch-path .build-tsan 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
reports=$(grep -c "WARNING: ThreadSanitizer" "$log" || true)
totals=$(grep -E '^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?' "$log" | tail -1)
rm -f "$log"
echo "ThreadSanitizer: ${reports} reports; ${totals}"
[ "$status" -eq 0 ] && [ "$reports" -eq 0 ]
