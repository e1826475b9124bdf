#!/bin/bash
# test_prometheus.sh - `fragscope top --prometheus`: /metrics checked by promtool,
# scraped by a real Prometheus server (Debian's, started here on 127.0.0.1 with its
# own config and data directory, stopped after) that answers a PromQL query with the
# workload's exact live bytes; a watched process that exits leaves /metrics while
# the others stay; --batch lines beside the server; the Grafana dashboard reads
# metrics that exist; light and sampled mode leave out what they do not count;
# usage errors. Needs root.
. "$(dirname "$0")/lib.sh"

AW=$TOOLS/allocwork
PIDS=()
PROM=
cleanup() {
	[ -n "$PROM" ] && kill "$PROM" 2>/dev/null && wait "$PROM" 2>/dev/null
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

if ! command -v promtool > /dev/null || ! command -v prometheus > /dev/null; then
	fail prometheus_tools "promtool and prometheus are not installed (tools/install-deps.sh)"
	exit 0
fi

# start_work NAME ARGS...: allocwork waiting for SIGUSR1; sets WPID.
start_work() {
	local name=$1; shift
	rm -f "$TMP/$name.ready" "$TMP/$name.tally"
	"$AW" "$@" --wait --ready "$TMP/$name.ready" --tally "$TMP/$name.tally" &
	PIDS+=($!)
	disown $!
	wait_for "[ -s '$TMP/$name.ready' ]" || { WPID=; return 1; }
	WPID=$(cat "$TMP/$name.ready")
}

# serving_port ERRFILE: the port top said it serves on.
serving_port() { sed -n -E 's#^fragscope: serving http://(127\.0\.0\.1|\[::1\]):([0-9]+)/metrics$#\2#p' "$1" 2>/dev/null; }

# sample_of FILE NAME PID: the value of NAME{pid="PID",...} in an exposition.
sample_of() { awk -v n="$2" -v p="pid=\"$3\"" 'index($0, n "{") == 1 && index($0, p) { print $NF }' "$1"; }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# --- 1. a held live set and a process that exits, watched with --quiet ------------
start_work held --api malloc --rounds 2000 --keep 1 --hold && W=$WPID
start_work brief --api malloc --rounds 10 && B=$WPID
if [ -n "$W" ] && [ -n "$B" ]; then
	err="$TMP/top.err"
	# not under timeout(1): SIGINT goes to fragscope alone
	"$FS" top --quiet --prometheus 127.0.0.1:0 -i 200 -p "$W" -p "$B" > "$TMP/top.out" 2> "$err" &
	fpid=$!
	wait_for "[ -n \"\$(serving_port '$err')\" ]" 300
	port=$(serving_port "$err")
	kill -USR1 "$W" "$B"
	wait_for "[ -s '$TMP/held.tally' ] && [ -s '$TMP/brief.tally' ]" 300
	want_live=$(jq -r .live_bytes "$TMP/held.tally")
	want_allocs=$(jq -r .allocs "$TMP/held.tally")
	# the brief workload exits: its series end, the held one's stay
	wait_for "! kill -0 $B 2>/dev/null" 100
	m="$TMP/metrics.txt"
	got=
	for _ in $(seq 50); do
		curl -sf "http://127.0.0.1:$port/metrics" > "$m"
		got=$(sample_of "$m" fragscope_live_bytes "$W")
		[ "$got" = "$want_live" ] && ! grep -q "pid=\"$B\"" "$m" && break
		sleep 0.2
	done
	lint=$(promtool check metrics < "$m" 2>&1)
	lrc=$?
	if [ -n "$port" ] && [ $lrc = 0 ] && [ -z "$lint" ]; then
		pass prometheus_promtool_check
	else
		fail prometheus_promtool_check "port=$port promtool exit $lrc: $(head -c 300 <<<"$lint") $(tail -1 "$err")"
	fi
	allocs=$(sample_of "$m" fragscope_allocs_total "$W")
	if [ "$got" = "$want_live" ] && [ "$allocs" = "$want_allocs" ] && [ ! -s "$TMP/top.out" ] &&
		grep -q "^# TYPE fragscope_live_bytes gauge$" "$m" && grep -q "^# TYPE fragscope_allocs_total counter$" "$m" &&
		grep -q "^fragscope_live_blocks{pid=\"$W\",comm=\"allocwork\",allocator=\"glibc\",mode=\"exact\".*} 2000$" "$m" &&
		grep -q "^fragscope_diagnosis_info{pid=\"$W\",.*,kind=\"[a-z_]*\".*} 1$" "$m"; then
		pass prometheus_scrape_exact
	else
		fail prometheus_scrape_exact "live_bytes=$got (tally $want_live) allocs=$allocs (tally $want_allocs) stdout $(wc -c < "$TMP/top.out") bytes: $(grep -c . "$m") lines"
	fi
	if ! grep -q "pid=\"$B\"" "$m" && grep -q '^fragscope_processes 1$' "$m"; then
		pass prometheus_exited_series_end
	else
		fail prometheus_exited_series_end "$(grep -c "pid=\"$B\"" "$m") series of the exited PID $B; $(grep '^fragscope_processes' "$m")"
	fi

	# --- 2. a real Prometheus server scraping it, answering PromQL ---------------
	pport=$(free_port)
	mkdir -p "$TMP/prom"
	cat > "$TMP/prom/prometheus.yml" <<-EOF
	global:
	  scrape_interval: 1s
	  evaluation_interval: 1s
	scrape_configs:
	  - job_name: fragscope
	    static_configs:
	      - targets: ["127.0.0.1:$port"]
	EOF
	prometheus --config.file="$TMP/prom/prometheus.yml" --storage.tsdb.path="$TMP/prom/data" \
		--web.listen-address="127.0.0.1:$pport" > "$TMP/prom/log" 2>&1 &
	PROM=$!
	q="http://127.0.0.1:$pport/api/v1/query"
	ans=
	for _ in $(seq 100); do
		ans=$(curl -sf -G "$q" --data-urlencode "query=fragscope_live_bytes{pid=\"$W\"}" 2>/dev/null |
			jq -r '.data.result[0].value[1] // empty' 2>/dev/null)
		[ -n "$ans" ] && break
		sleep 0.2
	done
	up=$(curl -sf -G "$q" --data-urlencode 'query=up{job="fragscope"}' | jq -r '.data.result[0].value[1] // empty')
	if [ "$ans" = "$want_live" ] && [ "$up" = 1 ]; then
		pass prometheus_server_promql_live_bytes
	else
		fail prometheus_server_promql_live_bytes "PromQL answered '$ans' (tally $want_live), up=$up: $(tail -2 "$TMP/prom/log" | tr '\n' ' ')"
	fi
	kill "$PROM"
	wait "$PROM" 2>/dev/null
	if kill -0 "$PROM" 2>/dev/null; then
		fail prometheus_server_stopped "Prometheus $PROM still running"
	else
		pass prometheus_server_stopped
		PROM=
	fi

	kill -INT "$fpid"
	wait "$fpid"
	rc=$?
	[ "$rc" = 0 ] && pass prometheus_top_stops_on_sigint || fail prometheus_top_stops_on_sigint "exit $rc: $(tail -1 "$err")"

	# --- 3. light and sampled mode: figures a mode has not are absent, not 0 -----
	for mode in light sampled; do
		out="$TMP/$mode.prom"
		"$FS" top --quiet --mode $mode --prometheus 127.0.0.1:0 -i 200 -p "$W" > /dev/null 2> "$TMP/$mode.err" &
		mpid=$!
		wait_for "[ -n \"\$(serving_port '$TMP/$mode.err')\" ]" 300
		mport=$(serving_port "$TMP/$mode.err")
		wait_for "curl -sf 'http://127.0.0.1:$mport/metrics' > '$out' && grep -q 'mode=\"$mode\"' '$out'" 100
		kill -INT $mpid
		wait $mpid
		mrc=$?
		lint=$(promtool check metrics < "$out" 2>&1)
		case $mode in
		light) has=fragscope_live_estimate_bytes; hasnot="fragscope_allocs_total fragscope_frees_total" ;;
		sampled) has="fragscope_sampled_live_bytes fragscope_sampled_live_bytes_stderr fragscope_allocs_total"
			hasnot="fragscope_freed_bytes_total" ;;
		esac
		bad=""
		for n in $has; do grep -q "^$n{pid=\"$W\".*mode=\"$mode\"" "$out" || bad="$bad no:$n"; done
		for n in $hasnot fragscope_live_bytes fragscope_live_blocks; do grep -q "^$n{" "$out" && bad="$bad has:$n"; done
		if [ "$mrc" = 0 ] && [ -z "$lint" ] && [ -z "$bad" ]; then
			pass prometheus_mode_$mode
		else
			fail prometheus_mode_$mode "exit $mrc, promtool: $(head -c 200 <<<"$lint"),$bad: $(tail -1 "$TMP/$mode.err")"
		fi
	done
	cat "$m" "$TMP/light.prom" "$TMP/sampled.prom" > "$TMP/all.prom"
	m="$TMP/all.prom"

	# --- 4. the Grafana dashboard: valid JSON, every metric it reads exists -------
	dash="$ROOT/tools/grafana-dashboard.json"
	names=$(jq -r '[.. | objects | select(has("expr")) | .expr] | join("\n")' "$dash" 2>/dev/null |
		grep -o 'fragscope_[a-z_]*' | sort -u)
	missing=""
	for n in $names; do
		grep -q "^# TYPE $n " "$m" || missing="$missing $n"
	done
	if jq -e '.panels | length > 0' "$dash" > /dev/null && [ -n "$names" ] && [ -z "$missing" ]; then
		pass prometheus_grafana_dashboard
	else
		fail prometheus_grafana_dashboard "not valid, or reads metrics not served:$missing"
	fi

	kill -USR2 "$W" 2>/dev/null
else
	fail prometheus_workload "the workloads never got ready"
fi

# --- 5. --batch lines and /metrics side by side, served on IPv6's loopback ------
if start_work batch --api malloc --rounds 100 --keep 1 --hold; then
	W2=$WPID
	kill -USR1 "$W2"
	wait_for "[ -s '$TMP/batch.tally' ]" 100
	timeout 30 "$FS" top --batch --json --prometheus '[::1]:0' -i 200 -n 8 -p "$W2" > "$TMP/batch.jsonl" 2> "$TMP/batch.err" &
	bpid=$!
	wait_for "[ -n \"\$(serving_port '$TMP/batch.err')\" ] && [ -s '$TMP/batch.jsonl' ]" 300
	bport=$(serving_port "$TMP/batch.err")
	curl -sfg "http://[::1]:$bport/metrics" > "$TMP/batch.prom"
	wait $bpid
	brc=$?
	if [ "$brc" = 0 ] && [ "$(wc -l < "$TMP/batch.jsonl")" = 8 ] && grep -q "^fragscope_processes 1$" "$TMP/batch.prom"; then
		pass prometheus_with_batch
	else
		fail prometheus_with_batch "exit $brc, $(wc -l < "$TMP/batch.jsonl") lines, $(grep -c . "$TMP/batch.prom") metric lines: $(tail -1 "$TMP/batch.err")"
	fi
	kill -9 "$W2" 2>/dev/null
fi

# --- 6. the full-screen view serving too (tmux), q ends both -------------------
if start_work tui --api malloc --rounds 100 --keep 1 --hold && command -v tmux > /dev/null; then
	W3=$WPID
	TM="fsprom-$$"
	tmux -L "$TM" new-session -d -s top -x 160 -y 50 "bash --norc --noprofile"
	tmux -L "$TM" send-keys -t top "env LANG=C.UTF-8 $FS top -i 250 --prometheus 127.0.0.1:0 -p $W3 2> $TMP/tui.err; echo \$? > $TMP/tui.exit" Enter
	wait_for "[ -n \"\$(serving_port '$TMP/tui.err')\" ]" 300
	tport=$(serving_port "$TMP/tui.err")
	wait_for "curl -sf 'http://127.0.0.1:$tport/metrics' > '$TMP/tui.prom' && grep -q 'pid=\"$W3\"' '$TMP/tui.prom'" 100
	kill -USR1 "$W3"	# its 100 blocks, allocated while watched
	wait_for "curl -sf 'http://127.0.0.1:$tport/metrics' > '$TMP/tui.prom' && grep -q '^fragscope_live_blocks{pid=\"$W3\".*} 100$' '$TMP/tui.prom'" 100
	drawn=$(tmux -L "$TM" capture-pane -p -t top | grep -c "$W3")
	tmux -L "$TM" send-keys -t top q
	wait_for "[ -s '$TMP/tui.exit' ]" 100
	gone=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$tport/metrics")
	tmux -L "$TM" kill-server 2>/dev/null
	if grep -q "^fragscope_live_blocks{pid=\"$W3\".*} 100$" "$TMP/tui.prom" && [ "$drawn" -gt 0 ] &&
		[ "$(cat "$TMP/tui.exit")" = 0 ] && [ "$gone" = 000 ]; then
		pass prometheus_with_full_screen
	else
		fail prometheus_with_full_screen "drawn=$drawn exit=$(cat "$TMP/tui.exit" 2>/dev/null) after q: HTTP $gone; $(grep '^fragscope_live_blocks' "$TMP/tui.prom")"
	fi
	kill -9 "$W3" 2>/dev/null
fi

# --- 7. usage errors: one line, exit 2 -------------------------------------------
expect_error prometheus_public_needs_option 2 'not a loopback address; add --prometheus-public' \
	"$FS" top --prometheus 0.0.0.0:9464 -p 1
expect_error prometheus_quiet_needs_prometheus 2 'quiet shows nothing' "$FS" top --quiet -p 1
expect_error prometheus_bad_address 2 "prometheus 'nowhere': give ADDR:PORT" "$FS" top --prometheus nowhere -p 1
expect_error prometheus_public_needs_option_v6 2 'not a loopback address; add --prometheus-public' \
	"$FS" top --prometheus '[::]:9464' -p 1
expect_error prometheus_v6_needs_brackets 2 "IPv6 goes in brackets" "$FS" top --prometheus ::1:9464 -p 1

for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
wait 2>/dev/null
no_programs_left nothing_left_after_prometheus_tests
