#!/usr/bin/env bash
# install: make install DESTDIR=<tmp> PREFIX=/usr lays out bin, lib,
# include, pkgconfig and man exactly as the tree says (every tool, header
# and page); each installed header compiles on its own; man finds and
# renders the installed pages (.so links too); a program built outside the
# tree with the installed libvirtq.pc runs against the installed
# libvirtq.so.1 (and links statically with --static); make uninstall then
# removes every file install added and nothing else.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
if [ -n "${SAN:-}" ]; then
	echo "sanitizer build ($SAN): install is checked in the plain build"
	exit 77
fi
for t in pkg-config make; do
	command -v $t >/dev/null || { echo "$t missing (scripts/install-deps build)"; exit 77; }
done
major=$(sed -n 's/^VERSION_MAJOR[[:space:]]*:*=[[:space:]]*//p' Makefile)
version=$(sed -n 's/^VERSION[[:space:]]*:*=[[:space:]]*//p' Makefile)
[ -e "$B/libvirtq.so.$version" ] || { echo "$B/libvirtq.so.$version not built (make lib)"; exit 77; }
CC=${CC:-cc}
# A fresh make, not the one running make check.
unset MAKEFLAGS MAKELEVEL MFLAGS
dest=$(mktemp -d /tmp/virtq-install-XXXXXX)
work=$(mktemp -d /tmp/virtq-install-prog-XXXXXX)
trap 'rm -rf "$dest" "$work"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
usr=$dest/usr

# Files that belong to someone else: uninstall must leave them.
mkdir -p "$usr/bin" "$usr/share/man/man3" "$usr/lib/pkgconfig"
echo other >"$usr/bin/other-tool"
echo other >"$usr/share/man/man3/other.3"
echo other >"$usr/lib/pkgconfig/other.pc"

if ! make -s --no-print-directory B="$B" CC="$CC" install DESTDIR="$dest" PREFIX=/usr \
	>"$work/install.log" 2>&1; then
	cat "$work/install.log"
	bad "make install DESTDIR=$dest PREFIX=/usr failed"
	exit 1
fi

# The layout, derived from the tree.
expect=()
for t in tools/*.c; do expect+=("usr/bin/$(basename "$t" .c)"); done
while read -r h; do expect+=("usr/$h"); done < <(find include/virtq -name '*.h' | sort)
for m in man/man[1-8]/*.[1-8]; do expect+=("usr/share/$m"); done
expect+=(usr/lib/libvirtq.a "usr/lib/libvirtq.so.$version" "usr/lib/libvirtq.so.$major"
	 usr/lib/libvirtq.so usr/lib/pkgconfig/libvirtq.pc)
for f in "${expect[@]}"; do
	[ -e "$dest/$f" ] || bad "not installed: /$f"
done
(cd "$dest" && find . -mindepth 1 \( -type f -o -type l \) | sed 's|^\./||' | sort) >"$work/installed"
printf '%s\n' "${expect[@]}" usr/bin/other-tool usr/share/man/man3/other.3 \
	usr/lib/pkgconfig/other.pc | sort >"$work/expected"
extra=$(comm -23 "$work/installed" "$work/expected")
[ -z "$extra" ] || bad "installed but not expected: $(echo $extra)"
for t in tools/*.c; do
	[ -x "$usr/bin/$(basename "$t" .c)" ] || bad "/usr/bin/$(basename "$t" .c) is not executable"
done
[ "$(readlink "$usr/lib/libvirtq.so.$major")" = "libvirtq.so.$version" ] ||
	bad "libvirtq.so.$major does not point at libvirtq.so.$version"
[ "$(readlink "$usr/lib/libvirtq.so")" = "libvirtq.so.$major" ] ||
	bad "libvirtq.so does not point at libvirtq.so.$major"
grep -qx 'prefix=/usr' "$usr/lib/pkgconfig/libvirtq.pc" || bad "libvirtq.pc: prefix is not /usr"
echo "installed ${#expect[@]} files under $dest/usr"

# Each installed header compiles on its own.
while read -r h; do
	echo "#include <${h#usr/include/}>" >"$work/hdr.c"
	"$CC" -std=c11 -Wall -Wextra -Werror -pedantic -I"$usr/include" -c "$work/hdr.c" \
		-o "$work/hdr.o" 2>"$work/hdr.log" ||
		{ bad "$h does not compile on its own:"; sed 's/^/    /' "$work/hdr.log"; }
done < <(cd "$dest" && find usr/include -name '*.h' | sort)

# man finds and renders the installed pages, .so links included.
if command -v man >/dev/null; then
	for m in man/man[1-8]/*.[1-8]; do
		name=$(basename "$m"); sec=${name##*.}; name=${name%.*}
		out=$(MANPATH="$usr/share/man" MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -E UTF-8 \
			"$sec" "$name" 2>&1 >"$work/page.txt")
		[ -z "$out" ] && [ -s "$work/page.txt" ] ||
			bad "man $sec $name (installed): ${out:-empty output}"
	done
	echo "man rendered every installed page"
else
	echo "man not installed: installed pages not rendered (scripts/install-deps docs)"
fi

# A program outside the tree, built with the installed pkg-config file:
# driver and device side of one ring in one process, one chain each way.
cat >"$work/prog.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <virtq/device.h>
#include <virtq/driver.h>
#include <virtq/gmem.h>

#define NUM 8

int main(void)
{
	static _Alignas(4096) unsigned char ram[65536];
	static _Alignas(64) unsigned char drv_mem[VIRTQ_DRIVER_MEM_SIZE(NUM)];
	struct virtq_driver *drv = (struct virtq_driver *)drv_mem;
	struct virtq_device *dev = aligned_alloc(64, (virtq_device_mem_size() + 63) & ~(size_t)63);
	struct virtq_gmem *gm;
	char *out = (char *)ram + 16384, *in = (char *)ram + 20480;
	struct iovec iov[4];
	struct virtq_chain c = { .iov = iov, .iov_cap = 4 };
	void *token = NULL;
	uint32_t len = 0;
	int token_value = 42;

	struct virtq_driver_config dc = {
		.num = NUM,
		.desc = (struct virtq_desc *)ram,
		.avail = (struct virtq_avail *)(ram + 4096),
		.used = (struct virtq_used *)(ram + 8192),
	};
	if (!dev || virtq_gmem_create(&gm) ||
	    virtq_gmem_add(gm, &(struct virtq_gmem_region){ .gpa = (uintptr_t)ram,
			   .size = sizeof(ram), .hva = ram }) ||
	    virtq_driver_init(drv, sizeof(drv_mem), &dc)) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	uint64_t d, a, u;
	virtq_driver_ring_addrs(drv, &d, &a, &u);
	struct virtq_device_config vc = { .num = NUM, .desc_addr = d, .avail_addr = a,
					  .used_addr = u, .gmem = gm };
	if (virtq_device_init(dev, virtq_device_mem_size(), &vc)) {
		fprintf(stderr, "virtq_device_init failed\n");
		return 1;
	}
	strcpy(out, "ping");
	struct virtq_sg o = { out, 5 }, i = { in, 64 };
	if (virtq_driver_add(drv, &o, 1, &i, 1, &token_value) || virtq_driver_kick(drv) < 0) {
		fprintf(stderr, "add/kick failed\n");
		return 1;
	}
	if (virtq_device_pop(dev, &c) != 1 || c.n_out != 1 || c.n_in != 1 ||
	    strcmp(iov[0].iov_base, "ping")) {
		fprintf(stderr, "pop did not return the chain\n");
		return 1;
	}
	strcpy(iov[1].iov_base, "pong");
	if (virtq_device_push(dev, c.head, 5) || virtq_device_flush(dev) != 1) {
		fprintf(stderr, "push/flush failed\n");
		return 1;
	}
	if (virtq_driver_get_used(drv, &token, &len) != 1 || token != &token_value ||
	    len != 5 || strcmp(in, "pong")) {
		fprintf(stderr, "get_used did not return the chain\n");
		return 1;
	}
	virtq_gmem_destroy(gm);
	free(dev);
	printf("ok: ping -> pong through the installed libvirtq\n");
	return 0;
}
C
export PKG_CONFIG_PATH=$usr/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$usr/lib/pkgconfig
if ! flags=$(pkg-config --cflags --libs libvirtq); then
	bad "pkg-config libvirtq failed with the installed libvirtq.pc"
else
	echo "pkg-config: $flags"
	if "$CC" -std=c11 -Wall -Wextra -Werror "$work/prog.c" -o "$work/prog" $flags 2>"$work/cc.log"; then
		readelf -d "$work/prog" | grep -q "NEEDED.*\[libvirtq.so.$major\]" ||
			bad "the program does not need libvirtq.so.$major"
		LD_LIBRARY_PATH=$usr/lib ldd "$work/prog" | grep -q "$usr/lib/libvirtq.so.$major" ||
			bad "the program does not load $usr/lib/libvirtq.so.$major"
		LD_LIBRARY_PATH=$usr/lib "$work/prog" || bad "the program linked with the installed libvirtq.so failed"
	else
		sed 's/^/    /' "$work/cc.log"
		bad "cannot build a program with the installed headers and libvirtq.pc"
	fi
	# Static: the archive and Libs.private.
	sflags=$(pkg-config --cflags --libs --static libvirtq)
	if "$CC" -std=c11 "$work/prog.c" -o "$work/prog-static" $(pkg-config --cflags libvirtq) \
		"$usr/lib/libvirtq.a" $(pkg-config --libs-only-other --static libvirtq) 2>"$work/cc.log"; then
		! readelf -d "$work/prog-static" | grep -q 'NEEDED.*libvirtq' ||
			bad "the static build still needs libvirtq.so"
		"$work/prog-static" >/dev/null || bad "the program linked with the installed libvirtq.a failed"
	else
		sed 's/^/    /' "$work/cc.log"
		bad "cannot link a program with the installed libvirtq.a ($sflags)"
	fi
fi

# Uninstall: back to the files that were there before.
if ! make -s --no-print-directory B="$B" CC="$CC" uninstall DESTDIR="$dest" PREFIX=/usr \
	>"$work/uninstall.log" 2>&1; then
	cat "$work/uninstall.log"
	bad "make uninstall failed"
fi
left=$(cd "$dest" && find . -mindepth 1 \( -type f -o -type l \) | sed 's|^\./||' | sort)
want="usr/bin/other-tool
usr/lib/pkgconfig/other.pc
usr/share/man/man3/other.3"
[ "$left" = "$want" ] || bad "after make uninstall: left $(echo $left) (expected only the three files of others)"
[ ! -e "$usr/include/virtq" ] || bad "after make uninstall: /usr/include/virtq still exists"
[ $fail = 0 ] && echo "install and uninstall: ok"
exit $fail
