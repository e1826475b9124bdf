#!/bin/bash
# light_rpc.sh - what `fragscope stat --mode light -p PID` costs a busy server:
# tools/rpcwork driven at full speed (one worker per CPU), its own requests/s ("rate"
# line of its log) with and without fragscope attached, runs interleaved (the order
# alternates each round), medians. Needs root and `make all tools`. Run by hand:
#   bench/light_rpc.sh [ROUNDS] [MODES]      (default 7 rounds, MODES "none light")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FS=$ROOT/fragscope
RW=$ROOT/.output/tools/rpcwork
ROUNDS=${1:-7}
MODES=${2:-none light}
THREADS=${THREADS:-$(nproc)}
REQUESTS=${REQUESTS:-200000}
TMP=$(mktemp -d /tmp/light-rpc.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

wait_for() { local i; for ((i = 0; i < ${2:-100}; i++)); do eval "$1" && return 0; sleep 0.1; done; return 1; }

# one MODE: prints requests/s
one() {
	local mode=$1 log=$TMP/rw.log ready=$TMP/rw.ready wpid fpid=
	rm -f "$log" "$ready"
	"$RW" --threads "$THREADS" --requests "$REQUESTS" --burst 64 --wait --hold --ready "$ready" --log "$log" &
	wait_for "[ -s '$ready' ]" || return 1
	wpid=$(cat "$ready")
	if [ "$mode" != none ]; then
		"$FS" -v stat --mode "$mode" -p "$wpid" -d 600 > "$TMP/fs.out" 2> "$TMP/fs.err" &
		fpid=$!
		wait_for "grep -qs 'tracing PID' '$TMP/fs.err'" 300 || { kill -9 $fpid $wpid; return 1; }
	fi
	kill -USR1 "$wpid"
	wait_for "grep -qs '^rate' '$log'" 3000 || return 1
	[ -n "$fpid" ] && { kill -INT $fpid; wait $fpid; }
	kill -USR2 "$wpid"; wait "$wpid" 2>/dev/null
	awk '$1 == "rate" { print $2 }' "$log"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -A all
for ((r = 1; r <= ROUNDS; r++)); do
	order=$MODES
	((r % 2)) || order=$(echo $MODES | tr ' ' '\n' | tac | tr '\n' ' ')
	for m in $order; do
		v=$(one "$m") || { echo "round $r $m: failed" >&2; continue; }
		all[$m]+="$v "
		echo "round $r $m: $v requests/s" >&2
	done
done
base=$(echo ${all[none]} | tr ' ' '\n' | median)
for m in $MODES; do
	med=$(echo ${all[$m]} | tr ' ' '\n' | median)
	printf '%-6s median %s requests/s (%s)  %s\n' "$m" "$med" "$(echo ${all[$m]})" \
		"$(awk -v a="$med" -v b="$base" 'BEGIN { if (b > 0) printf "%.1f%% of none", 100 * a / b }')"
done
