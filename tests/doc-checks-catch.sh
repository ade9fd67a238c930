#!/usr/bin/env bash
# doc-checks-catch: the page and symbol checks fail, naming the culprit,
# on a copy of the tree with planted defects: a public function without a
# page or a map entry, an errno missing from a page and one too many, a
# .so link to nowhere, a roff error, an undocumented tool option, a symbol
# dropped from src/libvirtq.map.  The unchanged copy passes first.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
root=$PWD
command -v python3 >/dev/null || { echo "python3 missing (scripts/install-deps docs)"; exit 77; }
if ! command -v mandoc >/dev/null || ! command -v man >/dev/null; then
	scripts/install-deps docs >&2 || { echo "mandoc / man-db missing (scripts/install-deps docs)"; exit 77; }
fi
[ -x "$B/bin/virtq-blk" ] || { echo "$B/bin/virtq-blk not built (make tools)"; exit 77; }
copy=$(mktemp -d)
trap 'rm -rf "$copy"' EXIT
mkdir -p "$copy/tests" "$copy/src"
cp -r include man tools Makefile scripts "$copy/"
cp -r tests/lib tests/man-lint.sh tests/man-errno.sh tests/man-tools.sh tests/abi-symbols.sh "$copy/tests/"
cp src/libvirtq.map "$copy/src/"
ln -s "$root/$B" "$copy/build"
fail=0

run() {	# name: run tests/name.sh in the copy, output in $copy/name.out
	(cd "$copy" && B=build SAN="${SAN:-}" bash "tests/$1.sh") >"$copy/$1.out" 2>&1
}
expect() {	# name pattern: the check failed and said pattern
	if [ "$rc" -eq 0 ]; then
		echo "FAIL: tests/$1.sh passed on the planted defects"; fail=1
	elif ! grep -q -- "$2" "$copy/$1.out"; then
		echo "FAIL: tests/$1.sh did not report: $2"; sed 's/^/    /' "$copy/$1.out" | head -20; fail=1
	else
		echo "ok: tests/$1.sh: $(grep -m1 -- "$2" "$copy/$1.out" | cut -c1-150)"
	fi
}

checks="man-lint man-errno man-tools"
[ -z "${SAN:-}" ] && checks="$checks abi-symbols"
for c in $checks; do
	run "$c"; rc=$?
	if [ $rc -ne 0 ]; then
		echo "FAIL: tests/$c.sh fails on an unchanged copy of the tree:"
		sed 's/^/    /' "$copy/$c.out" | head -20; exit 1
	fi
done

# Plant the defects.
sed -i 's|^void virtq_gmem_destroy(struct virtq_gmem \*gm);|&\n\n/* Planted.  Returns 0 or -EINVAL. */\nint virtq_gmem_planted(struct virtq_gmem *gm);|' \
	"$copy/include/virtq/gmem.h"
# virtq_gmem_iov's page loses EFAULT (it sits before the first .SS).
python3 - "$copy/man/man3/virtq_gmem_ptr.3" <<'PY'
import sys
p = sys.argv[1]; s = open(p).read()
s = s.replace(".SH ERRORS\n.TP\n.B EFAULT\nSome byte of the range is outside guest memory, or the range overflows.\n", ".SH ERRORS\n")
open(p, "w").write(s)
PY
# virtq_device_flush's section gains ENOMEM.
printf '.TP\n.B ENOMEM\nPlanted.\n' >"$copy/extra"
sed -i '/^\.SS virtq_device_flush()/r '"$copy/extra" "$copy/man/man3/virtq_device_push.3"
echo '.so man3/virtq_nowhere.3' >"$copy/man/man3/virtq_device_has_avail.3"
printf '.XX planted\n' >>"$copy/man/man3/virtq_need_event.3"
sed -i 's/^\.BR \\-Q ", " \\-\\-quiet$/.B planted/' "$copy/man/man1/virtq-blk.1"
sed -i '/^\tvirtq_gmem_count;$/d' "$copy/src/libvirtq.map"

run man-errno; rc=$?
expect man-errno 'virtq_gmem_planted (include/virtq/gmem.h): no page'
expect man-errno 'virtq_gmem_iov (include/virtq/gmem.h): man/man3/virtq_gmem_ptr.3: ERRORS lacks EFAULT'
expect man-errno 'virtq_device_flush (include/virtq/device.h): man/man3/virtq_device_push.3: ERRORS has ENOMEM'
expect man-errno 'virtq_device_has_avail (include/virtq/device.h): man/man3/virtq_device_has_avail.3: .so man3/virtq_nowhere.3'
run man-lint; rc=$?
expect man-lint 'man/man3/virtq_need_event.3: mandoc'
expect man-lint 'man/man3/virtq_device_has_avail.3: .so man3/virtq_nowhere.3'
run man-tools; rc=$?
expect man-tools 'virtq-blk: -Q (from --help) is not in man/man1/virtq-blk.1'
if [ -z "${SAN:-}" ]; then
	run abi-symbols; rc=$?
	expect abi-symbols 'virtq_gmem_planted (include/virtq/gmem.h): not in src/libvirtq.map'
	expect abi-symbols 'virtq_gmem_count: exported by build/libvirtq.so.1 but not in src/libvirtq.map'
fi
exit $fail
