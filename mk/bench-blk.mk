# make bench-blk: virtq-blk against qemu-storage-daemon with the same
# client (bench/blk-vs-qsd; BENCH_RUNTIME, BENCH_ROUNDS... pass through).
.PHONY: bench-blk
bench-blk: tools
	B=$(B) bench/blk-vs-qsd
