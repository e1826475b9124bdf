#!/bin/bash
# test_top.sh - `fragscope top`: batch and JSON lines checked against the workload's
# tally, two processes side by side, the full-screen view inside tmux (figures,
# resize, quit, terminal restored, signals), a target that exits, the sampled sites
# against the exact totals and the target's code mappings, --help against the keys
# written, errors. Needs root.
. "$(dirname "$0")/lib.sh"

AW=$TOOLS/allocwork
TM="fstop-$$"	# our tmux server socket: nothing else's sessions are touched
tm() { tmux -L "$TM" "$@"; }
PIDS=()
cleanup() {
	tm kill-server 2>/dev/null
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

# start_work NAME ENVSPEC ARGS...: allocwork waiting for SIGUSR1; sets WPID.
start_work() {
	local name=$1 envspec=$2; shift 2
	rm -f "$TMP/$name.ready" "$TMP/$name.tally"
	env $envspec "$AW" "$@" --wait --ready "$TMP/$name.ready" --tally "$TMP/$name.tally" &
	PIDS+=($!)
	disown $!	# killed at the end: no job notice
	wait_for "[ -s '$TMP/$name.ready' ]" || { WPID=; return 1; }
	WPID=$(cat "$TMP/$name.ready")
}

# What fmt__bytes prints for a byte count: 73114250 -> "69.7 MiB".
human() {
	awk -v v="$1" 'BEGIN { split("B KiB MiB GiB TiB PiB", u, " "); d = v; i = 1
		while (d >= 1024 && i < 6) { d /= 1024; i++ }
		if (i == 1) printf "%d B\n", v; else printf "%.1f %s\n", d, u[i] }'
}

# --- 1. batch JSON: the live set of the workload, exactly, once its phase ran ------
if start_work json "" --api malloc --rounds 2000 --keep 1 --hold; then
	W=$WPID
	out="$TMP/json.jsonl"
	timeout 30 "$FS" top --batch --json -i 200 -n 10 -p "$W" > "$out" 2> "$TMP/json.err" &
	fpid=$!
	if wait_for "[ -s '$out' ]" 100; then
		kill -USR1 "$W"
		wait $fpid
		rc=$?
		first=$(head -1 "$out" | jq -r .live.count)
		want=$(jq -r .live_bytes "$TMP/json.tally")
		got=$(jq -r 'select(.live.count == 2000) | .live.bytes' "$out" | tail -1)
		nl=$(wc -l < "$out")
		keys=$(tail -1 "$out" | jq -r '[("target","allocator","totals","live","lost","memory","releases","diagnosis","interval","process") as $k | select(has($k) | not) | $k] | join(",")')
		rate=$(jq -s '[.[].interval.allocs_per_s] | max' "$out")
		if [ "$rc" = 0 ] && [ "$nl" = 10 ] && [ "$first" = 0 ] && [ "$got" = "$want" ] && [ -z "$keys" ] \
			&& awk -v r="$rate" 'BEGIN { exit !(r > 0) }'; then
			pass top_json_live_exact
		else
			fail top_json_live_exact "rc=$rc lines=$nl first live.count=$first live.bytes=$got (tally $want) missing keys=[$keys] max allocs/s=$rate: $(tail -1 "$TMP/json.err")"
		fi
	else
		fail top_json_live_exact "no line: $(tail -1 "$TMP/json.err")"
		kill -9 $fpid
	fi
	kill -USR2 "$W" 2>/dev/null
else
	fail top_json_live_exact "workload never got ready"
fi

# --- 2 and 4. two processes, glibc and jemalloc, side by side in batch mode; one exits
start_work g "" --rounds 10 && G=$WPID
start_work je "LD_PRELOAD=$JEMALLOC" --rounds 10 --api "$JE_APIS" && J=$WPID
if [ -n "$G" ] && [ -n "$J" ]; then
	# text lines when stdout is a pipe: a header, then one line per interval and process
	# (one process: detaching a tracer takes seconds, the JSON run below has two)
	timeout 30 "$FS" top -i 200 -n 2 -p "$G" > "$TMP/two.txt" 2> "$TMP/two.err"
	rc=$?
	if [ $rc = 0 ] && head -1 "$TMP/two.txt" | grep -q '^TIME .*PID.*LIVE.*HELD_FREE.*RESIDENT.*RETURNED.*ALLOC/S.*FREE/S' \
		&& [ "$(awk -v p="$G" '$2 == p && $3 == "allocwork" && $10 == "run"' "$TMP/two.txt" | wc -l)" = 2 ]; then
		pass top_batch_text_lines
	else
		fail top_batch_text_lines "rc=$rc: $(head -c 400 "$TMP/two.txt") $(tail -1 "$TMP/two.err")"
	fi
	# JSON lines for both, each with its allocator; one exits (its figures are kept,
	# marked exited) while the other goes on; once both have exited, top ends by itself
	out="$TMP/two.jsonl"
	timeout 30 "$FS" top -j -i 200 -p "$G" -p "$J" > "$out" 2> "$TMP/two.err" &
	fpid=$!
	wait_for "[ -s '$out' ]" 100
	kill -USR1 "$G"	# its 10 rounds, then (no --hold) it exits
	# three more intervals of J after G's exit was seen
	wait_for "[ \"\$(jq -s 'map(select(.target.pid == $G and .target.exited)) | length' '$out')\" -ge 3 ]" 100
	kill -USR1 "$J"
	wait $fpid
	rc=$?
	ag=$(jq -r "select(.target.pid == $G) | .allocator.name" "$out" | sort -u | tr '\n' ' ')
	aj=$(jq -r "select(.target.pid == $J) | .allocator.name" "$out" | sort -u | tr '\n' ' ')
	if [ $rc = 0 ] && [ "$ag" = "glibc " ] && [ "$aj" = "jemalloc " ]; then
		pass top_two_pids_json
	else
		fail top_two_pids_json "rc=$rc lines=$(wc -l < "$out") allocators: $G=$ag $J=$aj: $(tail -1 "$TMP/two.err")"
	fi
	# after G's exit: G's lines keep its figures, J's lines go on running
	last_g=$(jq -c "select(.target.pid == $G) | [.target.exited, .live.count, .totals.allocs]" "$out" | tail -1)
	want=$(jq -c '[true, .live_count, .allocs]' "$TMP/g.tally" 2>/dev/null)
	nj=$(jq -s "(map(.target.pid == $G and .target.exited) | index(true)) as \$i
		| .[\$i:] | map(select(.target.pid == $J and .target.exited == false)) | length" "$out")
	if [ $rc = 0 ] && [ "$last_g" = "$want" ] && [ "$nj" -ge 2 ]; then
		pass top_exited_target_kept
	else
		fail top_exited_target_kept "rc=$rc last line of $G: $last_g (want $want), running lines of $J after: $nj"
	fi
	if [ $rc = 0 ] && [ "$(tail -2 "$out" | jq -r .target.exited | sort -u)" = true ]; then
		pass top_batch_ends_when_all_exited
	else
		fail top_batch_ends_when_all_exited "rc=$rc: $(tail -2 "$out" | jq -c '[.target.pid, .target.exited]')"
	fi
else
	fail top_two_pids_json "workloads never got ready"
fi

# --- 3. the full-screen view in tmux ----------------------------------------------
screen() { tm capture-pane -p -t top; }
if start_work tui "" --api malloc --rounds 2000 --keep 1 --hold; then
	W=$WPID
	tm new-session -d -s top -x 200 -y 50 "bash --norc --noprofile" || fail top_tui "tmux: cannot start"
	tm send-keys -t top "stty -g > $TMP/stty.before; bash -c 'echo \$\$ > $TMP/top.pid; exec env LANG=C.UTF-8 $FS top -i 250 -p $W' 2> $TMP/tui.err; echo \$? > $TMP/top.exit; stty -g > $TMP/stty.after" Enter
	if wait_for "screen | grep -q 'PID $W '" 100; then
		kill -USR1 "$W"
		wait_for "[ -s '$TMP/tui.tally' ]" 100
		live=$(human "$(jq -r .live_bytes "$TMP/tui.tally")")
		if wait_for "screen | grep -Eq '^ *live +$live '" 50 && screen | grep -q "allocator glibc" \
			&& screen | grep -Eq "live blocks 2,000"; then
			pass top_tui_figures
		else
			fail top_tui_figures "no 'live $live' / allocator glibc / 2,000 live blocks on screen: $(screen | head -20)"
		fi
		# resize: still running, redrawn to the new width (the header ends in its last column)
		tm resize-window -t top -x 120 -y 40
		if wait_for "screen | head -1 | grep -q 'q quit\$' && [ \"\$(screen | head -1 | awk '{ print length(\$0) }')\" = 120 ]" 50 \
			&& screen | grep -q "PID $W " && kill -0 "$(cat "$TMP/top.pid")"; then
			pass top_tui_resize
		else
			fail top_tui_resize "screen after resize to 120x40: $(screen | head -3)"
		fi
		# the target exits: its figures stay, marked exited
		kill -USR2 "$W"
		if wait_for "screen | grep -q 'PID $W  allocwork  exited'" 50 && screen | grep -Eq "^ *live +$live "; then
			pass top_tui_exited
		else
			fail top_tui_exited "$(screen | head -12)"
		fi
		tm send-keys -t top q
		if wait_for "[ -s '$TMP/top.exit' ]" 150 && [ "$(cat "$TMP/top.exit")" = 0 ] \
			&& [ "$(tm display -p -t top '#{alternate_on}')" = 0 ] && cmp -s "$TMP/stty.before" "$TMP/stty.after"; then
			pass top_tui_quit_restores_terminal
		else
			fail top_tui_quit_restores_terminal "exit=$(cat "$TMP/top.exit" 2>/dev/null) alternate_on=$(tm display -p -t top '#{alternate_on}') stty $(cat "$TMP/stty.before") -> $(cat "$TMP/stty.after" 2>/dev/null); $(tail -1 "$TMP/tui.err")"
		fi
	else
		fail top_tui_figures "top never drew: $(screen | head -5) $(tail -1 "$TMP/tui.err")"
	fi
	# SIGTERM while drawing: the terminal is restored too
	if start_work term "" --rounds 10; then
		rm -f "$TMP/top.exit" "$TMP/stty.after" "$TMP/top.pid"
		tm send-keys -t top "clear; bash -c 'echo \$\$ > $TMP/top.pid; exec $FS top -i 250 -p $WPID' 2> $TMP/tui.err; echo \$? > $TMP/top.exit; stty -g > $TMP/stty.after" Enter
		if wait_for "screen | grep -q 'PID $WPID '" 100; then
			kill -TERM "$(cat "$TMP/top.pid")"
			if wait_for "[ -s '$TMP/top.exit' ]" 150 && [ "$(cat "$TMP/top.exit")" = 0 ] \
				&& [ "$(tm display -p -t top '#{alternate_on}')" = 0 ] && cmp -s "$TMP/stty.before" "$TMP/stty.after"; then
				pass top_tui_sigterm_restores_terminal
			else
				fail top_tui_sigterm_restores_terminal "exit=$(cat "$TMP/top.exit" 2>/dev/null) alternate_on=$(tm display -p -t top '#{alternate_on}')"
			fi
		else
			fail top_tui_sigterm_restores_terminal "top never drew: $(screen | head -5)"
		fi
	fi
else
	fail top_tui_figures "workload never got ready"
fi
tm kill-server 2>/dev/null

# frames_not_code PID FILE: the site addresses in FILE's JSON lines that lie in no
# executable mapping of PID (as "address (frame)"), nothing when all do.
frames_not_code() {
	local maps a f lo hi ok
	maps=$(awk '$2 ~ /x/ { split($1, r, "-"); print r[1], r[2] }' "/proc/$1/maps")
	jq -r '.sites[] | [.addresses, .stack] | transpose[] | "\(.[0]) \(.[1])"' "$2" | sort -u | while read -r a f; do
		ok=
		while read -r lo hi; do
			if (( a >= 16#$lo && a < 16#$hi )); then ok=1; break; fi
		done <<< "$maps"
		[ -n "$ok" ] || echo "$a ($f)"
	done
}

# --- 6. sites: consistent with the exact totals; frames are code; truncation said --
# allocwork is built without frame pointers (-O2): its stacks break after a frame
# or two, where the kernel's walk reads rbp's data. A stack is sampled about every
# 4 KiB allocated, so every line has sites.
if start_work sites "" --api malloc,calloc,realloc --rounds 3000 --keep 2 --threads 2 --hold; then
	W=$WPID
	out="$TMP/sites.jsonl"
	timeout 30 "$FS" top --batch --json -i 200 -n 11 --sample-bytes 4096 -p "$W" > "$out" 2> "$TMP/sites.err" &
	fpid=$!
	if wait_for "[ -s '$out' ]" 100; then
		kill -USR1 "$W"
		wait $fpid
		rc=$?
		# every line: the sites shown never add up to more than the exact live bytes
		over=$(jq -c 'select((.sites | length) > 0) | select(([.sites[].live_bytes_est] | add) > .live.bytes)
			| {live: .live.bytes, sites: ([.sites[].live_bytes_est] | add)}' "$out" | head -3)
		nsites=$(jq -s 'map(select((.sites | length) > 0)) | length' "$out")
		if [ "$rc" = 0 ] && [ "$nsites" -ge 2 ] && [ -z "$over" ]; then
			pass top_sites_within_live
		else
			fail top_sites_within_live "rc=$rc lines with sites=$nsites over the live total: $over $(tail -1 "$TMP/sites.err")"
		fi
		# all sites shown (at most 10): they sum to the exact total, less rounding
		# (one byte a site at most), and the note says how
		scaled=$(jq -c 'select((.sites | length) > 0 and .sampling.sites == (.sites | length)
			and .sampling.scaling == "scaled_to_exact") | [.live.bytes - ([.sites[].live_bytes_est] | add), (.sites | length),
			(.sampling.note | test("^sites: estimated from [0-9,]+ sampled stacks, scaled to the exact live total"))]' "$out")
		bad=$(echo "$scaled" | jq -c 'select(.[0] < 0 or .[0] >= .[1] or .[2] != true)' | head -3)
		if [ -n "$scaled" ] && [ -z "$bad" ]; then
			pass top_sites_scaled_to_exact_live
		else
			fail top_sites_scaled_to_exact_live "[live - sum, sites, note ok] per line: $(echo "$scaled" | head -3 | tr '\n' ' ') bad: $bad"
		fi
		# every frame is code: its address lies in an executable mapping of the
		# target (read while it still runs, held)
		badf=$(frames_not_code "$W" "$out")
		if [ -n "$(jq -r '.sites[].addresses[]' "$out" | head -1)" ] && [ -z "$badf" ]; then
			pass top_sites_frames_are_code
		else
			fail top_sites_frames_are_code "$badf"
		fi
		# the stacks cut short say so, each naming the object without frame pointers,
		# and they are counted
		last=$(tail -1 "$out")
		nt=$(jq '[.sites[] | select(.truncated != null)] | length' <<< "$last")
		why=$(jq -r '[.sites[].truncated | select(. != null)] | unique | join("|")' <<< "$last")
		count=$(jq '.sampling.truncated_stacks' <<< "$last")
		all=$(jq '.sampling.sites == (.sites | length)' <<< "$last")
		if [ "$nt" -ge 1 ] && [[ "$why" =~ ^(no\ frame\ pointers\ in\ [^|]+\|?)+$ ]] \
			&& { [ "$all" != true ] || [ "$count" = "$nt" ]; } && [ "$count" -ge "$nt" ]; then
			pass top_sites_truncation_said
		else
			fail top_sites_truncation_said "truncated sites=$nt (counted $count, all shown: $all) reasons: $why"
		fi
	else
		fail top_sites_within_live "no line: $(tail -1 "$TMP/sites.err")"
		kill -9 $fpid
	fi
	kill -USR2 "$W" 2>/dev/null
else
	fail top_sites_within_live "workload never got ready"
fi

# Debian's python3.11 has no frame pointers: the kernel's walk reads rbp's data as
# return addresses (python3.11+0x54dc00, in its data segment, before the cut)
PY=/usr/bin/python3.11
if [ -x "$PY" ]; then
	rm -f "$TMP/py.ready"
	timeout 60 "$PY" -c '
import os, sys, time
open(sys.argv[1], "w").write(str(os.getpid()))
keep = []
t0 = time.time()
while time.time() - t0 < 50:
    junk = [bytearray(5000) for _ in range(2000)]
    keep.append([bytearray(3000) for _ in range(200)])
    if len(keep) > 20: keep.pop(0)
    del junk' "$TMP/py.ready" &
	PIDS+=($!)
	disown $!
	if wait_for "[ -s '$TMP/py.ready' ]" 100; then
		P=$(cat "$TMP/py.ready")
		out="$TMP/py.jsonl"
		timeout 30 "$FS" top --batch --json -i 250 -n 12 --sample-bytes 65536 -p "$P" > "$out" 2> "$TMP/py.err"
		rc=$?
		badf=$(frames_not_code "$P" "$out")
		n=$(jq -r '.sites[].addresses[]' "$out" | sort -u | wc -l)
		why=$(jq -r '.sites[].truncated | select(. != null)' "$out" | sort -u | tr '\n' '|')
		if [ "$rc" = 0 ] && [ "$n" -ge 1 ] && [ -z "$badf" ] && [ "$why" = "no frame pointers in python3.11|" ]; then
			pass top_sites_python_frames_are_code
		else
			fail top_sites_python_frames_are_code "rc=$rc addresses=$n not code: $badf truncated: $why $(tail -1 "$TMP/py.err")"
		fi
		kill -9 "$P" 2>/dev/null
	else
		fail top_sites_python_frames_are_code "python3.11 never got ready"
	fi
else
	fail top_sites_python_frames_are_code "$PY not installed (tools/install-deps.sh)"
fi

# --- 7. --help lists the keys and columns top really writes -------------------------
help=$("$FS" top --help)
hkeys=$(sed -n '/^JSON keys of each line/,$p' <<< "$help" | tail -n +2 | tr -d '\n' | sed -E 's/ \(([^)]*)\)//g; s/ +/ /g; s/, /\n/g; s/^ //' | sort)
hinner=$(sed -n '/^JSON keys of each line/,$p' <<< "$help" | tail -n +2 | tr -d '\n' | sed -E 's/ +/ /g' | grep -oE '[a-z_]+ \([^)]*\)' | sort)
hcols=$(sed -n '/^batch columns/,/^$/p' <<< "$help" | tail -n +2 | tr -d '\n' | sed -E 's/ +/ /g; s/^ //; s/,//g')
line=$(tail -1 "$TMP/sites.jsonl" 2>/dev/null)
jkeys=$(jq -r 'keys_unsorted[]' <<< "$line" | sort)
jinner=$(jq -r '"interval (" + (.interval | keys_unsorted | join(", ")) + ")", "process (" + (.process | keys_unsorted | join(", ")) + ")"' <<< "$line" | sort)
cols=$(timeout 30 "$FS" top --batch -i 100 -n 1 -p $$ 2>/dev/null | head -1 | sed -E 's/ +/ /g; s/ $//')
if [ -n "$line" ] && [ "$hkeys" = "$jkeys" ] && [ "$hinner" = "$jinner" ] && [ "$hcols" = "$cols" ] \
	&& grep -q '"time_ms"' <<< "$help" && ! grep -q '"time"' <<< "$help"; then
	pass top_help_lists_real_keys
else
	fail top_help_lists_real_keys "help keys vs a line's: $(diff <(echo "$hkeys") <(echo "$jkeys") | tr '\n' ' ') inner: $(diff <(echo "$hinner") <(echo "$jinner") | tr '\n' ' ') columns: [$hcols] vs [$cols]"
fi

# --- 5. errors: one line, exit 1; usage, exit 2 -------------------------------------
expect_error top_bad_pid 1 'no process with PID 2147483600' "$FS" top --batch -p 2147483600
expect_error top_no_pid 2 'give -p PID' "$FS" top --batch
expect_error top_bad_interval 2 'invalid interval' "$FS" top -i 0 -p 1

for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
wait 2>/dev/null
no_programs_left nothing_left_attached_after_top_tests
