#!/usr/bin/env bash
# Wakers under interrupt load, as root: two threads wake each other through pipes
# (tests/tools/pingpong.c), so every wakeup of one in read() has the other as its
# waker.  The tracer is started 24 times, in run and attach mode, while loopback TCP
# streams and an fsync loop keep every CPU taking interrupts (tests/tools/netload.py).
# Every trace must credit >= 99% of those wakeups to the right thread, none to an
# interrupt: interrupt context must never stick, whatever the timing of the start.
. "$(dirname "$0")/lib.sh"
skip_unless_bpf

PP=$BUILD/tests/pingpong
N=500
RUNS=12

$PY tests/tools/netload.py 600 >"$TMP/load.out" &
loadpid=$!
wait_for "$TMP/load.out" loaded || fail "the interrupt load did not start"

# wakers TRACE OUT: the share of each thread's wakeups credited to the other
wakers()
{
	"$ANALYZE" --dump "$1" >"$1.jsonl" || return 1
	$PY - "$1.jsonl" "$2" <<'PY'
import json, sys
t = json.loads(open(sys.argv[2]).read().splitlines()[-1])
other = {t['a']: t['b'], t['b']: t['a']}
wk = [e for e in map(json.loads, open(sys.argv[1]))
      if e['type'] == 'wakeup' and e['tid'] in other and not e['new']]
good = sum(1 for e in wk if e['waker_tid'] == other[e['tid']] and not e['irq'])
irq = sum(1 for e in wk if e['irq'])
print(f"{good}/{len(wk)} wakeups credited to the other thread, {irq} to interrupts")
# a round trip blocks each thread at most once: at least a fifth of them must block
sys.exit(0 if len(wk) >= t['n'] // 5 and good >= 0.99 * len(wk) else 1)
PY
}

bad=0
for i in $(seq $RUNS); do
	# run mode: the tracer starts the job
	"$TRACER" run -q -o "$TMP/r$i.zst" -- "$PP" $N >"$TMP/r$i.out" 2>"$TMP/r$i.err"
	res=$(wakers "$TMP/r$i.zst" "$TMP/r$i.out") || { bad=$((bad + 1)); echo "run $i: $res"; }
	# attach mode: the job waits on a fifo until the tracer is in
	rm -f "$TMP/go$i"; mkfifo "$TMP/go$i"
	exec 5<>"$TMP/go$i"
	"$PP" $N -w <"$TMP/go$i" >"$TMP/a$i.out" &
	jpid=$!
	wait_for "$TMP/a$i.out" '^[0-9]' || fail "attach $i: the job did not start"
	"$TRACER" attach -v -q -o "$TMP/a$i.zst" "$jpid" 2>"$TMP/a$i.err" &
	tpid=$!
	wait_for "$TMP/a$i.err" "attached to" || fail "attach $i: the tracer did not attach"
	echo go >&5
	wait $jpid
	wait $tpid
	exec 5>&-
	res=$(wakers "$TMP/a$i.zst" "$TMP/a$i.out") || { bad=$((bad + 1)); echo "attach $i: $res"; }
	[ "$i" = 1 ] && echo "first run: $res"
done
kill $loadpid 2>/dev/null
check "$((2 * RUNS)) tracer starts under interrupt load: every trace credits >= 99% of the wakers right ($bad did not)" test $bad -eq 0
check "the header says how interrupt context was read" grep -q '"irq_context":"preempt_count"' "$TMP/r1.zst.jsonl"
finish
