#!/bin/bash
# test_record_sampled.sh - `record --mode sampled`: the session has the calls counted
# at their entry (exact), the live estimates with their standard error, no column
# for what sampled mode does not count; report says the mode; report --diff against
# an exact recording compares the counts and gives live bytes in standard errors.
# - --sample-bytes 1 (every block sampled): the estimates are exact, so the last
#   snapshot must equal the workload's own tally (plus a baseline run's libc
#   blocks), by command and by PID.
# - a real period with a fixed seed: counts still exact, the live estimate within
#   4 of its own standard errors of the exact figure.
# - --window: the seen counts, the duty, the scaled estimate; the rest null.
# Needs root.
. "$(dirname "$0")/lib.sh"

AW=$TOOLS/allocwork
ROUNDS=${ROUNDS:-3000}

# rec NAME RECORD-ARGS...: records $TMP/NAME.db, reports it as $TMP/NAME.json
rec() {
	local n=$1; shift
	timeout 120 "$FS" record -q -i 100 -o "$TMP/$n.db" "$@" 2> "$TMP/$n.err" &&
		"$FS" report --json "$TMP/$n.db" > "$TMP/$n.json" 2>> "$TMP/$n.err"
}

# the last snapshot in the tally's shape (the estimates where exact mode counts)
last_as_tally() {
	jq '.series[-1] | {allocs, frees, bytes_allocated, free_null, live_count: .sm_live_blocks_est,
	    live_bytes: .sm_live_est}' "$1"
}

# compare NAME GOT EXPECTED (both in the tally's shape; EXPECTED's keys only)
compare() {
	local diffs
	diffs=$(jq -rn --slurpfile g "$2" --slurpfile e "$3" '($g[0]) as $g | ($e[0]) as $e |
		[ $e | keys[] | select($g[.] != $e[.]) | "\(.) fragscope=\($g[.]) expected=\($e[.])" ] | join("; ")' 2>&1) ||
		diffs="jq failed: $diffs"
	if [ -z "$diffs" ]; then pass "$1"; else fail "$1" "$diffs"; fi
}

# expected = BASE + the tally's figures (jq files)
plus_tally() {
	jq -n --slurpfile b "$1" --slurpfile w "$2" '($b[0]) as $b | ($w[0]) as $w |
		reduce ("allocs", "frees", "bytes_allocated", "free_null", "live_count", "live_bytes") as $k
			({}; .[$k] = $b[$k] + $w[$k])'
}

# --- every block sampled, by command: the session equals the tally -----------------
ok_base=0
if rec base --mode sampled --sample-bytes 1 -- "$AW" --threads 2 --rounds 0 --keep 16; then
	last_as_tally "$TMP/base.json" > "$TMP/base.t"
	ok_base=1
else
	fail record_sampled_cmd "baseline record failed: $(tail -1 "$TMP/base.err")"
fi
if [ $ok_base = 1 ] && rec s1 --mode sampled --sample-bytes 1 -- "$AW" --threads 2 --rounds $ROUNDS --keep 16 \
	--tally "$TMP/s1.tally"; then
	last_as_tally "$TMP/s1.json" > "$TMP/s1.t"
	plus_tally "$TMP/base.t" "$TMP/s1.tally" > "$TMP/s1.expected"
	compare record_sampled_cmd_equals_tally "$TMP/s1.t" "$TMP/s1.expected"
	# the mode, schema 2; what sampled mode does not count is null in every row, never 0;
	# every block sampled: standard error 0, in the total and at every site
	bad=$(jq -r '[ (if .mode != "sampled" or .session.mode != "sampled" then "mode \(.mode)" else empty end),
		(.series[] | select(.bytes_freed != null or .failed_allocs != null or .live_bytes != null
			or .live_count != null) | "row \(.seq): \([.bytes_freed, .failed_allocs, .live_bytes, .live_count])"),
		(.series[-1] | select(.sm_live_stderr != 0 or .sm_blocks_sampled != .allocs)
			| "stderr \(.sm_live_stderr), sampled \(.sm_blocks_sampled) of \(.allocs)"),
		(if .peak.sm_live_est.exact != false or .peak.sm_live_est.unit != "requested_bytes" then
			"peak \(.peak.sm_live_est)" else empty end) ] | join("; ")' "$TMP/s1.json")
	[ "$(sqlite3 "$TMP/s1.db" 'PRAGMA user_version')" = 2 ] || bad="$bad; schema $(sqlite3 "$TMP/s1.db" 'PRAGMA user_version')"
	se=$(sqlite3 "$TMP/s1.db" 'SELECT count(*), sum(live_bytes_stderr) FROM site_samples WHERE seq = (SELECT max(seq) FROM site_samples)')
	[[ "$se" =~ ^[1-9][0-9]*\|0$ ]] || bad="$bad; sites' standard errors: $se"
	if [ -z "$bad" ]; then pass record_sampled_nulls_and_errors; else fail record_sampled_nulls_and_errors "$bad"; fi
	"$FS" report "$TMP/s1.db" > "$TMP/s1.txt"
	if grep -q 'mode     sampled: every allocator call counted at its entry' "$TMP/s1.txt" &&
		grep -Eq '^ +~  live +[0-9.]+ [KM]iB \+- 0 B \(standard error\)' "$TMP/s1.txt" &&
		grep -q 'live +- 0 B' "$TMP/s1.txt" && ! grep -q 'failed allocations' "$TMP/s1.txt"; then
		pass record_sampled_report_text
	else
		fail record_sampled_report_text "$(grep -E 'mode|live|failed' "$TMP/s1.txt" | head -5 | tr -s ' ' | tr '\n' '|')"
	fi
elif [ $ok_base = 1 ]; then
	fail record_sampled_cmd_equals_tally "record failed: $(tail -1 "$TMP/s1.err")"
fi

# --- report --diff against an exact recording of the same run ------------------------
if [ -s "$TMP/s1.db" ] && timeout 120 "$FS" record -q -i 100 -o "$TMP/e1.db" -- "$AW" --threads 2 --rounds $ROUNDS \
	--keep 16 2> "$TMP/e1.err" && "$FS" report --diff "$TMP/e1.db" "$TMP/s1.db" > "$TMP/d1.txt"; then
	# the counts are exact in both (the same deterministic run): equal; live bytes the
	# same in B as the exact count, but shown as an estimate, not as an exact delta
	if grep -Eq '^  allocations +[0-9,]+ +[0-9,]+ +=$' "$TMP/d1.txt" &&
		grep -Eq '^  bytes allocated +.* +=$' "$TMP/d1.txt" &&
		grep -Eq '^  live bytes +[0-9.]+ [KM]iB +~[0-9.]+ [KM]iB +~0  standard error 0 \(every block sampled\)$' "$TMP/d1.txt" &&
		grep -q 'failed allocations .*B: not counted in sampled mode' "$TMP/d1.txt" &&
		grep -q 'are estimates from sampled blocks: B - A is not an exact' "$TMP/d1.txt"; then
		pass record_sampled_diff_exact
	else
		fail record_sampled_diff_exact "$(grep -E 'allocations|bytes allocated|live bytes|failed' "$TMP/d1.txt" | tr -s ' ' | tr '\n' '|')"
	fi
else
	fail record_sampled_diff_exact "exact record or diff failed: $(tail -1 "$TMP/e1.err")"
fi

# --- by PID, every block sampled: blocks from before attach are frees, exactly --------
rm -f "$TMP/p.ready"
env timeout 120 "$AW" --threads 2 --rounds $ROUNDS --keep 10 --pre 20 --wait --hold --ready "$TMP/p.ready" \
	--tally "$TMP/p.tally" &
if wait_for "[ -s '$TMP/p.ready' ]"; then
	wpid=$(cat "$TMP/p.ready")
	"$FS" -v record --mode sampled --sample-bytes 1 -q -i 100 -d 300 -o "$TMP/p.db" -p "$wpid" 2> "$TMP/p.err" &
	fpid=$!
	if wait_for "grep -qs 'tracing PID' '$TMP/p.err'" 300; then
		kill -USR1 "$wpid"
		wait_for "[ -s '$TMP/p.tally' ]" 600
		kill -INT $fpid
		wait $fpid
		rc=$?
		if [ $rc = 0 ] && "$FS" report --json "$TMP/p.db" > "$TMP/p.json"; then
			last_as_tally "$TMP/p.json" > "$TMP/p.t"
			jq '{allocs, frees, bytes_allocated, free_null, live_count, live_bytes}' "$TMP/p.tally" > "$TMP/p.expected"
			compare record_sampled_pid_equals_tally "$TMP/p.t" "$TMP/p.expected"
		else
			fail record_sampled_pid_equals_tally "record exited $rc: $(tail -1 "$TMP/p.err")"
		fi
	else
		fail record_sampled_pid_equals_tally "no attach: $(tail -1 "$TMP/p.err")"
		kill -9 $fpid
	fi
	kill -USR2 "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
else
	fail record_sampled_pid_equals_tally "workload never got ready"
fi

# --- a real period, a fixed seed: counts exact, the estimate within 4 standard errors -
# one thread, three APIs, every 2nd block kept: ~37 MB live in 3 sites. The exact
# figure: the same run with every block sampled (itself checked against the tally).
W2="$AW --api malloc,calloc,realloc --rounds 2000 --keep 2"
if [ $ok_base = 1 ] && rec b2 --mode sampled --sample-bytes 1 -- $W2 --rounds 0 &&
	rec x2 --mode sampled --sample-bytes 1 -- $W2 --tally "$TMP/x2.tally" &&
	rec s2 --mode sampled --sample-bytes 65536 --sample-seed 12345 -- $W2 --tally "$TMP/s2.tally"; then
	last_as_tally "$TMP/b2.json" > "$TMP/b2.t"
	last_as_tally "$TMP/x2.json" > "$TMP/x2.t"
	last_as_tally "$TMP/s2.json" > "$TMP/s2.t"
	plus_tally "$TMP/b2.t" "$TMP/x2.tally" > "$TMP/x2.expected"
	compare record_sampled_every_block_equals_tally "$TMP/x2.t" "$TMP/x2.expected"
	jq '{allocs, frees, bytes_allocated, free_null}' "$TMP/s2.t" > "$TMP/s2.counts"	# blocks, bytes: estimated
	jq '{allocs, frees, bytes_allocated, free_null}' "$TMP/x2.expected" > "$TMP/s2.ecounts"
	compare record_sampled_period_counts_exact "$TMP/s2.counts" "$TMP/s2.ecounts"
	exact=$(jget "$TMP/x2.expected" .live_bytes)
	est=$(jget "$TMP/s2.json" '.series[-1].sm_live_est')
	se=$(jget "$TMP/s2.json" '.series[-1].sm_live_stderr')
	site_se=$(sqlite3 "$TMP/s2.db" 'SELECT max(live_bytes_stderr) FROM site_samples WHERE seq = (SELECT max(seq) FROM site_samples)')
	if awk -v x="$exact" -v e="$est" -v s="$se" 'BEGIN { d = e - x; if (d < 0) d = -d; exit !(s > 0 && d <= 4 * s) }' &&
		[ "${site_se:-0}" -gt 0 ]; then
		pass record_sampled_period_within_4_stderr
	else
		fail record_sampled_period_within_4_stderr "estimate $est +- $se, exact $exact, sites' largest standard error $site_se"
	fi
	# report --diff of the two: B - A in standard errors (the same figure as above)
	want=$(awk -v x="$exact" -v e="$est" -v s="$se" 'BEGIN { d = e - x; if (d < 0) d = -d; printf "%.1f", d / s }')
	if "$FS" report --diff "$TMP/x2.db" "$TMP/s2.db" > "$TMP/d2.txt" &&
		grep -Eq "^  live bytes +~[0-9.]+ [KM]iB +~[0-9.]+ [KM]iB +~[-+][0-9.]+ [KM]?i?B  $want standard errors \(A \+- 0 B, B \+- [0-9.]+ [KM]iB\)\$" "$TMP/d2.txt"; then
		pass record_sampled_diff_in_stderr
	else
		fail record_sampled_diff_in_stderr "want $want standard errors: $(grep 'live bytes' "$TMP/d2.txt" | tr -s ' ')"
	fi
else
	fail record_sampled_period_counts_exact "record failed: $(tail -1 "$TMP/s2.err")"
fi

# --- --window: the seen counts, the duty, the scaled estimate; the rest null ---------
# ~1.5 s of work (free calls in every round); windows of 0.3 s every 0.6 s
if [ $ok_base = 1 ] && rec w --mode sampled --window 0.3/0.6 -- "$AW" --api malloc,calloc,free_null --rounds 1500000 \
	--tally "$TMP/w.tally"; then
	want=$(jget "$TMP/w.tally" .allocs)
	bad=$(jq -r '[ (.series[] | select(.allocs != null or .frees != null or .bytes_allocated != null or .allocs_per_s != null)
			| "row \(.seq): \([.allocs, .frees, .bytes_allocated, .allocs_per_s])"),
		(.series[-1] | select(.sm_duty <= 0 or .sm_duty >= 1 or .sm_duty_basis != 1 or .sm_allocs_seen >= .sm_allocs_est)
			| "duty \(.sm_duty) basis \(.sm_duty_basis) seen \(.sm_allocs_seen) est \(.sm_allocs_est)"),
		(if .session.meta.window != "0.3/0.6" then "meta window \(.session.meta.window)" else empty end) ]
		| join("; ")' "$TMP/w.json")
	n=$(jget "$TMP/w.json" '.series[-1].sm_allocs_est')
	fnull=$(jget "$TMP/w.json" '.series[-1].free_null')
	"$FS" report "$TMP/w.db" > "$TMP/w.txt"
	if [ -z "$bad" ] && within "$n" "$want" 10 && [ "$fnull" -ge "$(jget "$TMP/w.tally" .free_null)" ] &&
		[ "$fnull" -le $(( $(jget "$TMP/w.tally" .free_null) + 16 )) ] &&
		grep -q 'mode     sampled, --window 0.3/0.6' "$TMP/w.txt" && grep -q 'counted in the windows, scaled by 1/duty' "$TMP/w.txt"; then
		pass record_sampled_window
	else
		fail record_sampled_window "$bad; allocs_est $n want ~$want; free_null $fnull tally $(jget "$TMP/w.tally" .free_null); $(grep -E 'mode|allocations' "$TMP/w.txt" | tr -s ' ' | tr '\n' '|')"
	fi
else
	fail record_sampled_window "record failed: $(tail -1 "$TMP/w.err")"
fi

# --- malloc_trim is probed in sampled mode: its call and its releases recorded --------
if rec t --mode sampled -- "$TOOLS/rpcwork" --threads 1 --requests 2000 --trim; then
	got=$(jq -c '.series[-1] | [.malloc_trim_calls, .malloc_trim_released, (.src_malloc_trim_calls > 0)]' "$TMP/t.json")
	if [ "$got" = '[1,1,true]' ]; then pass record_sampled_malloc_trim
	else fail record_sampled_malloc_trim "calls, released calls, releases by it: $got"; fi
else
	fail record_sampled_malloc_trim "record failed: $(tail -1 "$TMP/t.err")"
fi

no_programs_left record_sampled_nothing_left
