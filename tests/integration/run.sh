#!/bin/bash
# run.sh - every integration test file (test_*.sh), each bounded in time. Needs root.
cd "$(dirname "$0")" || exit 1
if [ "$(id -u)" != 0 ]; then
	echo "FAIL integration: needs root"
	exit 1
fi
for t in test_*.sh; do
	echo "-- $t"
	timeout 900 bash "$t" || echo "FAIL $t: exited $?"
done
