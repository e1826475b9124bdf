#!/bin/bash
# test_container.sh - a process in its own PID and mount namespace (unshare), attached
# by its host PID: its allocator is a file only its mount namespace has at that path
# (mimalloc bind-mounted over libjemalloc.so.2, preloaded by that path), so reading
# the host's file would name the wrong allocator; counts exact against its tally; its
# PID inside and its cgroup (a docker-like scope: a container id) in the output. Then
# top --cgroup: a process that enters the cgroup after top began, attached, its live
# bytes exact in the JSON lines and in /metrics (cgroup and container labels), a
# static stripped one skipped with the reason, one that exits kept as exited; an
# empty cgroup waited on; errors. Needs root, cgroup v2, util-linux's unshare.
. "$(dirname "$0")/lib.sh"

AW=$TOOLS/allocwork
ST=$TOOLS/static-stripped
MI=/usr/lib/x86_64-linux-gnu/libmimalloc.so.2
ID=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef$$
ID=${ID: -64}	# 64 hex digits, ours
MNT=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
NAME=fragscope-test-$$
CG=$MNT/$NAME
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	# the cgroups empty once their processes are reaped
	for d in "$CG"/*/ "$CG"/; do
		[ -d "$d" ] && wait_for "rmdir '$d' 2>/dev/null" 50
	done
	[ -n "${V1:-}" ] && umount "$V1" 2>/dev/null
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

if [ -z "$MNT" ] || [ ! -r "$MI" ]; then
	fail container_setup "no cgroup2 mount ($MNT) or no $MI"
	exit 0
fi
mkdir "$CG" "$CG/docker-$ID.scope" "$CG/app" "$CG/empty" || { fail container_setup "mkdir in $MNT"; exit 0; }

# --- 1. a namespaced process attached by its host PID --------------------------
# inside: a private mount namespace where libjemalloc.so.2 is mimalloc and the
# executable is on a tmpfs the host does not see (its stacks are symbolized from
# that file); the shell is PID 1 of the new PID namespace, the workload a later PID
# it writes to the ready file
rm -f "$TMP/ns.ready" "$TMP/ns.tally"
mkdir "$TMP/ctrbin"
sh -c "echo \$\$ > '$CG/docker-$ID.scope/cgroup.procs' && exec unshare --pid --mount --fork sh -c \
	'mount --make-rprivate / && mount --bind $MI $JEMALLOC && mount -t tmpfs none $TMP/ctrbin && \
	 cp $AW $TMP/ctrbin/ && LD_PRELOAD=$JEMALLOC $TMP/ctrbin/allocwork --rounds 1000 --keep 10 \
	 --wait --hold --ready $TMP/ns.ready --tally $TMP/ns.tally & wait'" &
UPID=$!
PIDS+=($UPID)
NSW=
if wait_for "[ -s '$TMP/ns.ready' ]"; then
	INNER=$(pgrep -P "$UPID")
	NSW=$(pgrep -P "$INNER")
	PIDS+=($NSW)
	NSPID=$(cat "$TMP/ns.ready")	# what the workload sees as its own PID
fi
if [ -n "$NSW" ] && [ "$NSW" != "$NSPID" ]; then
	out="$TMP/ns.json" err="$TMP/ns.err"
	# not under timeout(1): it would pass our SIGINT to its whole process group
	"$FS" -v stat -j -p "$NSW" > "$out" 2> "$err" &
	fpid=$!
	if wait_for "grep -qs 'tracing PID' '$err'" 300; then
		kill -USR1 "$NSW"
		wait_for "[ -s '$TMP/ns.tally' ]" 300
		kill -INT $fpid
		wait $fpid
		rc=$?
		if [ $rc = 0 ]; then
			# mimalloc's usable sizes are not modelled (as outside a container)
			jq 'del(.live_usable)' "$TMP/ns.tally" > "$TMP/ns.tally.u"
			compare_counts ns_attach_exact "$out" "$TMP/ns.tally.u"
		else
			fail ns_attach_exact "fragscope exited $rc: $(tail -1 "$err")"
		fi
		got=$(jq -c '[.allocator.name, .target.pid, .target.ns_pid, .target.cgroup, .target.container]' "$out")
		want=$(jq -nc --arg c "/$NAME/docker-$ID.scope" --arg id "$ID" \
			"[\"mimalloc\", $NSW, $NSPID, \$c, \$id]")
		# the sampled sites: symbols of the executable only the namespace has
		sym=$(jq -r '[.sites[].stack[] | select(test("^worker\\+0x[0-9a-f]+ \\(allocwork\\)$"))] | length' "$out")
		if [ "$sym" -gt 0 ] && [ ! -e "$TMP/ctrbin/allocwork" ]; then
			pass ns_stacks_symbolized
		else
			fail ns_stacks_symbolized "frames in worker (allocwork): $sym; $(jq -c '.sites[0].stack' "$out")"
		fi
		if [ "$got" = "$want" ]; then
			pass ns_allocator_pid_cgroup
		else
			fail ns_allocator_pid_cgroup "[allocator, pid, ns_pid, cgroup, container] $got, expected $want"
		fi
	else
		fail ns_attach_exact "no attach: $(tail -1 "$err")"
		kill -9 $fpid
	fi
	# a recorded session keeps the container's view: report's header says it
	timeout 60 "$FS" record -q -i 100 -d 0.5 -o "$TMP/ns.db" -p "$NSW" 2> "$TMP/ns.rec.err"
	timeout 60 "$FS" report "$TMP/ns.db" > "$TMP/ns.report" 2>&1
	timeout 60 "$FS" report --html "$TMP/ns.html" "$TMP/ns.db" 2>> "$TMP/ns.report"
	line="   container PID $NSPID in its namespace, cgroup /$NAME/docker-$ID.scope, container ${ID:0:12}"
	if grep -qxF "$line" "$TMP/ns.report" && grep -qF "PID $NSPID in its namespace, cgroup /$NAME/docker-$ID.scope" "$TMP/ns.html"; then
		pass ns_record_report_header
	else
		fail ns_record_report_header "no line '$line': $(head -5 "$TMP/ns.report") $(tail -1 "$TMP/ns.rec.err")"
	fi
	# the text header, from a snapshot (no probes)
	timeout 60 "$FS" snapshot -p "$NSW" > "$TMP/ns.snap" 2> "$TMP/ns.snap.err"
	line=" container: PID $NSPID in its namespace, cgroup /$NAME/docker-$ID.scope, container ${ID:0:12}"
	if grep -qxF "$line" "$TMP/ns.snap" && grep -q 'mimalloc allocator' "$TMP/ns.snap"; then
		pass ns_text_header
	else
		fail ns_text_header "no line '$line': $(head -4 "$TMP/ns.snap") $(tail -1 "$TMP/ns.snap.err")"
	fi
	# the whole host's ranking names it with its container view too
	timeout 120 "$FS" snapshot --all --json --min-rss 1 > "$TMP/all.json" 2> "$TMP/all.err"
	got=$(jq -c ".processes[] | select(.pid == $NSW) | [.ns_pid, .cgroup, .container, .allocator]" "$TMP/all.json" 2>/dev/null)
	want="[$NSPID,\"/$NAME/docker-$ID.scope\",\"$ID\",\"mimalloc\"]"
	if [ "$got" = "$want" ]; then
		pass ns_snapshot_all_row
	else
		fail ns_snapshot_all_row "row of $NSW: '$got', expected $want; $(tail -1 "$TMP/all.err")"
	fi
else
	fail ns_attach_exact "the namespaced workload never got ready (host PID '$NSW', its own '$NSPID')"
fi

# jemalloc from a file only the namespace has: its statistics (mallctl, found in
# that file's symbols and called in the process) through a snapshot
rm -f "$TMP/je.ready" "$TMP/je.tally"
mkdir "$TMP/ctrlib"
unshare --pid --mount --fork sh -c "mount --make-rprivate / && mount -t tmpfs none $TMP/ctrlib && \
	cp $JEMALLOC $TMP/ctrlib/ && LD_PRELOAD=$TMP/ctrlib/libjemalloc.so.2 $AW --api malloc --rounds 1000 \
	--keep 10 --wait --hold --ready $TMP/je.ready --tally $TMP/je.tally & wait" &
JUP=$!
PIDS+=($JUP)
if wait_for "[ -s '$TMP/je.ready' ]"; then
	JW=$(pgrep -P "$(pgrep -P "$JUP")")
	PIDS+=($JW)
	kill -USR1 "$JW"
	wait_for "[ -s '$TMP/je.tally' ]"
	timeout 60 "$FS" snapshot -j -p "$JW" > "$TMP/je.json" 2> "$TMP/je.err"
	got=$(jq -c '[.allocator.name, .allocator.object, .jemalloc.valid, .target.ns_pid]' "$TMP/je.json")
	if [ "$got" = "[\"jemalloc\",\"$TMP/ctrlib/libjemalloc.so.2\",true,$(cat "$TMP/je.ready")]" ] &&
		[ ! -e "$TMP/ctrlib/libjemalloc.so.2" ]; then
		pass ns_jemalloc_stats
	else
		fail ns_jemalloc_stats "[allocator, object, jemalloc stats, ns_pid] $got: $(jq -c .jemalloc.error "$TMP/je.json") $(tail -1 "$TMP/je.err")"
	fi
	kill -USR2 "$JW"
else
	fail ns_jemalloc_stats "the jemalloc workload never got ready"
fi

# an exec inside the namespace, followed (stat -p --follow): the new image's libraries
# are found as its loader finds them there (LD_PRELOAD=libjemalloc.so.2: mimalloc).
# Run with 0 and 1000 rounds: the loader's and libc's start-up calls are the same in
# both, so the difference is exactly the workload's tally.
ns_exec_run() {	# ROUNDS NAME: fragscope's JSON in $TMP/NAME.json
	local rounds=$1 name=$2 up sh fpid
	rm -f "$TMP/$name.shpid" "$TMP/$name.tally" "$TMP/$name.fifo"
	mkfifo "$TMP/$name.fifo"
	unshare --pid --mount --fork sh -c "mount --make-rprivate / && mount --bind $MI $JEMALLOC && \
		sh -c 'echo \$\$ > $TMP/$name.shpid; read x < $TMP/$name.fifo; export LD_PRELOAD=$JEMALLOC; \
		exec $AW --rounds $rounds --keep 10 --tally $TMP/$name.tally' & wait" &
	up=$!
	PIDS+=($up)
	wait_for "[ -s '$TMP/$name.shpid' ]" || return 1
	sh=$(pgrep -P "$(pgrep -P "$up")")
	"$FS" -v stat -j --follow -p "$sh" > "$TMP/$name.json" 2> "$TMP/$name.err" &
	fpid=$!
	wait_for "grep -qs 'tracing PID' '$TMP/$name.err'" 300 || { kill -9 $fpid "$sh"; return 1; }
	echo go > "$TMP/$name.fifo"
	wait $fpid || return 1
	wait $up
	NS_EXEC_PID=$sh
}
keys='["allocs","frees","bytes_allocated","bytes_freed","failed_allocs","free_null","frees_unknown","live_count","live_bytes"]'
if ns_exec_run 0 exec0 && ns_exec_run 1000 exec1; then
	got=$(jq -c "[.processes[] | select(.role == \"exec\")] | .[0] | [.allocator, .object, .ns_pid]" "$TMP/exec1.json")
	diff=$(jq -rn --slurpfile b "$TMP/exec0.json" --slurpfile f "$TMP/exec1.json" --slurpfile t "$TMP/exec1.tally" \
		--argjson keys "$keys" '
		($b[0].processes | map(select(.role == "exec")) | .[0]) as $b |
		($f[0].processes | map(select(.role == "exec")) | .[0]) as $f |
		[ $keys[] | select($f[.] != ($b[.] + $t[0][.])) | "\(.) fragscope=\($f[.]) expected=\($b[.] + $t[0][.])" ] | join("; ")')
	if [ "$got" = "[\"mimalloc\",\"$JEMALLOC\",$(cat "$TMP/exec1.shpid")]" ] && [ -z "$diff" ]; then
		pass ns_exec_followed_exact
	else
		fail ns_exec_followed_exact "[allocator, object, ns_pid] of the new image: $got (its shell said $(cat "$TMP/exec1.shpid")); $diff"
	fi
else
	fail ns_exec_followed_exact "a run failed: $(tail -1 "$TMP/exec0.err") $(tail -1 "$TMP/exec1.err" 2>/dev/null)"
fi

# --- 2. top --cgroup ------------------------------------------------------------
# an empty cgroup is waited on, said once; the absolute path form
timeout 30 "$FS" top -j -i 100 -n 3 --cgroup "$CG/empty" > "$TMP/empty.out" 2> "$TMP/empty.err"
rc=$?
if [ $rc = 0 ] && [ ! -s "$TMP/empty.out" ] &&
	[ "$(grep -c "cgroup /$NAME/empty has no process yet: waiting for one" "$TMP/empty.err")" = 1 ] &&
	[ "$(grep -c . "$TMP/empty.err")" = 1 ]; then
	pass top_cgroup_empty_waits
else
	fail top_cgroup_empty_waits "rc=$rc stdout: $(head -c 200 "$TMP/empty.out") stderr: $(head -c 300 "$TMP/empty.err")"
fi

# the test's cgroup, relative to the cgroup2 mount: the namespaced process (in a
# cgroup below) at once; the others as they enter
out="$TMP/cg.jsonl" err="$TMP/cg.err"
"$FS" top -j -i 200 --cgroup "$NAME" --prometheus 127.0.0.1:0 > "$out" 2> "$err" &
TOP=$!
PIDS+=($TOP)
wait_for "[ -n \"\$(sed -n 's|^fragscope: serving http://127.0.0.1:\([0-9]*\)/metrics\$|\1|p' '$err' 2>/dev/null)\" ]" 300
PORT=$(sed -n 's|^fragscope: serving http://127.0.0.1:\([0-9]*\)/metrics$|\1|p' "$err")
# a glibc workload and a static stripped program enter the cgroup after top began
# (once they run their own image: not as the shell that would exec them)
rm -f "$TMP/app.ready" "$TMP/app.tally"
"$AW" --api malloc --rounds 2000 --keep 1 --wait --hold --ready "$TMP/app.ready" --tally "$TMP/app.tally" &
W=$!
PIDS+=($W)
mkdir -p "$TMP/st"
"$ST" --workers 0 --wait --dir "$TMP/st" &
S=$!
PIDS+=($S)
wait_for "[ -s '$TMP/app.ready' ] && [ -s '$TMP/st/ready' ] && [ -s '$out' ]" 300
echo "$W" > "$CG/app/cgroup.procs"
echo "$S" > "$CG/app/cgroup.procs"
if wait_for "jq -e 'select(.target.pid == $W)' '$out' > /dev/null 2>&1" 300; then
	kill -USR1 "$W"
	wait_for "[ -s '$TMP/app.tally' ]" 100
	want=$(jq -r .live_bytes "$TMP/app.tally")
	# (the file is being written: a last line may be partial)
	if wait_for "[ \"\$(jq -r 'select(.target.pid == $W and .live.count == 2000) | .live.bytes' '$out' 2>/dev/null | tail -1)\" = '$want' ]" 100; then
		pass top_cgroup_follows_new_process
	else
		fail top_cgroup_follows_new_process "no line of PID $W with 2000 live blocks of $want bytes: $(jq -c "select(.target.pid == $W) | [.live.count, .live.bytes]" "$out" | tail -2) $(tail -2 "$err")"
	fi
	got=$(jq -r "select(.target.pid == $W) | [.target.ns_pid, .target.cgroup, .target.container] | @text" "$out" 2>/dev/null | tail -1)
	if [ "$got" = "[$W,\"/$NAME/app\",null]" ]; then
		pass top_cgroup_target_keys
	else
		fail top_cgroup_target_keys "[ns_pid, cgroup, container] $got"
	fi
	# /metrics: the exact live bytes, labelled with the cgroup; the namespaced
	# process with its container id
	curl -s "http://127.0.0.1:$PORT/metrics" > "$TMP/metrics"
	mw=$(grep -F "fragscope_live_bytes{pid=\"$W\",comm=\"allocwork\",allocator=\"glibc\",mode=\"exact\",cgroup=\"/$NAME/app\"}" "$TMP/metrics" | awk '{ print $2 }')
	mn=$(grep -cF "fragscope_live_bytes{pid=\"$NSW\",comm=\"allocwork\",allocator=\"mimalloc\",mode=\"exact\",cgroup=\"/$NAME/docker-$ID.scope\",container=\"$ID\"}" "$TMP/metrics")
	if [ "$mw" = "$want" ] && [ "$mn" = 1 ] && promtool check metrics < "$TMP/metrics" > "$TMP/promtool" 2>&1; then
		pass top_cgroup_prometheus_labels
	else
		fail top_cgroup_prometheus_labels "live bytes of $W: '$mw' (want $want); series of $NSW with its container: $mn; promtool: $(head -2 "$TMP/promtool"); $(grep "fragscope_live_bytes{" "$TMP/metrics" | head -3)"
	fi
	# the static stripped program: a line saying why, not an error
	why=$(jq -r "select(.target.pid == $S) | .skipped" "$out" 2>/dev/null | head -1)
	if [[ "$why" == *"no allocator found"* ]] && grep -q "PID $S (static-stripped) of cgroup /$NAME/app skipped: no allocator found" "$err" &&
		kill -0 $TOP; then
		pass top_cgroup_skips_untraceable
	else
		fail top_cgroup_skips_untraceable "skipped: '$why'; stderr: $(grep -i skip "$err" | head -2)"
	fi
	# the workload exits: kept, marked exited, with its figures
	kill -USR2 "$W"
	if wait_for "jq -e 'select(.target.pid == $W and .target.exited and .live.count == 2000)' '$out' > /dev/null 2>&1" 100; then
		pass top_cgroup_exited_kept
	else
		fail top_cgroup_exited_kept "$(jq -c "select(.target.pid == $W) | [.target.exited, .live.count]" "$out" | tail -2)"
	fi
else
	fail top_cgroup_follows_new_process "workload not ready or never attached: $(tail -3 "$err")"
fi
kill -INT $TOP
wait $TOP
rc=$?
if [ $rc = 0 ]; then pass top_cgroup_stops_on_sigint; else fail top_cgroup_stops_on_sigint "exit $rc: $(tail -1 "$err")"; fi
kill -USR1 "$S" 2>/dev/null	# static-stripped: forks no worker, exits
kill -USR2 "$NSW" 2>/dev/null

# 16 processes watched at most: a new one takes the place of one that exited; when
# all 16 run, it is skipped, saying so (a small block table: 16 tracers load fast)
mkdir "$CG/churn"
SL=()
for i in $(seq 16); do
	sleep 60 &
	SL+=($!)
	echo $! > "$CG/churn/cgroup.procs"
done
PIDS+=("${SL[@]}")
out="$TMP/churn.jsonl"
"$FS" top -j -i 250 --max-live 1024 --sample-bytes 0 --cgroup "$CG/churn" > "$out" 2> "$TMP/churn.err" &
TOP=$!
PIDS+=($TOP)
# the last lines only (a line is about 6 KB; the last one may be partial)
recent() { tail -n 100 "$out" | jq -r "$1" 2>/dev/null; }
npids() { recent 'select(.skipped == null) | .target.pid' | sort -u | wc -l; }
if wait_for "[ \"\$(npids)\" = 16 ]" 300; then
	kill "${SL[0]}"
	wait_for "[ -n \"\$(recent 'select(.target.pid == ${SL[0]} and .target.exited) | 1')\" ]" 100
	sleep 60 &
	N1=$!
	PIDS+=($N1)
	echo $N1 > "$CG/churn/cgroup.procs"
	wait_for "[ -n \"\$(recent 'select(.target.pid == $N1) | 1')\" ]" 100
	sleep 60 &
	N2=$!
	PIDS+=($N2)
	echo $N2 > "$CG/churn/cgroup.procs"
	wait_for "[ -n \"\$(recent 'select(.target.pid == $N2) | 1')\" ]" 100
	# room again: the skipped one is attached
	kill "${SL[1]}"
	wait_for "[ -n \"\$(recent 'select(.target.pid == $N2 and .skipped == null) | 1')\" ]" 100
	kill -INT $TOP
	wait $TOP
	rc=$?
	# after N1's first line, none of the exited one; N2 skipped with the limit
	after=$(jq -s "(map(.target.pid == $N1) | index(true)) as \$i | .[\$i:] | map(select(.target.pid == ${SL[0]})) | length" "$out")
	why=$(jq -r "select(.target.pid == $N2) | .skipped" "$out" | head -1)
	n2=$(jq -r "select(.target.pid == $N2) | if .skipped then \"skipped\" else \"exited=\\(.target.exited)\" end" "$out" |
		uniq | tr '\n' ' ')
	if [ $rc = 0 ] && [ "$after" = 0 ] &&
		[ "$why" = "already watching 16 running processes (top's limit; attached when one exits)" ] &&
		[ "$n2" = "skipped exited=false " ]; then
		pass top_cgroup_room_from_exited
	else
		fail top_cgroup_room_from_exited "rc=$rc lines of the exited one after the new one: '$after'; the 18th: '$why', then: $n2"
	fi
else
	fail top_cgroup_room_from_exited "never 16 processes watched ($(npids)): $(tail -2 "$TMP/churn.err")"
	kill -9 $TOP
fi
kill "${SL[@]}" "$N1" "$N2" 2>/dev/null

# --- 3. errors: one line each --------------------------------------------------
expect_error top_cgroup_missing 2 "^fragscope: --cgroup $NAME/nope: no such cgroup" \
	"$FS" top -b --cgroup "$NAME/nope"
expect_error top_cgroup_not_a_cgroup 2 '^fragscope: --cgroup /tmp: no such cgroup' "$FS" top -b --cgroup /tmp
V1=$TMP/v1
mkdir -p "$V1"
if mount -t cgroup -o none,name=fragscope_test_$$ cgroup "$V1" 2> /dev/null; then
	expect_error top_cgroup_v1_refused 2 "^fragscope: --cgroup $V1: not cgroup v2" "$FS" top -b --cgroup "$V1"
else
	V1=
	echo "SKIP top_cgroup_v1_refused: this kernel mounts no cgroup v1 hierarchy"
fi
no_programs_left container_no_programs_left
