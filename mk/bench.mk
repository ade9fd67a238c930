# Benchmarks (never run by make check; a benchmark prints ratios against a
# peer measured in the same run and asserts nothing).
#
#   make bench            every benchmark (others add theirs as prerequisites)
#   make bench-ring       virtq-ringbench: round trips per second, poll and
#                         notify, paired against Linux's ringtest when
#                         RINGTEST_DIR points at its binaries; then the
#                         instructions per round trip on each side (callgrind)
#   make bench-ring-insns only the instruction counts
#
# Knobs (environment or make variables): RINGTEST_DIR, BUFS, PAIRS, RING,
# DRIVER_CPU, DEVICE_CPU (bench/ringbench.sh); INSNS_BUFS, LEN, BATCH
# (bench/ringbench-insns.sh).

.PHONY: bench bench-ring bench-ring-insns
bench: bench-ring

bench-ring: $(B)/bin/virtq-ringbench
	@B=$(B) bench/ringbench.sh
	@B=$(B) bench/ringbench-insns.sh

bench-ring-insns: $(B)/bin/virtq-ringbench
	@B=$(B) bench/ringbench-insns.sh
