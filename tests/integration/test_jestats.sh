#!/bin/bash
# test_jestats.sh - jemalloc's own figures read from outside (`snapshot` asks the
# target's mallctl in one stopped thread) against the workload's own mallctl readings,
# and the target unharmed afterwards. Needs root.
. "$(dirname "$0")/lib.sh"

JW=$TOOLS/jework
KEYS="allocated active resident mapped retained metadata pdirty pmuzzy page"

# start_jw NAME ENVSPEC ARGS...: ($JW: the workload binary) jework idle on its pipe; sets $wpid (its PID), $jpid
# (our child: timeout), $own, $ctl
start_jw() {
	local name=$1 envspec=$2; shift 2
	own="$TMP/$name.own.json" ctl="$TMP/$name.ctl"
	rm -f "$own" "$ctl"
	mkfifo "$ctl"
	env $envspec timeout 120 "$JW" --out "$own" --ctl "$ctl" "$@" &
	jpid=$!
	wait_for "[ -s '$own' ]" 300 || { fail "$name" "workload never got idle"; kill -9 $jpid; return 1; }
	wpid=$(jget "$own" .pid)
}

rss_anon() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }

# finish_jw NAME: wakes it (more allocations, its surviving blocks checked); exit 0 expected
finish_jw() {
	local rc
	echo go > "$ctl"
	wait "$jpid" 2>/dev/null
	rc=$?
	if [ $rc = 0 ]; then pass "$1"; else fail "$1" "workload exited $rc after the snapshot (3: a block changed)"; fi
}

# compare NAME FS_JSON: every figure within 1% of the workload's own reading
compare() {
	local name=$1 out=$2 k a b bad=""
	[ "$(jget "$out" .jemalloc.valid)" = true ] || { fail "$name" "not read: $(jget "$out" .jemalloc.error)"; return; }
	for k in $KEYS; do
		a=$(jget "$out" ".jemalloc.$k"); b=$(jget "$own" ".$k")
		if [ "$b" = 0 ]; then [ "$a" = 0 ] || bad="$bad $k=$a(own 0)"
		elif ! within "$a" "$b" 1; then bad="$bad $k=$a(own $b)"; fi
	done
	if [ -z "$bad" ]; then pass "$name"; else fail "$name" "$bad"; fi
}

# --- the figures, the target's memory untouched, and it runs on ----------------------
if start_jw je_figures ""; then
	before=$(rss_anon "$wpid")
	timeout 60 "$FS" snapshot -j -p "$wpid" > "$TMP/fig.json" 2> "$TMP/fig.err"
	rc=$?
	after=$(rss_anon "$wpid")
	[ $rc = 0 ] || fail je_figures "fragscope exited $rc: $(head -c 300 "$TMP/fig.err")"
	[ $rc = 0 ] && compare je_figures "$TMP/fig.json"
	# the workload freed 70% of its blocks: dirty pages are there to be counted
	if [ "$(jget "$TMP/fig.json" .jemalloc.pdirty)" -gt 1000 ] && [ "$(jget "$TMP/fig.json" .jemalloc.background_thread)" = false ] \
		&& [ "$(jget "$TMP/fig.json" .jemalloc.bg_threads)" = 0 ]; then pass je_dirty_no_bg
	else fail je_dirty_no_bg "$(jq -c .jemalloc "$TMP/fig.json")"; fi
	d=$((after - before))
	if [ "$d" -ge -4 ] && [ "$d" -le 4 ]; then pass je_rss_anon_unchanged
	else fail je_rss_anon_unchanged "RssAnon $before kB before, $after kB after"; fi
	p=$(jget "$TMP/fig.json" .jemalloc.pause_ns)
	if [ "$p" -gt 0 ] && [ "$p" -lt 2000000000 ]; then pass je_pause_bounded; else fail je_pause_bounded "pause_ns=$p"; fi
	# a second time: the same figures (nothing left changed by the first)
	timeout 60 "$FS" snapshot -j -p "$wpid" > "$TMP/fig2.json" 2>/dev/null
	compare je_figures_again "$TMP/fig2.json"
	# the text view
	timeout 60 "$FS" snapshot -p "$wpid" > "$TMP/fig.txt" 2>&1
	if grep -q "jemalloc's own figures (mallctl; mallctl called in thread $wpid" "$TMP/fig.txt" \
		&& grep -q 'dirty .* pages freed and not purged' "$TMP/fig.txt"; then pass je_text
	else fail je_text "$(head -c 600 "$TMP/fig.txt")"; fi
	finish_jw je_target_runs_on
fi

# --- background_thread turned on at run time through mallctl, as redis does ---------
# (no purging while idle, so the figures stay still with the background thread)
if start_jw je_bg "MALLOC_CONF=dirty_decay_ms:-1,muzzy_decay_ms:-1" --bg; then
	timeout 60 "$FS" snapshot -j -p "$wpid" > "$TMP/bg.json" 2> "$TMP/bg.err"
	if [ "$(jget "$TMP/bg.json" .jemalloc.background_thread)" = true ] && [ "$(jget "$TMP/bg.json" .jemalloc.bg_threads)" -ge 1 ] \
		&& ! jget "$TMP/bg.json" .settings.MALLOC_CONF | grep -q background_thread; then pass je_bg_runtime_detected
	else fail je_bg_runtime_detected "$(jq -c '{jemalloc, settings}' "$TMP/bg.json") $(head -c 200 "$TMP/bg.err")"; fi
	compare je_bg_figures "$TMP/bg.json"
	# without asking: the threads are still seen, from /proc alone
	timeout 60 "$FS" snapshot -j --no-ask -p "$wpid" > "$TMP/noask.json" 2>/dev/null
	if [ "$(jget "$TMP/noask.json" .jemalloc.valid)" = false ] && [ "$(jget "$TMP/noask.json" .jemalloc.bg_threads)" -ge 1 ] \
		&& jget "$TMP/noask.json" .jemalloc.error | grep -q -- --no-ask; then pass je_no_ask
	else fail je_no_ask "$(jq -c .jemalloc "$TMP/noask.json")"; fi
	finish_jw je_bg_target_runs_on
fi

# --- a thread busy inside jemalloc beside the idle one --------------------------------
if start_jw je_churn "" --churn; then
	ok=1
	for i in 1 2 3; do
		timeout 60 "$FS" snapshot -j -p "$wpid" > "$TMP/churn$i.json" 2> "$TMP/churn$i.err"
		[ "$(jget "$TMP/churn$i.json" .jemalloc.valid)" = true ] || { ok=0; why="run $i: $(head -c 300 "$TMP/churn$i.err")"; }
	done
	if [ $ok = 1 ]; then pass je_churn_read; else fail je_churn_read "$why"; fi
	finish_jw je_churn_target_runs_on
fi

# --- top by PID on a process that calls jemalloc all the time: its statistics are stale
# (calls made since the reading) at most intervals, yet its memory stays the allocator's
# (seen on redis: every interval after the first called all of it "not the allocator's")
if start_jw je_top_busy "" --churn; then
	jres=$(jget "$own" .resident)
	timeout 60 "$FS" top -p "$wpid" --batch --json -n 3 > "$TMP/top.jsonl" 2> "$TMP/top.err"
	n=$(grep -c . "$TMP/top.jsonl")
	bad=$(jq -c --argjson r "$jres" 'select(.diagnosis.kind == "not_allocator"
		or .memory.owners.allocator.resident * 10 < $r * 9) | {d: .diagnosis.kind, o: .memory.owners}' "$TMP/top.jsonl" | head -c 600)
	if [ "$n" = 3 ] && [ -z "$bad" ]; then pass je_top_stale_stats_still_allocator
	else fail je_top_stale_stats_still_allocator "$n lines, jemalloc's resident $jres: $bad $(head -c 300 "$TMP/top.err")"; fi
	finish_jw je_top_busy_target_runs_on
fi

# --- the main thread busy inside jemalloc, another blocked: the busy one is refused
# whenever it is in jemalloc; its blocks keep their contents --------------------------
if start_jw je_busy "" --busy; then
	ok=1
	for i in 1 2 3 4 5; do
		timeout 60 "$FS" snapshot -j -p "$wpid" > "$TMP/busy$i.json" 2> "$TMP/busy$i.err"
		[ "$(jget "$TMP/busy$i.json" .jemalloc.valid)" = true ] || { ok=0; why="run $i: $(head -c 300 "$TMP/busy$i.err")"; }
	done
	if [ $ok = 1 ]; then pass je_busy_read; else fail je_busy_read "$why"; fi
	finish_jw je_busy_target_runs_on
fi

# --- jemalloc linked into the executable: its functions told apart from the program's ---
JW_DYN=$JW JW=$TOOLS/jework-static
if start_jw je_static ""; then
	timeout 60 "$FS" snapshot -j -p "$wpid" > "$TMP/static.json" 2> "$TMP/static.err"
	if [ "$(jget "$TMP/static.json" .allocator.object)" = "$JW" ]; then compare je_static_figures "$TMP/static.json"
	else fail je_static_figures "allocator object: $(jget "$TMP/static.json" .allocator.object) $(head -c 200 "$TMP/static.err")"; fi
	finish_jw je_static_target_runs_on
fi
JW=$JW_DYN

# --- errors: one line naming the cause, the target left as it was -----------------------
if start_jw je_stopped ""; then
	kill -STOP "$wpid"
	timeout 60 "$FS" snapshot -j -p "$wpid" > "$TMP/stopped.json" 2> "$TMP/stopped.err"
	if [ "$(grep -c . "$TMP/stopped.err")" = 1 ] && grep -q "PID $wpid is stopped: not asking its jemalloc" "$TMP/stopped.err" \
		&& [ "$(jget "$TMP/stopped.json" .jemalloc.valid)" = false ]; then pass je_error_stopped
	else fail je_error_stopped "$(head -c 300 "$TMP/stopped.err")"; fi
	kill -CONT "$wpid"
	# another tracer holds it (PTRACE_SEIZE leaves it running)
	python3 -c '
import ctypes, sys, time
libc = ctypes.CDLL(None, use_errno=True)
if libc.ptrace(0x4206, int(sys.argv[1]), None, None) != 0: sys.exit(1)
print("seized", flush=True)
time.sleep(60)' "$wpid" > "$TMP/tracer.out" &
	tpid=$!
	wait_for "grep -qs seized '$TMP/tracer.out'" 100
	timeout 60 "$FS" snapshot -j -p "$wpid" > "$TMP/traced.json" 2> "$TMP/traced.err"
	if [ "$(grep -c . "$TMP/traced.err")" = 1 ] && grep -q "PID $wpid is already traced by PID $tpid" "$TMP/traced.err"; then
		pass je_error_traced
	else fail je_error_traced "$(head -c 300 "$TMP/traced.err")"; fi
	kill "$tpid"; wait "$tpid" 2>/dev/null
	finish_jw je_error_target_runs_on
fi

# --- a glibc process: nothing to ask -----------------------------------------------------
"$TOOLS/allocwork" --wait --hold --ready "$TMP/glibc.ready" --tally "$TMP/glibc.tally" &
gpid=$!
if wait_for "[ -s '$TMP/glibc.ready' ]"; then
	timeout 60 "$FS" snapshot -j -p "$gpid" > "$TMP/glibc.json" 2> "$TMP/glibc.err"
	if [ "$(jget "$TMP/glibc.json" .allocator.name)" = glibc ] && [ "$(jget "$TMP/glibc.json" .jemalloc)" = null ] \
		&& [ ! -s "$TMP/glibc.err" ]; then pass je_glibc_not_asked
	else fail je_glibc_not_asked "$(jq -c '{allocator, jemalloc}' "$TMP/glibc.json") $(head -c 200 "$TMP/glibc.err")"; fi
else
	fail je_glibc_not_asked "allocwork never got ready"
fi
kill -9 "$gpid" 2>/dev/null; wait "$gpid" 2>/dev/null

no_programs_left nothing_left_attached_after_jestats
