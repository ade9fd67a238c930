# make demo: the README's main job (scripts/demo.sh): a 64 MiB image served
# by virtq-blk, written and verified by virtq-blkio, then a 4k random read.
# DEMO_BACKEND=qsd runs it against qemu-storage-daemon instead.
DEMO_BACKEND	?= virtq-blk
.PHONY: demo demo-shm
demo: all
	@B=$(B) DEMO_BACKEND=$(DEMO_BACKEND) scripts/demo.sh

# make demo-shm: a driver process and a device process sharing one mapping
# move 200000 verified chains (examples/demo-shm.c).
demo-shm: $(B)/examples/demo-shm
	$(B)/examples/demo-shm 200000 256
