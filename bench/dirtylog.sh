#!/usr/bin/env bash
# The cost of dirty-page logging on the device side (bench/dirtylog.c):
# round trips with the log off and on, paired, for 1 byte, 4 KiB and
# 60000 bytes written per chain.  Prints ratios (on / off), and with
# valgrind the exact instructions logging adds per round trip (callgrind,
# INSN_ITERS round trips each way); asserts nothing.
# Usage: bench/dirtylog.sh   Env: B (build dir), ITERS (2000000), PAIRS (7),
#        INSN_ITERS (20000)
set -eu
cd "$(dirname "$0")/.."
B=${B:-build}
[ -f "$B/libvirtq.a" ] || make B="$B" lib >/dev/null
cc -O2 -std=gnu11 -D_GNU_SOURCE -Iinclude -o "$B/bench-dirtylog" bench/dirtylog.c "$B/libvirtq.a"
for len in 1 4096 60000; do
	"$B/bench-dirtylog" "$len" "${ITERS:-2000000}" "${PAIRS:-7}" | tail -n 1
done
command -v valgrind >/dev/null || exit 0
n=${INSN_ITERS:-20000}
ir() {	# LEN on|off -> instructions of the whole program
	valgrind --tool=callgrind --callgrind-out-file=/dev/null "$B/bench-dirtylog" "$1" "$n" 1 "$2" 2>&1 |
		sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
for len in 1 4096 60000; do
	off=$(ir $len off)
	on=$(ir $len on)
	echo "dirty logging, $len writable bytes per chain: +$(( (on - off) / n )) instructions per round trip (callgrind)"
done
