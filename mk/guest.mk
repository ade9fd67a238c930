# Linux guest under QEMU (TCG) against virtq-blk: the demo and the
# initramfs.  The matrix test itself is tests/integration/linux-guest,
# run by `make check`.
#
#   make demo-vm          boot one guest on virtq-blk, show what it saw
#   make guest-initramfs  build (or reuse) the cached test initramfs
# VIRTQ_GUEST_BACKEND=qsd uses qemu-storage-daemon instead of virtq-blk.

.PHONY: demo-vm guest-initramfs

demo-vm: all
	@B=$(B) scripts/guest/demo-vm

guest-initramfs:
	@scripts/guest/build-initramfs $(B)

# The live-migration test alone (it is also part of make check).
.PHONY: check-migrate
check-migrate: all
	B=$(B) tests/integration/linux-migrate

# The backend-kill reconnect run of the Linux guest test alone (it is also
# part of make check; see tests/integration/linux-guest).
.PHONY: check-reconnect
check-reconnect: all
	LINUX_GUEST_RECONNECT=1 LINUX_GUEST_ONLY=reconnect B=$(B) tests/integration/linux-guest
