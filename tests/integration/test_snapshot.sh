#!/bin/bash
# test_snapshot.sh - `fragscope snapshot`: a census of a running glibc heap read from
# outside, against a workload that builds a known state and waits. Needs root.
. "$(dirname "$0")/lib.sh"

RW=$TOOLS/rpcwork

# start_held NAME ENV ARGS...: rpcwork that loads, then holds; sets $wpid and $log
start_held() {
	local name=$1 envspec=$2; shift 2
	log="$TMP/$name.log"
	rm -f "$TMP/$name.ready" "$log"
	env $envspec "$RW" "$@" --hold --ready "$TMP/$name.ready" --log "$log" &
	wait_for "grep -qs done '$log'" 600 || { fail "$name" "workload never got to its idle state"; return 1; }
	wpid=$(cat "$TMP/$name.ready")
}

stop_held() { kill -USR2 "$wpid" 2>/dev/null; wait "$wpid" 2>/dev/null; }

# --- 4 threads, known survivors: the arenas it made, in-use bytes ~ its tally ------
if start_held census "" --threads 4 --requests 20000 --burst 128; then
	out="$TMP/census.json"
	"$FS" snapshot -j -p "$wpid" > "$out" 2> "$TMP/census.err"
	rc=$?
	n=$(jget "$out" '.arenas | length'); main=$(jget "$out" '[.arenas[] | select(.kind == "main")] | length')
	if [ $rc = 0 ] && [ "$n" = 5 ] && [ "$main" = 1 ]; then pass snapshot_arenas
	else fail snapshot_arenas "rc=$rc arenas=$n main=$main $(head -c 200 "$TMP/census.err")"; fi
	# in use = the survivors' chunks (request + 8, 16-aligned, >= 32) plus libc's own few
	# chunks (each thread's 0x290 tcache, stdio): within 16 KiB
	chunks=$(awk '$1 == "chunks" { print $2 }' "$log")
	inuse=$(jget "$out" .totals.in_use)
	d=$((inuse - chunks))
	if [ "$(jget "$out" .approximate)" = false ] && [ $d -ge 0 ] && [ $d -le 16384 ]; then pass snapshot_in_use_matches_tally
	else fail snapshot_in_use_matches_tally "in_use=$inuse workload chunks=$chunks (diff $d)"; fi
	# what malloc_trim then releases, measured by the workload itself
	fr=$(jget "$out" .totals.free_resident)
	kill -USR1 "$wpid"
	wait_for "grep -qs trim '$log'" 100
	read -r before after <<< "$(awk '$1 == "trim" { print $2, $3 }' "$log")"
	if [ -n "$before" ] && within "$fr" $((before - after)) 10; then pass snapshot_free_resident_is_what_trim_releases
	else fail snapshot_free_resident_is_what_trim_releases "free_resident=$fr, malloc_trim released $((before - after))"; fi
	# and after the trim, nothing much is left to release
	"$FS" snapshot -j -p "$wpid" > "$TMP/census2.json" 2>/dev/null
	fr2=$(jget "$TMP/census2.json" .totals.free_resident)
	if [ "$fr2" -lt $((fr / 10)) ]; then pass snapshot_after_trim; else fail snapshot_after_trim "free_resident after trim: $fr2 (before: $fr)"; fi
	stop_held
fi

# --- the text view names the remedy --------------------------------------------------
if start_held census_text "" --threads 2 --requests 10000 --burst 128; then
	"$FS" snapshot -p "$wpid" > "$TMP/text.out" 2>&1
	if grep -q 'malloc_trim would release about' "$TMP/text.out" && grep -q '^  thread' "$TMP/text.out"; then pass snapshot_text
	else fail snapshot_text "$(head -c 400 "$TMP/text.out")"; fi
	stop_held
fi

# --- a heap mutating at full speed: consistent figures or a clear "approximate" ------
"$RW" --threads 2 --requests 2000000 --burst 64 --ready "$TMP/busy.ready" --log "$TMP/busy.log" &
bpid=$!
wait_for "[ -s '$TMP/busy.ready' ]"
ok=1
for i in 1 2 3 4 5 6; do
	"$FS" snapshot -j -p "$bpid" > "$TMP/busy$i.json" 2> "$TMP/busy$i.err" || { ok=0; why="run $i exited $?: $(cat "$TMP/busy$i.err")"; break; }
	jq -e '(.approximate == true) or (.totals.in_use + .totals.free <= .totals.mapped)' "$TMP/busy$i.json" > /dev/null ||
		{ ok=0; why="run $i: inconsistent figures $(jq -c .totals "$TMP/busy$i.json")"; break; }
	sleep 0.2
done
kill -9 $bpid 2>/dev/null; wait $bpid 2>/dev/null
if [ $ok = 1 ]; then pass snapshot_mutating_heap; else fail snapshot_mutating_heap "$why"; fi

# --- jemalloc: mappings and settings, and it says what needs tracing ---------------
if start_held census_je "LD_PRELOAD=$JEMALLOC MALLOC_CONF=dirty_decay_ms:5000" --threads 2 --requests 5000; then
	"$FS" snapshot -j -p "$wpid" > "$TMP/je.json" 2>/dev/null
	if [ "$(jget "$TMP/je.json" .allocator.name)" = jemalloc ] && [ "$(jget "$TMP/je.json" .settings.MALLOC_CONF)" = dirty_decay_ms:5000 ] \
		&& [ "$(jget "$TMP/je.json" .totals.resident)" -gt 0 ] && jget "$TMP/je.json" .diagnosis.text | grep -q "jemalloc's own stats"; then
		pass snapshot_jemalloc
	else
		fail snapshot_jemalloc "$(jq -c '{allocator, totals, settings, diagnosis}' "$TMP/je.json")"
	fi
	# not asked: nothing is known to be free, and it says what would tell
	"$FS" snapshot -j --no-ask -p "$wpid" > "$TMP/je-noask.json" 2>/dev/null
	if jget "$TMP/je-noask.json" .diagnosis.text | grep -q 'fragscope stat' && [ "$(jget "$TMP/je-noask.json" .totals.resident)" = 0 ]; then
		pass snapshot_jemalloc_not_asked
	else
		fail snapshot_jemalloc_not_asked "$(jq -c '{totals, diagnosis}' "$TMP/je-noask.json")"
	fi
	stop_held
fi

# --- bad input --------------------------------------------------------------------------
expect_error snapshot_no_pid 2 'give the process with -p PID' "$FS" snapshot
expect_error snapshot_no_such_pid 1 'no process with PID 4000000' "$FS" snapshot -p 4000000
