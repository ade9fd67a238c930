#!/usr/bin/env bash
# abi-check-catch: make check-abi (abi/check.sh, abidiff against the
# committed dump) passes the built library and a relink of it, passes an
# added function in a new version node, and fails, naming the function,
# on: a function dropped from the version script, a function whose return
# type changed, a public struct that grew; the same removal passes when
# VERSION_MAJOR changes.  The variants are the library's own objects with
# one source file rebuilt from a modified copy, compared with a dump of
# the built library (make abi-dump into a temporary file), so that this
# test checks the checker, not the ABI (make check-abi does that).
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
if [ -n "${SAN:-}" ]; then
	echo "sanitizer build ($SAN) has no shared library: checked in the plain build"
	exit 77
fi
command -v abidiff >/dev/null || scripts/install-deps docs >&2 ||
	{ echo "abidiff missing (scripts/install-deps docs)"; exit 77; }
major=$(sed -n 's/^VERSION_MAJOR[[:space:]]*:*=[[:space:]]*//p' Makefile)
version=$(sed -n 's/^VERSION[[:space:]]*:*=[[:space:]]*//p' Makefile)
so=$B/libvirtq.so.$version
[ -e "$so" ] || { echo "$so not built (make lib)"; exit 77; }
objs=$(ls "$B"/obj/src/*.o "$B"/obj/src/*/*.o 2>/dev/null | grep -v '/gmem\.o$')
[ -e "$B/obj/src/gmem.o" ] || { echo "$B/obj/src/gmem.o not built"; exit 77; }
CC=${CC:-cc}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
fail=0
FLAGS="-std=gnu11 -D_GNU_SOURCE -fPIC -pthread -O2 -g"

# variant NAME: link $w/NAME.so from the objects, gmem.c rebuilt from
# $w/NAME/ (a copy of src/ and include/, edited by the caller) with its map.
variant() {
	local v=$w/$1
	"$CC" $FLAGS -I"$v/include" -I"$v/src" -c "$v/src/gmem.c" -o "$v/gmem.o" &&
	"$CC" -shared -Wl,-soname,libvirtq.so.$major -Wl,--version-script="$v/src/libvirtq.map" \
		-pthread -o "$w/$1.so" $objs "$v/gmem.o"
}
copy() { mkdir -p "$w/$1"; cp -r src include "$w/$1/"; }
check() {	# name major want(pass|fail) [pattern]
	abi/check.sh "$w/$1.so" "$2" >"$w/$1.out" 2>&1
	local rc=$?
	if [ "$3" = pass ] && [ $rc -ne 0 ]; then
		echo "FAIL: check-abi rejects $1 (major $2):"; sed 's/^/    /' "$w/$1.out" | head -20; fail=1
	elif [ "$3" = fail ] && [ $rc -eq 0 ]; then
		echo "FAIL: check-abi accepts $1 (major $2):"; sed 's/^/    /' "$w/$1.out" | head -20; fail=1
	elif [ -n "${4:-}" ] && ! grep -q -- "$4" "$w/$1.out"; then
		echo "FAIL: check-abi on $1 does not name $4:"; sed 's/^/    /' "$w/$1.out" | head -20; fail=1
	else
		echo "ok: $1 (major $2): $3"
	fi
}

unset MAKEFLAGS MAKELEVEL MFLAGS
make -s --no-print-directory B="$B" abi-dump ABI_DUMP="$w/dump.abi" >"$w/dump.log" 2>&1 ||
	{ cat "$w/dump.log"; echo "FAIL: make abi-dump"; exit 1; }
export ABI_DUMP=$w/dump.abi
cp "$so" "$w/built.so"
check built "$major" pass

copy same && variant same || exit 1
check same "$major" pass

copy added
cat >>"$w/added/src/gmem.c" <<'C'
int virtq_gmem_planted(void);
int virtq_gmem_planted(void) { return 0; }
C
printf '\nVIRTQ_PLANTED {\nglobal:\n\tvirtq_gmem_planted;\n} %s;\n' \
	"$(sed -n 's/^\(VIRTQ_[0-9._]*\) {.*/\1/p' src/libvirtq.map | tail -n 1)" >>"$w/added/src/libvirtq.map"
variant added || exit 1
check added "$major" pass

copy removed
sed -i '/^\tvirtq_gmem_count;$/d' "$w/removed/src/libvirtq.map"
variant removed || exit 1
check removed "$major" fail virtq_gmem_count
check removed "$((major + 1))" pass

copy changed
sed -i 's/^unsigned int virtq_gmem_count(/uint64_t virtq_gmem_count(/' \
	"$w/changed/include/virtq/gmem.h" "$w/changed/src/gmem.c"
variant changed || exit 1
check changed "$major" fail virtq_gmem_count

copy grown
sed -i 's/^\tuint64_t uaddr;\(.*\)$/\tuint64_t uaddr;\1\n\tuint64_t planted;/' "$w/grown/include/virtq/gmem.h"
grep -q planted "$w/grown/include/virtq/gmem.h" || { echo "FAIL: could not plant a struct field"; exit 1; }
variant grown || exit 1
check grown "$major" fail virtq_gmem_region
exit $fail
