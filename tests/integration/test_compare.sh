#!/bin/bash
# test_compare.sh - `fragscope compare` on the bundled RPC-server-like workload:
# real runs per variant, the table equal to each variant's session, the known
# direction of the effect, and bad input; variants labelled with the allocator that
# really ran (a program that links jemalloc); only JSON on stdout with --json (compare
# and stat). Needs root.
. "$(dirname "$0")/lib.sh"

RW="$TOOLS/rpcwork --threads 4 --requests 20000 --burst 128 --hold"
cd "$TMP" || exit 1

"$FS" compare --variants glibc,jemalloc-bg --idle 4 -o cmp --json --html cmp/page.html -- $RW > cmp.json 2> cmp.err
rc=$?
if [ $rc = 0 ] && [ "$(jq '.variants | length' cmp.json)" = 2 ]; then pass compare_runs
else fail compare_runs "rc=$rc $(tail -2 cmp.err)"; fi

# the table's figures are those of each variant's recorded session
ok=1
for v in glibc jemalloc-bg; do
	s=$(jq -r ".variants[] | select(.name == \"$v\") | .session" cmp.json)
	"$FS" report --json "$s" > "rep-$v.json" 2> "rep-$v.err" || { ok=0; why="report $s: $(cat "rep-$v.err")"; break; }
	a=$(jq -c ".variants[] | select(.name == \"$v\") | [.live_idle, .returned, .page_faults]" cmp.json)
	b=$(jq -c '[.memory.live, .memory.returned, .faults.total]' "rep-$v.json")
	[ "$a" = "$b" ] || { ok=0; why="$v: table $a, session $b"; break; }
done
if [ $ok = 1 ]; then pass compare_table_is_the_sessions; else fail compare_table_is_the_sessions "$why"; fi

# the known direction: after the idle period, glibc keeps more than jemalloc with a
# background thread, on the survivor pattern
g=$(jq '.variants[] | select(.name == "glibc") | .rss_idle' cmp.json)
j=$(jq '.variants[] | select(.name == "jemalloc-bg") | .rss_idle' cmp.json)
if [ -n "$g" ] && [ -n "$j" ] && [ "$g" -gt $((j * 2)) ] && jq -r .verdict cmp.json | grep -q '^jemalloc-bg keeps the least'; then
	pass compare_direction
else
	fail compare_direction "glibc rss_idle=$g jemalloc-bg rss_idle=$j verdict: $(jq -r .verdict cmp.json)"
fi
if grep -q '<polyline class="variant"' cmp/page.html && [ "$(grep -o '<polyline class="variant"' cmp/page.html | wc -l)" = 2 ]; then
	pass compare_html
else
	fail compare_html "no RSS curves in cmp/page.html"
fi

# --load: a server that waits for traffic, and a separate load command that drives it;
# the load ends when that command exits
rm -f srv.ready srv.log
"$FS" compare --variants glibc --idle 1 -o cmp5 --json \
	--load "while [ ! -s srv.ready ]; do sleep 0.1; done; kill -USR1 \$(cat srv.ready); while ! grep -qs done srv.log; do sleep 0.1; done" \
	-- $TOOLS/rpcwork --threads 2 --requests 20000 --wait --hold --ready srv.ready --log srv.log > cmp5.json 2> cmp5.err
rc=$?
load_s=$(jq '.variants[0].load_s' cmp5.json 2>/dev/null)
if [ $rc = 0 ] && [ "$(jq '.variants[0].rss_end > 0 and .variants[0].allocs_per_s > 0' cmp5.json)" = true ] \
	&& awk -v l="$load_s" 'BEGIN { exit !(l >= 1) }'; then
	pass compare_load_command
else
	fail compare_load_command "rc=$rc load_s=$load_s $(tail -2 cmp5.err)"
fi

# Ctrl-C in the middle: the variant in progress stops cleanly, those done are reported
"$FS" compare --variants glibc,jemalloc --idle 4 -o cmp6 --json -- $RW > cmp6.json 2> cmp6.err &
cpid=$!
wait_for "grep -qs 'variant 2 of 2' cmp6.err" 600
sleep 1
kill -INT $cpid
wait $cpid
rc=$?
if [ "$(jq -c '[.variants[] | [.name, .ran, .error]]' cmp6.json 2>/dev/null)" = '[["glibc",true,null],["jemalloc",true,"interrupted"]]' ] \
	&& [ $rc = 1 ] && [ -z "$(pgrep -f "^$TOOLS/rpcwork --threads 4 --requests 20000 --burst 128 --hold$")" ]; then
	pass compare_ctrl_c
else
	fail compare_ctrl_c "rc=$rc $(jq -c '[.variants[] | [.name, .ran, .error]]' cmp6.json 2>&1) $(tail -2 cmp6.err) left: $(pgrep -af "^$TOOLS/rpcwork")"
fi

# bad input: one line naming the cause; the other variants are still compared
expect_error compare_unknown_variant 2 "unknown variant 'hoard'" "$FS" compare --variants glibc,hoard -- true
expect_error compare_nothing 2 'nothing to compare' "$FS" compare

"$FS" compare --variants glibc,jemalloc --jemalloc /nonexistent/libjemalloc.so.2 --idle 0 -o cmp2 --json -- /bin/true > cmp2.json 2> cmp2.err
rc=$?
if [ $rc = 1 ] && grep -q 'variant jemalloc: jemalloc library /nonexistent/libjemalloc.so.2 is missing' cmp2.err \
	&& [ "$(jq '.variants[] | select(.name == "glibc") | .ran' cmp2.json)" = true ]; then
	pass compare_missing_jemalloc
else
	fail compare_missing_jemalloc "rc=$rc $(cat cmp2.err)"
fi

"$FS" compare --variants glibc,jemalloc --idle 0 -o cmp3 --json -- /no/such/command > cmp3.json 2> cmp3.err
rc=$?
if [ $rc = 1 ] && grep -q 'variant glibc: /no/such/command: command not found' cmp3.err && [ "$(jq '[.variants[].ran] | any' cmp3.json)" = false ]; then
	pass compare_command_fails_to_start
else
	fail compare_command_fails_to_start "rc=$rc $(cat cmp3.err)"
fi

# exits non-zero under one variant only
"$FS" compare --variants glibc,jemalloc --idle 0 -o cmp4 --json -- sh -c '[ -n "$LD_PRELOAD" ] && exit 3; exit 0' > cmp4.json 2> cmp4.err
rc=$?
if [ $rc = 1 ] && grep -q 'variant jemalloc: exited with status 3' cmp4.err && [ "$(jq -r '.variants[] | select(.name == "glibc") | .error' cmp4.json)" = null ]; then
	pass compare_variant_exits_nonzero
else
	fail compare_variant_exits_nonzero "rc=$rc $(cat cmp4.err)"
fi
# A program that links jemalloc (as Debian's redis-server does): glibc cannot be had by
# unsetting LD_PRELOAD, so the glibc variant is skipped with the reason, never run as
# jemalloc under glibc's name; the jemalloc variants tune the program's own jemalloc
# through its MALLOC_CONF (stats_print:true makes that jemalloc print its statistics at
# exit: the option reached it).
"$FS" compare --variants glibc,jemalloc,stats=jemalloc:stats_print:true --idle 0 -o cmpje --json \
	--html cmpje/page.html -- $TOOLS/allocwork-je --api $JE_APIS --threads 1 --rounds 2000 --keep 4 > cmpje.json 2> cmpje.err
rc=$?
got=$(jq -c '[.variants[] | [.name, .allocator_requested, .allocator_traced, .substituted, .skipped, .compared, .ran]]' cmpje.json 2>&1)
want='[["glibc","glibc",null,false,true,false,false],["jemalloc","jemalloc","jemalloc",true,false,true,true],["stats","jemalloc","jemalloc",true,false,true,true]]'
note=$(jq -r '.variants[0].note' cmpje.json 2>/dev/null)
if [ $rc = 0 ] && [ "$got" = "$want" ] && [ "$note" = "not substitutable: allocwork-je links jemalloc ($(jq -r '.variants[1].allocator_object' cmpje.json))" ] \
	&& [ "$(jq -c .compared cmpje.json)" = '["jemalloc","stats"]' ] \
	&& jq -r '.variants[1].settings' cmpje.json | grep -q "^the program's own jemalloc (/" \
	&& jq -r '.variants[2].settings' cmpje.json | grep -q ' MALLOC_CONF=stats_print:true$' \
	&& grep -q 'variant 1 of 3: glibc skipped: not substitutable: allocwork-je links jemalloc' cmpje.err; then
	pass compare_linked_jemalloc_labelled
else
	fail compare_linked_jemalloc_labelled "rc=$rc got $got note '$note' $(tail -2 cmpje.err)"
fi
# the verdict names what was compared: jemalloc settings, not glibc against jemalloc
v=$(jq -r .verdict cmpje.json 2>/dev/null)
if grep -q 'All compared variants ran jemalloc: settings of one allocator were compared, not glibc against jemalloc\. Not compared: glibc (skipped, not substitutable: allocwork-je links jemalloc' <<<"$v" \
	&& grep -Eq '^(jemalloc|stats) keeps the least' <<<"$v" && ! grep -q '^glibc' <<<"$v" \
	&& grep -q 'skipped: not substitutable: allocwork-je links jemalloc' cmpje/page.html \
	&& [ "$("$FS" report --json cmpje/stats.db 2>/dev/null | jq -c '.session.meta | [.variant_allocator_requested, .variant_allocator_traced, .variant_substituted, .allocator]')" = '["jemalloc","jemalloc","true","jemalloc"]' ]; then
	pass compare_linked_jemalloc_verdict
else
	fail compare_linked_jemalloc_verdict "$v"
fi
# the option reached the linked jemalloc: its statistics printed once (the stats variant)
if [ "$(grep -c 'Begin jemalloc statistics' cmpje.err)" = 1 ]; then
	pass compare_linked_jemalloc_conf
else
	fail compare_linked_jemalloc_conf "$(grep -c 'Begin jemalloc statistics' cmpje.err) statistics prints"
fi

# the text table: the skipped row says why, the row that ran names the allocator that ran
"$FS" compare --variants glibc,jemalloc --idle 0 -o cmpje2 -- $TOOLS/allocwork-je --api $JE_APIS --threads 1 --rounds 200 > cmpje2.txt 2> cmpje2.err
if grep -Eq '^ glibc +- +skipped: not substitutable: allocwork-je links jemalloc \(/' cmpje2.txt \
	&& grep -Eq '^ jemalloc +jemalloc +[0-9]' cmpje2.txt && grep -Eq "^ +jemalloc +the program's own jemalloc \(/" cmpje2.txt \
	&& grep -q '^ verdict: only jemalloc was compared: .* Not compared: glibc (skipped, not substitutable' cmpje2.txt; then
	pass compare_linked_jemalloc_table
else
	fail compare_linked_jemalloc_table "$(grep -E '^ (glibc|jemalloc|verdict)' cmpje2.txt)"
fi

# a wrapper that execs the real program: compare traces the first image only, so what
# ran is unknown and said so, never labelled glibc because sh is
"$FS" compare --json --variants glibc --idle 0 -o cmp8 -- sh -c "exec $TOOLS/allocwork-je --api $JE_APIS --threads 1 --rounds 200" > cmp8.json 2> cmp8.err
rc=$?
if [ $rc = 1 ] && [ "$(jq -c '.variants[0] | [.allocator_traced, .substituted, .compared, .ran]' cmp8.json)" = '["unknown",null,false,true]' ] \
	&& jq -r '.variants[0].note' cmp8.json | grep -q '^allocator unknown: sh replaced its image (exec)' \
	&& jq -r .verdict cmp8.json | grep -q '^no variant could be compared\. Not compared: glibc (allocator unknown'; then
	pass compare_exec_wrapper_unknown
else
	fail compare_exec_wrapper_unknown "rc=$rc $(jq -c '.variants[0] | [.allocator_traced, .substituted, .note]' cmp8.json) $(jq -r .verdict cmp8.json)"
fi

# --json: only the document on stdout; the command's and the load command's stdout go
# to stderr (the command waits on a FIFO nobody opens: no child left behind)
mkfifo cmp7.fifo
"$FS" compare --json --variants glibc --idle 0 -o cmp7 --load 'sh -c "echo requests=1"' \
	-- sh -c 'echo cmdout; read x < cmp7.fifo' > cmp7.json 2> cmp7.err
rc=$?
if [ $rc = 0 ] && jq -e '.variants[0].ran' cmp7.json > /dev/null && grep -qx 'requests=1' cmp7.err && grep -qx cmdout cmp7.err; then
	pass compare_json_load_stdout
else
	fail compare_json_load_stdout "rc=$rc stdout: $(head -c 200 cmp7.json) stderr: $(tail -2 cmp7.err)"
fi
"$FS" stat -j -- sh -c 'echo hello' > stat.json 2> stat.err
rc=$?
if [ $rc = 0 ] && jq -e .totals stat.json > /dev/null && grep -qx hello stat.err; then
	pass stat_json_command_stdout
else
	fail stat_json_command_stdout "rc=$rc stdout: $(head -c 200 stat.json) stderr: $(tail -2 stat.err)"
fi
# with -o FILE the document goes to the file, and the command keeps our stdout
"$FS" stat -j -o stat2.json -- sh -c 'echo hello' > stat2.out 2> stat2.err
if [ "$(cat stat2.out)" = hello ] && jq -e .totals stat2.json > /dev/null; then
	pass stat_json_file_command_stdout
else
	fail stat_json_file_command_stdout "stdout: $(head -c 200 stat2.out)"
fi

no_programs_left nothing_left_attached_after_compare
