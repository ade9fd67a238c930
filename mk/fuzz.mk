# Fuzzing (fuzz/*.c, one libFuzzer target each; see README "Fuzzing").
#
#   make fuzz                 build every target with clang
#                             -fsanitize=fuzzer,address,undefined and run
#                             each for FUZZ_SECONDS (default 10) on its
#                             seeds (fuzz/<t>/seeds) and saved regressions
#                             (fuzz/<t>/regressions); new inputs go to
#                             build-fuzz/corpus/<t>, crashes to
#                             build-fuzz/crashes/<t>/
#   make fuzz FUZZ_TARGETS="device driver" FUZZ_SECONDS=3600
#   make fuzz-build           only build them (build-fuzz/fuzz/<t>)
#
# Every target is also built as a plain program around fuzz/replay.c
# ($(B)/fuzz/<t>-replay, with the build's compiler and sanitizer), which
# tests/fuzz-replay.sh runs over every seed and regression under make
# check, check-asan and check-tsan.

FUZZ_B		?= build-fuzz
FUZZ_CC		?= clang
FUZZ_SECONDS	?= 10
FUZZ_SRCS	:= $(filter-out fuzz/replay.c,$(sort $(wildcard fuzz/*.c)))
FUZZ_ALL	:= $(FUZZ_SRCS:fuzz/%.c=%)
FUZZ_TARGETS	?= $(FUZZ_ALL)
FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
FUZZ_CFLAGS	:= -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -Ifuzz -Itools -pthread \
		   $(WARN) -g -O1
FUZZ_LIB_OBJS	:= $(LIB_SRCS:%.c=$(FUZZ_B)/obj/%.o)
FUZZ_BLK_OBJ	:= $(FUZZ_B)/obj/tools/virtq-blk/blk.o
FUZZ_BINS	:= $(FUZZ_ALL:%=$(FUZZ_B)/fuzz/%)
FUZZ_REPLAYS	:= $(FUZZ_ALL:%=$(B)/fuzz/%-replay)
# Extra objects and libraries per target.
FUZZ_EXTRA_blk	:= -luring
FUZZ_OBJ_blk	= $(FUZZ_BLK_OBJ)
REPLAY_OBJ_blk	= $(VIRTQ_BLK_OBJS)

.PHONY: fuzz fuzz-build fuzz-replay
fuzz-build: $(FUZZ_BINS)
fuzz-replay: $(FUZZ_REPLAYS)
# Keep the instrumented objects (make would drop them as intermediates).
.SECONDARY: $(FUZZ_LIB_OBJS) $(FUZZ_BLK_OBJ)

# The library and the device model with coverage instrumentation.
$(FUZZ_B)/obj/%.o: %.c $(HEADERS) $(wildcard src/*.h src/vhost-user/*.h tools/virtq-blk/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_SAN) -c $< -o $@

$(FUZZ_B)/fuzz/%: fuzz/%.c $(wildcard fuzz/*.h) $(FUZZ_LIB_OBJS) $(FUZZ_BLK_OBJ)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) $< -o $@ \
		$(FUZZ_OBJ_$*) $(FUZZ_LIB_OBJS) -pthread $(FUZZ_EXTRA_$*)

$(B)/fuzz/%-replay: fuzz/%.c fuzz/replay.c $(wildcard fuzz/*.h) $(STATIC_LIB) $(VIRTQ_BLK_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ifuzz -Itools $< fuzz/replay.c -o $@ \
		$(REPLAY_OBJ_$*) $(STATIC_LIB) $(ALL_LDFLAGS) $(FUZZ_EXTRA_$*)

# Each target for FUZZ_SECONDS; the summary line per target is libFuzzer's
# final "DONE cov: ... ft: ..." plus its executions.
fuzz: $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz/%)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_B)/corpus/$$t $(FUZZ_B)/crashes/$$t fuzz/$$t/seeds; \
		dirs="$(FUZZ_B)/corpus/$$t fuzz/$$t/seeds"; \
		[ -d fuzz/$$t/regressions ] && dirs="$$dirs fuzz/$$t/regressions"; \
		echo "fuzz $$t: $(FUZZ_SECONDS) s"; \
		$(FUZZ_B)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_B)/crashes/$$t/ $(FUZZ_ARGS) $$dirs \
			> $(FUZZ_B)/$$t.log 2>&1; rc=$$?; \
		grep -E '(DONE|INITED) +cov' $(FUZZ_B)/$$t.log | tail -n 1 | sed "s/^/  $$t: /"; \
		grep -E 'number_of_executed_units' $(FUZZ_B)/$$t.log | sed "s/^/  $$t: /"; \
		if [ $$rc != 0 ]; then \
			echo "fuzz $$t FAILED (log: $(FUZZ_B)/$$t.log; reproducer in $(FUZZ_B)/crashes/$$t/)"; \
			grep -E 'oracle|ERROR|SUMMARY' $(FUZZ_B)/$$t.log | head -n 5; \
			exit 1; \
		fi; \
	done

# make check replays the seeds and regressions (tests/fuzz-replay.sh).
check-unit check: $(FUZZ_REPLAYS)

.PHONY: clean-fuzz
clean: clean-fuzz
clean-fuzz:
	rm -rf $(FUZZ_B)
