#!/bin/bash
# test_record.sh - `fragscope record` and `report`: a recorded workload reports the
# same figures as `stat` and as its own tally; a recorder killed with SIGKILL leaves
# a session that reports; bad files are refused in one line; the HTML page loads in
# headless Chromium; folded stacks sum to the sites' live bytes; the reader survives
# a bounded fuzzing run. Needs root.
. "$(dirname "$0")/lib.sh"

AW=$TOOLS/allocwork
ARGS="--threads 2 --rounds 4000 --keep 50"

# report NAME ARGS...: runs fragscope report, FAIL (and returns 1) unless it exits 0.
report() {
	local name=$1; shift
	if ! "$FS" report "$@" > "$TMP/$name.out" 2> "$TMP/$name.err"; then
		fail "$name" "report $* exited non-zero: $(head -c 300 "$TMP/$name.err")"
		return 1
	fi
}

# --- traced from the start: the recording's end equals stat's figures ----------------
timeout 120 "$FS" stat -j -- "$AW" $ARGS > "$TMP/stat.json" 2> "$TMP/stat.err"
rc1=$?
timeout 120 "$FS" record -q -i 100 -o "$TMP/cmd.db" -- "$AW" $ARGS 2> "$TMP/record.err"
rc2=$?
if [ $rc1 != 0 ] || [ $rc2 != 0 ]; then
	fail record_equals_stat "stat exited $rc1, record exited $rc2: $(tail -1 "$TMP/record.err")"
elif report cmd_json "$TMP/cmd.db" --json; then
	d=$(jq -rn --slurpfile a "$TMP/stat.json" --slurpfile b "$TMP/cmd_json.out" '
		($a[0]) as $a | ($b[0]) as $b |
		[ ($a.totals | keys[]) as $k | select($k != "frees_internal") | select($a.totals[$k] != $b.totals[$k])
		  | "\($k): stat=\($a.totals[$k]) report=\($b.totals[$k])" ]
		+ [ "count", "bytes" | select($a.live[.] != $b.live[.]) | "live.\(.): stat=\($a.live[.]) report=\($b.live[.])" ]
		| join("; ")')
	if [ -z "$d" ] && [ "$(jget "$TMP/cmd_json.out" .totals.allocs)" -gt 8000 ]; then pass record_equals_stat
	else fail record_equals_stat "${d:-no allocations}"; fi
	# every key of stat --json (but its processes: record traces one), plus the series
	missing=$(jq -rn --slurpfile a "$TMP/stat.json" --slurpfile b "$TMP/cmd_json.out" \
		'[$a[0] | keys[] | select(. as $k | ["follow", "processes", "processes_total", "untraced"] | index($k) | not)
		  | select(. as $k | $b[0] | has($k) | not)] + ([ "series", "session" ] | map(select(. as $k | $b[0] | has($k) | not))) | join(",")')
	n=$(jget "$TMP/cmd_json.out" '.series | length')
	if [ -z "$missing" ] && [ "$n" -gt 0 ] && [ "$n" = "$(jget "$TMP/cmd_json.out" .session.snapshots)" ] \
		&& [ "$(jget "$TMP/cmd_json.out" .session.complete)" = true ] \
		&& [ "$(jget "$TMP/cmd_json.out" '.series[-1].allocs')" = "$(jget "$TMP/cmd_json.out" .totals.allocs)" ]; then
		pass report_json_keys
	else
		fail report_json_keys "missing keys: '$missing', series=$n"
	fi
fi
mode=$(stat -c %a "$TMP/cmd.db" 2>/dev/null)
if [ "$mode" = 600 ]; then pass session_mode_0600; else fail session_mode_0600 "mode $mode"; fi

# --- attached by PID: the session's figures equal the workload's tally ---------------
ready="$TMP/att.ready" tally="$TMP/att.tally"
timeout 120 "$AW" $ARGS --wait --hold --ready "$ready" --tally "$tally" &
if wait_for "[ -s '$ready' ]"; then
	wpid=$(cat "$ready")
	"$FS" -v record -q -i 100 -o "$TMP/att.db" -p "$wpid" 2> "$TMP/att.err" &
	fpid=$!
	if wait_for "grep -qs 'tracing PID' '$TMP/att.err'" 300; then
		kill -USR1 "$wpid"
		wait_for "[ -s '$tally' ]" 600
		sleep 0.3	# at least one interval with the work in it
		kill -INT $fpid
		wait $fpid
		rc=$?
		kill -USR2 "$wpid" 2>/dev/null
		wait 2>/dev/null
		if [ $rc != 0 ]; then fail record_attach_tally "record exited $rc: $(tail -1 "$TMP/att.err")"
		elif report att_json "$TMP/att.db" --json; then compare_counts record_attach_tally "$TMP/att_json.out" "$tally"; fi
	else
		fail record_attach_tally "no attach: $(tail -1 "$TMP/att.err")"
		kill -9 "$wpid" $fpid 2>/dev/null
	fi
else
	fail record_attach_tally "workload never got ready"
fi
wait 2>/dev/null

# --- the text summary, CSV, diff ---------------------------------------------------------
if report text "$TMP/cmd.db"; then
	miss=""
	for s in "totals at the end" "memory waterfall" "at peak" "returned to the OS" "diagnosis:" \
		"top allocation sites by live bytes" "top allocation sites by bytes allocated"; do
		grep -q "$s" "$TMP/text.out" || miss="$miss [$s]"
	done
	if [ -z "$miss" ]; then pass report_text; else fail report_text "missing:$miss"; fi
fi
if report csv "$TMP/cmd.db" --csv memory; then
	rows=$(($(wc -l < "$TMP/csv.out") - 1))
	if head -1 "$TMP/csv.out" | grep -q '^seq,t_s,.*rss_anon,mapped,resident' && [ "$rows" = "$(jget "$TMP/cmd_json.out" .session.snapshots)" ]; then
		pass report_csv
	else
		fail report_csv "header $(head -1 "$TMP/csv.out" | head -c 100), $rows rows"
	fi
fi
if report diff --diff "$TMP/cmd.db" "$TMP/att.db" && grep -q 'B - A' "$TMP/diff.out"; then pass report_diff
elif [ -s "$TMP/diff.out" ]; then fail report_diff "no table: $(head -c 200 "$TMP/diff.out")"; fi

# --- folded stacks and the flame graph ----------------------------------------------
if report folded "$TMP/cmd.db" --folded; then
	sum=$(awk '{ s += $NF } END { print s + 0 }' "$TMP/folded.out")
	want=$(jq '[.sites[].live_bytes_est | select(. > 0)] | add // 0' "$TMP/cmd_json.out")
	bad=$(awk 'NF < 2 || $NF !~ /^[0-9]+$/' "$TMP/folded.out" | head -1)
	if [ "$sum" -gt 0 ] && [ "$sum" = "$want" ] && [ -z "$bad" ]; then pass folded_sums_to_live
	else fail folded_sums_to_live "folded sum $sum, sites' live bytes $want, bad line '$bad'"; fi
fi
if report flame "$TMP/cmd.db" --flamegraph "$TMP/flame.svg" && \
	python3 -c 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); sys.exit(len(d.getElementsByTagName("rect")) < 3)' "$TMP/flame.svg"; then
	pass flamegraph_svg
else
	fail flamegraph_svg "not a well-formed SVG with the stacks: $(head -c 200 "$TMP/flame.svg")"
fi

# --- the HTML page in headless Chromium ------------------------------------------------
if report html "$TMP/cmd.db" --html "$TMP/page.html"; then
	if ! command -v chromium > /dev/null; then
		fail html_in_chromium "chromium is not installed (tools/install-deps.sh)"
	else
		timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
			--disable-background-networking --disable-component-update --disable-sync \
			--user-data-dir="$TMP/chromium" --dump-dom "file://$TMP/page.html" > "$TMP/dom.html" 2> "$TMP/chromium.err"
		rc=$?
		svgs=$(grep -o '<svg' "$TMP/dom.html" | wc -l)
		lines=$(grep -o '<polyline' "$TMP/dom.html" | wc -l)
		ext=$(grep -Eo '(src|href)="[^"#]' "$TMP/page.html" | head -1)
		if [ $rc = 0 ] && [ "$svgs" -ge 3 ] && [ "$lines" -ge 5 ] && grep -q 'id="charts"' "$TMP/dom.html" \
			&& grep -q 'id="sites"' "$TMP/dom.html" && ! grep -qi 'error' "$TMP/dom.html" \
			&& ! grep -q 'Uncaught' "$TMP/chromium.err" && [ -z "$ext" ]; then
			pass html_in_chromium
		else
			fail html_in_chromium "rc=$rc svg=$svgs polylines=$lines external='$ext' $(grep -io '.\{40\}error.\{40\}' "$TMP/dom.html" | head -1)"
		fi
	fi
fi

# --- a recorder killed with SIGKILL leaves a session that reports --------------------
ready="$TMP/kill.ready"
# not under timeout(1): the SIGKILL must reach the recorder itself
"$FS" record -q -i 100 -o "$TMP/kill.db" -- "$AW" --threads 1 --rounds 1000 --wait --ready "$ready" 2> "$TMP/kill.err" &
fpid=$!
if wait_for "[ -s '$ready' ]" 300; then
	sleep 1.2
	kill -9 $fpid
	wait $fpid 2>/dev/null
	kill -9 "$(cat "$ready")" 2>/dev/null
	if report kill_text "$TMP/kill.db" && report kill_json "$TMP/kill.db" --json; then
		n=$(jget "$TMP/kill_json.out" .session.snapshots); c=$(jget "$TMP/kill_json.out" .session.complete)
		if [ "$n" -ge 5 ] && [ "$c" = false ] && grep -q INCOMPLETE "$TMP/kill_text.out"; then pass record_sigkill_reports
		else fail record_sigkill_reports "snapshots=$n complete=$c"; fi
	fi
else
	fail record_sigkill_reports "workload never got ready: $(tail -1 "$TMP/kill.err")"
	kill -9 $fpid 2>/dev/null
fi

# --- bad input: one line naming the problem, exit 1 --------------------------------------
echo "just some text" > "$TMP/text.db"
expect_error bad_not_a_session 1 'not a fragscope session' "$FS" report "$TMP/text.db"
head -c 10000 "$TMP/cmd.db" > "$TMP/trunc.db"
expect_error bad_truncated 1 'truncated session' "$FS" report "$TMP/trunc.db"
cp "$TMP/cmd.db" "$TMP/newer.db" && sqlite3 "$TMP/newer.db" 'PRAGMA user_version = 99'
expect_error bad_newer_schema 1 'schema version 99 is newer' "$FS" report --json "$TMP/newer.db"
cp "$TMP/cmd.db" "$TMP/empty.db" && sqlite3 "$TMP/empty.db" 'DELETE FROM snapshots'
expect_error bad_empty_session 1 'no snapshots' "$FS" report "$TMP/empty.db"
expect_error bad_missing_file 1 'No such file' "$FS" report "$TMP/nonesuch.db"
cp "$TMP/cmd.db" "$TMP/corrupt.db" && printf 'garbage!garbage!' | dd of="$TMP/corrupt.db" bs=1 seek=4096 conv=notrunc status=none
expect_error bad_corrupt 1 'corrupt session' "$FS" report --html "$TMP/x.html" "$TMP/corrupt.db"

# --- the default name, and the previous session kept as .old ---------------------------
mkdir -p "$TMP/cwd"
if (cd "$TMP/cwd" && "$FS" record -q -i 100 -- true && sum1=$(md5sum < fragscope.db) \
	&& "$FS" record -q -i 100 -- true && [ "$(md5sum < fragscope.db.old)" = "$sum1" ] \
	&& [ "$(stat -c %a fragscope.db)" = 600 ] && "$FS" report fragscope.db.old > /dev/null) 2> "$TMP/cwd.err"; then
	pass record_default_name_and_old
else
	fail record_default_name_and_old "$(ls -la "$TMP/cwd" | tr '\n' ' ') $(tail -1 "$TMP/cwd.err")"
fi

no_programs_left nothing_left_attached_after_record_tests

# --- the reader under libFuzzer, bounded -------------------------------------------------
if make -s -C "$ROOT" fuzz FUZZ_TIME=${FUZZ_TIME:-30} > "$TMP/fuzz.log" 2>&1; then
	pass fuzz_session_reader
else
	fail fuzz_session_reader "$(grep -m1 -E 'ERROR|error|Sanitizer|deadly' "$TMP/fuzz.log" || tail -1 "$TMP/fuzz.log")"
fi
