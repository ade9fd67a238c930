#!/usr/bin/env bash
# systemd-unit: every unit in examples/systemd/ passes systemd-analyze
# verify without a message (its ExecStart pointed at the built tool, its
# Documentation= pages looked up in man/), and virtq-blk@.service restarts
# on failure and takes its image and socket from the instance name.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
command -v systemd-analyze >/dev/null || { echo "systemd-analyze missing (package systemd)"; exit 77; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
bad=0
for u in examples/systemd/*.service; do
	[ -f "$u" ] || continue
	name=$(basename "$u")
	exe=$(sed -n 's|^ExecStart=[^ ]*/\([^/ ]*\) .*|\1|p' "$u")
	[ -x "$B/bin/$exe" ] || { echo "$B/bin/$exe not built (make tools)"; exit 77; }
	sed "s|^ExecStart=[^ ]*/$exe |ExecStart=$PWD/$B/bin/$exe |" "$u" >"$dir/$name"
	inst=$dir/$name
	case $name in *@.service) inst=$dir/${name%@.service}@test.service ;; esac
	out=$(MANPATH=$PWD/man systemd-analyze verify "$inst" 2>&1)
	if [ -n "$out" ]; then
		echo "FAIL: $u: systemd-analyze verify:"
		echo "$out" | sed 's/^/    /'
		bad=1
	else
		echo "ok: $u verifies"
	fi
done
u=examples/systemd/virtq-blk@.service
for want in '^Restart=on-failure' '^EnvironmentFile=-/etc/virtq-blk/%i.env' \
	    '^Environment=VIRTQ_BLK_IMAGE=.*%i' '^Environment=VIRTQ_BLK_SOCKET=.*%i' \
	    '^ExecStart=.*--socket ${VIRTQ_BLK_SOCKET} --image ${VIRTQ_BLK_IMAGE}'; do
	grep -q -- "$want" "$u" || { echo "FAIL: $u: no line matching $want"; bad=1; }
done
exit $bad
