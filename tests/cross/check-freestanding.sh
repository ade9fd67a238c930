#!/usr/bin/env bash
# Build the freestanding driver side (src/driver.c + include/virtq/ring.h,
# atomic.h, driver.h) for bare-metal targets, with a bare-metal style user
# (tests/cross/freestanding-use.c), and list what the result needs from the
# environment: every undefined symbol must be in
# tests/freestanding-allowed-symbols for that target.
#
# Usage: tests/cross/check-freestanding.sh [TARGET...]   (default: all)
# Prints one line per target with its undefined symbols; exits 0 when all
# are allowed, 1 otherwise, 77 when src/driver.c does not exist yet.
#
# Only the compiler's own freestanding headers are visible (-nostdinc plus
# the compiler's include directory): an #include of a libc header fails.
set -u
cd "$(dirname "$0")/../.." || exit 1
ALLOW=tests/freestanding-allowed-symbols
OUT=${FREESTANDING_B:-build-cross/freestanding}
NM=llvm-nm
LD=ld.lld

# name | compiler and target flags
TARGETS=(
	"gcc-riscv64|riscv64-linux-gnu-gcc -march=rv64imac -mabi=lp64 -mcmodel=medany -fno-pic"
	"clang-riscv64|clang --target=riscv64-unknown-elf -march=rv64imac -mabi=lp64 -mcmodel=medany"
	"clang-riscv32|clang --target=riscv32-unknown-elf -march=rv32imac -mabi=ilp32"
	"gcc-cortex-m4|arm-none-eabi-gcc -mthumb -mcpu=cortex-m4 -mfloat-abi=soft"
	"clang-cortex-m4|clang --target=thumbv7em-none-eabi -mthumb -mcpu=cortex-m4 -mfloat-abi=soft"
	"gcc-cortex-m0plus|arm-none-eabi-gcc -mthumb -mcpu=cortex-m0plus"
	# clang 14 has no inline atomics for ARMv6-M and warns about each
	# (-Watomic-alignment); the calls it makes instead are the documented
	# exception in the allow-list.
	"clang-cortex-m0plus|clang --target=thumbv6m-none-eabi -mthumb -mcpu=cortex-m0plus -Wno-atomic-alignment"
	# The two compilers tests/integration/baremetal boots with.
	"gcc-riscv64-elf|riscv64-unknown-elf-gcc -march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany -fno-pic"
	"clang-aarch64|clang --target=aarch64-none-elf -mgeneral-regs-only -mstrict-align"
	"clang-i386|clang --target=i386-none-elf -march=i686 -mno-sse -mno-mmx -fno-pic"
)
OPTS="-O0 -O2 -Os"
CFLAGS_FS="-std=gnu11 -ffreestanding -nostdlib -nostdinc -fno-common -Iinclude -Isrc
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes"
SRCS="src/driver.c tests/cross/freestanding-use.c"
SRCS=$(printf '%s\n' $SRCS src/transport/*.c src/drivers/*.c | awk '!seen[$0]++')	# transports, device drivers

if [ ! -f src/driver.c ]; then
	echo "src/driver.c does not exist yet: nothing to check"
	exit 77
fi
for tool in $NM $LD riscv64-linux-gnu-gcc arm-none-eabi-gcc clang riscv64-unknown-elf-gcc; do
	command -v "$tool" >/dev/null && continue
	scripts/install-deps cross build baremetal >&2 || exit 1
	break
done

. tests/lib/freestanding-allowed.bash

want=("$@")
bad=0
mkdir -p "$OUT"
for t in "${TARGETS[@]}"; do
	name=${t%%|*} cc=${t#*|}
	if [ ${#want[@]} -gt 0 ] && [[ " ${want[*]} " != *" $name "* ]]; then
		continue
	fi
	compiler=${cc%% *}
	# The compiler's own headers only (stdint.h, stddef.h, stdbool.h...).
	if [ "$compiler" = clang ]; then
		inc="$(clang -print-resource-dir)/include"
	else
		inc=$($compiler -print-file-name=include)
	fi
	syms=()
	failed_build=0
	for o in $OPTS; do
		objs=()
		for s in $SRCS; do
			obj="$OUT/$name$o-$(basename "$s" .c).o"
			# shellcheck disable=SC2086
			if ! $cc $CFLAGS_FS -isystem "$inc" $o -c "$s" -o "$obj"; then
				echo "FREESTANDING $name: $s does not compile with $o (command: $cc $o)"
				failed_build=1
				continue 2
			fi
			objs+=("$obj")
		done
		# One relocatable object: what is left undefined is what the
		# environment must provide.
		$LD -r -o "$OUT/$name$o.o" "${objs[@]}" || { failed_build=1; continue; }
		while read -r sym; do
			syms+=("$sym")
		done < <($NM -u "$OUT/$name$o.o" | awk '{ print $NF }')
	done
	if [ $failed_build = 1 ]; then
		bad=1
		continue
	fi
	list=() unexpected=()
	while read -r sym; do
		[ -n "$sym" ] || continue
		if freestanding_allowed "$name" "$sym"; then
			list+=("$sym")
		else
			list+=("$sym(NOT ALLOWED)")
			unexpected+=("$sym")
		fi
	done < <(printf '%s\n' "${syms[@]}" | sort -u)
	printf 'FREESTANDING %-20s undefined: %s\n' "$name" "${list[*]:-none}"
	if [ ${#unexpected[@]} -gt 0 ]; then
		echo "    $name needs ${unexpected[*]} from the environment: not in $ALLOW" \
			"(remove the use from src/driver.c, or add it there with the reason)"
		bad=1
	fi
done
exit $bad
