#!/usr/bin/env bash
# The cost of dirty-page logging on the device side (bench/dirtylog.c):
# round trips with the log off and on, paired, for 1 byte, 4 KiB and
# 60000 bytes written per chain.  Prints ratios (on / off); asserts nothing.
# Usage: bench/dirtylog.sh   Env: B (build dir), ITERS (2000000), PAIRS (7)
set -eu
cd "$(dirname "$0")/.."
B=${B:-build}
[ -f "$B/libvirtq.a" ] || make B="$B" lib >/dev/null
cc -O2 -std=gnu11 -D_GNU_SOURCE -Iinclude -o "$B/bench-dirtylog" bench/dirtylog.c "$B/libvirtq.a"
for len in 1 4096 60000; do
	"$B/bench-dirtylog" "$len" "${ITERS:-2000000}" "${PAIRS:-7}" | tail -n 1
done
