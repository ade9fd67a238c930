# Shared by tests/integration/linux-guest and scripts/guest/demo-vm
# (sourced, bash): build the initramfs, start a vhost-user-blk backend on a
# fresh image, boot a Linux guest against it under TCG, clean up.
#
# Backend: VIRTQ_GUEST_BACKEND=virtq-blk (default, $B/bin/virtq-blk) or
# qsd (qemu-storage-daemon's vhost-user-blk export, for bisecting a failure
# between our backend and QEMU's).
#
# Every process started here is remembered by pid and killed by pid.

guest_top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
B=${B:-build}
case $B in /*) ;; *) B=$guest_top/$B ;; esac
GUEST_TIMEOUT=${GUEST_TIMEOUT:-150}
GUEST_MEM=${GUEST_MEM:-512M}
# 20 bytes: the longest serial, no terminating NUL in GET_ID's answer.
GUEST_SERIAL=virtq-blk-serial-020
BACKEND_PID=
QEMU_PID=
GUEST_WORK=

guest_cleanup() {
	vm_kill
	backend_stop
	[ -n "$GUEST_WORK" ] && rm -rf "$GUEST_WORK"
	GUEST_WORK=
}

# guest_setup: packages, kernel, initramfs, a private temp dir; sets KVER,
# KERNEL, INITRAMFS, BLKCHECK, GUEST_WORK, BACKEND.  Returns 77 to skip.
guest_setup() {
	local vars rc
	vars=$("$guest_top/scripts/guest/build-initramfs" "$B")
	rc=$?
	[ $rc = 0 ] || return $rc
	eval "$vars"
	BACKEND=${VIRTQ_GUEST_BACKEND:-virtq-blk}
	case $BACKEND in
	virtq-blk)
		if [ ! -x "$B/bin/virtq-blk" ]; then
			echo "$B/bin/virtq-blk is missing: run make B=$B all (or VIRTQ_GUEST_BACKEND=qsd to use qemu-storage-daemon)" >&2
			return 1
		fi ;;
	qsd) ;;
	*) echo "VIRTQ_GUEST_BACKEND=$BACKEND: use virtq-blk or qsd" >&2; return 2 ;;
	esac
	if [ $BACKEND = qsd ] && ! command -v qemu-storage-daemon >/dev/null; then
		"$guest_top/scripts/install-deps" qsd >&2 || return 77
	fi
	# The serial the guest must see (GET_ID); QSD has no serial option.
	GUEST_SERIAL_ARG=
	[ $BACKEND = virtq-blk ] && GUEST_SERIAL_ARG="vqt.serial=$GUEST_SERIAL"
	GUEST_WORK=$(mktemp -d "${TMPDIR:-/tmp}/virtq-guest.XXXXXX") || return 1
	trap guest_cleanup EXIT
	trap 'guest_cleanup; exit 130' INT TERM
	return 0
}

# backend_start IMG SOCK QUEUES LOG [read-only]: start the backend in the
# background and wait for its socket.  Returns 1 if it died or never
# listened (the reason is in LOG).
backend_start() {
	local img=$1 sock=$2 nq=$3 log=$4 ro=${5:-} i
	rm -f "$sock"
	case $BACKEND in
	virtq-blk)
		"$B/bin/virtq-blk" --socket "$sock" --image "$img" --queues "$nq" \
			--serial "$GUEST_SERIAL" ${ro:+--read-only} >"$log" 2>&1 &
		;;
	qsd)
		qemu-storage-daemon \
			--blockdev "driver=file,node-name=disk,filename=$img,discard=unmap" \
			--export "type=vhost-user-blk,id=exp,node-name=disk,addr.type=unix,addr.path=$sock,writable=$([ -n "$ro" ] && echo off || echo on),num-queues=$nq" \
			>"$log" 2>&1 &
		;;
	esac
	BACKEND_PID=$!
	for i in $(seq 100); do
		[ -S "$sock" ] && return 0
		kill -0 "$BACKEND_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "backend $BACKEND did not listen on $sock" >>"$log"
	backend_stop
	return 1
}

# backend_stop: SIGTERM, then SIGKILL after 5 s.  Sets BACKEND_RC to its
# exit status (or "killed"), and BACKEND_DIED to its status when it had
# already exited by itself (a crash shows as 128 + signal).
backend_stop() {
	local i
	BACKEND_RC=
	BACKEND_DIED=
	[ -n "$BACKEND_PID" ] || return 0
	if ! kill -0 "$BACKEND_PID" 2>/dev/null; then
		wait "$BACKEND_PID" 2>/dev/null
		BACKEND_RC=$?
		BACKEND_DIED=$BACKEND_RC
		BACKEND_PID=
		return 0
	fi
	kill -TERM "$BACKEND_PID" 2>/dev/null
	for i in $(seq 50); do
		kill -0 "$BACKEND_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$BACKEND_PID" 2>/dev/null; then
		kill -KILL "$BACKEND_PID" 2>/dev/null
		BACKEND_RC=killed
	fi
	wait "$BACKEND_PID" 2>/dev/null
	[ -n "$BACKEND_RC" ] || BACKEND_RC=$?
	BACKEND_PID=
}

vm_kill() {
	[ -n "$QEMU_PID" ] || return 0
	kill -KILL "$QEMU_PID" 2>/dev/null
	wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=
}

# vm_run SOCK CONSOLE QEMULOG SMP DEVPROPS APPEND: boot the guest, wait
# for it to power off.  VM_MEM_OBJECT replaces the guest RAM's -object
# (id=mem, shared; default a memfd of GUEST_MEM).  no_timer_check: under
# TCG on a loaded host the kernel's IO-APIC timer check can fail and panic
# the boot ("IO-APIC + timer doesn't work"); seen once in make check.  Returns qemu's status, or 124 after GUEST_TIMEOUT
# seconds (the guest is killed).  VM_CHARDEV_OPTS is appended to the
# chardev (",reconnect=1"); VM_HOOK, if set, is a command run every 0.2 s
# while the guest runs.
vm_run() {
	local sock=$1 console=$2 qlog=$3 smp=$4 props=$5 append=$6 deadline rc
	qemu-system-x86_64 -accel tcg -smp "$smp" -m "$GUEST_MEM" \
		-object "${VM_MEM_OBJECT:-memory-backend-memfd,id=mem,size=$GUEST_MEM,share=on}" \
		-machine q35,memory-backend=mem \
		-kernel "$KERNEL" -initrd "$INITRAMFS" \
		-append "console=ttyS0 quiet loglevel=4 panic=-1 no_timer_check $append" \
		-chardev "socket,id=vu0,path=$sock${VM_CHARDEV_OPTS:-}" \
		-device "vhost-user-blk-pci,chardev=vu0${props:+,$props}" \
		-nodefaults -no-user-config -display none -monitor none \
		-serial "file:$console" -no-reboot >"$qlog" 2>&1 &
	QEMU_PID=$!
	deadline=$((SECONDS + GUEST_TIMEOUT))
	while kill -0 "$QEMU_PID" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			vm_kill
			return 124
		fi
		[ -n "${VM_HOOK:-}" ] && $VM_HOOK
		sleep 0.2
	done
	wait "$QEMU_PID"
	rc=$?
	QEMU_PID=
	return $rc
}

# A random non-zero 64-bit seed, as 0x...
rand_seed() {
	local s
	s=$(od -An -tx8 -N8 /dev/urandom | tr -d ' \n')
	[ "$s" = 0000000000000000 ] && s=1
	echo "0x$s"
}
