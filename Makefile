# libvirtq - VIRTIO split virtqueues, both ends.
#
#   make                 libvirtq.a, libvirtq.so, libvirtq.pc, tools, examples
#   make check           every test (unit + integration), "N passed, N failed"
#   make check-asan      unit tests again under ASan + UBSan (build-asan/)
#   make check-tsan      unit tests again under TSan (build-tsan/)
#   make demo            the main job (see README)
#   make install PREFIX=/usr/local [DESTDIR=/tmp/stage]   (make uninstall: the same, removed)
#
# Sources are picked up by directory: src/*.c and src/vhost-user/*.c form
# the library, tests/*.c are one test program each, tools/*.c and
# examples/*.c one program each.  Pieces with their own needs (extra
# libraries, guest images, cross builds, benchmarks) live in mk/*.mk.

VERSION_MAJOR	:= 1
VERSION		:= 1.0.0

PREFIX		?= /usr/local
LIBDIR		?= $(PREFIX)/lib
INCLUDEDIR	?= $(PREFIX)/include
BINDIR		?= $(PREFIX)/bin
MANDIR		?= $(PREFIX)/share/man

B		?= build
SAN		?=
CFLAGS		?= -O2 -g
WARN		:= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
SANFLAGS_asan	:= -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SANFLAGS_tsan	:= -fsanitize=thread -fno-omit-frame-pointer
SANFLAGS	:= $(SANFLAGS_$(SAN))
ALL_CFLAGS	:= -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -fPIC -pthread \
		   $(WARN) $(CFLAGS) $(SANFLAGS)
ALL_LDFLAGS	:= -pthread $(SANFLAGS) $(LDFLAGS)

LIB_SRCS	:= $(sort $(wildcard src/*.c src/vhost-user/*.c src/transport/*.c src/drivers/*.c))
LIB_OBJS	:= $(LIB_SRCS:%.c=$(B)/obj/%.o)
TEST_SRCS	:= $(sort $(wildcard tests/*.c))
TESTS		:= $(TEST_SRCS:tests/%.c=$(B)/tests/%)
TOOL_SRCS	:= $(sort $(wildcard tools/*.c))
TOOLS		:= $(TOOL_SRCS:tools/%.c=$(B)/bin/%)
EXAMPLE_SRCS	:= $(sort $(wildcard examples/*.c))
EXAMPLES	:= $(EXAMPLE_SRCS:examples/%.c=$(B)/examples/%)
HEADERS		:= $(wildcard include/virtq/*.h include/virtq/transport/*.h include/virtq/drivers/*.h)

STATIC_LIB	:= $(B)/libvirtq.a
SHARED_LIB	:= $(B)/libvirtq.so.$(VERSION)
SONAME		:= libvirtq.so.$(VERSION_MAJOR)
PC_FILE		:= $(B)/libvirtq.pc

# Extra libraries a program needs (mk/*.mk append, e.g. LIBS_virtq-blk).
PROG_LIBS	= $(LIBS_$(notdir $@))

# Tests run by make check; integration tests only in the plain build.
TEST_TIMEOUT	?= 300
INTEGRATION	?= 1

# virtq-blk needs liburing: on a fresh machine install the build packages
# from Debian before anything builds (scripts/install-deps says what it
# could not do and how to fix it).
ifeq ($(filter clean,$(MAKECMDGOALS)),)
ifeq ($(wildcard /usr/include/liburing.h),)
$(info libvirtq: liburing-dev missing, running scripts/install-deps build)
DEPS_STATUS := $(shell scripts/install-deps build >&2; echo $$?)
ifneq ($(DEPS_STATUS),0)
$(error liburing-dev is missing and could not be installed: run 'scripts/install-deps build' as root (or apt-get install liburing-dev))
endif
endif
endif

.PHONY: all lib tests tools examples check check-unit check-asan check-tsan \
	demo install uninstall clean
.DEFAULT_GOAL := all

all: lib tools examples
lib: $(STATIC_LIB) $(if $(SAN),,$(SHARED_LIB) $(PC_FILE))
tests: $(TESTS)
tools: $(TOOLS)
examples: $(EXAMPLES)

$(B)/obj/%.o: %.c $(HEADERS) $(wildcard src/*.h src/vhost-user/*.h src/transport/*.h src/drivers/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(STATIC_LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

$(SHARED_LIB): $(LIB_OBJS) src/libvirtq.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/libvirtq.map \
		-Wl,-z,defs $(ALL_LDFLAGS) -o $@ $(LIB_OBJS)
	ln -sf $(notdir $@) $(B)/$(SONAME)
	ln -sf $(SONAME) $(B)/libvirtq.so

# Rewritten every time: it carries PREFIX, which make install may change.
.PHONY: $(PC_FILE)
$(PC_FILE):
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
		'Name: libvirtq' 'Description: VIRTIO split virtqueues, driver and device side' \
		'Version: $(VERSION)' 'Libs: -L$${libdir} -lvirtq' 'Libs.private: -pthread' \
		'Cflags: -I$${includedir}' > $@

$(B)/tests/%: tests/%.c $(wildcard tests/*.h) $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Itests $< -o $@ $(STATIC_LIB) $(ALL_LDFLAGS) $(PROG_LIBS)

$(B)/bin/%: tools/%.c $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(STATIC_LIB) $(ALL_LDFLAGS) $(PROG_LIBS)

$(B)/examples/%: examples/%.c $(STATIC_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(STATIC_LIB) $(ALL_LDFLAGS) $(PROG_LIBS)

# check-unit runs tests/*.c programs and tests/*.sh scripts; check adds
# tests/integration/*.  Each has a timeout; the runner prints the summary.
check-unit: tests tools examples
	@B=$(B) SAN=$(SAN) CC="$(CC)" TEST_TIMEOUT=$(TEST_TIMEOUT) INTEGRATION=0 \
		tests/run

check: tests tools examples
	@B=$(B) SAN=$(SAN) CC="$(CC)" TEST_TIMEOUT=$(TEST_TIMEOUT) INTEGRATION=$(INTEGRATION) \
		tests/run

check-asan:
	$(MAKE) B=build-asan SAN=asan check-unit

check-tsan:
	$(MAKE) B=build-tsan SAN=tsan check-unit

# Installed files (make uninstall removes exactly these).  Headers keep
# their directories under include/virtq/; manual pages come from man/manN/.
HEADERS_ALL	:= $(sort $(shell find include/virtq -name '*.h' 2>/dev/null))
MAN_PAGES	:= $(sort $(wildcard man/man[1-8]/*.[1-8]))
INST_HEADERS	:= $(HEADERS_ALL:include/%=$(INCLUDEDIR)/%)
INST_LIBS	:= $(LIBDIR)/$(notdir $(STATIC_LIB)) $(LIBDIR)/$(notdir $(SHARED_LIB)) \
		   $(LIBDIR)/$(SONAME) $(LIBDIR)/libvirtq.so $(LIBDIR)/pkgconfig/libvirtq.pc
INST_TOOLS	:= $(TOOLS:$(B)/bin/%=$(BINDIR)/%)
INST_MAN	:= $(MAN_PAGES:man/%=$(MANDIR)/%)

install: lib tools
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(BINDIR) \
		$(sort $(dir $(addprefix $(DESTDIR),$(INST_HEADERS) $(INST_MAN))))
	for h in $(HEADERS_ALL:include/%=%); do \
		install -m 644 include/$$h $(DESTDIR)$(INCLUDEDIR)/$$h || exit 1; done
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHARED_LIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libvirtq.so
	install -m 644 $(PC_FILE) $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 755 $(TOOLS) $(DESTDIR)$(BINDIR)/
	for m in $(MAN_PAGES:man/%=%); do \
		install -m 644 man/$$m $(DESTDIR)$(MANDIR)/$$m || exit 1; done

# Removes the files install put there, and include/virtq/ (ours) once
# empty; shared directories (bin, lib, man/manN) stay.
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INST_HEADERS) $(INST_LIBS) $(INST_TOOLS) $(INST_MAN))
	[ ! -d $(DESTDIR)$(INCLUDEDIR)/virtq ] || \
		find $(DESTDIR)$(INCLUDEDIR)/virtq -depth -type d -empty -delete

clean:
	rm -rf build build-asan build-tsan build-cross

-include $(sort $(wildcard mk/*.mk))
