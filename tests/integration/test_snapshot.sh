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

rss_anon() { awk '$1 == "RssAnon:" { print $2 * 1024 }' "/proc/$1/status"; }
# thp_advised PID: its thread arenas' heaps (read-write, 64 MiB-aligned) advised for
# huge pages (VmFlags hg; THPeligible reads 0 while the workload holds THP frozen)
thp_advised() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { split($1, a, "-"); heap = $2 == "rw-p" && NF == 5 && a[1] ~ /[048c]000000$/ }
	     heap && $1 == "VmFlags:" && / hg/ { n++ } END { print n + 0 }' "/proc/$1/smaps"
}
thp_mode() { sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; }

# trim_case PREFIX RPCWORK_ARGS...: a held heap (4 threads, known survivors), THP frozen
# while it is held (--freeze-thp: under THP "always" or --thp, khugepaged would
# otherwise refill the pages malloc_trim gives back at a time of its choosing); the
# census against the workload's own tally, what malloc_trim then gives back, and the
# target's RssAnon around every census. Leaves the workload held ($wpid, $log) and
# $fr set, or returns 1.
trim_case() {
	local p=$1 out rc n main chunks inuse d before after r0 r1; shift
	start_held "$p" "" --threads 4 --requests 20000 --burst 128 --freeze-thp "$@" || return 1
	out="$TMP/$p.json"
	adv0=$(thp_advised "$wpid")
	r0=$(rss_anon "$wpid")
	"$FS" snapshot -j -p "$wpid" > "$out" 2> "$TMP/$p.err"
	rc=$?
	r1=$(rss_anon "$wpid")
	n=$(jget "$out" '.arenas | length'); main=$(jget "$out" '[.arenas[] | select(.kind == "main")] | length')
	if [ $rc = 0 ] && [ "$n" = 5 ] && [ "$main" = 1 ]; then pass "${p}_arenas"
	else fail "${p}_arenas" "rc=$rc arenas=$n main=$main $(head -c 200 "$TMP/$p.err")"; fi
	# in use = the survivors' chunks (request + 8, 16-aligned, >= 32) plus libc's own few
	# chunks (each thread's 0x290 tcache, stdio): within 16 KiB
	chunks=$(awk '$1 == "chunks" { print $2 }' "$log")
	inuse=$(jget "$out" .totals.in_use)
	d=$((inuse - chunks))
	if [ "$(jget "$out" .approximate)" = false ] && [ $d -ge 0 ] && [ $d -le 16384 ]; then pass "${p}_in_use_matches_tally"
	else fail "${p}_in_use_matches_tally" "in_use=$inuse workload chunks=$chunks (diff $d)"; fi
	# what malloc_trim then releases, measured by the workload itself
	fr=$(jget "$out" .totals.free_resident)
	kill -USR1 "$wpid"
	wait_for "grep -qs trim '$log'" 100
	read -r before after <<< "$(awk '$1 == "trim" { print $2, $3 }' "$log")"
	if [ -n "$before" ] && within "$fr" $((before - after)) 10; then pass "${p}_free_resident_is_what_trim_releases"
	else fail "${p}_free_resident_is_what_trim_releases" "free_resident=$fr, malloc_trim released $((before - after))"; fi
	# and after the trim, nothing much is left to release; neither census read a page
	# that was not there (a read of one faults it in: on kernels that map no zero page
	# on reads, or in a THP range, as real RSS, which the next census counts)
	"$FS" snapshot -j -p "$wpid" > "$TMP/$p-2.json" 2>/dev/null
	fr2=$(jget "$TMP/$p-2.json" .totals.free_resident)
	r2=$(rss_anon "$wpid")
	if [ "$fr2" -lt $((fr / 10)) ]; then pass "${p}_after_trim"; else fail "${p}_after_trim" "free_resident after trim: $fr2 (before: $fr)"; fi
	if [ "$r0" = "$r1" ] && [ "$after" = "$r2" ]; then pass "${p}_faults_nothing_in"
	else fail "${p}_faults_nothing_in" "target's RssAnon $r0 -> $r1 across the first census, $after -> $r2 across the second"; fi
}

# --- 4 threads, known survivors: the arenas it made, in-use bytes ~ its tally ------
if trim_case snapshot; then
	stop_held
fi

# --- the same under transparent huge pages (rpcwork --thp: its mappings advised, as
# all are under THP "always"): malloc_trim splits huge pages; then khugepaged's work,
# done at once (MADV_COLLAPSE), refills freed pages, and the census sees them again ---
if [ "$(thp_mode)" = never ]; then
	echo "SKIP snapshot_thp: transparent huge pages are 'never' on this machine"
elif trim_case snapshot_thp --thp; then
	# how many huge pages are left after the load is up to the kernel (malloc's own
	# trims split them, the deferred split breaks them up): the arenas are advised,
	# and the collapse below must make huge pages
	if [ "$adv0" = 4 ]; then pass snapshot_thp_advised
	else fail snapshot_thp_advised "$adv0 arena heaps advised for huge pages after the load, expected 4"; fi
	kill -HUP "$wpid"
	wait_for "grep -qs collapse '$log'" 100
	read -r cb ca <<< "$(awk '$1 == "collapse" { print $2, $3 }' "$log")"
	"$FS" snapshot -j -p "$wpid" > "$TMP/thp3.json" 2>/dev/null
	fr3=$(jget "$TMP/thp3.json" .totals.free_resident)
	kill -USR1 "$wpid"
	wait_for "[ \$(grep -c '^trim' '$log') = 2 ]" 100
	read -r before after <<< "$(awk '$1 == "trim" { b = $2; a = $3 } END { print b, a }' "$log")"
	# refilled: RSS grew by more than a huge page, and the census says what trim gives back again
	ahp=$(awk '$1 == "AnonHugePages:" { s += $2 } END { print s * 1024 }' "/proc/$wpid/smaps")
	if [ -n "$ca" ] && [ $((ca - cb)) -gt $((2 << 20)) ] && [ "$fr3" -gt $((2 << 20)) ] && within "$fr3" $((before - after)) 10; then
		pass snapshot_thp_refilled_pages
	else
		fail snapshot_thp_refilled_pages "collapse RssAnon ${cb:-?} -> ${ca:-?}; free_resident $fr3, malloc_trim released $((before - after)); AnonHugePages after it $ahp"
	fi
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
