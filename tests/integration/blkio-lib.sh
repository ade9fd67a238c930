# Sourced by tests/integration/blkio-*: the write-then-verify matrix that
# virtq-blkio runs against a vhost-user-blk backend, and a corruption check.
# Not executable on purpose (tests/run runs only executables).

BLKIO="$B/bin/virtq-blkio"

blkio() {	# args...: run virtq-blkio, print the command, fail loudly
	echo "+ virtq-blkio $*"
	if ! timeout --kill-after=5 120 "$BLKIO" --timeout 10000 "$@"; then
		echo "FAILED: virtq-blkio $*" >&2
		return 1
	fi
}

# Block sizes 512 B .. 1 MiB, iodepth 1 .. 128, queues 1 and 2; every write
# run reads back and checks everything it wrote.  About a minute.
run_matrix() {	# sock
	local s=$1
	blkio --socket "$s" --rw write     --bs 512  --iodepth 1   --queues 1 --size 256k --verify &&
	blkio --socket "$s" --rw randwrite --bs 4k   --iodepth 1   --queues 2 --size 4M --verify &&
	blkio --socket "$s" --rw randwrite --bs 4k   --iodepth 32  --queues 2 --size 16M --verify &&
	blkio --socket "$s" --rw randwrite --bs 8k   --iodepth 128 --queues 1 --size 32M --verify &&
	blkio --socket "$s" --rw write     --bs 64k  --iodepth 16  --queues 2 --size 32M --verify &&
	blkio --socket "$s" --rw randwrite --bs 128k --iodepth 128 --queues 2 --size 64M --verify &&
	blkio --socket "$s" --rw write     --bs 1M   --iodepth 4   --queues 1 --size 64M --verify &&
	blkio --socket "$s" --rw randwrite --bs 1M   --iodepth 8   --queues 2 --size 64M --verify &&
	blkio --socket "$s" --rw randrw    --bs 4k   --iodepth 128 --queues 2 --runtime 2 --size 8M --verify &&
	blkio --socket "$s" --rw randrw    --bs 16k  --iodepth 8   --queues 1 --runtime 1 --verify --poll &&
	blkio --socket "$s" --rw randrw    --bs 512  --iodepth 64  --queues 2 --runtime 1 --size 1M --verify &&
	blkio --socket "$s" --rw randread  --bs 4k   --iodepth 32  --queues 2 --runtime 1 --verify
}

# Stamped data moved or damaged behind the backend's back is caught, with
# its LBA.  Needs restart_backend (stop, run "$@", start again).
check_corruption() {	# sock img
	local s=$1 img=$2 out
	blkio --socket "$s" --rw write --bs 4k --size 1M --verify || return 1
	restart_backend "$img" sh -c "
		dd if='$img' of='$img' bs=4096 skip=3 seek=10 count=1 conv=notrunc status=none &&
		printf XXXX | dd of='$img' bs=1 seek=$((20 * 4096 + 2 * 512 + 100)) conv=notrunc status=none" ||
		return 1
	echo "+ virtq-blkio --socket $s --rw read --bs 4k --size 1M --verify (must fail)"
	out=$(timeout 60 "$BLKIO" --socket "$s" --rw read --bs 4k --size 1M --verify 2>&1)
	local rc=$?
	echo "$out"
	[ "$rc" = 1 ] || { echo "FAILED: expected exit 1 from a corrupted image, got $rc" >&2; return 1; }
	echo "$out" | grep -q "LBA 80 .*misplaced: holds the data of LBA 24" ||
		{ echo "FAILED: the misplaced block at LBA 80 was not reported" >&2; return 1; }
	echo "$out" | grep -q "LBA 160 .*torn: sector +2 fails its checksum" ||
		{ echo "FAILED: the damaged block at LBA 160 was not reported" >&2; return 1; }
	echo "$out" | grep -q "2 verification errors" ||
		{ echo "FAILED: expected exactly 2 verification errors" >&2; return 1; }
}
