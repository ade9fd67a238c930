#!/usr/bin/env bash
# make demo: libvirtq end to end on one machine, no outside service.
# A 64 MiB image, virtq-blk (our vhost-user-blk backend, device side)
# serving it, virtq-blkio (our vhost-user frontend, driver side) writing
# it with stamped blocks and checking every one, then a short 4k random
# read.  DEMO_BACKEND=qsd runs the same against qemu-storage-daemon.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
. scripts/vu-peers.sh
backend=${DEMO_BACKEND:-virtq-blk}
blkio=$B/bin/virtq-blkio

dir=$(mktemp -d /tmp/virtq-demo.XXXXXX)
BLK_PID= QSD_PID=
cleanup() { stop_pid "$BLK_PID"; stop_pid "$QSD_PID"; rm -rf "$dir"; }
trap cleanup EXIT INT TERM
img=$dir/disk.img sock=$dir/vhost-user-blk.sock
truncate -s 64M "$img"

case $backend in
virtq-blk)
	[ -x "$B/bin/virtq-blk" ] || { echo "demo: $B/bin/virtq-blk is not built (or try DEMO_BACKEND=qsd)" >&2; exit 1; }
	echo "== virtq-blk --socket $sock --image $img --queues 2"
	start_virtq_blk "$img" "$sock" 2 "$dir/backend.log" || { cat "$dir/backend.log"; exit 1; } ;;
qsd)
	have_qsd || { echo "demo: qemu-storage-daemon missing (scripts/install-deps qsd)" >&2; exit 1; }
	echo "== qemu-storage-daemon (vhost-user-blk export, 2 queues) on $img"
	start_qsd "$img" "$sock" 2 "$dir/backend.log" || { cat "$dir/backend.log"; exit 1; } ;;
*)	echo "demo: DEMO_BACKEND must be virtq-blk or qsd" >&2; exit 2 ;;
esac

step() {
	echo
	echo "== virtq-blkio $*"
	"$blkio" --socket "$sock" "$@" || { echo "demo: FAILED (backend log: $(tail -n 5 "$dir/backend.log"))" >&2; exit 1; }
}
step --rw write --bs 4k --iodepth 16 --queues 2 --verify
step --rw randrw --bs 16k --iodepth 32 --queues 2 --runtime 2 --verify
step --rw randread --bs 4k --iodepth 32 --queues 1 --runtime 3
echo
echo "demo: all data verified; $backend stopped."
