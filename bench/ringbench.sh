#!/usr/bin/env bash
# Round trips per second through one split ring, poll and notify modes,
# with virtq-ringbench; and, when Linux's tools/virtio/ringtest binaries are
# at hand, paired ratios against them measured in the same invocation.
#
# The reference is never part of this repository: build it yourself from
# Linux's tools/virtio/ringtest (its Makefile builds virtio_ring_0_9, ring,
# ptr_ring) and point RINGTEST_DIR at the directory holding the binaries.
#
# Each pair runs every program (ours: batch 1 and 32, general API and the
# fast paths, the fast paths with --pace, and in notify mode with
# --busy-poll; the references) back to back on the same CPUs, in an order
# that reverses from pair to pair, each timed the same way (wall clock
# around the whole process), after a cross-core ping-pong measurement that
# says which mode the machine is in.  Per-pair rows, then min / median /
# max per program and of each paired ratio (ours / reference), which is
# immune to the slow drifts of a shared machine.
# Notify mode on our side uses --vmexit-cycles 500 because ringtest spins
# 500 + 500 TSC cycles around every eventfd write and read (its default
# --exit behaviour); both then use EVENT_IDX.
#
# On a busy machine the spinning threads lose their CPUs to other work
# and every figure collapses; RT=1 runs each program under SCHED_FIFO
# (chrt -f 10), which keeps them steady but starves everything else on
# those CPUs while it runs (the kernel's RT throttling still leaves 5%).
#
# Usage: bench/ringbench.sh
# Env:   B (build dir, default build), RINGTEST_DIR (reference binaries),
#        BUFS (10000000), PAIRS (10), RING (256), DRIVER_CPU (0),
#        DEVICE_CPU (1), RT (0; 1 = SCHED_FIFO), TIMEOUT (120 s a run).
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
BUFS=${BUFS:-10000000}
PAIRS=${PAIRS:-10}
RING=${RING:-256}
DRIVER_CPU=${DRIVER_CPU:-0}
DEVICE_CPU=${DEVICE_CPU:-1}
REF=${RINGTEST_DIR:-}
RT=${RT:-0}
TIMEOUT=${TIMEOUT:-120}

case "$*" in
-h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
"") ;;
*) echo "ringbench: no arguments expected (settings come from the environment, see --help)" >&2; exit 2 ;;
esac

bin=$B/bin/virtq-ringbench
if [ ! -x "$bin" ]; then
	echo "ringbench: $bin is missing; run: make B=$B tools" >&2
	exit 2
fi
ncpu=$(nproc)
if [ "$DRIVER_CPU" -ge "$ncpu" ] || [ "$DEVICE_CPU" -ge "$ncpu" ]; then
	echo "ringbench: DRIVER_CPU=$DRIVER_CPU / DEVICE_CPU=$DEVICE_CPU: this machine has CPUs 0-$((ncpu - 1)); set both below $ncpu" >&2
	exit 2
fi

prefix=(timeout --kill-after=5 "$TIMEOUT")
rtnote="normal scheduling (RT=1 for SCHED_FIFO, steadier on a busy machine)"
if [ "$RT" = 1 ]; then
	if chrt -f 10 true 2>/dev/null; then
		prefix+=(chrt -f 10)
		rtnote="SCHED_FIFO (RT=1)"
	else
		rtnote="normal scheduling: chrt -f failed (RT=1 needs root or CAP_SYS_NICE)"
	fi
fi

ours_args=(-n "$RING" -c "$BUFS" -r 1 --no-pingpong --driver-cpu "$DRIVER_CPU" --device-cpu "$DEVICE_CPU")
ref_args=(--ring-size "$RING" --run-cycles "$BUFS" --guest-affinity "$DRIVER_CPU" --host-affinity "$DEVICE_CPU")

# timed CMD... -> million round trips per second, from the process's wall clock
timed() {
	local t0 t1
	t0=$(date +%s%N)
	"${prefix[@]}" "$@" >/dev/null 2>&1 || { echo "FAILED"; return; }
	t1=$(date +%s%N)
	awk -v n="$BUFS" -v ns=$((t1 - t0)) 'BEGIN { printf "%.3f", n * 1000 / ns }'
}

median() {	# numbers... -> median
	printf '%s\n' "$@" | grep -v FAILED | sort -g |
		awk '{ v[NR] = $1 } END {
			if (NR == 0) { print "n/a"; exit }
			if (NR % 2) print v[(NR + 1) / 2]
			else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "FAILED" }'; }

echo "Ring round trips: ring $RING, $BUFS buffers per run, driver on CPU $DRIVER_CPU, device on CPU $DEVICE_CPU, $PAIRS runs,"
echo "  $rtnote; load average now $(cut -d' ' -f1-3 /proc/loadavg)"

have_ref=0
if [ -n "$REF" ]; then
	if [ -x "$REF/virtio_ring_0_9" ]; then
		have_ref=1
	else
		echo "note: RINGTEST_DIR=$REF has no executable virtio_ring_0_9; printing our figures only"
	fi
else
	echo "note: RINGTEST_DIR is not set, so no reference: build Linux's tools/virtio/ringtest"
	echo "      (virtio_ring_0_9, ring, ptr_ring) outside this tree and set RINGTEST_DIR to"
	echo "      their directory for paired ratios.  Our figures only:"
fi

stats() {	# numbers... -> "min / median / max"
	local v
	v=$(printf '%s\n' "$@" | grep -v FAILED | sort -g)
	[ -n "$v" ] || { echo "n/a"; return; }
	printf '%s / %s / %s' "$(head -n 1 <<<"$v")" "$(median $v)" "$(tail -n 1 <<<"$v")"
}

pingpong() {	# cross-core round trip in ns between the two CPUs, now
	"${prefix[@]}" "$bin" --pingpong --driver-cpu "$DRIVER_CPU" --device-cpu "$DEVICE_CPU" 2>/dev/null |
		sed -n 's/^result pingpong_ns=//p'
}

# mode TITLE "ours-label=ours-args;..." ref-extra-args "reference binaries"
# Every pair runs every program once, in an order that alternates from pair
# to pair, after a ping-pong measurement that says which mode the machine
# is in; then per-pair rows, and min / median / max per program.
run_mode() {
	local title=$1 ours=$2 refx=$3 refs=$4
	local i j r lab args v names=() order
	declare -A res=() ppv=()
	IFS=';' read -r -a variants <<<"$ours"
	for j in "${variants[@]}"; do names+=("${j%%=*}"); done
	if [ $have_ref = 1 ]; then
		for r in $refs; do [ -x "$REF/$r" ] && names+=("$r"); done
	fi
	echo
	echo "$title: M round trips/s per pair (ping-pong = cross-core round trip, ns, just before the pair)"
	printf '  %-5s %9s' pair ping-pong
	for j in "${names[@]}"; do printf ' %12s' "$j"; done
	echo
	for ((i = 1; i <= PAIRS; i++)); do
		ppv[$i]=$(pingpong)
		order=("${names[@]}")
		if [ $((i % 2)) = 0 ]; then	# reverse every other pair
			order=()
			for ((j = ${#names[@]} - 1; j >= 0; j--)); do order+=("${names[$j]}"); done
		fi
		for lab in "${order[@]}"; do
			args=
			for j in "${variants[@]}"; do [ "${j%%=*}" = "$lab" ] && args=${j#*=}; done
			if [ -n "$args" ]; then
				# shellcheck disable=SC2086
				v=$(timed "$bin" "${ours_args[@]}" $args)
			else
				# shellcheck disable=SC2086
				v=$(timed "$REF/$lab" "${ref_args[@]}" $refx)
			fi
			res[$lab,$i]=$v
		done
		printf '  %-5s %9s' "$i" "${ppv[$i]}"
		for j in "${names[@]}"; do printf ' %12s' "${res[$j,$i]}"; done
		echo
	done
	local all=()
	for ((i = 1; i <= PAIRS; i++)); do all+=("${ppv[$i]}"); done
	printf '  %-15s min / median / max: %s\n' "ping-pong ns" "$(stats "${all[@]}")"
	for j in "${names[@]}"; do
		all=()
		for ((i = 1; i <= PAIRS; i++)); do all+=("${res[$j,$i]}"); done
		printf '  %-15s min / median / max: %s M/s\n' "$j" "$(stats "${all[@]}")"
	done
	# paired ratios of each of ours against each reference
	[ $have_ref = 1 ] || return 0
	for j in "${variants[@]}"; do
		lab=${j%%=*}
		for r in $refs; do
			[ -x "$REF/$r" ] || continue
			all=()
			for ((i = 1; i <= PAIRS; i++)); do all+=("$(ratio "${res[$lab,$i]}" "${res[$r,$i]}")"); done
			printf '  %-15s / %-15s paired min / median / max: %s\n' "$lab" "$r" "$(stats "${all[@]}")"
		done
	done
}

run_mode "poll" "batch1=-m poll;batch32=-m poll -b 32;fast1=-m poll --fast;fast32=-m poll --fast -b 32;fast1pace=-m poll --fast --pace 8000;fast32pace=-m poll --fast -b 32 --pace 8000" \
	"" "virtio_ring_0_9 ring ptr_ring"
run_mode "poll, one buffer in flight (latency: 1000 / M/s = ns a round trip)" \
	"batch1=-m poll -o 1;fast1=-m poll -o 1 --fast;fast1pace=-m poll -o 1 --fast --pace 8000" "--outstanding 1" "virtio_ring_0_9 ring ptr_ring"
run_mode "notify (event idx)" "batch1=-m notify --vmexit-cycles 500;batch32=-m notify --vmexit-cycles 500 -b 32;fast32=-m notify --vmexit-cycles 500 -b 32 --fast;batch1bp=-m notify --vmexit-cycles 500 --busy-poll 5000;batch32bp=-m notify --vmexit-cycles 500 -b 32 --busy-poll 5000" \
	"--sleep" "virtio_ring_0_9 ring"
echo "  (notify: both sides spin 500+500 TSC cycles around each eventfd write and read, as ringtest does)"
kn=$("${prefix[@]}" "$bin" "${ours_args[@]}" -c $((BUFS / 10 > 0 ? BUFS / 10 : 1)) -m notify --vmexit-cycles 500 | awk '/^result/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } print v["kicks_per_m"], v["interrupts_per_m"] }')
echo "  notify (event idx): ${kn% *} kicks and ${kn#* } interrupts per million buffers (one run of $((BUFS / 10)))"
