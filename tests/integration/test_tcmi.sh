#!/bin/bash
# test_tcmi.sh - tcmalloc (gperftools: minimal and full) and mimalloc 2.0, traced like
# glibc and jemalloc: exact counts of their C API, their C++ operators and their own
# tc_*/mi_* entry points, preloaded and linked, 1 and 4 threads, against the
# workloads' own tallies (usable bytes are not modelled for them: counted as
# unknown, never guessed); their releases in the ledger by source, against the
# workload's own RssAnon before and after the release it forces. Needs root and the
# Debian packages tools/install-deps.sh installs.
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-2000}
LIBDIR=/usr/lib/x86_64-linux-gnu
TC=$LIBDIR/libtcmalloc_minimal.so.4
TCFULL=$LIBDIR/libtcmalloc.so.4
MI=$LIBDIR/libmimalloc.so.2
AW=$TOOLS/allocwork

if [ "$(id -u)" != 0 ]; then
	echo "FAIL integration: needs root"
	exit 1
fi
for f in "$TC" "$TCFULL" "$MI" "$TOOLS/allocwork-tc" "$TOOLS/allocwork-mi"; do
	[ -e "$f" ] || { echo "FAIL tcmi_installed: no $f (run tools/install-deps.sh, then make)"; exit 1; }
done

# glibc's reallocarray is not tcmalloc's (tcmalloc exports none): it would hand a
# tcmalloc block to glibc's realloc
TC_APIS=malloc,calloc,realloc,posix_memalign,aligned_alloc,memalign,valloc,pvalloc,free_null,fail

# usable_unknown NAME: the run's usable bytes are labelled unknown, not guessed
usable_unknown() {
	local got
	got=$(jq -c '[.allocator.name, .live.usable_bytes, .live.usable_exact]' "$TMP/$1.full.json" 2>&1)
	if [ "$got" = "[\"$2\",null,false]" ]; then pass "$1_usable_unknown"
	else fail "$1_usable_unknown" "[allocator, usable_bytes, usable_exact] = $got"; fi
}

export USABLE_UNKNOWN=1
# --- tcmalloc ---------------------------------------------------------------------
run_cmd_case tc_preload "LD_PRELOAD=$TC" -- "$AW" --api $TC_APIS --rounds __ROUNDS__ --keep 16 \
	--tally "$TMP/tc_preload.tally"
usable_unknown tc_preload tcmalloc
run_cmd_case tc_full_preload_4threads "LD_PRELOAD=$TCFULL" -- "$AW" --api $TC_APIS --threads 4 --rounds __ROUNDS__ \
	--keep 16 --tally "$TMP/tc_full_preload_4threads.tally"
run_cmd_case tc_linked_4threads "" -- "$TOOLS/allocwork-tc" --api $TC_APIS --threads 4 --rounds __ROUNDS__ --keep 16 \
	--tally "$TMP/tc_linked_4threads.tally"
run_cmd_case tc_static "" -- "$TOOLS/allocwork-tc-static" --api $TC_APIS --rounds __ROUNDS__ --keep 16 \
	--tally "$TMP/tc_static.tally"
run_cmd_case tc_cxx_preload "LD_PRELOAD=$TC" -- "$TOOLS/allocwork-cxx" __ROUNDS__ 1 5 "$TMP/tc_cxx_preload.tally"
run_cmd_case tc_cxx_linked_4threads "" -- "$TOOLS/allocwork-cxx-tc" __ROUNDS__ 4 7 "$TMP/tc_cxx_linked_4threads.tally"
run_cmd_case tc_own_api_preload "LD_PRELOAD=$TC" -- "$TOOLS/tcmiwork" tc __ROUNDS__ 1 16 "$TMP/tc_own_api_preload.tally"
run_cmd_case tc_own_api_linked_4threads "" -- "$TOOLS/tcmiwork-tc" tc __ROUNDS__ 4 16 \
	"$TMP/tc_own_api_linked_4threads.tally"
# tcmalloc's operators never reach its malloc/free: they must be probed themselves
if jq -e '[.functions[] | select((.name == "_ZdlPvm" or .name == "_Znwm") and .calls > 0)] | length == 2' \
	"$TMP/tc_cxx_linked_4threads.full.json" > /dev/null 2>&1; then
	pass tc_cxx_operators_probed
else
	fail tc_cxx_operators_probed "$(jq -c '[.functions[]|select(.calls>0)|[.name,.calls]]' "$TMP/tc_cxx_linked_4threads.full.json")"
fi

# --- mimalloc ---------------------------------------------------------------------
run_cmd_case mi_preload "LD_PRELOAD=$MI" -- "$AW" --rounds __ROUNDS__ --keep 16 --tally "$TMP/mi_preload.tally"
usable_unknown mi_preload mimalloc
run_cmd_case mi_linked_4threads "" -- "$TOOLS/allocwork-mi" --threads 4 --rounds __ROUNDS__ --keep 16 \
	--tally "$TMP/mi_linked_4threads.tally"
run_cmd_case mi_cxx_preload_4threads "LD_PRELOAD=$MI" -- "$TOOLS/allocwork-cxx" __ROUNDS__ 4 5 \
	"$TMP/mi_cxx_preload_4threads.tally"
run_cmd_case mi_cxx_linked "" -- "$TOOLS/allocwork-cxx-mi" __ROUNDS__ 1 7 "$TMP/mi_cxx_linked.tally"
run_cmd_case mi_own_api_preload_4threads "LD_PRELOAD=$MI" -- "$TOOLS/tcmiwork" mi __ROUNDS__ 4 16 \
	"$TMP/mi_own_api_preload_4threads.tally"
run_cmd_case mi_own_api_linked "" -- "$TOOLS/tcmiwork-mi" mi __ROUNDS__ 1 16 "$TMP/mi_own_api_linked.tally"
# attached to a running process (-p PID): found through libc's GOT slot for malloc;
# 20 blocks from before attach freed after it: frees of unknown size
attach_case tc_attach "LD_PRELOAD=$TC" "$AW" --api $TC_APIS --threads 4 --rounds $ROUNDS --keep 10 --pre 20
attach_case mi_attach "" "$TOOLS/allocwork-mi" --threads 4 --rounds $ROUNDS --keep 10 --pre 20
unset USABLE_UNKNOWN

# --- releases in the ledger, by source, against the workload's own RssAnon -------
# release_case NAME ENVSPEC SOURCE PHASE WORKLOAD...: the workload frees 64 MiB of
# 1 MiB blocks, then forces its allocator's release; PHASE "free" compares
# fragscope's resident bytes released by SOURCE with RssAnon's fall across the frees,
# "forced" with its fall across the forcing call, within 10%.
release_case() {
	local name=$1 envspec=$2 src=$3 phase=$4 rel="$TMP/$1.rel" out="$TMP/$1.json" want got rc; shift 4
	env $envspec timeout 60 "$FS" stat -j -o "$out" -- "$@" 0 1 0 "$TMP/$name.tally" --release 64 "$rel" \
		> /dev/null 2> "$TMP/$name.err"
	rc=$?
	[ $rc = 0 ] || { fail "$name" "exited $rc: $(tail -1 "$TMP/$name.err")"; return; }
	if [ "$phase" = free ]; then want=$(jq '.rss_full - .rss_before_release' "$rel")
	else want=$(jq '.rss_before_release - .rss_after_release' "$rel"); fi
	got=$(jq ".releases.by_source.$src.resident_bytes" "$out")
	if [ "$want" -ge $((16 << 20)) ] && within "$got" "$want" 10; then pass "$name"
	else fail "$name" "$src released $got, RssAnon fell by $want: $(jq -c '.releases.by_source' "$out")"; fi
}
# tcmalloc: with TCMALLOC_RELEASE_RATE=0 its page heap never releases on its own;
# MallocExtension_ReleaseFreeMemory() gives back the free spans
release_case tc_release_forced "TCMALLOC_RELEASE_RATE=0 LD_PRELOAD=$TC" malloc_trim forced "$TOOLS/tcmiwork" tc
if [ "$(jq '.releases.by_source.other.calls' "$TMP/tc_release_forced.json")" = 0 ]; then pass tc_release_rate0_none_on_its_own
else fail tc_release_rate0_none_on_its_own "$(jq -c '.releases.by_source.other' "$TMP/tc_release_forced.json")"; fi
# ... and with TCMALLOC_AGGRESSIVE_DECOMMIT every freed span goes back at once (the full library)
release_case tc_release_aggressive "TCMALLOC_AGGRESSIVE_DECOMMIT=t LD_PRELOAD=$TCFULL" other free "$TOOLS/tcmiwork" tc
# mimalloc: mi_collect(true) (the linked build), and its own decommit with no delay
release_case mi_release_collect "" malloc_trim forced "$TOOLS/tcmiwork-mi" mi
release_case mi_release_decommit "MIMALLOC_DECOMMIT_DELAY=0 LD_PRELOAD=$MI" other free "$TOOLS/tcmiwork" mi

# --- what each holds at idle, and the remedy that names its own knob -------------
# diag_case NAME LIB REMEDY SETTING: rpcwork's load, then idle threads; the diagnosis
# is retention, its remedy that allocator's variable, with a figure, and the
# paragraph names the setting in force
diag_case() {
	local name=$1 lib=$2 remedy=$3 setting=$4 out="$TMP/$1.json" got
	env LD_PRELOAD="$lib" timeout 60 "$FS" stat -j -d 3 -o "$out" -- "$TOOLS/rpcwork" --threads 4 --requests 2000 \
		--burst 128 --hold --log /dev/null > /dev/null 2> "$TMP/$name.err"
	got=$(jq -c '.diagnosis | [.kind, .remedy, (.expected_release > 0)]' "$out" 2>&1)
	if [ "$got" = "[\"retention\",\"$remedy\",true]" ] && jq -e --arg s "$setting" '.diagnosis.text | contains($s)' "$out" > /dev/null
	then pass "$name"
	else fail "$name" "[kind, remedy, figure] = $got: $(jq -r .diagnosis.text "$out" 2>&1 | head -c 300)"; fi
}
diag_case tc_diagnosis "$TC" TCMALLOC_AGGRESSIVE_DECOMMIT "TCMALLOC_RELEASE_RATE=1"
diag_case mi_diagnosis "$MI" MIMALLOC_DECOMMIT_DELAY "(MIMALLOC_DECOMMIT_DELAY)"

# --- snapshot: no probes; what can be said plainly (mappings, residency, settings) --
rm -f "$TMP/sn.tally"
env TCMALLOC_RELEASE_RATE=5 LD_PRELOAD="$TC" "$AW" --api malloc --rounds 2000 --keep 4 --hold --tally "$TMP/sn.tally" &
if wait_for "[ -s '$TMP/sn.tally' ]"; then
	spid=$(jq .pid "$TMP/sn.tally")
	"$FS" snapshot -p "$spid" > "$TMP/sn.txt" 2> "$TMP/sn.err"
	"$FS" snapshot -j -p "$spid" > "$TMP/sn.json" 2>> "$TMP/sn.err"
	kill -USR2 "$spid"
	got=$(jq -c '[.allocator.name // .allocator, .settings.TCMALLOC, .diagnosis.kind]' "$TMP/sn.json" 2>&1)
	if grep -q 'settings: TCMALLOC_RELEASE_RATE=5, ' "$TMP/sn.txt" && grep -q 'tcmalloc allocator in' "$TMP/sn.txt" &&
		[ "$(jq -r .settings.TCMALLOC "$TMP/sn.json")" = TCMALLOC_RELEASE_RATE=5 ] &&
		jq -e '.diagnosis.text | contains("only from inside the process")' "$TMP/sn.json" > /dev/null; then
		pass tc_snapshot
	else
		fail tc_snapshot "$got; $(grep settings "$TMP/sn.txt")"
	fi
else
	fail tc_snapshot "workload never wrote its tally"
fi
wait 2>/dev/null
rm -f "$TMP/sn.tally"
env MIMALLOC_DECOMMIT_DELAY=100 "$TOOLS/allocwork-mi" --api malloc --rounds 2000 --keep 4 --hold --tally "$TMP/sn.tally" &
if wait_for "[ -s '$TMP/sn.tally' ]"; then
	spid=$(jq .pid "$TMP/sn.tally")
	"$FS" snapshot -p "$spid" > "$TMP/snm.txt" 2> "$TMP/snm.err"
	kill -USR2 "$spid"
	if grep -q 'mimalloc allocator in .*libmimalloc' "$TMP/snm.txt" &&
		grep -q 'settings: MIMALLOC_DECOMMIT_DELAY=100 ms, .*(set in its environment: MIMALLOC_DECOMMIT_DELAY=100)' "$TMP/snm.txt"
	then pass mi_snapshot
	else fail mi_snapshot "$(head -c 400 "$TMP/snm.txt") $(head -c 200 "$TMP/snm.err")"; fi
else
	fail mi_snapshot "workload never wrote its tally"
fi
wait 2>/dev/null

# --- compare: their variants, found through the library search; the verdict on the
# bundled workload is the same in two runs
for run in 1 2; do
	"$FS" compare --json --variants tcmalloc,mimalloc-d0 --idle 1 -o "$TMP/cmp$run" -- "$TOOLS/rpcwork" --threads 4 \
		--requests 2000 --burst 128 --hold --log /dev/null > "$TMP/cmp$run.json" 2> "$TMP/cmp$run.err"
done
v1=$(jq -r '.verdict | split(" ")[0]' "$TMP/cmp1.json" 2>&1)
v2=$(jq -r '.verdict | split(" ")[0]' "$TMP/cmp2.json" 2>&1)
ran=$(jq -c '[.variants[] | [.name, .ran, .settings]]' "$TMP/cmp1.json" 2>&1)
if [ "$v1" = mimalloc-d0 ] && [ "$v2" = "$v1" ]; then pass compare_tcmi_verdict_stable
else fail compare_tcmi_verdict_stable "$v1 / $v2: $(jq -r .verdict "$TMP/cmp1.json") / $(jq -r .verdict "$TMP/cmp2.json") $ran"; fi

no_programs_left tcmi_no_programs_left
