#!/bin/bash
# test_memory.sh - why RSS stays up: the waterfall, releases, arenas, page occupancy
# and the diagnosis, on the RPC-server-like workload (tools/rpcwork.c), under
# glibc and jemalloc. Needs root.
. "$(dirname "$0")/lib.sh"

RW=$TOOLS/rpcwork
LOAD="--threads 4 --requests 20000 --burst 128"

# rpc_case NAME ENVSPEC ATTACH RPCWORK_ARGS...: runs rpcwork; ATTACH=start attaches
# fragscope before the load (rpcwork --wait), ATTACH=idle after it (--gate-after-load).
# Stops fragscope when rpcwork logs "done"; leaves $TMP/NAME.json and $TMP/NAME.log.
rpc_case() {
	local name=$1 envspec=$2 when=$3; shift 3
	local ready="$TMP/$name.ready" log="$TMP/$name.log" out="$TMP/$name.json" err="$TMP/$name.err"
	local gate wpid fpid rc
	[ "$when" = start ] && gate=--wait || gate=--gate-after-load
	rm -f "$ready" "$log"
	env $envspec "$RW" "$@" $gate --hold --ready "$ready" --log "$log" &
	wait_for "[ -s '$ready' ]" || { fail "$name" "rpcwork never got ready"; return 1; }
	wpid=$(cat "$ready")
	[ "$when" = idle ] && { wait_for "grep -qs loaded '$log'" 600 || { fail "$name" "load never ended"; kill -9 $wpid; return 1; }; }
	"$FS" -v stat -j -d 300 -p "$wpid" > "$out" 2> "$err" &
	fpid=$!
	wait_for "grep -qs 'tracing PID' '$err'" 300 || { fail "$name" "no attach: $(tail -1 "$err")"; kill -9 $wpid $fpid; return 1; }
	kill -USR1 "$wpid"
	wait_for "grep -qs done '$log'" 900 || { fail "$name" "rpcwork never finished"; kill -9 $wpid $fpid; return 1; }
	kill -INT $fpid
	wait $fpid
	rc=$?
	if [ -n "$TRIM_AFTER" ]; then	# malloc_trim(0) in the process, after fragscope's diagnosis
		kill -USR1 "$wpid"
		wait_for "grep -qs '^trim' '$log'" 300
	fi
	kill -USR2 "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	[ $rc = 0 ] || { fail "$name" "fragscope exited $rc: $(tail -1 "$err")"; return 1; }
	return 0
}

logval() { awk -v k="$2" '$1 == k { print $3 == "" ? $2 : $2 " " $3 }' "$1"; }


# --- glibc after the load: retention, with the evidence --------------------------
if TRIM_AFTER=1 rpc_case glibc_retention "" start $LOAD --idle 1; then
	j="$TMP/glibc_retention.json"
	kind=$(jget "$j" .diagnosis.kind)
	nolive=$(jget "$j" .pages.resident_no_live)
	res=$(jget "$j" .memory.resident)
	live=$(jget "$j" .memory.live)
	loglive=$(logval "$TMP/glibc_retention.log" live | cut -d' ' -f2)
	if [[ $kind =~ ^(retention|arena_spread)$ ]] && [ "$nolive" -gt $((8 << 20)) ] && [ $((nolive * 2)) -gt "$res" ] \
		&& [ "$live" = "$loglive" ]; then
		pass glibc_retention_diagnosed
	else
		fail glibc_retention_diagnosed "kind=$kind resident_no_live=$nolive resident=$res live=$live (workload: $loglive)"
	fi
	# the promise checked: what malloc_trim(0) then releases in the process is what the
	# diagnosis said it would, at most (up to 10% over: RssAnon is approximate), and most of it
	read -r before after <<< "$(logval "$TMP/glibc_retention.log" trim)"
	read -r remedy expect <<< "$(jq -r '.diagnosis | "\(.remedy) \(.expected_release)"' "$j")"
	rel=$((before - after))
	if [ "$remedy" = malloc_trim ] && [ "$expect" -gt 0 ] && [ $((rel * 10)) -le $((expect * 11)) ] \
		&& [ $((rel * 10)) -ge $((expect * 7)) ]; then
		pass glibc_trim_promise_kept
	else
		fail glibc_trim_promise_kept "remedy=$remedy expected_release=$expect, malloc_trim released $rel"
	fi
	# 4 worker threads, default arena_max (8 x cores): the main arena and one per thread
	n=$(jget "$j" '.arenas | length'); main=$(jget "$j" '[.arenas[] | select(.kind == "main")] | length')
	if [ "$n" = 5 ] && [ "$main" = 1 ]; then pass glibc_arena_count; else fail glibc_arena_count "arenas=$n main=$main, expected 5 and 1"; fi
	# the live set inside the thread arenas is exactly the workload's survivors
	inarenas=$(jget "$j" '[.arenas[] | select(.kind == "thread") | .live_blocks] | add')
	if [ "$inarenas" = "$(logval "$TMP/glibc_retention.log" live | cut -d' ' -f1)" ]; then pass glibc_arena_live_blocks
	else fail glibc_arena_live_blocks "live blocks in thread arenas: $inarenas"; fi
fi

# --- MALLOC_ARENA_MAX=2: two arenas, whatever the threads -------------------------
if rpc_case glibc_arena_max "MALLOC_ARENA_MAX=2" start $LOAD; then
	n=$(jget "$TMP/glibc_arena_max.json" '.arenas | length')
	set=$(jget "$TMP/glibc_arena_max.json" .settings.MALLOC_ARENA_MAX)
	if [ "$n" = 2 ] && [ "$set" = 2 ]; then pass glibc_arena_max_2; else fail glibc_arena_max_2 "arenas=$n setting=$set"; fi
fi

# --- an explicit malloc_trim: seen as such, with what it released ----------------
if rpc_case glibc_trim "" start $LOAD --trim; then
	j="$TMP/glibc_trim.json"
	read -r before after <<< "$(logval "$TMP/glibc_trim.log" trim)"
	calls=$(jget "$j" .releases.malloc_trim.calls)
	rel=$(jget "$j" .releases.malloc_trim.resident_bytes)
	if [ "$calls" = 1 ] && within "$rel" $((before - after)) 10; then
		pass malloc_trim_counted
	else
		fail malloc_trim_counted "calls=$calls resident_bytes=$rel, RssAnon fell by $((before - after))"
	fi
fi

# --- jemalloc with a background thread: releases that match the fall of RSS -------
# (turned on at run time when the gate opens, as redis does: before that nothing purges,
# so the memory is still there however long the attach takes on a loaded machine)
if rpc_case jemalloc_background "LD_PRELOAD=$JEMALLOC MALLOC_CONF=dirty_decay_ms:1000" \
	idle $LOAD --idle 4 --bg-at-gate; then
	j="$TMP/jemalloc_background.json"
	# RssAnon when fragscope's probes were in place, and at the end of the idle phase
	loaded=$(jget "$j" .memory.rss_anon_start)
	idle=$(logval "$TMP/jemalloc_background.log" idle)
	rel=$(jget "$j" '[.releases.by_source[].resident_bytes] | add')
	bg=$(jget "$j" .releases.by_source.jemalloc_background.calls)
	if [ "$bg" -gt 0 ] && [ $((loaded - idle)) -gt $((16 << 20)) ] && within "$rel" $((loaded - idle)) 10; then
		pass jemalloc_background_releases
	else
		fail jemalloc_background_releases "background calls=$bg released=$rel, RssAnon fell by $((loaded - idle))"
	fi
fi

# --- jemalloc without one, threads idle: the memory waits in its cache -------------
if rpc_case jemalloc_idle "LD_PRELOAD=$JEMALLOC" idle $LOAD --idle 2; then
	j="$TMP/jemalloc_idle.json"
	kind=$(jget "$j" .diagnosis.kind)
	if [ "$kind" = allocator_cache ] && grep -qs background_thread:true <<< "$(jget "$j" .diagnosis.text)"; then
		pass jemalloc_cache_diagnosed
	else
		fail jemalloc_cache_diagnosed "kind=$kind: $(jget "$j" .diagnosis.text)"
	fi
fi

# --- jemalloc's promise checked: the dirty pages its own statistics showed are what
# the background thread then gives back (turned on at run time, after the diagnosis)
rm -f "$TMP/je_promise.ready" "$TMP/je_promise.log"
env LD_PRELOAD=$JEMALLOC MALLOC_CONF=dirty_decay_ms:1000 "$RW" $LOAD --gate-after-load --bg-at-gate --idle 4 --hold \
	--ready "$TMP/je_promise.ready" --log "$TMP/je_promise.log" &
if wait_for "[ -s '$TMP/je_promise.ready' ] && grep -qs loaded '$TMP/je_promise.log'" 600; then
	wpid=$(cat "$TMP/je_promise.ready")
	timeout 120 "$FS" stat -j -d 2 -p "$wpid" > "$TMP/je_promise.json" 2> "$TMP/je_promise.err"
	kill -USR1 "$wpid"
	wait_for "grep -qs done '$TMP/je_promise.log'" 300
	kill -USR2 "$wpid"; wait "$wpid" 2>/dev/null
	read -r remedy expect evidence <<< "$(jq -r '.diagnosis | "\(.remedy) \(.expected_release) \(.evidence)"' "$TMP/je_promise.json")"
	fall=$(( $(logval "$TMP/je_promise.log" resumed) - $(logval "$TMP/je_promise.log" idle) ))
	if [ "$remedy" = background_thread ] && [ "$expect" -gt $((8 << 20)) ] && within "$fall" "$expect" 15; then
		pass jemalloc_background_promise_kept
	else
		fail jemalloc_background_promise_kept "remedy=$remedy expected_release=$expect ($evidence), RssAnon fell by $fall"
	fi
else
	fail jemalloc_background_promise_kept "rpcwork never loaded"
fi

# --- the memory syscalls are the target's only, and aggregated --------------------
j="$TMP/glibc_retention.json"
if [ -s "$j" ] && [ "$(jget "$j" .syscalls.mprotect.calls)" -gt 0 ] && [ "$(jget "$j" .syscalls.madvise.calls)" -gt 0 ] \
	&& [ "$(jget "$j" .faults.total)" -gt 0 ]; then
	pass syscalls_counted
else
	fail syscalls_counted "$(jget "$j" -c .syscalls 2>&1 | head -c 300)"
fi

no_programs_left nothing_left_attached_after_memory_tests
