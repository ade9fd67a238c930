#!/usr/bin/env bash
# install-headers: make install puts every public header where its own
# #include lines find it (include/virtq/ and its subdirectories, e.g.
# virtq/drivers/blk.h includes <virtq/drivers/queue.h>), and a program
# that includes each installed header on its own compiles against the
# installed tree alone.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
CC=${CC:-cc}
dir=$(mktemp -d /tmp/vq-install-XXXXXX)
trap 'rm -rf "$dir"' EXIT
[ -f "$B/libvirtq.a" ] || { echo "$B/libvirtq.a not built (make lib)"; exit 77; }
[ -n "${SAN:-}" ] && { echo "install is checked in the plain build only"; exit 77; }

# make install rewrites $B/libvirtq.pc for its PREFIX: put the build's back.
[ -f "$B/libvirtq.pc" ] && cp "$B/libvirtq.pc" "$dir/pc.saved"
trap '[ -f "$dir/pc.saved" ] && cp "$dir/pc.saved" "$B/libvirtq.pc"; rm -rf "$dir"' EXIT
if ! make -s --no-print-directory B="$B" CC="$CC" install DESTDIR="$dir" PREFIX=/usr >"$dir/log" 2>&1; then
	echo "FAIL: make install"; sed 's/^/    /' "$dir/log"; exit 1
fi
fail=0
for h in $(cd include && find virtq -name '*.h' | sort); do
	if [ ! -f "$dir/usr/include/$h" ]; then
		echo "FAIL: $h not installed as include/$h"
		fail=1
		continue
	fi
	printf '#include <%s>\nint vq_install_check(void);\nint vq_install_check(void) { return 0; }\n' "$h" >"$dir/t.c"
	if ! "$CC" -std=gnu11 -Wall -Wextra -Werror -I"$dir/usr/include" \
		-c "$dir/t.c" -o "$dir/t.o" 2>"$dir/err"; then
		echo "FAIL: <$h> does not compile from the installed tree:"
		sed 's/^/    /' "$dir/err"
		fail=1
	fi
done
[ $fail = 0 ] && echo "install-headers: $(cd include && find virtq -name '*.h' | wc -l) headers installed and self-contained"
exit $fail
