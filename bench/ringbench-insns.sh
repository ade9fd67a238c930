#!/usr/bin/env bash
# Instructions per round trip on each side of the ring, counted by
# callgrind: stable from run to run, unlike timings on a shared machine.
#
# virtq-ringbench --lockstep runs driver and device on one thread, taking
# turns, so the count is exact.  Its per-side work sits in noinline
# functions named rb_drv_* (driver: add, publish/kick, get_used, callback
# enable/disable) and rb_dev_* (device: pop with full validation, push,
# flush, interrupt decision, notify enable/disable); --toggle-collect counts
# only inside them, library calls included.  Each figure is
# (count at 2N buffers - count at N buffers) / N, so setup and first-call
# costs cancel out.  The figures count the library's code only; the
# wrappers' own bookkeeping is shown apart.  Every workload is counted
# with the general API and with the fast paths (--fast: add_inbuf,
# get_used_batch, pop_batch, push_batch, and the batched driver loop).
#
# Usage: bench/ringbench-insns.sh [--detail]
# Env:   B (build dir, default build), INSNS_BUFS (N, default 20000),
#        RING (ring size, 256), LEN (buffer bytes, 1), BATCH (1).
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
N=${INSNS_BUFS:-20000}
RING=${RING:-256}
LEN=${LEN:-1}
BATCH=${BATCH:-1}
detail=0
for a in "$@"; do
	case $a in
	--detail) detail=1 ;;
	-h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "ringbench-insns: unknown argument '$a' (only --detail)" >&2; exit 2 ;;
	esac
done

bin=$B/bin/virtq-ringbench
if [ ! -x "$bin" ]; then
	echo "ringbench-insns: $bin is missing; run: make B=$B tools" >&2
	exit 2
fi
command -v valgrind >/dev/null || scripts/install-deps bench >&2
if ! command -v valgrind >/dev/null; then
	echo "ringbench-insns: valgrind is not installed (apt-get install valgrind); no instruction counts"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Self instructions per function inside the toggled region, as
# "count file:function" lines (callgrind_annotate's function summary).
functions() {	# callgrind-out-file
	callgrind_annotate --inclusive=no --threshold=100 "$1" 2>/dev/null |
		awk '
			/^-+$/ { sep++; next }
			sep >= 6 && NF == 0 && started { exit }
			sep >= 6 && $1 ~ /^[0-9,]+$/ {
				started = 1
				ir = $1; gsub(",", "", ir)
				fn = $0; sub(/^ *[0-9,]+ +(\([^)]*\) +)?/, "", fn)
				sub(/ \[.*\]$/, "", fn)
				if (fn != "PROGRAM TOTALS") print ir, fn
			}'
}

# count SIDE BUFS ARGS... -> "library bench" instructions collected inside
# rb_SIDE_*: library = everything but the benchmark's own functions.
count() {
	local side=$1 bufs=$2 out="$tmp/cg.$1.$2"
	shift 2
	valgrind --tool=callgrind --callgrind-out-file="$out" \
		--toggle-collect="rb_${side}_*" \
		"$bin" --lockstep -n "$RING" -l "$LEN" -b "$BATCH" -r 1 -c "$bufs" "$@" \
		>/dev/null 2>"$tmp/vg.log" || {
		echo "ringbench-insns: valgrind failed:" >&2
		tail -n 5 "$tmp/vg.log" >&2
		exit 1
	}
	functions "$out" | awk '
		$2 ~ /(^|\/)tools\// { bench += $1; next }
		{ lib += $1 }
		END { print lib + 0, bench + 0 }'
}

per_rt() {	# side args... -> "library bench" instructions per round trip
	local side=$1 a b
	shift
	a=$(count "$side" "$N" "$@")
	b=$(count "$side" $((2 * N)) "$@")
	awk -v a="$a" -v b="$b" -v n="$N" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		printf "%.1f %.1f", (y[1] - x[1]) / n, (y[2] - x[2]) / n }'
}

detail_of() {	# side label: top functions by self cost, per round trip
	local side=$1 label=$2 out="$tmp/cg.$1.$((2 * N))"
	echo "    $label, $side side, self instructions per round trip:"
	functions "$out" | awk -v n=$((2 * N)) '
		$1 / n >= 0.5 && k++ < 12 { printf "      %7.1f  %s\n", $1 / n, $2 }'
}

printf 'Instructions per round trip (callgrind, --lockstep, ring %s, %s-byte buffers, batch %s)\n' \
	"$RING" "$LEN" "$BATCH"
printf '  library code only (the benchmark'"'"'s own wrapper instructions in the last column)\n'
printf '  %-36s %8s %8s %8s %8s\n' "workload" "driver" "device" "total" "wrapper"
row() {	# label args...
	local label=$1 d v
	shift
	d=$(per_rt drv "$@")
	v=$(per_rt dev "$@")
	awk -v l="$label" -v d="$d" -v v="$v" 'BEGIN {
		split(d, x, " "); split(v, y, " ")
		printf "  %-36s %8.1f %8.1f %8.1f %8.1f\n", l, x[1], y[1],
			x[1] + y[1], x[2] + y[2] }'
	if [ $detail = 1 ]; then
		detail_of drv "$label"
		detail_of dev "$label"
	fi
}
for api in "" --fast; do
	if [ -n "$api" ]; then
		echo "  fast paths (--fast): virtq_driver_add_inbuf, virtq_driver_get_used_batch,"
		echo "  virtq_device_pop_batch, virtq_device_push_batch; the same validation"
	else
		echo "  general API: virtq_driver_add, get_used, virtq_device_pop, push, flush"
	fi
	row "poll, ring kept full" -m poll $api
	row "poll, 1 in flight" -m poll -o 1 $api
	row "notify (event idx), ring kept full" -m notify $api
	row "notify (event idx), 1 in flight" -m notify -o 1 $api
	row "notify (flags), ring kept full" -m notify --no-event-idx $api
	row "notify (flags), 1 in flight" -m notify --no-event-idx -o 1 $api
done
