# `make bench` helpers (scripts/bench.sh, docs/performance.md), included by the
# top-level Makefile.  bench_rate offers a paced syscall rate for the capture-limit
# sweep; it links through the $(BUILD)/tests/% rule of tests/tests.mk.
BENCH_TOOLS := $(BUILD)/tests/bench_rate

bench: $(BENCH_TOOLS)
