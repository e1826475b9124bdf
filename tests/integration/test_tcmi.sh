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

no_programs_left tcmi_no_programs_left
