# Device-side tests share tests/hostile-ring.h: rebuild them when it changes.
HOSTILE_RING_TESTS := $(patsubst tests/%.c,$(B)/tests/%,\
	$(shell grep -l 'hostile-ring.h' tests/*.c 2>/dev/null))
$(HOSTILE_RING_TESTS): tests/hostile-ring.h
