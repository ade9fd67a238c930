#!/usr/bin/env bash
# freestanding: the driver side (src/driver.c with include/virtq/ring.h,
# atomic.h, driver.h; the transports and device drivers with it) builds for the host with -ffreestanding -nostdlib
# -fno-builtin, with only the compiler's own headers visible, at -O0, -O2
# and -Os, with $CC and (if installed) the other of gcc / clang, and the
# object leaves no undefined symbol outside tests/freestanding-allowed-symbols
# (targets host-gcc / host-clang there).  Prints each build's symbol list.
#
# Today the list is empty for every build: driver.c clears rings with
# relaxed atomic stores and never copies structs whole, so the compiler has
# no reason to call memset / memcpy.
set -u
cd "$(dirname "$0")/.."
ALLOW=tests/freestanding-allowed-symbols
CC=${CC:-cc}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

. tests/lib/freestanding-allowed.bash

# The compiler under test, then the other family if it is installed.
compilers=("$CC")
if "$CC" --version 2>/dev/null | grep -qi clang; then
	command -v gcc >/dev/null && compilers+=(gcc)
else
	command -v clang >/dev/null && compilers+=(clang)
fi

SRCS="src/driver.c"
SRCS=$(printf '%s\n' $SRCS src/transport/*.c src/drivers/*.c | awk '!seen[$0]++')	# transports, device drivers

bad=0
for cc in "${compilers[@]}"; do
	if "$cc" --version 2>/dev/null | grep -qi clang; then
		target=host-clang
		inc="$("$cc" -print-resource-dir)/include"
	else
		target=host-gcc
		inc=$("$cc" -print-file-name=include)
	fi
	for o in -O0 -O2 -Os; do
		obj="$OUT/all$o.o"
		objs=()
		for src in $SRCS; do
			# -nostdinc + the compiler's include dir: a libc header
			# included by mistake fails the build here.
			if ! "$cc" -std=gnu11 -ffreestanding -nostdlib -fno-builtin \
				-nostdinc -isystem "$inc" -Iinclude -Isrc -Wall -Wextra -Werror \
				-Wshadow -Wstrict-prototypes -Wmissing-prototypes \
				"$o" -c "$src" -o "$OUT/$(basename "$src" .c)$o.o"; then
				echo "FAIL $cc $o: $src does not build freestanding"
				bad=1
				continue 2
			fi
			objs+=("$OUT/$(basename "$src" .c)$o.o")
		done
		# One relocatable object: only what nobody defines is undefined.
		ld -r -o "$obj" "${objs[@]}" || { bad=1; continue; }
		syms=$(nm -u "$obj" | awk '{ print $NF }' | sort -u | tr '\n' ' ')
		echo "$target $o ($cc): undefined symbols: ${syms:-none}"
		for s in $syms; do
			if ! freestanding_allowed "$target" "$s"; then
				echo "FAIL $cc $o: needs $s, not allowed for $target" \
					"in $ALLOW (remove the use from src/driver.c," \
					"or add it there with the reason)"
				bad=1
			fi
		done
		# Defined functions: the whole public driver API is there.
		for f in virtq_driver_init virtq_driver_add virtq_driver_get_used virtq_blk_init \
			 virtq_driver_kick_prepare virtq_driver_publish; do
			nm "$obj" | grep -q " T $f\$" || {
				echo "FAIL $cc $o: $f not defined"
				bad=1
			}
		done
	done
done
exit $bad
