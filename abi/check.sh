#!/usr/bin/env bash
# make check-abi: compare the built libvirtq.so with the ABI dump of the last
# release (abi/libvirtq.so.<major>.abi) with libabigail's abidiff.
#   abi/check.sh SO VERSION_MAJOR
# A removed or changed function, variable or public type fails, unless
# VERSION_MAJOR differs from the dump's major version (an incompatible
# release is being prepared: the report is printed, the check passes).
# Added functions are fine here (tests/abi-symbols.sh checks they sit in a
# new version node).  abi/README says how to cut a release.
set -u
cd "$(dirname "$0")/.."
so=$1 major=$2
ABIDIFF=${ABIDIFF:-abidiff}
if ! command -v "$ABIDIFF" >/dev/null; then
	scripts/install-deps docs >&2 ||
		{ echo "check-abi: abidiff missing (scripts/install-deps docs, Debian package abigail-tools)"; exit 1; }
fi
[ -e "$so" ] || { echo "check-abi: $so not built (make lib)"; exit 1; }

# The last release's dump: the highest major committed (ABI_DUMP overrides).
dump=${ABI_DUMP:-$(ls abi/libvirtq.so.*.abi 2>/dev/null | sort -t. -k3,3n | tail -n 1)}
[ -n "$dump" ] || { echo "check-abi: no abi/libvirtq.so.*.abi: run make abi-dump and commit it"; exit 1; }
dump_soname=$(sed -n "s/.*<abi-corpus [^>]*soname='\([^']*\)'.*/\1/p" "$dump" | head -n 1)
dump_major=${dump_soname##*.so.}
report=$(mktemp)
trap 'rm -f "$report"' EXIT

"$ABIDIFF" --no-added-syms --headers-dir2 include/virtq --drop-private-types \
	"$dump" "$so" >"$report" 2>&1
rc=$?
if [ $((rc & 3)) -ne 0 ]; then
	echo "check-abi: abidiff could not compare $dump with $so (exit $rc):"
	cat "$report"
	exit 1
fi
if [ "$rc" -eq 0 ]; then
	echo "check-abi: $so keeps the ABI of $dump ($dump_soname): nothing removed or changed"
	"$ABIDIFF" --headers-dir2 include/virtq --drop-private-types "$dump" "$so" |
		sed -n 's/^ *\[A\] /  added: /p'
	exit 0
fi
if [ "$dump_major" != "$major" ]; then
	echo "check-abi: VERSION_MAJOR is $major, the last dump is $dump_soname: incompatible changes allowed"
	echo "check-abi: (at the release, make abi-dump records the new ABI in abi/libvirtq.so.$major.abi)"
	sed 's/^/  /' "$report"
	exit 0
fi
echo "check-abi: FAIL: $so breaks the ABI of $dump ($dump_soname; abidiff exit $rc)."
echo "check-abi: an exported function, variable or public type was removed or changed."
echo "check-abi: keep the old one (add new functions in a new version node of src/libvirtq.map),"
echo "check-abi: or bump VERSION_MAJOR in the Makefile for an incompatible release (abi/README)."
sed 's/^/  /' "$report"
exit 1
