#!/bin/bash
# test_trace.sh - `record --trace`: a workload's known calls decode exactly, in
# order, with sizes, alignments, threads and the program's own madvise/munmap;
# every accounted call is in the trace or counted lost (a tiny ring loses some,
# counted per thread, and the trace is marked); a damaged chunk or a session
# without a trace is refused in one line. Needs root.
. "$(dirname "$0")/lib.sh"

TW=$TOOLS/tracework
AW=$TOOLS/allocwork

# --- a known sequence, decoded exactly ------------------------------------------------
if timeout 60 "$FS" record -q --trace -o "$TMP/tw.db" -- "$TW" 2> "$TMP/tw.err" &&
   "$FS" report --calls "$TMP/tw.db" > "$TMP/tw.calls" 2> "$TMP/tw.cerr"; then
	# the workload's calls (marker sizes, and releases of its blocks), addresses named
	# b1, b2, ... in allocation order, threads M (the first) and T
	awk '
	/^#/ { next }
	{ tid = $3; op = $4; size = $6; align = $7; ptr = $8; arg = $9; flags = $10
	  if (!(tid in th)) th[tid] = (++nth == 1 ? "M" : "T")
	  t = th[tid]
	  if (op == "free") { if (ptr in name) { print t, "free", name[ptr]; delete name[ptr] } next }
	  if (op == "madvise" || op == "munmap") { if (size == 65536) print t, op, size, arg; next }
	  if (!((size >= 1001 && size <= 1006) || (size >= 2000 && size <= 2099) || size == 4611686018427387904)) next
	  old = ""
	  if (op == "realloc") { old = " old=" name[arg]; delete name[arg] }
	  nm = "-"
	  if (ptr != "0x0") { nm = "b" (++nb); name[ptr] = nm }
	  print t, op, size, align, nm old, flags
	}' "$TMP/tw.calls" > "$TMP/tw.got"
	{
		echo "M malloc 1001 0 b1 -"
		echo "M calloc 1002 0 b2 -"
		echo "M realloc 1003 0 b3 old=b1 -"
		echo "M posix_memalign 1004 64 b4 -"
		echo "M memalign 1005 128 b5 -"
		echo "M free b2"; echo "M free b3"; echo "M free b4"; echo "M free b5"
		echo "M madvise 65536 0x4"
		echo "M munmap 65536 0x0"
		echo "M malloc 1006 0 b6 -"
		for ((i = 0; i < 100; i++)); do echo "T malloc $((2000 + i)) 0 b$((7 + i)) -"; echo "T free b$((7 + i))"; done
		echo "T free b6"
		echo "M malloc 4611686018427387904 0 - failed"
	} > "$TMP/tw.want"
	if diff -u "$TMP/tw.want" "$TMP/tw.got" > "$TMP/tw.diff"; then pass trace_exact_sequence
	else fail trace_exact_sequence "$(head -c 600 "$TMP/tw.diff")"; fi
	# every call the counters account is one event: realloc is one call (an allocation
	# and a release in the counters), the failure and the two syscalls one each
	"$FS" report --json "$TMP/tw.db" > "$TMP/tw.json"
	"$FS" report "$TMP/tw.db" > "$TMP/tw.txt"
	a=$(jget "$TMP/tw.json" .totals.allocs) f=$(jget "$TMP/tw.json" .totals.frees) x=$(jget "$TMP/tw.json" .totals.failed_allocs)
	n=$(grep -vc '^#' "$TMP/tw.calls")
	if [ "$n" = $((a + f - 1 + x + 2)) ] && grep -q "trace    $n calls in 1 chunks.*complete: every call" "$TMP/tw.txt"; then
		pass trace_every_call
	else
		fail trace_every_call "$n events; allocs $a frees $f failed $x: $(grep 'trace  ' "$TMP/tw.txt")"
	fi
else
	fail trace_exact_sequence "record/report failed: $(tail -1 "$TMP/tw.err") $(tail -1 "$TMP/tw.cerr" 2>/dev/null)"
fi

# --- losses: a 4 KiB ring cannot keep up; every call is recorded or counted lost -------
ARGS="--threads 2 --rounds 20000 --api malloc,calloc"
if timeout 120 "$FS" record -q --trace --trace-ring 4096 -o "$TMP/lossy.db" -- "$AW" $ARGS 2> "$TMP/lossy.err"; then
	"$FS" report --json "$TMP/lossy.db" > "$TMP/lossy.json"
	"$FS" report "$TMP/lossy.db" > "$TMP/lossy.txt"
	a=$(jget "$TMP/lossy.json" .totals.allocs) f=$(jget "$TMP/lossy.json" .totals.frees)
	calls=$(awk '$1 == "trace" { print $2 }' "$TMP/lossy.txt")
	lost=$(awk '$2 == "calls" && $3 == "LOST" { print $1 }' "$TMP/lossy.txt")
	perthread=$(awk '$1 == "thread" { s += $(NF - 1) } END { print s + 0 }' "$TMP/lossy.txt")
	if [ -n "$lost" ] && [ "$lost" -gt 0 ] && [ $((calls + lost)) = $((a + f)) ] && [ "$perthread" = "$lost" ] &&
	   grep -q "LOSSY" "$TMP/lossy.txt" && grep -q "LOST (ring full" "$TMP/lossy.err"; then
		pass trace_losses_counted
	else
		fail trace_losses_counted "calls $calls lost '$lost' (per thread $perthread), allocs $a frees $f: $(grep -A2 'trace  ' "$TMP/lossy.txt" | tr '\n' ' ')"
	fi
else
	fail trace_losses_counted "record failed: $(tail -1 "$TMP/lossy.err")"
fi

# --- attached by PID (glibc): blocks from before attach come from the census --------
# allocwork --pre 300: 300 blocks of 777 bytes (800-byte chunks) allocated before its
# gate, freed after it: each release in the trace is of a block the census listed
ready="$TMP/pre.ready" tally="$TMP/pre.tally"
timeout 60 "$AW" --rounds 200 --pre 300 --wait --hold --ready "$ready" --tally "$tally" &
if wait_for "[ -s '$ready' ]"; then
	wpid=$(cat "$ready")
	"$FS" -v record -q --trace -i 100 -o "$TMP/pre.db" -p "$wpid" 2> "$TMP/pre.err" &
	fpid=$!
	if wait_for "grep -qs 'tracing PID' '$TMP/pre.err'" 300; then
		kill -USR1 "$wpid"
		wait_for "[ -s '$tally' ]" 600
		kill -INT $fpid
		wait $fpid
		kill -USR2 "$wpid" 2>/dev/null
		wait 2>/dev/null
		"$FS" report --calls "$TMP/pre.db" > "$TMP/pre.calls"
		sqlite3 "$TMP/pre.db" "SELECT printf('0x%x', addr) FROM trace_before WHERE chunk = 800" | sort > "$TMP/pre.listed"
		# releases in the trace of the listed 800-byte chunks, and of addresses never allocated in it
		matched=$(awk 'NR == FNR { pre[$1] = 1; next } /^#/ { next }
			$4 != "free" && $8 != "0x0" { mine[$8] = 1 }
			$4 == "free" { if ($8 in mine) delete mine[$8]; else if ($8 in pre) n++ }
			END { print n + 0 }' "$TMP/pre.listed" "$TMP/pre.calls")
		"$FS" replay --json --no-sessions --variants glibc --idle 0.2 "$TMP/pre.db" > "$TMP/pre.rep.json" 2> "$TMP/pre.rep.err"
		rel=$(jget "$TMP/pre.rep.json" .replay.released_blocks_before_trace)
		if [ "$(wc -l < "$TMP/pre.listed")" -ge 300 ] && [ "$matched" = 300 ] && [ "${rel:-0}" -ge 300 ]; then
			pass trace_attach_census
		else
			fail trace_attach_census "listed $(wc -l < "$TMP/pre.listed") 800-byte chunks, $matched of the 300 released in the trace, replay released ${rel:-?} $(tail -1 "$TMP/pre.rep.err")"
		fi
	else
		fail trace_attach_census "no attach: $(tail -1 "$TMP/pre.err")"
		kill -9 "$wpid" $fpid 2>/dev/null
	fi
else
	fail trace_attach_census "workload never got ready"
fi

# --- refused in one line ----------------------------------------------------------------
timeout 60 "$FS" record -q -o "$TMP/plain.db" -- "$TW" 2>/dev/null
expect_error trace_none 1 "no call trace in this session" "$FS" report --calls "$TMP/plain.db"
cp "$TMP/tw.db" "$TMP/bad.db"
sqlite3 "$TMP/bad.db" "UPDATE trace_chunks SET data = substr(data, 1, length(data) - 9) WHERE seq = 1"
expect_error trace_damaged 1 "trace chunk 1: corrupt zstd frame" "$FS" report --calls "$TMP/bad.db"
expect_error trace_ring_option 2 "trace-ring" "$FS" record --trace --trace-ring 5000 -- "$TW"

no_programs_left test_trace
