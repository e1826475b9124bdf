#!/bin/bash
# run.sh - the whole suite: the layering check, unit tests (no root), then integration tests (root).
# Ends with one line "N passed, M failed"; exits non-zero if anything failed.
cd "$(dirname "$0")/.." || exit 1
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== layers (tools/check-layers.sh: which folder of user/ may include which)"
if tools/check-layers.sh > "$log.layers" 2>&1; then
	cat "$log.layers"
	echo "PASS layers" | tee -a "$log"
else
	cat "$log.layers"
	echo "FAIL layers: $(grep -v -e '^layers:' -e 'known, being fixed' "$log.layers" | head -3 | tr '\n' ' ')" | tee -a "$log"
fi
rm -f "$log.layers"

echo "== unit tests"
.output/unit/run_unit 2>&1 | tee -a "$log"
echo "== integration tests"
timeout 1200 tests/integration/run.sh 2>&1 | tee -a "$log"

echo "== benchmark smoke run (every variant once, tiny N; no time is asserted)"
if timeout 300 make -s --no-print-directory bench-quick > "$log.bench" 2>&1; then
	echo "PASS bench_quick" | tee -a "$log"
else
	echo "FAIL bench_quick: $(tail -3 "$log.bench" | tr '\n' ' ')" | tee -a "$log"
fi
rm -f "$log.bench"

passed=$(grep -c '^PASS ' "$log")
failed=$(grep -c '^FAIL ' "$log")
echo
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
