#!/usr/bin/env bash
# make check-cross: the library on other architectures.
#
#  1. For each of CROSS_ARCHES (s390x: big-endian, 64-bit; aarch64: weakly
#     ordered), cross-build the library (static and shared), every test
#     program of CROSS_TESTS, the examples and tools of CROSS_PROGS with
#     Debian's <arch>-linux-gnu-gcc into $CROSS_B/<arch>, and run the tests
#     under qemu-user (qemu-<arch> -L /usr/<arch>-linux-gnu) with tests/run
#     (TEST_WRAPPER); the driver/device cross test runs VIRTQ_CROSS_CHAINS
#     chains there, and VIRTQ_EMULATED=qemu-<arch> tells a test that it
#     runs emulated (need-event-exhaustive sweeps one base instead of six).
#  2. Ring interchange: tests/ring-interchange writes ring images on one
#     architecture and reads them on the other (each arch <-> the host),
#     and the images must be byte-identical.
#  3. The freestanding driver side on bare-metal targets
#     (tests/cross/check-freestanding.sh).
#
# The last line is "N passed, N failed" over everything; exit status non-zero
# if anything failed.  Variables (set by mk/cross.mk): CROSS_ARCHES, CROSS_B,
# CROSS_TESTS, CROSS_PROGS, CROSS_TEST_TIMEOUT, VIRTQ_CROSS_CHAINS, MAKE.
set -u
cd "$(dirname "$0")/../.." || exit 1
CROSS_ARCHES=${CROSS_ARCHES:-s390x aarch64}
CROSS_B=${CROSS_B:-build-cross}
CROSS_TEST_TIMEOUT=${CROSS_TEST_TIMEOUT:-1800}
MAKE=${MAKE:-make}
JOBS=${CROSS_JOBS:-$(nproc)}
if [ -z "${CROSS_TESTS+x}" ]; then
	CROSS_TESTS=$(for f in tests/*.c; do [ -f "$f" ] && basename "$f" .c; done)
fi
read -ra tests <<<"$CROSS_TESTS"
read -ra progs <<<"${CROSS_PROGS:-}"
export VIRTQ_CROSS_CHAINS=${VIRTQ_CROSS_CHAINS:-100000}

scripts/install-deps cross build >&2 || exit 1

pass=0 fail=0 skip=0
failed=()
t_start=$(date +%s)

note() { printf '== %s\n' "$*"; }
result() {	# name rc [detail]
	case $2 in
	0)  pass=$((pass + 1)); echo "PASS $1${3:+ ($3)}" ;;
	77) skip=$((skip + 1)); echo "SKIP $1${3:+: $3}" ;;
	*)  fail=$((fail + 1)); failed+=("$1"); echo "FAIL $1${3:+: $3}" ;;
	esac
}

# Add the counts of a tests/run summary ("N passed, N failed", "N skipped").
count_run() {	# prefix log
	local p f s
	p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$2" | tail -n 1)
	f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$2" | tail -n 1)
	s=$(sed -n 's/^\([0-9]*\) skipped$/\1/p' "$2" | tail -n 1)
	if [ -z "$p" ]; then
		result "$1-tests" 1 "the runner printed no summary (log: $2)"
		return
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + ${s:-0}))
	# shellcheck disable=SC2207
	[ "$f" -gt 0 ] && failed+=($(sed -n 's/^FAIL \([^:]*\):.*/'"$1"'\/\1/p' "$2"))
}

host_built=0
build_host() {
	[ -f tests/ring-interchange.c ] || return 1
	[ $host_built = 1 ] && return 0
	note "host: building ring-interchange in $CROSS_B/host"
	if "$MAKE" -s -j"$JOBS" B="$CROSS_B/host" "$CROSS_B/host/tests/ring-interchange"; then
		host_built=1
		return 0
	fi
	host_built=2
	return 1
}

# Write on $1, read on $2 (each a command prefix), then compare the images.
interchange() {	# from-name from-cmd to-name to-cmd dir
	local img="$5/$1.img" log="$5/$1-to-$3.log"
	if ! $2 write "$img" >"$log" 2>&1; then
		result "interchange-$1-write" 1 "$(tail -n 3 "$log" | tr '\n' ' ')"
		return
	fi
	if $4 read "$img" >>"$log" 2>&1; then
		result "interchange-$1-to-$3" 0
	else
		result "interchange-$1-to-$3" 1 "$(tail -n 3 "$log" | tr '\n' ' ')"
	fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for arch in $CROSS_ARCHES; do
	cc=$arch-linux-gnu-gcc
	sysroot=/usr/$arch-linux-gnu
	qemu="qemu-$arch -L $sysroot"
	b=$CROSS_B/$arch
	for tool in "$cc" "qemu-$arch"; do
		command -v "$tool" >/dev/null ||
			{ result "$arch-tools" 1 "$tool not found (scripts/install-deps cross)"; continue 2; }
	done
	note "$arch: building the library, ${#tests[@]} tests and ${#progs[@]} programs with $cc into $b"
	# Drop test programs left over from an earlier run with other tests.
	if [ -d "$b/tests" ]; then
		for t in "$b"/tests/*; do
			[ -f "$t" ] || continue
			case " ${tests[*]} " in *" $(basename "$t") "*) ;; *) rm -f "$t" ;; esac
		done
	fi
	targets=(lib)
	for t in "${tests[@]}"; do targets+=("$b/tests/$t"); done
	for p in "${progs[@]}"; do targets+=("$b/$p"); done
	log=$tmp/$arch-build.log
	if ! "$MAKE" -s -j"$JOBS" B="$b" CC="$cc" AR="$arch-linux-gnu-ar" \
			"${targets[@]}" >"$log" 2>&1; then
		result "$arch-build" 1 "cross build failed:"
		sed 's/^/    /' "$log" | tail -n 40
		continue
	fi
	result "$arch-build" 0
	"$arch-linux-gnu-readelf" -h "$b/libvirtq.a" 2>/dev/null |
		sed -n 's/^ *\(Data\|Machine\): *\(.*\)/    \1: \2/p' | sort -u

	note "$arch: running the tests under $qemu (timeout ${CROSS_TEST_TIMEOUT}s each, VIRTQ_CROSS_CHAINS=$VIRTQ_CROSS_CHAINS)"
	log=$tmp/$arch-run.log
	B="$b" TEST_WRAPPER="$qemu" TEST_SCRIPTS=0 INTEGRATION=0 VIRTQ_EMULATED="qemu-$arch" \
		TEST_TIMEOUT="$CROSS_TEST_TIMEOUT" tests/run 2>&1 | sed "s/^/[$arch] /" | tee "$log"
	sed -i "s/^\[$arch\] //" "$log"
	count_run "$arch" "$log"

	if [ -x "$b/tests/ring-interchange" ] && build_host; then
		note "$arch: ring interchange with the host ($(uname -m))"
		host=$CROSS_B/host/tests/ring-interchange
		interchange "$arch" "$qemu $b/tests/ring-interchange" host "$host" "$tmp"
		interchange host "$host" "$arch" "$qemu $b/tests/ring-interchange" "$tmp"
		if cmp "$tmp/$arch.img" "$tmp/host.img" >"$tmp/cmp.log" 2>&1; then
			result "interchange-$arch-host-identical" 0
		else
			result "interchange-$arch-host-identical" 1 "$(cat "$tmp/cmp.log")"
		fi
	elif [ $host_built = 2 ]; then
		result "interchange-host-build" 1 "make $CROSS_B/host/tests/ring-interchange failed"
	else
		result "interchange-$arch" 77 "tests/ring-interchange.c not built for $arch"
	fi
done

note "freestanding driver side on bare-metal targets"
tests/cross/check-freestanding.sh
result freestanding $?

secs=$(( $(date +%s) - t_start ))
echo "check-cross took ${secs}s (arches: $CROSS_ARCHES)"
[ "$skip" -gt 0 ] && echo "$skip skipped"
[ "$fail" -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
