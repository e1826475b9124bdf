#!/bin/bash
# test_sampled.sh - `--mode sampled`: uprobe sessions on the allocating functions,
# entry probes on the releasing ones, no return probe but for sampled calls.
# - With --sample-bytes 1 every block is sampled: the counts and the live estimate
#   must equal the workload's own tally exactly (C and C++, glibc and jemalloc, 1 and
#   4 threads, by command and by PID), which catches a miscounted nested or tail call.
# - With a real period and a fixed --sample-seed the samples repeat run to run: the
#   estimates must fall within their own standard error's bounds of the exact figure.
# - --window, the kernel-feature refusal, top, and nothing left attached.
# Needs root.
. "$(dirname "$0")/lib.sh"

AW=$TOOLS/allocwork
ROUNDS=${ROUNDS:-3000}

# sampled JSON -> the tally's shape (what sampled mode counts exactly)
as_tally() {
	jq '{allocs: .totals.allocs, frees: .totals.frees, bytes_allocated: .totals.bytes_allocated,
	     free_null: .totals.free_null, live_count: .sampled.live_blocks_est, live_bytes: .sampled.live_bytes_est,
	     probes: [.functions[] | {names: ([.name] + (.aliases | split(",") | map(select(. != "")))), calls, bytes}]}' "$1" > "$2"
}

# sampled_compare NAME GOT EXPECTED: allocs, frees, bytes, free(NULL), live blocks and
# bytes, and each probe's calls and (allocating ones: sampled mode does not know the
# sizes of frees) bytes against the tally summed over the probe's names.
sampled_compare() {
	local name=$1 diffs
	diffs=$(jq -rn --slurpfile g "$2" --slurpfile e "$3" '($g[0]) as $g | ($e[0]) as $e |
		[ "allocs", "frees", "bytes_allocated", "free_null", "live_count", "live_bytes" ]
		| map(select($g[.] != $e[.]) | "\(.) fragscope=\($g[.]) expected=\($e[.])")
		+ [ $g.probes[] | . as $p
		    | (if $e.probes then [ $e.probes[] | select(.names[0] == $p.names[0]) ]
		       else [ ($e.functions // {}) | to_entries[] | select(.key as $k | $p.names | index($k)) | .value ] end) as $m
		    | select($m | length > 0)
		    | {calls: ($m | map(.calls) | add), bytes: ($m | map(.bytes) | add)} as $want
		    | if $p.calls != $want.calls then "\($p.names[0]) calls fragscope=\($p.calls) expected=\($want.calls)"
		      elif ($p.names[0] | test("free|delete|^_Zd|dallocx")) | not and $p.bytes != $want.bytes then
			"\($p.names[0]) bytes fragscope=\($p.bytes) expected=\($want.bytes)"
		      else empty end ]
		+ [ ($e.functions // {}) | to_entries[] | select(.value.calls > 0) | .key as $k
		    | select([ $g.probes[] | select(.names | index($k)) ] | length == 0) | "\($k): no such probe" ]
		| join("; ")' 2>&1) || diffs="jq failed: $diffs"
	if [ -z "$diffs" ]; then pass "$name"; else fail "$name" "$diffs"; fi
}

# sampled_cmd_case NAME ENVSPEC -- WORKLOAD ARGS...: as run_cmd_case (lib.sh) in
# sampled mode: the run with the work minus the run without it is exactly the
# workload's tally. SB (default 1: every block sampled, so the live estimate is
# exact too; with a real period only the counts are compared, and most calls have
# no return half: nesting is then told by frames alone).
sampled_cmd_case() {
	local name=$1 envspec=$2; shift 3
	local base="$TMP/$name.base" full="$TMP/$name.full" rc sb=${SB:-1}
	env $envspec timeout 120 "$FS" stat --mode sampled --sample-bytes $sb -j -- "${@/__ROUNDS__/0}" > "$base.json" 2> "$base.err"
	rc=$?
	[ $rc = 0 ] || { fail "$name" "baseline run exited $rc: $(tail -1 "$base.err")"; return; }
	env $envspec timeout 120 "$FS" stat --mode sampled --sample-bytes $sb -j -- "${@/__ROUNDS__/$ROUNDS}" > "$full.json" 2> "$full.err"
	rc=$?
	[ $rc = 0 ] || { fail "$name" "run exited $rc: $(tail -1 "$full.err")"; return; }
	if [ "$(jget "$full.json" .mode)" != sampled ] || [ "$(jget "$full.json" .sampled.exact)" != "$([ $sb = 1 ] && echo true || echo false)" ]; then
		fail "$name" "mode $(jget "$full.json" .mode), sampled.exact $(jget "$full.json" .sampled.exact)"
		return
	fi
	as_tally "$base.json" "$base.t"
	as_tally "$full.json" "$full.t"
	if [ $sb != 1 ]; then	# estimates: not compared here
		for f in "$base.t" "$full.t"; do jq '.live_count = null | .live_bytes = null' "$f" > "$f.x" && mv "$f.x" "$f"; done
		jq '.live_count = null | .live_bytes = null' "$TMP/$name.tally" > "$TMP/$name.tally.x" && mv "$TMP/$name.tally.x" "$TMP/$name.tally"
	fi
	# expected = baseline + the workload's tally; per probe: its baseline calls and
	# bytes plus the tally's over every name the probe carries
	jq -n --slurpfile b "$base.t" --slurpfile w "$TMP/$name.tally" '($b[0]) as $b | ($w[0]) as $w |
		reduce ("allocs", "frees", "bytes_allocated", "free_null", "live_count", "live_bytes") as $k
			({}; .[$k] = (if $b[$k] == null then null else $b[$k] + ($w[$k] // 0) end))
		| .probes = [ $b.probes[] | . as $p
			| [ ($w.functions // {}) | to_entries[] | select(.key as $k | $p.names | index($k)) | .value ] as $m
			| select($m | length > 0)
			| {names: $p.names, calls: ($p.calls + ($m | map(.calls) | add)), bytes: ($p.bytes + ($m | map(.bytes) | add))} ]
		| .functions = ($w.functions // {})' > "$TMP/$name.expected"
	sampled_compare "$name" "$full.t" "$TMP/$name.expected"
}

# --- exact when every block is sampled: by command --------------------------------
sampled_cmd_case sampled_glibc_cmd "" -- "$AW" --rounds __ROUNDS__ --keep 16 --big --tally "$TMP/sampled_glibc_cmd.tally"
sampled_cmd_case sampled_glibc_4threads "" -- "$AW" --threads 4 --rounds __ROUNDS__ --keep 32 --tally "$TMP/sampled_glibc_4threads.tally"
# realloc(NULL, n) tail-jumps to malloc, realloc(p, 0) calls free: one call each
sampled_cmd_case sampled_glibc_realloc_edges "" -- "$AW" --api realloc_edge,malloc,calloc --threads 2 --rounds __ROUNDS__ \
	--keep 5 --tally "$TMP/sampled_glibc_realloc_edges.tally"
sampled_cmd_case sampled_jemalloc_linked "" -- "$TOOLS/allocwork-je" --api $JE_APIS --threads 4 --rounds __ROUNDS__ --keep 16 \
	--big --tally "$TMP/sampled_jemalloc_linked.tally"
# C++: operator new calls malloc (glibc) and delete tail-jumps to free: counted once
sampled_cmd_case sampled_cxx_glibc "" -- "$TOOLS/allocwork-cxx" __ROUNDS__ 4 7 "$TMP/sampled_cxx_glibc.tally"
sampled_cmd_case sampled_cxx_jemalloc "" -- "$TOOLS/allocwork-cxx-je" __ROUNDS__ 4 7 "$TMP/sampled_cxx_jemalloc.tally"
sampled_cmd_case sampled_jemalloc_preload "LD_PRELOAD=$JEMALLOC" -- "$AW" --api $JE_APIS --rounds __ROUNDS__ --keep 16 \
	--tally "$TMP/sampled_jemalloc_preload.tally"

# --- a real period: most calls unarmed (no return half), counts still exact -------
SB=524288 sampled_cmd_case sampled_period_realloc_edges "" -- "$AW" --api realloc_edge,malloc,calloc --threads 2 \
	--rounds __ROUNDS__ --keep 5 --tally "$TMP/sampled_period_realloc_edges.tally"
# jemalloc's operators call one another (sized delete, aligned forms)
SB=524288 sampled_cmd_case sampled_period_cxx_jemalloc "" -- "$TOOLS/allocwork-cxx-je" __ROUNDS__ 4 7 \
	"$TMP/sampled_period_cxx_jemalloc.tally"
SB=524288 sampled_cmd_case sampled_period_glibc_4threads "" -- "$AW" --threads 4 --rounds __ROUNDS__ --keep 32 --big \
	--tally "$TMP/sampled_period_glibc_4threads.tally"

# tcmalloc and mimalloc when installed: their own entry points (tc_*, mi_*) chain
# through one another (mimalloc's realloc reaches mi_free from an unprobed helper)
TC=$(ldconfig -p | awk '/libtcmalloc_minimal.so.4 / { print $NF; exit }')
MI=$(ldconfig -p | awk '/libmimalloc.so.2 / { print $NF; exit }')
if [ -n "$TC" ] && [ -x "$TOOLS/tcmiwork" ]; then
	SB=524288 sampled_cmd_case sampled_period_tc_own_api "LD_PRELOAD=$TC" -- "$TOOLS/tcmiwork" tc __ROUNDS__ 2 16 \
		"$TMP/sampled_period_tc_own_api.tally"
fi
if [ -n "$MI" ] && [ -x "$TOOLS/tcmiwork" ]; then
	SB=524288 sampled_cmd_case sampled_period_mi_own_api "LD_PRELOAD=$MI" -- "$TOOLS/tcmiwork" mi __ROUNDS__ 2 16 \
		"$TMP/sampled_period_mi_own_api.tally"
	SB=524288 sampled_cmd_case sampled_period_mi_preload "LD_PRELOAD=$MI" -- "$AW" --threads 2 --rounds __ROUNDS__ --keep 16 \
		--tally "$TMP/sampled_period_mi_preload.tally"
fi

# --- by PID: blocks from before attach are released during the trace -------------
# (--pre 50: they count as frees, exactly; live covers what was allocated since)
sampled_attach_compare() {	# NAME OUT TALLY: the counts as the tally, and what the estimate covers
	as_tally "$2" "$TMP/$1.t"
	sampled_compare "$1" "$TMP/$1.t" "$3"
	if [ "$(jget "$2" .sampled.covers)" = "blocks allocated since attach" ]; then pass "${1}_covers_since_attach"
	else fail "${1}_covers_since_attach" "covers: $(jget "$2" .sampled.covers)"; fi
}
sampled_attach() {
	FS_ARGS="--mode sampled --sample-bytes 1" COMPARE=sampled_attach_compare attach_case "$@"
}
sampled_attach sampled_attach_glibc "" "$AW" --threads 2 --rounds $ROUNDS --keep 10 --pre 50 --big
sampled_attach sampled_attach_jemalloc "LD_PRELOAD=$JEMALLOC" "$AW" --api $JE_APIS --threads 4 --rounds $ROUNDS --keep 10 --pre 20

# --- estimates: a real period, a fixed seed (the same samples every run) -----------
# allocwork keeps every 2nd block of three APIs (three sites, ~130 MB live each).
# Exact per-site figures come from every block sampled; the estimates at 64 KiB must
# lie within 4 standard errors (their own) and within 5% (total) / 10% (each site).
# A stack that shares a bucket of the kernel's stack map with another is lost (counted:
# sampling.stacks_lost), and its site with it; the raw stacks differ run to run by
# the garbage past their last frame, so a run may lose one. The comparisons need
# every site: a run that lost stacks is run again (at most 3 times).
est_run() {	# NAME SAMPLE_BYTES EXTRA...
	local n=$1 sb=$2 try; shift 2
	for try in 1 2 3; do
		timeout 120 "$FS" stat --mode sampled --sample-bytes "$sb" "$@" -j -- "$AW" --api malloc,calloc,realloc \
			--rounds 20000 --keep 2 > "$TMP/$n.json" 2> "$TMP/$n.err" || { fail "$n" "exited: $(tail -1 "$TMP/$n.err")"; return 1; }
		[ "$(jget "$TMP/$n.json" .sampling.stacks_lost)" = 0 ] && return 0
		echo "   $n: $(jget "$TMP/$n.json" .sampling.stacks_lost) stacks lost (bucket collision), run again"
	done
	fail "$n" "stacks lost in 3 runs"
	return 1
}
if est_run est_exact 1 && est_run est_s64k 65536 --sample-seed 12345 && est_run est_s64k_again 65536 --sample-seed 12345; then
	# the seed makes the samples repeat exactly
	a=$(jq -c '[.sampled.blocks_sampled, .sampled.live_bytes_est]' "$TMP/est_s64k.json")
	b=$(jq -c '[.sampled.blocks_sampled, .sampled.live_bytes_est]' "$TMP/est_s64k_again.json")
	if [ "$a" = "$b" ]; then pass sampled_seed_repeats; else fail sampled_seed_repeats "$a vs $b"; fi
	exact=$(jget "$TMP/est_exact.json" .sampled.live_bytes_est)
	est=$(jget "$TMP/est_s64k.json" .sampled.live_bytes_est)
	se=$(jget "$TMP/est_s64k.json" .sampled.live_bytes_stderr)
	if awk -v x="$exact" -v e="$est" -v s="$se" 'BEGIN { d = e - x; if (d < 0) d = -d; exit !(s > 0 && d <= 4 * s && d <= x * 0.05) }'; then
		pass sampled_live_total_within_5pct
	else
		fail sampled_live_total_within_5pct "estimate $est +- $se, exact $exact"
	fi
	# the three worker sites: each within 10% and 4 standard errors of its exact figure
	bad=$(jq -rn --slurpfile x "$TMP/est_exact.json" --slurpfile e "$TMP/est_s64k.json" '
		[ $x[0].sites[] | select((.stack[0] // "") | test("^worker")) | {k: .stack[0], v: .live_bytes_est} | select(.v > 0) ] as $xs
		| [ $e[0].sites[] | {k: (.stack[0] // ""), v: .live_bytes_est, s: .live_bytes_stderr} ] as $es
		| ($xs | length) as $n
		| [ $xs[] | . as $x | ([ $es[] | select(.k == $x.k) ][0]) as $m
		    | if $m == null then "\($x.k): not estimated"
		      elif (($m.v - $x.v) | fabs) > ([$x.v * 0.10, 4 * $m.s] | min) then "\($x.k): \($m.v) +- \($m.s) vs exact \($x.v)"
		      else empty end ] + (if $n != 3 then ["\($n) worker sites, expected 3"] else [] end) | join("; ")' 2>&1) ||
		bad="jq failed: $bad"
	if [ -z "$bad" ]; then pass sampled_sites_within_10pct; else fail sampled_sites_within_10pct "$bad"; fi
	# allocated bytes: exact (counted at entry), and the samples' estimate of them near
	ab=$(jget "$TMP/est_s64k.json" .totals.bytes_allocated)
	abx=$(jget "$TMP/est_exact.json" .totals.bytes_allocated)
	abe=$(jget "$TMP/est_s64k.json" .sampled.bytes_allocated_est)
	if [ "$ab" = "$abx" ] && within "$abe" "$ab" 5; then pass sampled_bytes_allocated_exact
	else fail sampled_bytes_allocated_exact "$ab (exact run $abx), estimate $abe"; fi
fi

# --- only sampled calls pay a return: the links are a session and release probes ----
rm -f "$TMP/links.ready"
"$AW" --wait --hold --ready "$TMP/links.ready" --tally "$TMP/links.tally" &
if wait_for "[ -s '$TMP/links.ready' ]"; then
	wpid=$(cat "$TMP/links.ready")
	"$FS" -v stat --mode sampled -d 30 -p "$wpid" > /dev/null 2> "$TMP/links.err" &
	fpid=$!
	if wait_for "grep -qs 'tracing PID' '$TMP/links.err'" 300; then
		links=$(link_progs $fpid | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
		kill -INT $fpid; wait $fpid
		case "$links" in
		*alloc_session:1*free_sampled:1*) if [[ "$links" != *alloc_exit* && "$links" != *alloc_enter* ]]; then
				pass sampled_links_session_and_releases
			else fail sampled_links_session_and_releases "$links"; fi ;;
		*) fail sampled_links_session_and_releases "links: $links" ;;
		esac
	else
		fail sampled_links_session_and_releases "no attach: $(tail -1 "$TMP/links.err")"; kill -9 $fpid
	fi
	kill -USR1 "$wpid"; wait_for "[ -s '$TMP/links.tally' ]" 600; kill -USR2 "$wpid"; wait "$wpid" 2>/dev/null
fi

# --- --window: allocations watched part of the time, counts scaled and said so -----
# 6 s of work at ~1 us a pair; windows of 0.3 s every 0.6 s
W=$ROOT/.output/bench/workload
if [ -x "$W" ]; then
	timeout 120 "$FS" stat --mode sampled --window 0.3/0.6 -j -- "$W" live -n 3000000 > "$TMP/win.json" 2> "$TMP/win.err"
	rc=$?
	n=$(jget "$TMP/win.json" .sampled.window.allocs_est)
	# 3,000,000 in the loop and 16,384 slots filled before it (in the first window)
	if [ $rc = 0 ] && [ "$(jget "$TMP/win.json" .totals.allocs)" = null ] && [ "$(jget "$TMP/win.json" .sampled.exact)" = false ] &&
		[ "$(jget "$TMP/win.json" .sampled.window.duty_basis)" = free_calls ] && within "$n" 3016384 10 &&
		[ "$(jget "$TMP/win.json" .totals.free_null)" != null ]; then
		pass sampled_window_scaled
	else
		fail sampled_window_scaled "rc=$rc $(jq -c '{t: .totals.allocs, w: .sampled.window}' "$TMP/win.json" 2>/dev/null) $(tail -1 "$TMP/win.err")"
	fi
fi
expect_error sampled_window_needs_sampled 2 'window is for --mode sampled' "$FS" stat --window 1/4 -- true
expect_error sampled_window_bad 2 "window '4/1'" "$FS" stat --mode sampled --window 4/1 -- true

# --- a kernel without uprobe sessions: one line, exit 1, nothing left ---------------
# (the attach type the kernel is asked for is made one it does not know)
FRAGSCOPE_SESSION_ATTACH_TYPE=250 expect_error sampled_refused_without_sessions 1 \
	'needs uprobe sessions \(Linux 6.13\+\)' "$FS" stat --mode sampled -- "$AW" --rounds 10

# --- top: calls per second counted, the mode said ------------------------------------
rm -f "$TMP/top.ready"
"$AW" --wait --hold --rounds 200000 --keep 4 --ready "$TMP/top.ready" --tally "$TMP/top.tally" &
if wait_for "[ -s '$TMP/top.ready' ]"; then
	wpid=$(cat "$TMP/top.ready")
	timeout 30 "$FS" top --mode sampled --batch --json -i 300 -n 4 -p "$wpid" > "$TMP/top.jsonl" 2> "$TMP/top.err" &
	fpid=$!
	wait_for "[ -s '$TMP/top.jsonl' ]" 300 && kill -USR1 "$wpid"
	wait $fpid
	rc=$?
	rates=$(jq -s '[.[] | select(.mode == "sampled") | .interval.allocs_per_s | select(. != null and . > 0)] | length' "$TMP/top.jsonl")
	if [ $rc = 0 ] && [ "${rates:-0}" -ge 1 ]; then pass sampled_top_counts_calls
	else fail sampled_top_counts_calls "rc=$rc lines with allocation rates: $rates $(tail -1 "$TMP/top.err")"; fi
	wait_for "[ -s '$TMP/top.tally' ]" 600; kill -USR2 "$wpid"; wait "$wpid" 2>/dev/null
fi

no_programs_left sampled_nothing_left
