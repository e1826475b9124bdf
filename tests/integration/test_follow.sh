#!/bin/bash
# test_follow.sh - a command's descendants are traced, each exactly: a forking server
# (children inherit a heap and free part of it), an `sh -c` wrapper, an `env
# LD_PRELOAD=jemalloc` wrapper, a static child that cannot be traced (named, NOT
# EXACT), and -p with and without --follow. Needs root.
. "$(dirname "$0")/lib.sh"

AW=$TOOLS/allocwork
FW=$TOOLS/forkwork
ST=$TOOLS/static-stripped

# proc_doc FS_JSON SELECT OUT: one process of processes[] in the shape compare_counts reads.
proc_doc() {
	jq "[.processes[] | select($2)] | first | {totals: {allocs, frees, bytes_allocated, bytes_freed,
		failed_allocs, free_null, frees_unknown}, live: {count: .live_count, bytes: .live_bytes, exact, usable_bytes: .live_usable_bytes, usable_exact}}" "$1" > "$3"
}

# no process of ours left stopped (T) by the holds at birth and exec
no_stopped() {
	local left
	left=$(ps -eo stat=,pid=,comm= | awk '$1 ~ /^T/ && ($3 ~ /^(allocwork|forkwork|static-strippe|sh|env)$/) { print $2 "(" $3 ")" }' | tr '\n' ' ')
	if [ -z "$left" ]; then pass "$1"; else fail "$1" "left stopped: $left"; fi
}

# --- a forking server: every worker exactly, inherited blocks freed as unknown ---------
dir="$TMP/fw"; mkdir -p "$dir"
timeout 120 "$FS" stat -j -- "$FW" --workers 3 --rounds 3000 --keep 64 --dir "$dir" > "$TMP/fw.json" 2> "$TMP/fw.err"
rc=$?
n=$(jget "$TMP/fw.json" '[.processes[] | select(.role == "child")] | length')
if [ $rc = 0 ] && [ "$n" = 3 ] && [ "$(jget "$TMP/fw.json" .processes_total.exact)" = true ] \
	&& [ "$(jget "$TMP/fw.json" .untraced.count)" = 0 ]; then pass follow_fork_processes
else fail follow_fork_processes "rc=$rc children=$n $(jq -c '.untraced' "$TMP/fw.json" 2>&1) $(tail -1 "$TMP/fw.err")"; fi
for f in "$dir"/worker.*; do
	[ -e "$f" ] || { fail follow_fork_worker_exact "no worker tally"; break; }
	wp=${f##*.}
	proc_doc "$TMP/fw.json" ".pid == $wp and .role == \"child\"" "$TMP/fw.$wp.json"
	compare_counts "follow_fork_worker_exact_$wp" "$TMP/fw.$wp.json" "$f"
done

# --- sh -c: the shell forks, the child execs the workload: traced from its start ------
# (run twice, with and without the work: libc's start-up noise cancels)
for r in 0 5000; do
	timeout 120 "$FS" stat -j -- sh -c "$AW --rounds $r --keep 16 --tally $TMP/shc.$r.tally; true" \
		> "$TMP/shc.$r.json" 2> "$TMP/shc.$r.err" || fail follow_sh_c "rc=$? $(tail -1 "$TMP/shc.$r.err")"
	proc_doc "$TMP/shc.$r.json" '.comm == "allocwork" and .role == "exec"' "$TMP/shc.$r.doc"
done
roles=$(jq -r '[.processes[] | "\(.comm):\(.role)"] | join(",")' "$TMP/shc.5000.json")
if [ "$roles" = "sh:target,sh:child,allocwork:exec" ]; then pass follow_sh_c_roles; else fail follow_sh_c_roles "$roles"; fi
fs_counts_as_tally "$TMP/shc.0.doc" "$TMP/shc.base"
add_json "$TMP/shc.base" "$TMP/shc.5000.tally" "$TMP/shc.expected"
compare_counts follow_sh_c_exact "$TMP/shc.5000.doc" "$TMP/shc.expected"

# --- env LD_PRELOAD=jemalloc: the new image's allocator is found again ----------------
for r in 0 5000; do
	timeout 120 "$FS" stat -j -- env LD_PRELOAD="$JEMALLOC" "$AW" --api $JE_APIS --rounds $r --keep 16 --tally "$TMP/env.$r.tally" \
		> "$TMP/env.$r.json" 2> "$TMP/env.$r.err" || fail follow_env_preload "rc=$? $(tail -1 "$TMP/env.$r.err")"
	proc_doc "$TMP/env.$r.json" '.role == "exec"' "$TMP/env.$r.doc"
done
a=$(jq -r '[.processes[] | "\(.comm):\(.allocator)"] | join(",")' "$TMP/env.5000.json")
top=$(jget "$TMP/env.5000.json" .allocator.name)
if [ "$a" = "env:glibc,allocwork:jemalloc" ] && [ "$top" = jemalloc ]; then pass follow_env_preload_allocator
else fail follow_env_preload_allocator "processes $a, top-level allocator $top"; fi
fs_counts_as_tally "$TMP/env.0.doc" "$TMP/env.base"
add_json "$TMP/env.base" "$TMP/env.5000.tally" "$TMP/env.expected"
compare_counts follow_env_preload_exact "$TMP/env.5000.doc" "$TMP/env.expected"

# --- a script as the command: its interpreter runs it (and is traced) ----------------
printf '#!/bin/sh\nexec %s --rounds 100 "$@"\n' "$AW" > "$TMP/script.sh"; chmod +x "$TMP/script.sh"
timeout 120 "$FS" stat -j -- "$TMP/script.sh" --keep 4 > "$TMP/script.json" 2> "$TMP/script.err"
rc=$?
roles=$(jq -r '[.processes[] | "\(.comm):\(.role)"] | join(",")' "$TMP/script.json" 2>/dev/null)
if [ $rc = 0 ] && [ "$roles" = "script.sh:target,allocwork:exec" ] && [ "$(jget "$TMP/script.json" .processes_total.exact)" = true ]; then
	pass follow_script
else fail follow_script "rc=$rc roles=$roles $(tail -1 "$TMP/script.err")"; fi

# --- the text names every process ---------------------------------------------------
timeout 120 "$FS" stat -o "$TMP/text.out" -- sh -c "$AW --rounds 100; true" 2> /dev/null
if grep -q '^ processes: 3 traced' "$TMP/text.out" && grep -Eq ' allocwork +exec +glibc' "$TMP/text.out" \
	&& grep -q '^ exact: every call of every process' "$TMP/text.out"; then pass follow_text
else fail follow_text "$(grep -A8 '^ processes' "$TMP/text.out" | head -c 600)"; fi

# --- a program that cannot be traced: named, NOT EXACT, and it still runs -----------
timeout 120 "$FS" stat -o "$TMP/static.out" -- sh -c "$ST --workers 0 && echo ran > $TMP/static.ran" 2> "$TMP/static.err"
timeout 120 "$FS" stat -j -- sh -c "$ST --workers 0; true" > "$TMP/static.json" 2> /dev/null
why=$(jget "$TMP/static.json" '.untraced.processes[0].why')
if grep -q '^ NOT EXACT: processes ran untraced' "$TMP/static.out" && [ -s "$TMP/static.ran" ] \
	&& [ "$(jget "$TMP/static.json" .processes_total.exact)" = false ] && [[ $why == *"statically linked"* ]]; then
	pass follow_untraceable_named
else fail follow_untraceable_named "why='$why' $(tail -3 "$TMP/static.out")"; fi

# --- --no-follow: only the first process, the rest named ---------------------------
timeout 120 "$FS" stat -j --no-follow -- sh -c "$AW --rounds 10; true" > "$TMP/nof.json" 2> /dev/null
if [ "$(jget "$TMP/nof.json" '.processes | length')" = 1 ] && [ "$(jget "$TMP/nof.json" .untraced.count)" = 1 ] \
	&& [ "$(jget "$TMP/nof.json" '.untraced.processes[0].chosen')" = true ]; then pass follow_no_follow
else fail follow_no_follow "$(jq -c '.untraced' "$TMP/nof.json")"; fi

# --- --max-procs: beyond it, processes run untraced, named, and NOT EXACT -------------
d="$TMP/maxp"; mkdir -p "$d"
timeout 120 "$FS" stat -j --max-procs 2 -- "$FW" --workers 3 --rounds 100 --dir "$d" > "$TMP/maxp.json" 2> /dev/null
rc=$?
nw=$(ls "$d"/worker.* 2>/dev/null | wc -l)
if [ $rc = 0 ] && [ "$nw" = 3 ] && [ "$(jget "$TMP/maxp.json" '.processes | length')" = 2 ] \
	&& [ "$(jget "$TMP/maxp.json" .untraced.missed)" = 2 ] && [ "$(jget "$TMP/maxp.json" .processes_total.exact)" = false ] \
	&& jget "$TMP/maxp.json" '.untraced.processes[0].why' | grep -q -- '--max-procs'; then pass follow_max_procs
else fail follow_max_procs "rc=$rc workers=$nw $(jq -c '.untraced' "$TMP/maxp.json")"; fi

# --- -p: children born during the trace are counted and named; --follow traces them --
for mode in plain follow; do
	d="$TMP/p$mode"; mkdir -p "$d"; rm -f "$d"/*
	"$FW" --workers 2 --rounds 2000 --keep 32 --dir "$d" --wait &
	wpid=$!
	wait_for "[ -s '$d/ready' ]" || { fail "follow_pid_$mode" "workload never got ready"; kill -9 $wpid; continue; }
	args=(); [ $mode = follow ] && args=(--follow)
	"$FS" -v stat -j "${args[@]}" -p "$wpid" > "$d/out.json" 2> "$d/err" &
	fpid=$!
	wait_for "grep -qs 'tracing PID' '$d/err'" 300 || { fail "follow_pid_$mode" "no attach"; kill -9 $wpid $fpid; continue; }
	kill -USR1 "$wpid"
	wait $wpid; wrc=$?
	wait $fpid; frc=$?
	nw=$(ls "$d"/worker.* 2>/dev/null | wc -l)
	if [ $mode = plain ]; then
		if [ $wrc = 0 ] && [ $frc = 0 ] && [ "$nw" = 2 ] && [ "$(jget "$d/out.json" .untraced.count)" = 2 ] \
			&& jget "$d/out.json" '.untraced.processes[0].why' | grep -q -- '--follow'; then pass follow_pid_children_named
		else fail follow_pid_children_named "workload rc=$wrc fragscope rc=$frc workers=$nw $(jq -c .untraced "$d/out.json")"; fi
	else
		if [ $wrc = 0 ] && [ $frc = 0 ] && [ "$(jget "$d/out.json" '[.processes[] | select(.role == "child")] | length')" = 2 ]; then
			pass follow_pid_follow
		else fail follow_pid_follow "workload rc=$wrc fragscope rc=$frc $(jq -c '[.processes[] | {pid, role}]' "$d/out.json")"; fi
		for f in "$d"/worker.*; do
			wp=${f##*.}
			proc_doc "$d/out.json" ".pid == $wp" "$d/doc.$wp"
			compare_counts "follow_pid_follow_exact_$wp" "$d/doc.$wp" "$f"
		done
	fi
done

no_stopped follow_nothing_left_stopped
no_programs_left follow_no_programs_left
