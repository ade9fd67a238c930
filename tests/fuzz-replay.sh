#!/usr/bin/env bash
# fuzz-replay: every fuzz target (fuzz/*.c), built as a plain program
# ($B/fuzz/<t>-replay, by make check / check-asan / check-tsan), replays
# its seed corpus (fuzz/<t>/seeds) and every saved crash reproducer
# (fuzz/<t>/regressions): the oracle aborts on a contract broken, so a
# defect the fuzzer once found stays fixed under gcc, ASan+UBSan and TSan.
set -u
cd "$(dirname "$0")/.."
B=${B:-build}
fail=0 n=0
for src in fuzz/*.c; do
	t=$(basename "$src" .c)
	[ "$t" = replay ] && continue
	bin=$B/fuzz/$t-replay
	if [ ! -x "$bin" ]; then
		echo "fuzz-replay: $bin missing (make B=$B fuzz-replay)"
		exit 1
	fi
	dirs=()
	for d in fuzz/$t/seeds fuzz/$t/regressions; do
		[ -d "$d" ] && [ -n "$(ls -A "$d")" ] && dirs+=("$d")
	done
	if [ ${#dirs[@]} -eq 0 ]; then
		echo "fuzz-replay: $t has no seeds"
		fail=1
		continue
	fi
	if out=$("$bin" "${dirs[@]}" 2>&1); then
		echo "$t: $(echo "$out" | tail -n 1)"
		n=$((n + 1))
	else
		echo "FAIL $t:"
		echo "$out" | tail -n 20
		fail=1
	fi
done
[ $fail = 0 ] && echo "fuzz-replay: $n targets replayed"
exit $fail
