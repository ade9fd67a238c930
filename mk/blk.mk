# virtq-blk: the vhost-user-blk backend tool.  Its virtio-blk device model
# lives in tools/virtq-blk/ (used only by the tool) and does I/O through
# io_uring.
VIRTQ_BLK_OBJS	:= $(B)/obj/tools/virtq-blk/blk.o

$(VIRTQ_BLK_OBJS): tools/virtq-blk/blk.h
$(B)/bin/virtq-blk: $(VIRTQ_BLK_OBJS)
# The model's object needs the library after it on the link line.
LIBS_virtq-blk	:= $(VIRTQ_BLK_OBJS) $(STATIC_LIB) -luring
