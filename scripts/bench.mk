# `make bench` helpers (scripts/bench.sh, docs/performance.md), included by the
# top-level Makefile.  bench_rate offers a paced syscall rate for the capture-limit
# sweep; it links through the $(BUILD)/tests/% rule of tests/tests.mk.  floor holds
# empty syscall programs (bpf/floor.bpf.c), built like the tracer's: the floor under
# its cost on processes it does not trace.
FLOOR := $(BUILD)/tests/floor
BENCH_TOOLS := $(BUILD)/tests/bench_rate $(FLOOR)

bench: $(BENCH_TOOLS)

$(BUILD)/tests/floor.bpf.o: bpf/floor.bpf.c $(VMLINUX_H)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/tests/floor.skel.h: $(BUILD)/tests/floor.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name floor_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/tools/floor.o: $(BUILD)/tests/floor.skel.h

$(FLOOR): $(BUILD)/tests/tools/floor.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lbpf -lelf -lz
