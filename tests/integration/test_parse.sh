#!/bin/bash
# test_parse.sh - every numeric option of every command refuses a bad number (nan,
# inf, trailing text, a sign, an exponent, zero where zero means nothing, overflow,
# out of range) with one line naming the option and the value, exit status 2, and
# before anything is started or attached; the forms the help documents still work.
# Needs root (the accepted forms trace).
. "$(dirname "$0")/lib.sh"

cd "$TMP" || exit 1
HUGE=99999999999999999999999	# beyond 2^64 and beyond every range
# What a refused COMMAND would have left: it touches this file.
MARK="$TMP/started"
sleep 300 &
SPID=$!
disown $SPID	# killed at the end: no job notice
trap 'kill -9 $SPID 2>/dev/null; rm -rf "$TMP"' EXIT

n=0
# refuse CMD OPT VALUE ARGS...: `fragscope CMD OPT VALUE ARGS...` exits 2 with one line
# "invalid ... 'VALUE' for OPT: ..." and nothing on stdout.
refuse() {
	local cmd=$1 opt=$2 val=$3 re; shift 3
	re=$(printf '%s' "$val" | sed 's/[].[^$*+?(){}|\\/]/\\&/g')
	n=$((n + 1))
	expect_error "${cmd}_${opt#-}_$n" 2 "^fragscope: invalid [a-zA-Z ]+ '$re' for $opt: (empty|not a number|negative|too large|out of range) \(" \
		timeout 20 "$FS" "$cmd" "$opt" "$val" "$@"
}

# --- durations (seconds) and intervals (milliseconds) --------------------------------
for cmd in stat record; do
	args=(-o "$TMP/$cmd.out" -- touch "$MARK")
	for v in nan inf -inf 20abc 20s 2m -5 -0 0 "" 1e3 0x10 " 5" +5 1.2.3 1000000001 $HUGE; do
		refuse $cmd -d "$v" "${args[@]}"
	done
	for v in 0 9 nan 20abc 500ms -100 1e2 86400001 $HUGE; do
		refuse $cmd -i "$v" "${args[@]}"
	done
done
for v in nan inf 20abc -1 -0 "" 1e2 $HUGE; do
	refuse compare --idle "$v" -o "$TMP/cmp" -- touch "$MARK"
done
for v in 0 nan inf 20abc -5 "" $HUGE; do
	refuse compare --timeout "$v" -o "$TMP/cmp" -- touch "$MARK"
done
for v in 0 nan 20abc -250 1e2 $HUGE; do
	refuse compare -i "$v" -o "$TMP/cmp" -- touch "$MARK"
done
for v in 0 9.5 nan inf 20abc -100 0x64 1e2 3600001 $HUGE; do
	refuse top -i "$v" --batch -n 1 -p $SPID
done

# --- counts and sizes ------------------------------------------------------------------
for v in 0 nan -3 3.5 +2 "" $HUGE; do
	refuse top -n "$v" --batch -p $SPID
done
for v in 0 1025 abc -1 " 4" $HUGE; do
	refuse stat --max-procs "$v" -- touch "$MARK"
done
for cmd in stat record compare; do
	for v in 0 nan -1 " 5" 1e6 1073741825 $HUGE; do
		refuse $cmd --max-live "$v" -o "$TMP/$cmd.out" -- touch "$MARK"
	done
	for v in 32 nan -1 64K 18446744073709551616; do
		refuse $cmd --sample-bytes "$v" -o "$TMP/$cmd.out" -- touch "$MARK"
	done
done
for cmd in stat record top snapshot; do
	for v in abc 0 -5 +1 " 1" 1.0 2147483648 $HUGE; do
		refuse $cmd -p "$v"
	done
done
# options that contradict one another: a usage error too (exit 2, one line)
for cmd in stat record; do
	expect_error ${cmd}_window_needs_sampled 2 "^fragscope: --window is for --mode sampled" \
		timeout 20 "$FS" $cmd --window 1/4 -o "$TMP/$cmd.out" -- touch "$MARK"
done
expect_error top_window_needs_sampled 2 "^fragscope: --window is for --mode sampled" \
	timeout 20 "$FS" top --window 1/4 -n 1 -p $SPID

# --- nothing was started, written or attached by a refused command --------------------
if [ ! -e "$MARK" ] && [ ! -e "$TMP/stat.out" ] && [ ! -e "$TMP/record.out" ] && [ ! -e "$TMP/cmp" ] \
	&& [ ! -e "$TMP/fragscope.db" ]; then
	pass refused_before_starting
else
	fail refused_before_starting "$(ls "$TMP" | grep -v '\.\(out\|err\)$' | tr '\n' ' ')"
fi
no_programs_left nothing_left_attached_after_refusals

# --- the documented forms still work: whole and decimal numbers, leading zeros --------
timeout 60 "$FS" stat -j -d 30. -i 10.5 --max-procs 007 --max-live 0100000 --sample-bytes 0 -- true \
	> "$TMP/ok.json" 2> "$TMP/ok.err"
rc=$?
if [ $rc = 0 ] && [ "$(jq -r .target.exited "$TMP/ok.json")" = true ]; then
	pass stat_takes_decimal_forms
else
	fail stat_takes_decimal_forms "rc=$rc $(tail -1 "$TMP/ok.err")"
fi
timeout 60 "$FS" top --batch -i 100.5 -n 2 -p $SPID > "$TMP/top.out" 2> "$TMP/top.err"
rc=$?
if [ $rc = 0 ] && [ "$(grep -c . "$TMP/top.out")" -ge 2 ]; then
	pass top_takes_decimal_interval
else
	fail top_takes_decimal_interval "rc=$rc $(tail -1 "$TMP/top.err")"
fi
# --- a bad option: one line naming it and pointing at --help, exit 2, in every command
expect_error opt_unknown_long 2 "^fragscope stat: unrecognized option '--frobnicate' \(see fragscope stat --help\)$" \
	"$FS" stat --frobnicate -p 1
expect_error opt_unknown_short 2 "^fragscope top: unrecognized option '-Z'" "$FS" top -Z -p 1
expect_error opt_missing_value_short 2 "^fragscope snapshot: a value is missing after option '-p'" "$FS" snapshot -p
expect_error opt_missing_value_long 2 "^fragscope record: a value is missing after option '--duration'" \
	"$FS" record --duration
expect_error opt_takes_no_value 2 "^fragscope stat: option '--census' takes no value" "$FS" stat --census=1 -p 1
expect_error opt_report 2 "^fragscope report: unrecognized option '--nope'" "$FS" report --nope x.db
expect_error opt_compare 2 "^fragscope compare: a value is missing after option '--variants'" "$FS" compare --variants
expect_error opt_replay 2 "^fragscope replay: unrecognized option '--nope'" "$FS" replay --nope x.db
no_programs_left nothing_left_attached
