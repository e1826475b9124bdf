#!/bin/bash
# test_record.sh - `fragscope record` and `report`: a recorded workload reports the
# same figures as `stat` and as its own tally; a recorder killed with SIGKILL leaves
# a session that reports; bad files are refused in one line; the HTML page loads in
# headless Chromium, with returned bytes on their own chart and human ticks; folded
# stacks sum to the sites' live bytes, and --folded=alloc gives the exact bytes of
# sites whose every allocation is sampled; the program's own releases show in every
# output; sessions written by compare carry record's metadata; the reader survives a
# bounded fuzzing run. Needs root.
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
		# the report names what ran there, not only "(attached to a running process)"
		if "$FS" report "$TMP/att.db" 2>/dev/null | grep -qE "^   command  .*allocwork .*--wait .*\(attached by PID\)$"; then
			pass record_attach_cmdline
		else
			fail record_attach_cmdline "$("$FS" report "$TMP/att.db" 2>&1 | grep command)"
		fi
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

# --- --folded=alloc: bytes allocated by stack, exact where every allocation is sampled --
# rpcwork --survivors 0 frees every block, so live bytes by stack are empty. With
# --sample-bytes 64 every allocation of 96 bytes or more is sampled (the countdown is
# re-armed below 96) with its own size as weight: the request and response sites (all
# 1 KiB or more) then hold the sizes rpcwork's generator draws, which this model of
# pick_size() predicts, and the few smaller blocks sampled or not move the sites'
# figures by their share only when they are scaled to the exact total allocated
# (within 0.01%). The session objects (64 B to 1 KiB) are estimates.
RW_THREADS=2 RW_REQ=2000
read -r want_req want_resp < <(python3 - $RW_THREADS $RW_REQ <<'PY'
import sys
threads, requests, burst, M = int(sys.argv[1]), int(sys.argv[2]), 64, (1 << 64) - 1
req = resp = 0
for t in range(1, threads + 1):  # worker's seed: (thread index + 1) * 7919 + 1
    s = t * 7919 + 1
    def pick():
        global s
        s = (s * 6364136223846793005 + 1442695040888963407) & M
        return (1024 << ((s >> 33) % 9)) | ((s >> 20) & 1023)
    for r in range(0, requests, burst):
        for i in range(min(burst, requests - r)):
            req += pick()
            resp += pick()
print(req, resp)
PY
)
if ! timeout 120 "$FS" record -q -i 100 --sample-bytes 64 -o "$TMP/rw.db" -- "$TOOLS/rpcwork" --threads $RW_THREADS \
	--requests $RW_REQ --survivors 0 > /dev/null 2> "$TMP/rw.err"; then
	fail folded_alloc_exact "record exited non-zero: $(tail -1 "$TMP/rw.err")"
elif report rw_alloc "$TMP/rw.db" --folded=alloc && report rw_live "$TMP/rw.db" --folded \
	&& report rw_live2 "$TMP/rw.db" --folded=live && report rw_json "$TMP/rw.db" --json; then
	lost=$(jget "$TMP/rw_json.out" '.series[-1].stacks_lost')
	near='function d(a, b) { return a > b ? a - b : b - a } /worker/ && d($NF, w) <= w / 10000 { print $NF }'
	got_req=$(awk -v w="$want_req" "$near" "$TMP/rw_alloc.out")
	got_resp=$(awk -v w="$want_resp" "$near" "$TMP/rw_alloc.out")
	sum=$(awk '{ s += $NF } END { print s + 0 }' "$TMP/rw_alloc.out")
	sites=$(jq '[.sites[].bytes_est | select(. > 0)] | add // 0' "$TMP/rw_json.out")
	total=$(jget "$TMP/rw_json.out" .totals.bytes_allocated)
	# scaled to the exact total, rounded down site by site: never above it
	[ "$sum" -le "$total" ] && [ "$sum" -ge $((total - 1000)) ] || sum="$sum (exact total $total)"
	worker_live=$(grep -c worker "$TMP/rw_live.out")
	if [ "$lost" = 0 ] && [ -n "$got_req" ] && [ -n "$got_resp" ] && [ "$sum" = "$sites" ] && [ "$worker_live" = 0 ] \
		&& cmp -s "$TMP/rw_live.out" "$TMP/rw_live2.out"; then
		pass folded_alloc_exact
	else
		fail folded_alloc_exact "want request/response sites $want_req/$want_resp, got '$got_req'/'$got_resp' in: $(tr '\n' '|' < "$TMP/rw_alloc.out" | head -c 300); sum $sum vs sites $sites; stacks lost $lost; live worker lines $worker_live"
	fi
fi
expect_error folded_bad_kind 2 'unknown --folded=peak' "$FS" report --folded=peak "$TMP/rw.db"

# --- the program's own releases: every source stat shows, in each output ------------
# allocwork --syscalls N: the program itself madvise(DONTNEED)s and munmaps N mappings
# of its own: 2N release calls by the "program" source.
N=20
if ! timeout 120 "$FS" record -q -i 100 -o "$TMP/own.db" -- "$AW" --api malloc --threads 1 --rounds 100 \
	--syscalls $N --tally "$TMP/own.tally" 2> "$TMP/own.err"; then
	fail report_program_source "record exited non-zero: $(tail -1 "$TMP/own.err")"
elif report own_text "$TMP/own.db" && report own_json "$TMP/own.db" --json && report own_csv "$TMP/own.db" --csv releases \
	&& report own_html "$TMP/own.db" --html "$TMP/own.html"; then
	j=$(jget "$TMP/own_json.out" .releases.by_source.program.calls)
	t=$(grep -o 'program [0-9.]* [KMG]*i*B (\([0-9,]*\) calls)' "$TMP/own_text.out" | grep -o '([0-9,]*' | tr -d '(,')
	c=$(python3 -c 'import csv, sys; print(list(csv.DictReader(open(sys.argv[1])))[-1]["src_program_calls"])' "$TMP/own_csv.out")
	h=$(grep -o '<tr class="src"><th>program</th><td class="n">[0-9,]*' "$TMP/own.html" | grep -o '[0-9,]*$' | tr -d ,)
	# every source of stat's by_source has its columns in the session
	miss=$(jq -r '.releases.by_source | keys[]' "$TMP/own_json.out" | while read -r k; do
		head -1 "$TMP/own_csv.out" | tr , '\n' | grep -qx "src_${k}_calls" || echo -n "$k "; done)
	if [ "$j" = $((2 * N)) ] && [ "$t" = "$j" ] && [ "$c" = "$j" ] && [ "$h" = "$j" ] && [ -z "$miss" ]; then
		pass report_program_source
	else
		fail report_program_source "want $((2 * N)) program calls: json '$j' text '$t' csv '$c' html '$h'; sources without columns: '$miss'"
	fi
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

# --- the page's charts: returned bytes on their own chart, round ticks in human units ---
# svg_block FILE ID: the chart with that id
svg_block() { sed -n "/<svg class=\"chart\" id=\"$2\"/,/<\/svg>/p" "$1"; }
if [ -s "$TMP/page.html" ]; then
	mem=$(svg_block "$TMP/page.html" memory | grep -o '<polyline[^>]*>[^<]*<title>[^<]*' | sed 's/.*<title>//' | tr '\n' ,)
	ret=$(svg_block "$TMP/page.html" returned | grep -o '<title>[^<]*' | sed 's/<title>//' | tr '\n' ,)
	tticks=$(svg_block "$TMP/page.html" memory | grep -Ec '>[0-9.]+ (ms|s)</text>')
	yticks=$(svg_block "$TMP/page.html" memory | grep -Ec '>[0-9.]+ (B|KiB|MiB|GiB)</text>')
	expo=$(grep -Eo '>[^<>]*[0-9]e[+-][0-9][^<>]*<' "$TMP/page.html" | head -1)
	if [[ $mem == *RssAnon* && $mem == *live* && $mem != *returned* && $ret == *returned* ]] \
		&& [ "$tticks" -ge 3 ] && [ "$yticks" -ge 2 ] && [ -z "$expo" ]; then
		pass html_returned_own_chart
	else
		fail html_returned_own_chart "memory chart: '$mem', returned chart: '$ret', $tticks time and $yticks value ticks, exponent label '$expo'"
	fi
fi

# --- sessions written by compare carry record's metadata; its chart has time ticks ------
timeout 120 "$FS" compare --variants glibc --idle 0.5 -i 100 -o "$TMP/cmp" --html "$TMP/cmp.html" \
	-- "$TOOLS/rpcwork" --threads 1 --requests 1500 > "$TMP/cmp.out" 2> "$TMP/cmp.err"
rc=$?
if [ $rc != 0 ]; then
	fail compare_session_meta "compare exited $rc: $(tail -1 "$TMP/cmp.err")"
elif report cmp_json "$TMP/cmp/glibc.db" --json && report cmp_text "$TMP/cmp/glibc.db"; then
	m=$(jq -r --arg cmd "$TOOLS/rpcwork --threads 1 --requests 1500" --arg k "$(uname -r)" '.session.meta |
		[ (select(.command != $cmd) | "command \(.command)"), (select(.kernel != $k) | "kernel \(.kernel)"),
		  (select((.start_time // "") | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T") | not) | "start_time \(.start_time)"),
		  (select((.fragscope_version // "") == "") | "no version"), (select(.variant != "glibc") | "variant \(.variant)"),
		  (select(.interval_ms != "100") | "interval_ms \(.interval_ms)") ] | join("; ")' "$TMP/cmp_json.out")
	q=$(grep -E '^ +(recorded|command) ' "$TMP/cmp_text.out" | grep -E '\?|attached to a running' | head -1)
	tt=$(svg_block "$TMP/cmp.html" rss | grep -Ec '>[0-9.]+ (ms|s)</text>')
	nv=$(grep -o '<polyline class="variant"' "$TMP/cmp.html" | wc -l)
	if [ -z "$m" ] && [ -z "$q" ] && [ "$tt" -ge 2 ] && [ "$nv" = 1 ]; then pass compare_session_meta
	else fail compare_session_meta "meta: '$m'; text: '$q'; compare page: $tt time ticks, $nv RSS curves"; fi
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
cp "$TMP/cmd.db" "$TMP/time.db" && sqlite3 "$TMP/time.db" 'UPDATE snapshots SET t_s = 4.6e27 WHERE seq = (SELECT max(seq) FROM snapshots)'
expect_error bad_time 1 'snapshots: time 4.6e.27 s is out of range' "$FS" report --pprof "$TMP/x.pb.gz" "$TMP/time.db"

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
if make -s -C "$ROOT" fuzz FUZZ_TIME=${FUZZ_TIME:-300} > "$TMP/fuzz.log" 2>&1; then
	pass fuzz_session_reader
else
	fail fuzz_session_reader "$(grep -m1 -E 'ERROR|error|Sanitizer|deadly' "$TMP/fuzz.log" || tail -1 "$TMP/fuzz.log")"
fi
