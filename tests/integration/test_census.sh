#!/bin/bash
# test_census.sh - the glibc census (`fragscope snapshot`) against glibc's own figures
# on idle processes of known shape (tools/heapwork): mallinfo2 computed in the
# process, malloc_trim(0) called in the process with RssAnon measured around it,
# the target's RssAnon before and after a snapshot. Needs root.
. "$(dirname "$0")/lib.sh"

HW=$TOOLS/heapwork

# hw_start NAME ARGS...: heapwork idle with commands on a fifo; sets $hpid, $hlog, $hfd
hw_start() {
	local name=$1; shift
	hlog="$TMP/$name.log"
	mkfifo "$TMP/$name.in"
	timeout 600 "$HW" "$@" < "$TMP/$name.in" > "$hlog" &
	exec {hfd}> "$TMP/$name.in"
	if ! wait_for "grep -qs '^ready' '$hlog'" 1200; then
		fail "$name" "heapwork $* never got ready: $(head -c 200 "$hlog")"
		hw_stop
		return 1
	fi
	hpid=$(awk '$1 == "ready" { print $2 }' "$hlog")
}

# hw_cmd CMD KEY: sends a command, waits for its answer line (KEY ...), prints it
hw_cmd() {
	local n
	n=$(grep -c "^$2 " "$hlog")
	echo "$1" >&"$hfd"
	wait_for "[ \$(grep -c '^$2 ' '$hlog') -gt $n ]" 600 || return 1
	grep "^$2 " "$hlog" | tail -1
}

hw_stop() {
	[ -n "$hfd" ] && { echo quit >&"$hfd"; exec {hfd}>&-; }
	hfd=
	wait 2>/dev/null
}

rss_anon() { awk '$1 == "RssAnon:" { print $2 * 1024 }' "/proc/$1/status"; }
anon_rollup() { awk '$1 == "Anonymous:" { print $2 * 1024 }' "/proc/$1/smaps_rollup"; }

# --- (a) a small idle heap: in use = mallinfo2's uordblks, every time, no "heap changed"
if hw_start census_small small; then
	read -r _ uord hblkhd _ <<< "$(hw_cmd info mallinfo)"
	ok=1
	for i in 1 2 3; do
		"$FS" snapshot -j -p "$hpid" > "$TMP/small$i.json" 2> "$TMP/small$i.err" || { ok=0; why="exit $?: $(cat "$TMP/small$i.err")"; break; }
		inuse=$(jget "$TMP/small$i.json" .totals.in_use)
		if [ "$(jget "$TMP/small$i.json" .approximate)" != false ] || grep -q 'heap changed' "$TMP/small$i.json" ||
			! within "$inuse" $((uord + hblkhd)) 1; then
			ok=0; why="run $i: in_use=$inuse mallinfo2 uordblks+hblkhd=$((uord + hblkhd)) $(jq -c '[.approximate, .note, [.arenas[].note]]' "$TMP/small$i.json")"
			break
		fi
	done
	if [ $ok = 1 ] && [ "$uord" -gt $((1 << 20)) ]; then pass census_small_heap_matches_mallinfo2
	else fail census_small_heap_matches_mallinfo2 "${why:-uordblks $uord below 1 MiB}"; fi
	hw_stop
fi

# --- (b) pages malloc'ed but never written (a live chunk and top in the main heap, a
# thread arena's top, a live mmapped chunk): a snapshot faults none of them in
if hw_start census_untouched untouched; then
	read -r _ uord hblkhd _ <<< "$(hw_cmd info mallinfo)"
	ok=1
	for i in 1 2; do
		r0=$(rss_anon "$hpid"); a0=$(anon_rollup "$hpid")
		"$FS" snapshot -j -p "$hpid" > "$TMP/untouched$i.json" 2> "$TMP/untouched$i.err" || { ok=0; why="exit $?: $(cat "$TMP/untouched$i.err")"; break; }
		r1=$(rss_anon "$hpid"); a1=$(anon_rollup "$hpid")
		d=$((r1 - r0)); da=$((a1 - a0))
		if [ ${d#-} -gt 4096 ] || [ ${da#-} -gt 4096 ]; then
			ok=0; why="run $i: RssAnon $r0 -> $r1, smaps_rollup Anonymous $a0 -> $a1"; break
		fi
	done
	if [ $ok = 1 ]; then pass census_snapshot_faults_nothing_in; else fail census_snapshot_faults_nothing_in "$why"; fi
	# and it still saw them: 16 MiB and 40 MiB live, nothing of the untouched tops resident
	inuse=$(jget "$TMP/untouched1.json" .totals.in_use); fr=$(jget "$TMP/untouched1.json" .totals.free_resident)
	if within "$inuse" $((uord + hblkhd)) 1 && [ "$fr" -le 65536 ] && [ "$(jget "$TMP/untouched1.json" .approximate)" = false ]; then
		pass census_untouched_pages_counted
	else
		fail census_untouched_pages_counted "in_use=$inuse mallinfo2=$((uord + hblkhd)) free_resident=$fr"
	fi
	hw_stop
fi

# --- (c2) mmapped chunks merged with the program's own mappings (as Python's arenas):
# every chunk found, against glibc's own count (mallinfo2's hblks, hblkhd) exactly ----
if hw_start census_interleaved interleaved 24; then
	read -r _ uord hblkhd hblks _ <<< "$(hw_cmd info mallinfo)"
	read -r _ chunks mm mm_bytes <<< "$(hw_cmd info tally)"
	"$FS" snapshot -j -p "$hpid" > "$TMP/il.json" 2> "$TMP/il.err"
	rsum=$(jq '[.mmapped.ranges[] | .end - .start] | add' "$TMP/il.json")
	got=$(jq -c '.mmapped | [.chunks, .bytes, .mapped_bytes, .glibc_chunks, .glibc_bytes, .unaccounted_chunks, .unaccounted_bytes, .complete, .searched_past_other_mappings]' "$TMP/il.json")
	if [ "$mm" = 18 ] && [ "$hblks" = 18 ] && [ "$got" = "[18,$mm_bytes,$hblkhd,18,$hblkhd,0,0,true,true]" ] && [ "$rsum" = "$hblkhd" ]; then
		pass census_mmapped_beside_own_mappings
	else
		fail census_mmapped_beside_own_mappings "census [chunks, bytes, mapped, glibc's, unaccounted, complete, searched] $got, ranges $rsum; mallinfo2 hblks $hblks hblkhd $hblkhd, tally $mm/$mm_bytes"
	fi
	# light mode's census: the same chunks, nothing unaccounted
	timeout 60 "$FS" stat --mode light -j -d 0.3 -p "$hpid" > "$TMP/il-light.json" 2> "$TMP/il-light.err"
	got=$(jq -c '.memory.census | [.mmapped_bytes, .mmapped_unaccounted_chunks, .mmapped_unaccounted_bytes]' "$TMP/il-light.json")
	if [ "$got" = "[$mm_bytes,0,0]" ]; then pass census_light_mmapped_beside_own_mappings
	else fail census_light_mmapped_beside_own_mappings "light census [mmapped, unaccounted chunks, bytes] $got, tally $mm_bytes: $(tail -1 "$TMP/il-light.err")"; fi
	hw_stop
fi

# --- (c) 64 live 1 MiB blocks: mmapped chunks whose mappings the kernel merged ------
if hw_start census_mmapped mmapped 64; then
	read -r _ uord hblkhd hblks _ <<< "$(hw_cmd info mallinfo)"
	read -r _ chunks mm mm_bytes <<< "$(hw_cmd info tally)"
	"$FS" snapshot -j -p "$hpid" > "$TMP/mm.json" 2> "$TMP/mm.err"
	# the kernel merged them: one mapping holds at least 64 of them
	big=0
	while IFS='- ' read -r lo hi _; do
		[ $((16#$hi - 16#$lo)) -ge $((64 * 1052672)) ] && big=$((big + 1))
	done < "/proc/$hpid/maps"
	inuse=$(jget "$TMP/mm.json" .totals.in_use)
	if [ "$big" -ge 1 ] && [ "$mm" = 64 ] && [ "$(jget "$TMP/mm.json" .mmapped.chunks)" = 64 ] &&
		[ "$(jget "$TMP/mm.json" .mmapped.bytes)" = "$mm_bytes" ] && within "$inuse" "$chunks" 2; then
		pass census_mmapped_chunks_side_by_side
	else
		fail census_mmapped_chunks_side_by_side "merged mappings $big; census in_use=$inuse chunks=$(jget "$TMP/mm.json" .mmapped.chunks)/$(jget "$TMP/mm.json" .mmapped.bytes), workload tally $chunks, mmapped $mm/$mm_bytes"
	fi
	# their ranges cover exactly their mappings' bytes (mallinfo2's hblkhd)
	rsum=$(jq '[.mmapped.ranges[] | .end - .start] | add' "$TMP/mm.json")
	if [ "$rsum" = "$hblkhd" ] && [ "$hblks" = 64 ]; then pass census_mmapped_ranges
	else fail census_mmapped_ranges "ranges hold $rsum bytes, mallinfo2 hblkhd $hblkhd ($hblks blocks)"; fi
	# live chunks: nothing to trim, and no promise of it
	fr=$(jget "$TMP/mm.json" .totals.free_resident)
	read -r _ before after <<< "$(hw_cmd trim trim)"
	if [ "$fr" -le 131072 ] && [ "$(jget "$TMP/mm.json" .diagnosis.kind)" != retention ] &&
		! jget "$TMP/mm.json" .diagnosis.text | grep -q 'malloc_trim would release'; then
		pass census_mmapped_no_trim_promise
	else
		fail census_mmapped_no_trim_promise "free_resident=$fr (malloc_trim released $((before - after))): $(jget "$TMP/mm.json" .diagnosis.text)"
	fi
	hw_stop
fi

# --- (d) 400 MiB of small blocks, one in 256 kept, in the main arena and a thread's
# (4 heaps of 64 MiB, the full ones merged into one VMA by the kernel): the predicted
# release is what malloc_trim(0) then gives back ---------------------------------------
if hw_start census_big big 400 256; then
	read -r _ uord hblkhd _ <<< "$(hw_cmd info mallinfo)"
	t0=$(date +%s%N)
	"$FS" snapshot -j -p "$hpid" > "$TMP/big.json" 2> "$TMP/big.err"
	t1=$(date +%s%N)
	inuse=$(jget "$TMP/big.json" .totals.in_use)
	merged=0
	while IFS='- ' read -r lo hi _; do
		[ $((16#$hi - 16#$lo)) -ge $((128 << 20)) ] && [ $((16#$lo % (64 << 20))) = 0 ] && merged=$((merged + 1))
	done < "/proc/$hpid/maps"
	if [ "$(jget "$TMP/big.json" .approximate)" = false ] && [ "$(jget "$TMP/big.json" '.arenas | length')" = 2 ] &&
		[ "$(jget "$TMP/big.json" '.arenas[] | select(.kind == "thread") | .heaps')" = 4 ] && [ $merged -ge 1 ] &&
		within "$inuse" $((uord + hblkhd)) 2; then
		pass census_big_heap_in_use
	else
		fail census_big_heap_in_use "in_use=$inuse mallinfo2 uordblks+hblkhd=$((uord + hblkhd)), heaps merged in $merged VMAs $(jq -c '[.approximate, .note, [.arenas[] | [.heaps, .note]]]' "$TMP/big.json")"
	fi
	fr=$(jget "$TMP/big.json" .totals.free_resident)
	read -r _ before after <<< "$(hw_cmd trim trim)"
	echo "   census: walk of $(jget "$TMP/big.json" .totals.mapped) bytes took $(((t1 - t0) / 1000000)) ms; predicted $fr, malloc_trim released $((before - after))"
	if [ -n "$before" ] && [ $((before - after)) -gt $((200 << 20)) ] && within "$fr" $((before - after)) 10; then
		pass census_big_heap_trim_prediction
	else
		fail census_big_heap_trim_prediction "free_resident=$fr, malloc_trim released $((before - after))"
	fi
	hw_stop
fi

# --- snapshot --all: every process ranked by what malloc_trim would release ------------
# Two idle heaps of known shape: 64 MiB of small blocks with one in 64 kept (most of
# it free and resident) and a small live heap. Their rows must be the very figures
# `snapshot -p` gives for each (the heaps are idle), the big one ranked first; a
# process below --min-rss is not measured; --max-heap leaves heaps unwalked and says
# so (null, never 0); a spent budget measures nothing more and counts the rest.
if hw_start all_big big 64 64; then
	big=$hpid bfd=$hfd
	hfd=
	if hw_start all_small small; then
		small=$hpid sfd=$hfd
		"$FS" snapshot -j -p "$big" > "$TMP/all_big.json" 2>/dev/null
		"$FS" snapshot -j -p "$small" > "$TMP/all_small.json" 2>/dev/null
		"$FS" snapshot --all --json --min-rss 1 > "$TMP/all.json" 2> "$TMP/all.err"
		rc=$?
		row() { jq -c --argjson p "$1" '[.processes[] | select(.pid == $p)][0] | [.malloc_trim_releasable, .in_use, .allocator]' "$TMP/all.json"; }
		want_big=$(jq -c '[.totals.free_resident, .totals.in_use, .allocator.name]' "$TMP/all_big.json")
		want_small=$(jq -c '[.totals.free_resident, .totals.in_use, .allocator.name]' "$TMP/all_small.json")
		ib=$(jq --argjson p "$big" '[.processes[].pid] | index($p)' "$TMP/all.json")
		is=$(jq --argjson p "$small" '[.processes[].pid] | index($p)' "$TMP/all.json")
		if [ $rc = 0 ] && [ "$(row "$big")" = "$want_big" ] && [ "$(row "$small")" = "$want_small" ] &&
			[ "$ib" -lt "$is" ] && [ "$(jq '.processes[0].malloc_trim_releasable >= .processes[1].malloc_trim_releasable' "$TMP/all.json")" = true ]; then
			pass snapshot_all_ranks_as_single_snapshots
		else
			fail snapshot_all_ranks_as_single_snapshots "rc=$rc big $(row "$big") want $want_big (at $ib), small $(row "$small") want $want_small (at $is); $(tail -1 "$TMP/all.err")"
		fi
		# the small heap's RssAnon is under 8 MiB: not measured with --min-rss 8 MiB
		"$FS" snapshot --all --json --min-rss 8388608 --max-heap 1 > "$TMP/all2.json" 2>/dev/null
		if [ "$(jq --argjson p "$small" '[.processes[] | select(.pid == $p)] | length' "$TMP/all2.json")" = 0 ] &&
			[ "$(jq --argjson p "$big" '[.processes[] | select(.pid == $p)][0] | [.heap_walked, .malloc_trim_releasable]' -c "$TMP/all2.json")" = '[false,null]' ] &&
			[ "$(jget "$TMP/all2.json" .below_min_rss)" -ge 1 ]; then
			pass snapshot_all_min_rss_and_max_heap
		else
			fail snapshot_all_min_rss_and_max_heap "$(jq -c '{below: .below_min_rss, rows: [.processes[] | {pid, heap_walked, malloc_trim_releasable}]}' "$TMP/all2.json" | head -c 300)"
		fi
		"$FS" snapshot --all --json --min-rss 1 --max-seconds 0.000001 > "$TMP/all3.json" 2>/dev/null
		if [ "$(jget "$TMP/all3.json" '.processes | length')" -le 1 ] && [ "$(jget "$TMP/all3.json" .over_budget)" -ge 2 ]; then
			pass snapshot_all_budget
		else
			fail snapshot_all_budget "$(jq -c '{n: (.processes | length), over: .over_budget}' "$TMP/all3.json")"
		fi
		expect_error snapshot_all_and_pid 2 'either|-p PID, or --all' "$FS" snapshot --all -p 1
		echo quit >&"$sfd"; exec {sfd}>&-
	fi
	# both told to quit before hw_stop's wait (it waits for every child)
	hfd=$bfd; hw_stop
fi
