#!/bin/bash
# test_core.sh - integration tests of exact accounting: real kernel, real libbpf, real glibc and jemalloc,
# real processes. Needs root. Each case compares fragscope's JSON with the
# workload's own tally, exactly, including live usable bytes against the sum of
# malloc_usable_size the workload takes of its live blocks (--big adds blocks above
# glibc's mmap threshold and one that does not fit a slot under jemalloc).
. "$(dirname "$0")/lib.sh"

ROUNDS=${ROUNDS:-3000}
AW=$TOOLS/allocwork

if [ "$(id -u)" != 0 ]; then
	echo "FAIL integration: needs root"
	exit 1
fi

# --- traced from the first instruction: `stat -- CMD` ---------------------------
run_cmd_case glibc_cmd "" -- "$AW" --rounds __ROUNDS__ --keep 16 --big --tally "$TMP/glibc_cmd.tally"
# the fallback for kernels without uprobe_multi: one perf-event link per probe
run_cmd_case glibc_cmd_perf_event_links "FRAGSCOPE_NO_UPROBE_MULTI=1" -- "$AW" --rounds __ROUNDS__ --keep 16 \
	--tally "$TMP/glibc_cmd_perf_event_links.tally"
run_cmd_case jemalloc_perf_event_links "FRAGSCOPE_NO_UPROBE_MULTI=1 LD_PRELOAD=$JEMALLOC" -- "$TOOLS/allocwork-cxx" __ROUNDS__ 1 5 \
	"$TMP/jemalloc_perf_event_links.tally"
run_cmd_case glibc_realloc_edges "" -- "$AW" --api realloc_edge,malloc,calloc --threads 2 --rounds __ROUNDS__ --keep 5 \
	--tally "$TMP/glibc_realloc_edges.tally"
run_cmd_case glibc_8threads "" -- "$AW" --threads 8 --rounds __ROUNDS__ --keep 32 --big --tally "$TMP/glibc_8threads.tally"
# the object for kernels without bpf_preempt_disable (atomic adds), alone and with
# perf-event links, as a kernel before 6.6 would get both
run_cmd_case glibc_8threads_atomic_adds "FRAGSCOPE_ATOMIC_ADDS=1" -- "$AW" --threads 8 --rounds __ROUNDS__ --keep 32 \
	--tally "$TMP/glibc_8threads_atomic_adds.tally"
run_cmd_case jemalloc_old_kernel_paths "FRAGSCOPE_ATOMIC_ADDS=1 FRAGSCOPE_NO_UPROBE_MULTI=1 LD_PRELOAD=$JEMALLOC" -- \
	"$TOOLS/allocwork-cxx" __ROUNDS__ 1 5 "$TMP/jemalloc_old_kernel_paths.tally"
run_cmd_case jemalloc_preload "LD_PRELOAD=$JEMALLOC" -- "$AW" --api $JE_APIS --rounds __ROUNDS__ --keep 16 --big \
	--tally "$TMP/jemalloc_preload.tally"
run_cmd_case jemalloc_linked "" -- "$TOOLS/allocwork-je" --api $JE_APIS --threads 4 --rounds __ROUNDS__ --keep 16 --big \
	--tally "$TMP/jemalloc_linked.tally"
run_cmd_case cxx_glibc "" -- "$TOOLS/allocwork-cxx" __ROUNDS__ 2 7 "$TMP/cxx_glibc.tally"
run_cmd_case cxx_jemalloc_linked "" -- "$TOOLS/allocwork-cxx-je" __ROUNDS__ 2 7 "$TMP/cxx_jemalloc_linked.tally"
run_cmd_case cxx_jemalloc_preload "LD_PRELOAD=$JEMALLOC" -- "$TOOLS/allocwork-cxx" __ROUNDS__ 1 5 \
	"$TMP/cxx_jemalloc_preload.tally"

# The C++ case under jemalloc must really go through jemalloc's operators.
if jq -e '[.functions[] | select(.name == "_ZdlPvm" and .calls > 0)] | length == 1' \
	"$TMP/cxx_jemalloc_linked.full.json" > /dev/null 2>&1; then
	pass cxx_jemalloc_sized_delete_probed
else
	fail cxx_jemalloc_sized_delete_probed "no calls of _ZdlPvm counted: $(jq -c '[.functions[]|select(.calls>0)|[.name,.calls]]' "$TMP/cxx_jemalloc_linked.full.json")"
fi

# An allocator whose size classes fragscope does not model: usable bytes unknown, not guessed.
timeout 30 "$FS" stat -j -o "$TMP/fake.json" -- "$ROOT/.output/fixtures/dyn-fake" > /dev/null 2>&1
got=$(jq -c '[.allocator.name, .live.usable_bytes, .live.internal_fragmentation_bytes, .live.usable_exact]' "$TMP/fake.json" 2>&1)
if [ "$got" = '["unknown",null,null,false]' ]; then pass usable_unknown_allocator
else fail usable_unknown_allocator "[allocator, usable_bytes, internal_fragmentation_bytes, usable_exact] = $got"; fi

# --- attached to a running process: `stat -p PID` ---------------------------------
# 50 blocks allocated before attach, freed after: frees of unknown size, never
# subtracted from live bytes.
attach_case glibc_attach_pre "" "$AW" --threads 2 --rounds $ROUNDS --keep 10 --pre 50 --big
# glibc: the chunks of those 50 blocks of 777 bytes (800 each) were read from their headers
got=$(jget "$TMP/glibc_attach_pre.json" .totals.frees_unknown_chunk_bytes)
if [ "$got" = 40000 ]; then pass unknown_frees_chunk_bytes; else fail unknown_frees_chunk_bytes "got $got, expected 40000"; fi
# the heap census at attach (the default on glibc heaps under 2 GiB): what the heap
# held before attach, and what of it was released since
attach_case glibc_attach_census "" "$AW" --rounds 100 --pre 50
j="$TMP/glibc_attach_census.json"
read -r in_use gone est basis <<< "$(jq -r '"\(.memory.before_attach.census_in_use) \(.memory.before_attach.released_since) \(.memory.before_attach.live_est) \(.memory.held_free_basis)"' "$j")"
if [ "$gone" = 40000 ] && [ "$in_use" -ge 40000 ] && [ "$est" = $((in_use - 40000)) ] && [ "$basis" = census ]; then pass census_before_attach
else fail census_before_attach "census_in_use=$in_use released_since=$gone live_est=$est held_free_basis=$basis"; fi
# --no-census: none, and the blocks from before attach are unseen, not known free
FS_ARGS=--no-census attach_case glibc_attach_no_census "" "$AW" --rounds 100 --pre 50
got=$(jq -c '[.memory.before_attach, .memory.held_free_basis]' "$TMP/glibc_attach_no_census.json")
if [ "$got" = '[null,"unknown"]' ]; then pass no_census_unseen
else fail no_census_unseen "[before_attach, held_free_basis] = $got"; fi
attach_case jemalloc_attach "LD_PRELOAD=$JEMALLOC" "$AW" --api $JE_APIS --threads 4 --rounds $ROUNDS --keep 10 --pre 20 --big
attach_case glibc_attach_calloc_realloc "" "$AW" --api calloc,realloc,reallocarray,posix_memalign,aligned_alloc \
	--rounds $ROUNDS --keep 3

# --- a table too small for the live set: about a quarter of the 2000 blocks kept by
# 4 threads overflow their bucket (1024 buckets of two slots) into the hash, and the
# counts stay exact
FS_ARGS="--max-live 1024" attach_case glibc_bucket_overflow "" "$AW" --threads 4 --rounds 1000 --keep 2

# --- stopped while the target allocates and frees: the probes go away one link at a
# time, and no block may turn into an unknown release on the way (every block was
# allocated after attach); the live count is what the table holds
ready="$TMP/busy.ready"
"$AW" --threads 2 --rounds 5000000 --wait --hold --ready "$ready" --tally "$TMP/busy.tally" &
wait_for "[ -s '$ready' ]"
wpid=$(cat "$ready")
"$FS" -v stat -j -p "$wpid" > "$TMP/busy.json" 2> "$TMP/busy.err" &
fpid=$!
wait_for "grep -qs 'tracing PID' '$TMP/busy.err'" 300
kill -USR1 "$wpid"
# busy for a second of its own CPU time, however loaded the machine (utime + stime in ticks)
wait_for "[ \$(awk '{ print \$14 + \$15 }' /proc/$wpid/stat 2>/dev/null || echo 1000) -ge 100 ]" 300
kill -INT $fpid; wait $fpid; kill -9 "$wpid"; wait "$wpid" 2>/dev/null
got=$(jq -r '[.totals.frees_unknown, .lost.stale, .live.exact, .live.count == ([.histograms.live_size[].count] | add // 0), .totals.allocs > 10000] | join(" ")' "$TMP/busy.json")
if [ "$got" = "0 0 true true true" ]; then pass stop_busy_target_consistent
else fail stop_busy_target_consistent "[frees_unknown, stale, exact, live.count == live blocks read, allocs > 10000] = $got"; fi

# --- memory syscalls with known callers: the allocator's and the program's own ------
# 20 mmapped chunks (malloc + free of 1 MiB) and 20 of the program's own mmap, madvise,
# munmap; by default seen at libc's wrappers, with --sys-tracepoints at the syscalls.
for mode in wrappers tracepoints; do
	args=""; [ $mode = tracepoints ] && args=--sys-tracepoints
	FS_ARGS=$args attach_case syscalls_$mode "MALLOC_MMAP_THRESHOLD_=131072" "$AW" --api malloc --rounds 0 --syscalls 20
	j="$TMP/syscalls_$mode.json"
	got=$(jq -r '[.syscalls_seen_at, .syscalls.mmap.calls, .syscalls.munmap.calls, .syscalls.madvise.calls,
		.mappings.allocator.calls, .releases.by_source.munmap_block.calls, .releases.by_source.program.calls] | join(" ")' "$j")
	want="$([ $mode = wrappers ] && echo libc_wrappers || echo tracepoints) 40 40 20 20 20 40"
	if [ "$got" = "$want" ]; then pass syscalls_exact_$mode; else fail syscalls_exact_$mode "got '$got', expected '$want'"; fi
done

# --- the map of live allocations is full: counted, never silent --------------------
ready="$TMP/full.ready"; tally="$TMP/full.tally"
"$AW" --api malloc --rounds 5000 --keep 1 --wait --hold --ready "$ready" --tally "$tally" &
wait_for "[ -s '$ready' ]"
wpid=$(cat "$ready")
"$FS" -v stat -j -d 300 --max-live 100 -p "$wpid" > "$TMP/full.json" 2> "$TMP/full.err" &
fpid=$!
wait_for "grep -qs 'tracing PID' '$TMP/full.err'" 300
kill -USR1 "$wpid"; wait_for "[ -s '$tally' ]" 300
kill -INT $fpid; wait $fpid; kill -USR2 "$wpid"; wait "$wpid" 2>/dev/null
# room for at least 100 (the overflow hash) plus what the table in front of it holds
# (2048 slots at least): of 5000 blocks kept, every one is either live or untracked
read -r live untracked exact allocs <<< "$(jq -r '[.live.count, .lost.untracked, .live.exact, .totals.allocs] | join(" ")' "$TMP/full.json")"
if [ "$allocs" = 5000 ] && [ "$live" -ge 100 ] && [ "$untracked" -gt 0 ] && [ $((live + untracked)) = 5000 ] && [ "$exact" = false ]; then
	pass map_full_untracked
else
	fail map_full_untracked "live=$live untracked=$untracked exact=$exact allocs=$allocs, expected live+untracked=5000, untracked>0, exact=false"
fi

# --- exit status, target exiting mid-trace, Ctrl-C --------------------------------
timeout 30 "$FS" stat -o "$TMP/exit7.txt" -- sh -c 'exit 7' 2> /dev/null
rc=$?
if [ $rc = 7 ] && grep -qs 'exited' "$TMP/exit7.txt"; then pass exit_status_passed_through; else fail exit_status_passed_through "rc=$rc"; fi

# the target ends once fragscope traces it (a sleep of fixed length ended during the
# attach itself on a loaded machine)
sleep 600 &
spid=$!
disown $spid	# killed below: no job notice
timeout 30 "$FS" -v stat -j -p $spid > "$TMP/midexit.json" 2> "$TMP/midexit.err" &
fpid=$!
wait_for "grep -qs 'tracing PID' '$TMP/midexit.err'" 300
kill $spid
wait $fpid
rc=$?
if [ $rc = 0 ] && [ "$(jq -r .target.exited "$TMP/midexit.json")" = true ]; then pass target_exits_mid_trace
else fail target_exits_mid_trace "rc=$rc $(grep -v '^fragscope:  ' "$TMP/midexit.err" | tail -2)"; fi

sleep 30 &
spid=$!
"$FS" stat -j -d 60 -p $spid > "$TMP/int.json" 2> "$TMP/int.err" &
fpid=$!
sleep 1.5
kill -INT $fpid
wait $fpid
rc=$?
kill $spid 2>/dev/null; wait $spid 2>/dev/null
if [ $rc = 0 ] && [ "$(jq -r .target.exited "$TMP/int.json")" = false ] && [ "$(jq -r .target.pid "$TMP/int.json")" = $spid ]; then
	pass ctrl_c_prints_summary
else
	fail ctrl_c_prints_summary "rc=$rc $(head -c 200 "$TMP/int.err")"
fi

timeout 30 "$FS" stat -j -d 1 -- sleep 5 > "$TMP/dur.json" 2>/dev/null
rc=$?
if [ "$(jq -r '.duration_s < 2' "$TMP/dur.json")" = true ]; then pass duration_stops; else fail duration_stops "rc=$rc"; fi

# --- bad input: one line naming the cause, non-zero exit, nothing left attached ----
expect_error no_such_pid 1 'no process with PID 4000000' "$FS" stat -p 4000000
expect_error bad_pid_usage 2 "invalid PID 'abc'" "$FS" stat -p abc
expect_error nothing_to_trace 2 'nothing to trace' "$FS" stat
# a copy anyone may execute: the checkout itself may sit under root's home
install -m 755 "$FS" /tmp/fragscope-nonroot.$$
expect_error not_root 1 'must run as root' setpriv --reuid=65534 --regid=65534 --clear-groups /tmp/fragscope-nonroot.$$ stat -- true
rm -f /tmp/fragscope-nonroot.$$
expect_error no_btf 1 'no BTF' unshare -m sh -c "mount -t tmpfs none /sys/kernel/btf && exec '$FS' stat -- true"
expect_error command_not_found 1 'no-such-cmd-xyz: command not found' "$FS" stat -- no-such-cmd-xyz
cp /bin/true "$TMP/not-executable" && chmod 644 "$TMP/not-executable"
expect_error not_executable 1 'not-executable: Permission denied' "$FS" stat -- "$TMP/not-executable"
expect_error static_stripped 1 'statically linked.*no malloc symbol' "$FS" stat -- "$ROOT/.output/fixtures/static-stripped"
# a Go program without cgo (golang-go: tools/install-deps.sh) attached by PID: no malloc, and the
# error says the heap is the Go runtime's (it said only "defines no malloc")
mkdir -p "$TMP/gotiny"
printf 'package main\nimport "time"\nvar keep [][]byte\nfunc main() {\n\tfor i := 0; i < 1000; i++ {\n\t\tkeep = append(keep, make([]byte, 4096))\n\t}\n\ttime.Sleep(60 * time.Second)\n}\n' > "$TMP/gotiny/main.go"
if (cd "$TMP/gotiny" && GOCACHE="$TMP/gocache" GO111MODULE=off CGO_ENABLED=0 go build -o gotiny main.go) 2> "$TMP/gotiny.err"; then
	"$TMP/gotiny/gotiny" &
	gpid=$!
	expect_error go_static 1 "defines no malloc \(a Go program without cgo: its heap is the Go runtime's" "$FS" snapshot -p $gpid
	kill $gpid; wait $gpid 2>/dev/null
else
	fail go_static "go build: $(head -c 300 "$TMP/gotiny.err")"
fi
# (a script would run: its interpreter is traced; a file that is neither is refused)
printf 'plain words, no #!\n' > "$TMP/notelf"; chmod +x "$TMP/notelf"
expect_error not_elf 1 'not an x86-64 ELF' "$FS" stat -- "$TMP/notelf"
expect_error map_too_big 2 'max-live 1073741824: the kernel.s hash map holds at most 134217728 entries' "$FS" stat --max-live 1073741824 -- true
expect_error kernel_thread 1 'has no executable \(kernel thread' "$FS" stat -p 2
expect_error hoard_refused 1 'hoard in .* not traced' "$FS" stat -- "$ROOT/.output/fixtures/dyn-hoard"
# a probe the kernel refuses: a malloc whose first instruction cannot take a uprobe
"$ROOT/.output/fixtures/refused" &
rpid=$!
sleep 0.2
expect_error probe_refused 1 'attach .* the kernel refuses a uprobe on the instruction there' "$FS" stat -p $rpid
kill $rpid 2>/dev/null; wait $rpid 2>/dev/null
no_programs_left nothing_left_attached

# --- non-PIE executables: libc's GOT slot for malloc names the executable's PLT entry
# allocwork built -no-pie, taking malloc's address (tests/unit/malloc_addr.c): the
# allocator is found by looking through that entry, and the counts stay exact; with
# LD_BIND_NOT=1 the executable's own slot is never bound and the link map decides.
NP=$TOOLS/allocwork-nopie
run_cmd_case glibc_cmd_nopie "" -- "$NP" --rounds __ROUNDS__ --keep 16 --tally "$TMP/glibc_cmd_nopie.tally"
for v in bound unbound; do
	envspec=""; want="looked through it to 0x"
	[ $v = unbound ] && { envspec="LD_BIND_NOT=1"; want="not yet bound: looked through it"; }
	attach_case glibc_attach_nopie_$v "$envspec" "$NP" --threads 2 --rounds $ROUNDS --keep 10
	j="$TMP/glibc_attach_nopie_$v.json"
	read -r name obj <<< "$(jq -r '[.allocator.name, .allocator.object] | join(" ")' "$j" 2>/dev/null)"
	how=$(jq -r .allocator.found_by "$j" 2>/dev/null)
	if [ "$name" = glibc ] && [[ $obj == */libc.so.6 ]] && [[ $how == *"points at the executable's PLT entry"*"$want"* ]] &&
		grep -qs "allocator: glibc in .*/libc.so.6 (libc's GOT slot for malloc points at the executable's PLT entry" \
			"$TMP/glibc_attach_nopie_$v.err"; then
		pass nopie_${v}_looked_through_plt
	else
		fail nopie_${v}_looked_through_plt "allocator $name in $obj, found_by: $how"
	fi
done

# Debian's own python3.11 (not PIE; its PLT entry is malloc's canonical address):
# attached while running, it allocates N bytearrays of 1,000,000 bytes after a sync
# point and keeps them (each one a malloc of libc's: over pymalloc's 512-byte limit).
# Python's own allocations are not controlled: live bytes are at least N * 10^6.
PY=/usr/bin/python3.11
N=40
if [ ! -x $PY ]; then
	fail python3_nopie_attached "$PY not installed (apt-get install python3.11)"
else
	d="$TMP/py"; mkdir -p "$d"
	timeout 120 $PY -I -c '
import os, sys, time
def wait(path):
    for _ in range(2400):
        if os.path.exists(path):
            return
        time.sleep(0.05)
    sys.exit(3)
d, n = sys.argv[1], int(sys.argv[2])
with open(d + "/ready.tmp", "w") as f:
    f.write("%d\n" % os.getpid())
os.rename(d + "/ready.tmp", d + "/ready")
wait(d + "/go")
keep = [bytearray(1000000) for _ in range(n)]
with open(d + "/done", "w") as f:
    f.write("%d\n" % sum(len(b) for b in keep))
wait(d + "/leave")
' "$d" $N &
	ppid=$!	# timeout(1)'s; python's own is in the ready file
	if ! wait_for "[ -s '$d/ready' ]" 100; then
		fail python3_nopie_attached "python3.11 never got ready"; kill -9 $ppid
	else
		t0=$(date +%s%N)
		"$FS" -v stat -j -d 120 -p "$(cat "$d/ready")" > "$d/out.json" 2> "$d/err" &
		fpid=$!
		# bounded, and over as soon as fragscope gives up
		wait_for "grep -qs 'tracing PID' '$d/err' || ! kill -0 $fpid 2>/dev/null" 300
		grep -qs 'tracing PID' "$d/err"; attached=$?
		t1=$(date +%s%N)
		[ $attached = 0 ] && touch "$d/go" && wait_for "[ -s '$d/done' ]" 300
		kill -INT $fpid 2>/dev/null; wait $fpid; rc=$?
		touch "$d/leave"; wait $ppid
		# big: live blocks in [512 KiB, 1 MiB), where the bytearrays fall
		read -r name obj live allocs big exact <<< "$(jq -r '[.allocator.name, .allocator.object, .live.bytes,
			.totals.allocs, ([.histograms.live_size[] | select(.lt == 1048576) | .count] | add // 0),
			.live.exact] | join(" ")' "$d/out.json" 2>/dev/null)"
		how=$(jq -r .allocator.found_by "$d/out.json" 2>/dev/null)
		if [ $attached = 0 ] && [ $rc = 0 ] && [ "$(cat "$d/done" 2>/dev/null)" = $((N * 1000000)) ] &&
			[ "$name" = glibc ] && [[ $obj == */libc.so.6 ]] && [[ $how == *"executable's PLT entry"*"looked through it"* ]] &&
			[ "${live:-0}" -ge $((N * 1000000)) ] && [ "${allocs:-0}" -ge $N ] && [ "${big:-0}" -ge $N ]; then
			pass python3_nopie_attached
		else
			fail python3_nopie_attached "attached=$attached rc=$rc allocator $name in $obj (found_by: $how) live=$live allocs=$allocs live blocks of 512 KiB-1 MiB=$big, expected live >= $((N * 1000000)) and >= $N such blocks; $(grep -v '^fragscope:  ' "$d/err" | tail -1)"
		fi
		[ $attached = 0 ] && echo "  python3.11: attach took $(((t1 - t0) / 1000000)) ms; live bytes $live (>= $((N * 1000000))), allocs $allocs, live blocks of 512 KiB-1 MiB $big (>= $N), live exact: $exact"
	fi
fi
no_programs_left nothing_left_attached_after_nopie

# --- --max-live beyond what the kernel takes, or the memory it would pin: refused at
# once (the kernel's hash map takes at most 2^27 entries; 2^27 would pin 14 GiB) -------
t0=$(date +%s%N)
expect_error max_live_over_kernel_limit 2 '^fragscope: --max-live 1073741824: the kernel.s hash map holds at most 134217728 entries$' \
	"$FS" stat --max-live 1073741824 -- true
t1=$(date +%s%N)
if [ $(((t1 - t0) / 1000000)) -lt 1000 ]; then pass max_live_refused_within_a_second
else fail max_live_refused_within_a_second "took $(((t1 - t0) / 1000000)) ms"; fi
avail=$(awk '$1 == "MemAvailable:" { printf "%d", $2 * 1024 }' /proc/meminfo)
if [ "$avail" -lt $((28 << 30)) ]; then
	expect_error max_live_over_memory 2 '^fragscope: --max-live 134217728: its maps would pin 14\.0 GiB of kernel memory, more than half of MemAvailable' \
		"$FS" stat --max-live 134217728 -- true
else
	echo "SKIP max_live_over_memory: MemAvailable $avail bytes holds twice 14 GiB"
fi

# --- a target that exits while fragscope attaches: fragscope stopped (gdb) at
# tracer__attach, the target killed and gone (or a zombie), then let go ---------------
if command -v gdb > /dev/null; then
	sleep 600 &
	spid=$!
	disown $spid	# killed below: no job notice
	timeout 120 gdb -batch -nx -q -ex 'set pagination off' -ex 'break tracer__attach' \
		-ex "run stat -p $spid > $TMP/exit_attach.out 2> $TMP/exit_attach.err" \
		-ex "shell kill -9 $spid; for i in \$(seq 100); do [ -e /proc/$spid/stat ] && ! grep -qs '^[0-9]* ([^)]*) Z' /proc/$spid/stat || break; sleep 0.05; done" \
		-ex continue -ex 'print $_exitcode' --args "$FS" > "$TMP/exit_attach.gdb" 2>&1
	rc=$(awk '/^\$1 = / { print $3 }' "$TMP/exit_attach.gdb")
	if [ "$rc" = 1 ] && [ "$(grep -c . "$TMP/exit_attach.err")" = 1 ] &&
		grep -qx "fragscope: process $spid exited while fragscope was attaching" "$TMP/exit_attach.err" && [ ! -s "$TMP/exit_attach.out" ]; then
		pass exited_while_attaching
	else
		fail exited_while_attaching "exit ${rc:-?}, stderr: $(head -c 300 "$TMP/exit_attach.err"); gdb: $(grep -v '^\[' "$TMP/exit_attach.gdb" | tail -3 | tr '\n' ' ')"
	fi
	no_programs_left nothing_left_attached_after_exit_while_attaching
else
	echo "SKIP exited_while_attaching: no gdb to stop fragscope at tracer__attach"
fi
