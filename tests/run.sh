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
# the check can fail: a copy of user/ with an upward include and a header cycle
lt=$(mktemp -d)
mkdir -p "$lt/tools" && cp -r user "$lt/" && cp tools/check-layers.sh "$lt/tools/"
echo '#include "cmd/cmd.h"' >> "$lt/user/util/log.h"
echo '#include "model/cost.h"' >> "$lt/user/model/agg.h"
out=$("$lt/tools/check-layers.sh" 2>&1)
if [ $? = 1 ] && grep -q '^user/util/log.h:[0-9]*: util/ includes cmd/cmd.h' <<<"$out" &&
   grep -q '^include cycle: .*model/agg.h -> model/cost.h' <<<"$out"; then
	echo "PASS layers_check_fails" | tee -a "$log"
else
	echo "FAIL layers_check_fails: $(tr '\n' ' ' <<<"$out" | head -c 300)" | tee -a "$log"
fi
rm -rf "$lt"

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
