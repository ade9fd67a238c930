# Sourced by tests, demo and bench: start and stop vhost-user-blk backends
# (qemu-storage-daemon, virtq-blk) on an image, each on its own socket, and
# remember only our own pids.  Needs $B (build dir).
#
#   start_qsd IMG SOCK QUEUES      sets QSD_PID; aio=io_uring (+ an iothread)
#   start_virtq_blk IMG SOCK QUEUES  sets BLK_PID
#   stop_pid PID                    TERM, then KILL after 5 s
#   wait_socket SOCK PID            until the socket exists (10 s)

wait_socket() {	# sock pid
	local i
	for i in $(seq 100); do
		[ -S "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || { echo "backend (pid $2) exited before creating $1" >&2; return 1; }
		sleep 0.1
	done
	echo "backend (pid $2) did not create $1 within 10 s" >&2
	return 1
}

stop_pid() {	# pid
	local pid=$1 i
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

have_qsd() {
	command -v qemu-storage-daemon >/dev/null 2>&1 ||
		scripts/install-deps qsd >/dev/null 2>&1 &&
		command -v qemu-storage-daemon >/dev/null 2>&1
}

# QSD in its fastest fair setting for a file on tmpfs: io_uring, page cache
# (tmpfs has no O_DIRECT), the export in its own iothread unless
# QSD_IOTHREAD=0 (then the main loop serves it).
start_qsd() {	# img sock queues [log]
	local log=${4:-/dev/null} obj=() it=
	if [ "${QSD_IOTHREAD:-1}" = 1 ]; then
		obj=(--object iothread,id=iot0) it=,iothread=iot0
	fi
	qemu-storage-daemon "${obj[@]}" \
		--blockdev driver=file,node-name=file0,filename="$1",cache.direct=${QSD_DIRECT:-off},aio=io_uring \
		--blockdev driver=raw,node-name=disk0,file=file0 \
		--export type=vhost-user-blk,id=exp0,node-name=disk0,addr.type=unix,addr.path="$2",writable=on,num-queues="$3"$it \
		>"$log" 2>&1 &
	QSD_PID=$!
	wait_socket "$2" "$QSD_PID"
}

start_virtq_blk() {	# img sock queues [log]
	local log=${4:-/dev/null}
	# shellcheck disable=SC2086
	"$B/bin/virtq-blk" --socket "$2" --image "$1" --queues "$3" ${VIRTQ_BLK_ARGS:-} >"$log" 2>&1 &
	BLK_PID=$!
	wait_socket "$2" "$BLK_PID"
}
