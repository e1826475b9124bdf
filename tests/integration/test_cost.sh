#!/bin/bash
# test_cost.sh - what the probes cost, told without -v: the attach line of kinds, the
# warning for a hot function on a single-stepped instruction, the estimate in stat
# (text and JSON probe_cost) and in top --batch; jemalloc's free placed on an
# emulated instruction. Needs root.
. "$(dirname "$0")/lib.sh"

FIX="$ROOT/.output/fixtures"
N=3000
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

# --- 1. a fixture whose free starts with an instruction the kernel single-steps --------
# (libfakestep.so: free is `mov %rdi,%rax; ret`, nothing emulated to move to)
timeout 60 "$FS" stat -j -o "$TMP/st.json" -- "$FIX/stepped" $N > "$TMP/st.out" 2> "$TMP/st.err"
rc=$?
if [ "$rc" = 0 ] && grep -q '^fragscope: warning: free in libfakestep.so is probed at a single-stepped instruction: each call costs ~.* instead of ~.* measured here)$' "$TMP/st.err"; then
	pass cost_stepped_free_warned
else
	fail cost_stepped_free_warned "rc=$rc stderr: $(head -c 600 "$TMP/st.err")"
fi
# one warning per hot function single-stepped (malloc and free here), none for others;
# the kinds line agrees with the functions[] of the JSON
nstep=$(jq '[.functions[] | select(.emulated | not)] | length' "$TMP/st.json")
nfun=$(jq '.functions | length' "$TMP/st.json")
if [ "$(grep -c 'is probed at a single-stepped instruction' "$TMP/st.err")" = \
     "$(jq '[.functions[] | select((.emulated | not) and (.name == "malloc" or .name == "free" or .name == "calloc" or .name == "realloc"))] | length' "$TMP/st.json")" ] \
   && grep -q "^fragscope: probes: $nfun functions, $((nfun - nstep)) at an emulated instruction (~[0-9.]* [nu]s a hit), $nstep single-stepped" "$TMP/st.err" \
   && [ "$(grep -c '^fragscope: probes: ' "$TMP/st.err")" = 1 ]; then
	pass cost_kinds_line
else
	fail cost_kinds_line "functions $nfun, single-stepped $nstep; stderr: $(head -c 600 "$TMP/st.err")"
fi
# nothing but JSON on stdout
if [ ! -s "$TMP/st.out" ] && jq -e . "$TMP/st.json" > /dev/null 2>&1; then pass cost_not_on_stdout
else fail cost_not_on_stdout "stdout: $(head -c 200 "$TMP/st.out")"; fi

# --- 2. probe_cost in stat's JSON: the counted calls over the elapsed time ------------
# (this workload does nothing but trap, one probe of two single-stepped: the estimate,
# from per-hit costs measured at start, sits near one CPU and has been seen at 1.05)
got=$(jq -r --argjson n $N '.probe_cost as $c
	| [ ([.functions[] | select(.name == "malloc" or .name == "free") | .calls] == [$n, $n]),
	    ($c.function_calls == ([.functions[].calls] | add)),
	    ($c.seconds == .duration_s),
	    ((($c.function_calls + $c.syscall_wrapper_calls + $c.other_hits) / $c.seconds - $c.calls_per_s)
		| fabs <= 0.001 * $c.calls_per_s + 1),
	    ($c.est_cpu_fraction > 0 and $c.est_cpu_fraction < 1.5),
	    ($c.ns_per_hit.single_stepped > $c.ns_per_hit.emulated and $c.ns_per_hit.emulated > 0),
	    ($c.probes.single_stepped == ([.functions[] | select(.emulated | not)] | length)),
	    ($c.measured == true) ] | all' "$TMP/st.json" 2>&1)
if [ "$got" = true ]; then pass cost_stat_json
else fail cost_stat_json "$(jq -c '{probe_cost, duration_s, f: [.functions[] | [.name, .calls]]}' "$TMP/st.json" 2>&1 | head -c 700)"; fi
# the estimate is the arithmetic of the counts: malloc (entry + return) and free
# (entry), both single-stepped, over the elapsed time
got=$(jq -r '.probe_cost as $c | ($c.ns_per_hit) as $r
	| ([.functions[] | select(.name == "malloc") | .calls][0] * ($r.single_stepped + $r.return)
	   + [.functions[] | select(.name == "free") | .calls][0] * $r.single_stepped) as $busy
	| (($busy / ($c.seconds * 1e9)) - $c.est_cpu_fraction | fabs) < 0.0005' "$TMP/st.json" 2>&1)
if [ "$got" = true ]; then pass cost_stat_estimate_arithmetic
else fail cost_stat_estimate_arithmetic "$(jq -c .probe_cost "$TMP/st.json" 2>&1 | head -c 500)"; fi

# --- 3. the text summary says it; without calibration the constants are labelled -------
FRAGSCOPE_NO_CALIBRATION=1 timeout 60 "$FS" stat -o "$TMP/st.txt" -- "$FIX/stepped" 100 2> "$TMP/nocal.err"
if grep -q '^  probes cost the target about [0-9.<]*% of a CPU (estimate: [0-9,]* probed calls/s x ~[0-9.]* [nu]s a call; trap costs from built-in constants, not measured here' "$TMP/st.txt" \
	&& grep -q '\[not measured here: built-in constants\]$' "$TMP/nocal.err"; then
	pass cost_stat_text_constants_labelled
else
	fail cost_stat_text_constants_labelled "$(grep -i probe "$TMP/st.txt" | head -c 300) / $(head -c 300 "$TMP/nocal.err")"
fi

# --- 4. glibc: free at +3 (je), malloc at a push: no warning ---------------------------
timeout 60 "$FS" stat -o /dev/null -- true 2> "$TMP/glibc.err"
if ! grep -q 'single-stepped instruction' "$TMP/glibc.err" && grep -q '^fragscope: probes: ' "$TMP/glibc.err"; then
	pass cost_glibc_no_warning
else
	fail cost_glibc_no_warning "$(head -c 400 "$TMP/glibc.err")"
fi

# --- 5. Debian's jemalloc: free's first branch (jne at +48, %rdi untouched) is emulated ---
timeout 60 "$FS" stat -j -o "$TMP/je.json" -- "$TOOLS/allocwork-je" --rounds 2 > /dev/null 2> "$TMP/je.err"
got=$(jq -c '[.functions[] | select(.name == "free") | [.probe_offset, .emulated, .calls > 0]][0]' "$TMP/je.json" 2>&1)
if [ "$got" = '[48,true,true]' ] && ! grep -q 'warning: free in' "$TMP/je.err"; then
	pass cost_jemalloc_free_emulated
else
	fail cost_jemalloc_free_emulated "free [offset, emulated, called] = $got; $(grep warning "$TMP/je.err" | head -c 300)"
fi

# --- 6. top --batch: the PROBES column, per interval ------------------------------------
sleep 60 &
spid=$!
PIDS+=($spid)
timeout 30 "$FS" top --batch -i 200 -n 3 -p $spid > "$TMP/top.out" 2> "$TMP/top.err"
rc=$?
if [ "$rc" = 0 ] && [ "$(head -1 "$TMP/top.out" | awk '{ print $NF }')" = PROBES ] \
	&& [ "$(awk 'NR > 1 && $NF == "<0.1%"' "$TMP/top.out" | wc -l)" -ge 1 ] \
	&& grep -q '^fragscope: PROBES: the CPU the probes cost the target, estimated' "$TMP/top.err"; then
	pass cost_top_batch_column
else
	fail cost_top_batch_column "rc=$rc: $(head -c 400 "$TMP/top.out") / $(head -c 300 "$TMP/top.err")"
fi
kill $spid 2>/dev/null
wait $spid 2>/dev/null
no_programs_left nothing_left_attached_after_cost_tests
