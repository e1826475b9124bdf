# lib.sh - helpers for fragscope's integration tests (sourced; bash).
# Every test prints "PASS name" or "FAIL name: why"; run.sh counts them.

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
FS="$ROOT/fragscope"
TOOLS="$ROOT/.output/tools"
JEMALLOC=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
TMP=$(mktemp -d /tmp/fragscope-test.XXXXXX)
[ -n "${KEEP_TMP:-}" ] || trap 'rm -rf "$TMP"' EXIT

# APIs the jemalloc runs may use: glibc's pvalloc/reallocarray are not jemalloc's.
JE_APIS=malloc,calloc,realloc,posix_memalign,aligned_alloc,memalign,valloc,free_null,fail

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }

# wait_for COND_CMD [tenths]: polls a shell condition, bounded (default 10 s).
wait_for() {
	local i n=${2:-100}
	for ((i = 0; i < n; i++)); do
		eval "$1" && return 0
		sleep 0.1
	done
	return 1
}

# within A B PCT: |A - B| <= PCT% of B
within() { awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= b * p / 100) }'; }

# jget FILE FILTER: one value from a JSON document.
jget() { jq -r "$2" "$1"; }

# compare_counts NAME FS_JSON EXPECTED_JSON: every tally key against fragscope's figure.
# EXPECTED_JSON has keys allocs, frees, bytes_allocated, bytes_freed, failed_allocs,
# free_null, frees_unknown, live_count, live_bytes (and optionally functions, and
# live_usable: the sum of malloc_usable_size of the live blocks, against
# live.usable_bytes, which must then be exact).
compare_counts() {
	local name=$1 out=$2 exp=$3 diffs
	diffs=$(jq -rn --slurpfile f "$out" --slurpfile e "$exp" '
		($f[0]) as $f | ($e[0]) as $e |
		[ ["allocs", $f.totals.allocs], ["frees", $f.totals.frees],
		  ["bytes_allocated", $f.totals.bytes_allocated], ["bytes_freed", $f.totals.bytes_freed],
		  ["failed_allocs", $f.totals.failed_allocs], ["free_null", $f.totals.free_null],
		  ["frees_unknown", $f.totals.frees_unknown],
		  ["live_count", $f.live.count], ["live_bytes", $f.live.bytes] ]
		| map(select(.[1] != $e[.[0]]) | "\(.[0]) fragscope=\(.[1]) expected=\($e[.[0]])")
		+ ( if $e.functions then
			# one probe may carry several names (aligned_alloc + memalign): sum the tally over them
			[ $f.functions[] | . as $g | ([$g.name] + ($g.aliases | split(",") | map(select(. != "")))) as $names
			  | [ $e.functions | to_entries[] | select(.key as $k | $names | index($k)) | .value ] as $m
			  | select($m | length > 0)
			  | { name: $g.name, calls: ($m | map(.calls) | add), bytes: ($m | map(.bytes) | add), g: $g }
			  | select(.calls != .g.calls or .bytes != .g.bytes)
			  | "\(.name) fragscope=\(.g.calls)/\(.g.bytes) expected=\(.calls)/\(.bytes)" ]
			+ [ $e.functions | to_entries[] | select(.value.calls > 0) | .key as $k
			    | select([$f.functions[] | ([.name] + (.aliases | split(","))) | index($k)] | map(select(. != null)) | length == 0)
			    | "\($k): no such probe" ]
		    else [] end )
		+ ( if $e.live_usable == null then []
		    elif $f.live.usable_bytes != $e.live_usable then
			["live_usable fragscope=\($f.live.usable_bytes) expected=\($e.live_usable) (live bytes \($f.live.bytes))"]
		    elif $f.live.usable_exact != true then ["live usable not exact"]
		    else [] end )
		+ ( if $f.live.exact != true then ["live not exact: \($f.lost)"] else [] end )
		| join("; ")' 2>&1)
	if [ -z "$diffs" ]; then pass "$name"; else fail "$name" "$diffs"; fi
}

# add_json A B OUT: key-wise sum of the numeric top-level counts (baseline + tally);
# live_usable only when B (the tally) has it.
add_json() {
	jq -n --slurpfile a "$1" --slurpfile b "$2" '
		($a[0]) as $a | ($b[0]) as $b |
		reduce ("allocs","frees","bytes_allocated","bytes_freed","failed_allocs","free_null",
			"frees_unknown","live_count","live_bytes") as $k ({}; .[$k] = (($a[$k] // 0) + ($b[$k] // 0)))
		| if $b.live_usable != null then .live_usable = (($a.live_usable // 0) + $b.live_usable) else . end' > "$3"
}

# fs_counts_as_tally FS_JSON OUT: fragscope's figures in the tally's shape (for baselines).
fs_counts_as_tally() {
	jq '{allocs: .totals.allocs, frees: .totals.frees, bytes_allocated: .totals.bytes_allocated,
	     bytes_freed: .totals.bytes_freed, failed_allocs: .totals.failed_allocs,
	     free_null: .totals.free_null, frees_unknown: .totals.frees_unknown,
	     live_count: .live.count, live_bytes: .live.bytes, live_usable: .live.usable_bytes}' "$1" > "$2"
}

# run_cmd_case NAME ENVSPEC -- WORKLOAD ARGS...: traces the workload from its start
# twice, with the work and without (--rounds 0 / rounds arg 0), and checks that the
# difference is exactly the workload's own tally. The start-up noise of libc and
# the thread library is the same in both runs, so it cancels.
# The workload must accept --tally FILE (allocwork) or take it as its 4th arg (cxx).
run_cmd_case() {
	local name=$1 envspec=$2; shift 3
	local base="$TMP/$name.base" full="$TMP/$name.full" rc
	# baseline: the same command with zero rounds
	env $envspec timeout 120 "$FS" stat -j -- "${@/__ROUNDS__/0}" > "$base.json" 2> "$base.err"
	rc=$?
	[ $rc = 0 ] || { fail "$name" "baseline run exited $rc: $(tail -1 "$base.err")"; return; }
	env $envspec timeout 120 "$FS" stat -j -- "${@/__ROUNDS__/$ROUNDS}" > "$full.json" 2> "$full.err"
	rc=$?
	[ $rc = 0 ] || { fail "$name" "run exited $rc: $(tail -1 "$full.err")"; return; }
	fs_counts_as_tally "$base.json" "$base.tally"
	# an allocator whose size classes are not modelled: usable bytes are not compared
	if [ -n "${USABLE_UNKNOWN:-}" ]; then
		jq 'del(.live_usable)' "$TMP/$name.tally" > "$TMP/$name.tally.u" && mv "$TMP/$name.tally.u" "$TMP/$name.tally"
		jq 'del(.live_usable)' "$base.tally" > "$base.tally.u" && mv "$base.tally.u" "$base.tally"
	fi
	add_json "$base.tally" "$TMP/$name.tally" "$TMP/$name.expected"
	compare_counts "$name" "$full.json" "$TMP/$name.expected"
}

# attach_case NAME ENVSPEC WORKLOAD_ARGS...: starts allocwork waiting, attaches by PID,
# lets it work, stops fragscope with SIGINT while the workload is still alive, and
# compares with the tally exactly (nothing else allocates in the traced window).
# FS_ARGS: more options for stat; COMPARE: the comparison (default compare_counts).
attach_case() {
	local name=$1 envspec=$2; shift 2
	local ready="$TMP/$name.ready" tally="$TMP/$name.tally" out="$TMP/$name.json" err="$TMP/$name.err"
	local wpid fpid rc
	rm -f "$ready" "$tally"
	env $envspec timeout 120 "$@" --wait --hold --ready "$ready" --tally "$tally" &
	wpid=$!
	wait_for "[ -s '$ready' ]" || { fail "$name" "workload never got ready"; kill -9 $wpid; return; }
	wpid=$(cat "$ready")
	# not under timeout(1): it would pass our SIGINT to its whole process group
	"$FS" -v stat -j -d 300 ${FS_ARGS:-} -p "$wpid" > "$out" 2> "$err" &
	fpid=$!
	wait_for "grep -qs 'tracing PID' '$err'" 300 || { fail "$name" "no attach: $(tail -1 "$err")"; kill -9 $wpid $fpid; return; }
	kill -USR1 "$wpid"
	wait_for "[ -s '$tally' ]" 600 || { fail "$name" "workload never finished"; kill -9 $wpid $fpid; return; }
	kill -INT $fpid
	wait $fpid
	rc=$?
	kill -USR2 "$wpid" 2>/dev/null
	wait 2>/dev/null
	[ $rc = 0 ] || { fail "$name" "fragscope exited $rc: $(tail -1 "$err")"; return; }
	if [ -n "${USABLE_UNKNOWN:-}" ]; then
		jq 'del(.live_usable)' "$tally" > "$tally.u" && mv "$tally.u" "$tally"
	fi
	${COMPARE:-compare_counts} "$name" "$out" "$tally"
}

# link_progs PID: the BPF links a process holds (its fds' fdinfo: link_type,
# prog_id), one line per link: the name of its program (alloc_enter, sysw_enter, ...)
link_progs() {
	local f id
	for f in /proc/$1/fdinfo/*; do
		grep -qs '^link_type:' "$f" || continue
		id=$(awk '$1 == "prog_id:" { print $2 }' "$f")
		bpftool prog show id "$id" 2>/dev/null | awk 'NR == 1 { for (i = 1; i < NF; i++) if ($i == "name") print $(i + 1) }'
	done
}

# expect_error NAME EXPECTED_RC REGEX CMD...: a bad input gives one line naming the cause.
expect_error() {
	local name=$1 want=$2 re=$3 rc; shift 3
	"$@" > "$TMP/$name.out" 2> "$TMP/$name.err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$name" "exit $rc, expected $want; stderr: $(head -c 300 "$TMP/$name.err")"
	elif ! grep -Eq "$re" "$TMP/$name.err"; then
		fail "$name" "stderr does not match /$re/: $(head -c 300 "$TMP/$name.err")"
	elif [ "$(grep -c . "$TMP/$name.err")" != 1 ]; then
		fail "$name" "expected one line on stderr, got: $(head -c 300 "$TMP/$name.err")"
	elif [ -s "$TMP/$name.out" ]; then
		fail "$name" "stdout not empty: $(head -c 200 "$TMP/$name.out")"
	else
		pass "$name"
	fi
}

# fragscope's programs loaded now, by id, with the PIDs holding them.
our_programs() { bpftool prog show 2>/dev/null | awk '/name (alloc_enter|alloc_exit|free_enter|alloc_session|free_sampled|sys_enter|sys_exit|sysw_enter|sysw_exit|page_fault_user|proc_fork|proc_exec) / { sub(":", "", $1); id = $1 } /pids fragscope\(/ && id { print id; id = "" }' | sort; }
PROGS_BEFORE=$(our_programs)

no_programs_left() {
	local left pg holders
	# only fragscope processes of this test run count (another may run beside it)
	pg=$(ps -o pgid= -p $$ | tr -d ' ')
	holders=$(pgrep -g "$pg" -x fragscope | tr '\n' ' ')
	left=$(comm -13 <(echo "$PROGS_BEFORE") <(our_programs) | tr '\n' ' ')
	if [ -n "$holders" ]; then
		fail "$1" "fragscope processes of the tests still running: $holders (programs $left)"
	else
		pass "$1"
	fi
}
