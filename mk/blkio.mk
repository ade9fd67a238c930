# virtq-blkio: the tool's main is tools/virtq-blkio.c, its workers, histogram
# and verification live in tools/blkio/ and are linked in here.
BLKIO_SRCS	:= $(sort $(wildcard tools/blkio/*.c))
BLKIO_OBJS	= $(BLKIO_SRCS:%.c=$(B)/obj/%.o)

$(B)/bin/virtq-blkio: $(BLKIO_OBJS) tools/blkio/blkio.h
$(BLKIO_OBJS): tools/blkio/blkio.h
# The static library again after the objects: they call into it.
LIBS_virtq-blkio = $(BLKIO_OBJS) $(STATIC_LIB)
# tests/blkio-verify includes the verifier and histogram sources.
$(B)/tests/blkio-verify: tools/blkio/verify.c tools/blkio/hist.c tools/blkio/blkio.h
