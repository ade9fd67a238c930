# ABI of libvirtq.so (abi/README).
#
#   make check-abi   compare the built libvirtq.so with the committed dump
#                    of the last release (abidiff); .ci/run runs it
#   make abi-dump    write that dump from the built library (at a release,
#                    or after an intended, reviewed ABI change)
#
# The exported symbol list itself is checked against src/libvirtq.map by
# tests/abi-symbols.sh in make check.

ABI_DUMP	?= abi/libvirtq.so.$(VERSION_MAJOR).abi
ABIDW_FLAGS	:= --no-corpus-path --no-comp-dir-path --short-locs \
		   --headers-dir include/virtq --drop-private-types

.PHONY: check-abi abi-dump

check-abi: $(SHARED_LIB)
	@abi/check.sh $(SHARED_LIB) $(VERSION_MAJOR)

abi-dump: $(SHARED_LIB)
	@command -v abidw >/dev/null || scripts/install-deps docs
	abidw $(ABIDW_FLAGS) --out-file $(ABI_DUMP) $(SHARED_LIB)
	@echo "abi-dump: wrote $(ABI_DUMP) from $(SHARED_LIB); commit it"
