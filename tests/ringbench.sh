#!/usr/bin/env bash
# ringbench: virtq-ringbench drives a libvirtq driver and a libvirtq device
# against each other, on two threads and in lockstep, in poll and notify
# modes (EVENT_IDX and flags), with batches, a limit on chains in flight,
# odd ring sizes and longer buffers.  Each run checks that every token
# comes back once, in order, with the right length, and that no
# notification is lost (--timeout turns a stall into a failure).  Under
# TSan this is the test of the two sides' memory ordering against each
# other.  Bad flags must give one-line messages.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
bin=$B/bin/virtq-ringbench
[ -x "$bin" ] || { echo "ringbench: $bin missing (make B=$B tools)"; exit 1; }
n=20000
[ -n "${SAN:-}" ] && n=5000
fail=0

run() {	# args...: must succeed and print a result line
	local out
	if ! out=$("$bin" --timeout 60 -r 1 "$@" 2>&1); then
		echo "FAIL: virtq-ringbench $*"
		echo "$out" | tail -n 3 | sed 's/^/    /'
		fail=1
		return
	fi
	if ! grep -q '^result mode=' <<<"$out"; then
		echo "FAIL: virtq-ringbench $*: no result line"
		fail=1
		return
	fi
	echo "ok: $* -> $(grep '^result' <<<"$out" | cut -d' ' -f2-3,6-)"
}

for lock in "" --lockstep; do
	run $lock -c $n -m poll
	run $lock -c $n -m poll -b 8
	run $lock -c $n -m notify
	run $lock -c $n -m notify -b 16 -o 64
	run $lock -c $n -m notify --no-event-idx
	run $lock -c $n -m notify --no-event-idx -b 4
	run $lock -c $n -m notify -o 1
	run $lock -c $n -n 1 -m notify
	run $lock -c $n -n 2 -m poll
	run $lock -c $n -n 32768 -m notify -b 64
	run $lock -c $((n / 4)) -l 4096 -n 64 -m notify
	# the fast paths (add_inbuf, get_used_batch, pop_batch, push_batch)
	run $lock -c $n -m poll --fast
	run $lock -c $n -m poll --fast -b 8
	run $lock -c $n -m notify --fast -b 16 -o 64
	run $lock -c $n -m notify --no-event-idx --fast -b 4
	run $lock -c $n -n 1 -m notify --fast
	run $lock -c $n -m notify -o 1 --fast
	run $lock -c $n -m poll --poll-pause 20
	run $lock -c $n -m notify --delayed-cb -b 16 -o 64
	run $lock -c $n -m notify --delayed-cb --fast -b 32
done
# Both threads on one CPU: the ping-pong gives up (it used to spin for
# minutes) and the spinning sides yield to each other.
run -c 2000 -n 2 -m poll --driver-cpu 0 --device-cpu 0
run -c 2000 -m poll --fast --driver-cpu 0 --device-cpu 0
# --pace (the --fast device loop waits after a short find) needs threads
case $(uname -m) in
x86_64|i?86)
	run -c $n -m poll --fast --pace 2000
	run -c $n -m poll --fast --pace 8000 -b 32
	run -c $n -m poll --fast --pace 2000 -o 1
	run -c $n -m notify --busy-poll 5000
	run -c $n -m notify --busy-poll 5000 -b 32 --fast
	run -c $n -m notify --busy-poll 5000 -o 1 --no-event-idx
	;;
esac
for bad in "--pace 100" "--pace 100 --fast -m notify" "--pace 100 --fast --lockstep" "--delayed-cb" "--busy-poll 100" "--busy-poll 100 -m notify --lockstep"; do
	# shellcheck disable=SC2086
	if out=$("$bin" -c 10 $bad 2>&1) || ! grep -q "^virtq-ringbench: --" <<<"$out"; then
		echo "FAIL: virtq-ringbench $bad: expected a one-line refusal, got:"
		echo "$out" | tail -n 2 | sed 's/^/    /'
		fail=1
	else
		echo "ok: $bad refused: $out"
	fi
done
# A latency, or -1.0 when a burst took over 2 s (a loaded machine).
out=$("$bin" --pingpong 2>&1)
grep -Eq '^result pingpong_ns=([0-9]+\.[0-9]|-1\.0)$' <<<"$out" || {
	echo "FAIL: --pingpong: no result line:"
	echo "$out" | tail -n 2 | sed 's/^/    /'
	fail=1
}
# Both on one CPU, the ping-pong must give up (not spin for minutes).
out=$(timeout 60 "$bin" --pingpong --driver-cpu 0 --device-cpu 0 2>&1)
grep -q '^result pingpong_ns=-1\.0$' <<<"$out" || {
	echo "FAIL: --pingpong on one CPU: expected pingpong_ns=-1.0 within 60 s:"
	echo "$out" | tail -n 2 | sed 's/^/    /'
	fail=1
}

# Lockstep counts are exact: with one chain in flight and EVENT_IDX each
# buffer needs exactly one kick and one interrupt.
out=$("$bin" --lockstep -r 1 -c 1000 -o 1 -m notify 2>&1)
grep -q 'kicks_per_m=1000000.0 interrupts_per_m=1000000.0' <<<"$out" || {
	echo "FAIL: lockstep -o 1 notify: expected one kick and one interrupt per buffer:"
	echo "$out" | tail -n 1 | sed 's/^/    /'
	fail=1
}
out=$("$bin" --lockstep -r 1 -c 1000 -o 1 -m notify --fast 2>&1)
grep -q 'kicks_per_m=1000000.0 interrupts_per_m=1000000.0' <<<"$out" || {
	echo "FAIL: lockstep -o 1 notify --fast: expected one kick and one interrupt per buffer:"
	echo "$out" | tail -n 1 | sed 's/^/    /'
	fail=1
}
# In poll mode nobody notifies.
out=$("$bin" --lockstep -r 1 -c 1000 -m poll 2>&1)
grep -q 'kicks_per_m=0.0 interrupts_per_m=0.0' <<<"$out" || {
	echo "FAIL: poll mode sent notifications:"
	echo "$out" | tail -n 1 | sed 's/^/    /'
	fail=1
}

bad() {	# expected-substring args...: must fail with one line naming it
	local want=$1 out rc
	shift
	out=$("$bin" "$@" 2>&1)
	rc=$?
	if [ $rc = 0 ] || [ "$(printf '%s\n' "$out" | wc -l)" != 1 ] ||
	   ! grep -q -- "$want" <<<"$out"; then
		echo "FAIL: virtq-ringbench $* (exit $rc) should fail with one line about '$want', got:"
		echo "$out" | head -n 3 | sed 's/^/    /'
		fail=1
		return
	fi
	echo "ok: $* -> $out"
}
bad "power of two" -n 100
bad "--num" -n 65536
bad "--len 0" -l 0
bad "poll or notify" -m sleep
bad "unknown option" --frobnicate
bad "needs a value" --runs
bad "--bufs" -c abc
bad "--bufs" -c -5
bad "not available" --driver-cpu 1023
bad "unexpected argument" extra
bad "--poll-pause" --poll-pause 1000001
exit $fail
