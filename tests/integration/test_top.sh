#!/bin/bash
# test_top.sh - `fragscope top`: batch and JSON lines checked against the workload's
# tally, two processes side by side, the full-screen view inside tmux (figures,
# resize, quit, terminal restored, signals), a target that exits, errors. Needs root.
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

# What render__bytes prints for a byte count: 73114250 -> "69.7 MiB".
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

# --- 5. errors: one line, exit 1; usage, exit 2 -------------------------------------
expect_error top_bad_pid 1 'no process with PID 2147483600' "$FS" top --batch -p 2147483600
expect_error top_no_pid 2 'give -p PID' "$FS" top --batch
expect_error top_bad_interval 2 'invalid interval' "$FS" top -i 0 -p 1

for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
wait 2>/dev/null
no_programs_left nothing_left_attached_after_top_tests
