# Cross-architecture checks (tests/cross/check-cross.sh).
#
#   make check-cross         library + unit tests + cross test built for
#                            s390x (big-endian) and aarch64 and run under
#                            qemu-user; ring images interchanged between
#                            those and the host; the freestanding driver
#                            side built for bare-metal riscv and Cortex-M
#   make check-freestanding  only the bare-metal part
#
# Programs that link liburing or another library the cross sysroots lack
# (LIBS_<name>) are left out, and so is anything named in CROSS_EXCLUDE
# (program names, without directory or .c).
# Integration tests and tests/*.sh are host-only and not run here.

CROSS_ARCHES		?= s390x aarch64
CROSS_B			?= build-cross
CROSS_TEST_TIMEOUT	?= 1800
# Chains for tests/cross-driver-device under emulation (10 million natively;
# a million takes about 30-40 s per architecture under qemu-user).
CROSS_CHAINS		?= 1000000
CROSS_EXCLUDE		?=

# A program is left out when it links a library (-l...) other than the C
# library's own: the cross sysroots have only those.  Objects in LIBS_ are
# fine, they are cross-built too.
cross_libc		:= -lm -lpthread -lrt -ldl
cross_ok		= $(if $(filter-out $(cross_libc),$(filter -l%,$(LIBS_$(1)))),,$(filter-out $(CROSS_EXCLUDE),$(1)))
CROSS_TESTS		= $(foreach p,$(TEST_SRCS:tests/%.c=%),$(call cross_ok,$(p)))
CROSS_PROGS		= $(foreach p,$(EXAMPLE_SRCS:examples/%.c=%),$(addprefix examples/,$(call cross_ok,$(p)))) \
			  $(foreach p,$(TOOL_SRCS:tools/%.c=%),$(addprefix bin/,$(call cross_ok,$(p))))

.PHONY: check-cross check-freestanding

check-cross:
	@CROSS_ARCHES="$(CROSS_ARCHES)" CROSS_B="$(CROSS_B)" \
		CROSS_TESTS="$(CROSS_TESTS)" CROSS_PROGS="$(CROSS_PROGS)" \
		CROSS_TEST_TIMEOUT="$(CROSS_TEST_TIMEOUT)" \
		VIRTQ_CROSS_CHAINS="$(CROSS_CHAINS)" MAKE="$(MAKE)" \
		tests/cross/check-cross.sh

check-freestanding:
	@FREESTANDING_B="$(CROSS_B)/freestanding" tests/cross/check-freestanding.sh
