# Driver-side tests share tests/driver-test.h (a queue over heap memory and
# a tiny hand-rolled device): rebuild them when it changes.
DRIVER_TESTS := $(patsubst tests/%.c,$(B)/tests/%,\
	$(shell grep -l 'driver-test.h' tests/*.c 2>/dev/null))
$(DRIVER_TESTS): tests/driver-test.h
