#!/usr/bin/env bash
# virtq-blk user errors: each gets exit status 2 (or 1 for a file problem)
# and one line on stderr naming what is wrong; --help exits 0.
set -u
bin=${B:-build}/bin/virtq-blk
[ -x "$bin" ] || { echo "$bin not built (make tools)"; exit 77; }
dir=$(mktemp -d /tmp/vblk-usage-XXXXXX)
trap 'rm -rf "$dir"' EXIT
truncate -s 1M "$dir/disk.img"
fail=0

# expect STATUS WORD args...: exit STATUS, exactly one stderr line with WORD
expect() {
	local want=$1 word=$2 rc lines; shift 2
	"$bin" "$@" >"$dir/out" 2>"$dir/err"
	rc=$?
	lines=$(wc -l <"$dir/err")
	if [ "$rc" != "$want" ] || [ "$lines" != 1 ] || ! grep -q -- "$word" "$dir/err"; then
		echo "FAIL: virtq-blk $*: exit $rc (want $want), stderr:"
		sed 's/^/    /' "$dir/err"
		fail=1
	else
		echo "ok: virtq-blk $*: $(cat "$dir/err")"
	fi
}

expect 2 "--image" --socket "$dir/s"
expect 2 "--socket" --image "$dir/disk.img"
expect 2 "--queues" --socket "$dir/s" --image "$dir/disk.img" --queues 0
expect 2 "--queues" --socket "$dir/s" --image "$dir/disk.img" --queues 65
expect 2 "--queues" --socket "$dir/s" --image "$dir/disk.img" --queues two
expect 2 "unknown option" --socket "$dir/s" --image "$dir/disk.img" --bogus
expect 2 "missing value" --socket "$dir/s" --image
expect 2 "unexpected argument" --socket "$dir/s" --image "$dir/disk.img" extra
expect 1 "cannot open image" --socket "$dir/s" --image "$dir/missing.img"
expect 1 "--serial" --socket "$dir/s" --image "$dir/disk.img" --serial 123456789012345678901
: >"$dir/empty.img"
expect 1 "smaller than one" --socket "$dir/s" --image "$dir/empty.img"
echo notasocket >"$dir/file"
expect 1 "not a socket" --socket "$dir/file" --image "$dir/disk.img"
# A second instance on a live socket refuses it, the first keeps it.
"$bin" --socket "$dir/live" --image "$dir/disk.img" 2>"$dir/first" &
first=$!
for _ in $(seq 100); do [ -S "$dir/live" ] && break; sleep 0.05; done
expect 1 "another process" --socket "$dir/live" --image "$dir/disk.img"
kill -TERM $first
wait $first || { echo "FAIL: first instance did not exit cleanly"; fail=1; }
[ -e "$dir/live" ] && { echo "FAIL: socket left behind"; fail=1; }

"$bin" --help >"$dir/out" 2>&1 && grep -q -- "--read-only" "$dir/out" ||
	{ echo "FAIL: --help"; fail=1; }
exit $fail
