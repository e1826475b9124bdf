#!/bin/bash
# test_maps.sh - the address ledger (`maps` in stat --json): who mapped what since
# attach, against a workload whose mappings are known (tools/mapwork.c): its own
# mmaps (merged into one VMA with each other and with glibc's mmapped chunks), an
# mremap, partial munmaps, glibc's arena heap (128 MiB reserved, 64 MiB kept), a
# thread stack; at libc's wrappers and at the syscall tracepoints. Needs root.
. "$(dirname "$0")/lib.sh"

# map_case NAME WORKLOAD [ARGS...]: attaches to the waiting workload by PID (FS_ARGS
# passed to fragscope), lets it work, stops fragscope while it holds; leaves
# $TMP/NAME.json and $TMP/NAME.tally.
map_case() {
	local name=$1 bin=$2; shift 2
	local ready="$TMP/$name.ready" tally="$TMP/$name.tally" out="$TMP/$name.json" err="$TMP/$name.err"
	local wpid fpid rc
	rm -f "$ready" "$tally"
	timeout 120 "$bin" --ready "$ready" --tally "$tally" "$@" &
	wait_for "[ -s '$ready' ]" || { fail "$name" "workload never got ready"; return 1; }
	wpid=$(cat "$ready")
	# not under timeout(1): it would pass our SIGINT to its whole process group
	"$FS" -v stat -j -d 300 ${FS_ARGS:-} -p "$wpid" > "$out" 2> "$err" &
	fpid=$!
	wait_for "grep -qs 'tracing PID' '$err'" 300 || { fail "$name" "no attach: $(tail -1 "$err")"; kill -9 $wpid $fpid; return 1; }
	kill -USR1 "$wpid"
	wait_for "[ -s '$tally' ]" 300 || { fail "$name" "workload never finished"; kill -9 $wpid $fpid; return 1; }
	kill -INT $fpid
	wait $fpid
	rc=$?
	kill -USR2 "$wpid" 2>/dev/null
	wait 2>/dev/null
	[ $rc = 0 ] || { fail "$name" "fragscope exited $rc: $(tail -1 "$err")"; return 1; }
	return 0
}

# ledger_diffs JSON TALLY KEYS...: "key fragscope=X expected=Y" for each differing owner
ledger_diffs() {
	local j=$1 t=$2; shift 2
	for k in "$@"; do
		local got want
		got=$(jget "$j" ".maps.owned.$k"); want=$(jget "$t" ".$k")
		[ "$got" = "$want" ] || echo -n "$k fragscope=$got expected=$want; "
	done
	[ "$(jget "$j" .maps.lost)" = 0 ] && [ "$(jget "$j" .maps.exact)" = true ] || echo -n "lost=$(jget "$j" .maps.lost); "
}

for mode in wrappers tracepoints; do
	args=""; [ $mode = tracepoints ] && args=--sys-tracepoints
	# glibc: every owner's bytes exactly, the arena heap as 64 MiB of the allocator's
	if FS_ARGS=$args map_case maps_glibc_$mode "$TOOLS/mapwork"; then
		j="$TMP/maps_glibc_$mode.json" t="$TMP/maps_glibc_$mode.tally"
		d=$(ledger_diffs "$j" "$t" allocator other_anon stack)
		# the case is the hard one only if the kernel merged the mappings
		[ "$(jget "$t" .merged_with_allocator)$(jget "$t" .merged_own)" = 11 ] || d+="mappings not merged: $(cat "$t")"
		[ "$(jget "$t" .arena_heap)" = $((64 << 20)) ] || d+="arena heap $(jget "$t" .arena_heap), expected 64 MiB"
		[ "$(jget "$j" .maps.owned.file)" = 0 ] || d+="file=$(jget "$j" .maps.owned.file); "
		if [ -z "$d" ]; then pass maps_glibc_$mode; else fail maps_glibc_$mode "$d"; fi
	fi
	# jemalloc: its extents are its own (none counted as the program's); its bytes are
	# not tallied by the workload, only checked to cover the blocks
	if FS_ARGS=$args map_case maps_jemalloc_$mode "$TOOLS/mapwork-je"; then
		j="$TMP/maps_jemalloc_$mode.json" t="$TMP/maps_jemalloc_$mode.tally"
		d=$(ledger_diffs "$j" "$t" other_anon stack)
		[ "$(jget "$j" .maps.owned.allocator)" -ge $((3 * 300000)) ] || d+="allocator=$(jget "$j" .maps.owned.allocator), below the blocks' 900000; "
		if [ -z "$d" ]; then pass maps_jemalloc_$mode; else fail maps_jemalloc_$mode "$d"; fi
	fi
done

# A ring too small for the events between two samples: the loss is counted and the
# ledger says it is not exact.
if FRAGSCOPE_MAP_EVENTS_BYTES=4096 map_case maps_lost "$TOOLS/mapwork" --no-thread --churn 1000; then
	j="$TMP/maps_lost.json"
	if [ "$(jget "$j" .maps.lost)" -gt 0 ] && [ "$(jget "$j" .maps.exact)" = false ]; then
		pass maps_lost_counted
	else
		fail maps_lost_counted "lost=$(jget "$j" .maps.lost) exact=$(jget "$j" .maps.exact) events=$(jget "$j" .maps.events)"
	fi
fi

# A munmap by raw syscall is invisible at libc's wrappers: the mapping made again at
# its place lands on bytes the ledger held, and the ledger says it is not exact. At
# the tracepoints it is seen, and all is exact.
for mode in wrappers tracepoints; do
	args=""; [ $mode = tracepoints ] && args=--sys-tracepoints
	if FS_ARGS=$args map_case maps_raw_$mode "$TOOLS/mapwork" --no-thread --raw-unmap; then
		j="$TMP/maps_raw_$mode.json" t="$TMP/maps_raw_$mode.tally"
		got="$(jget "$j" .maps.conflicts) $(jget "$j" .maps.exact) $(jget "$j" .maps.owned.other_anon)"
		[ $mode = wrappers ] && want="1 false $(jget "$t" .other_anon)" || want="0 true $(jget "$t" .other_anon)"
		if [ "$got" = "$want" ]; then pass maps_raw_unmap_$mode
		else fail maps_raw_unmap_$mode "[conflicts exact other_anon] = $got, expected $want"; fi
	fi
done

no_programs_left maps_no_programs_left
