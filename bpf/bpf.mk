# The tracer: BPF programs (clang -target bpf, CO-RE against a vmlinux.h generated
# from the running kernel's BTF) and the user-space loader linked with libbpf.

VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
VMLINUX_H   ?= $(BUILD)/vmlinux.h
BPF_CFLAGS  := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Wno-unused-function \
	       -Iinclude -I$(dir $(VMLINUX_H)) -MMD -MP
TRACER      := $(BUILD)/tracer
TRACER_SRCS := bpf/tracer.c bpf/sink.c bpf/targets.c bpf/probes.c bpf/status.c bpf/cost.c

all: $(TRACER)
tracer: $(TRACER)

$(BUILD)/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/stalltrace.bpf.o: bpf/stalltrace.bpf.c $(VMLINUX_H)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/stalltrace.skel.h: $(BUILD)/stalltrace.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name stalltrace_bpf > $@.tmp && mv $@.tmp $@

# the format library's headers, nothing else of the analyzer
$(TRACER_SRCS:%.c=$(BUILD)/%.o): CFLAGS += -Ianalyzer/lib
$(BUILD)/bpf/tracer.o $(BUILD)/bpf/probes.o: $(BUILD)/stalltrace.skel.h

$(TRACER): $(TRACER_SRCS:%.c=$(BUILD)/%.o) $(ST_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lbpf -lelf -lz $(LDLIBS_ZSTD) -lpthread

# The step-marker library a training job calls (include/stalltrace_mark.h).  It uses
# nothing from libc, but names it, so that package tools see what it needs (lintian:
# shared-library-lacks-prerequisites).
MARK_LIB := $(BUILD)/libstalltrace_mark.so.1
all: $(MARK_LIB)

$(MARK_LIB): bpf/mark.c include/stalltrace_mark.h
	$(call msg,CC-SO,$@)
	$(Q)$(CC) $(CFLAGS) -O1 -fPIC -shared $(LDFLAGS) -Wl,-soname,libstalltrace_mark.so.1 -o $@ $< \
		-Wl,--no-as-needed -lc
	$(Q)ln -sf libstalltrace_mark.so.1 $(BUILD)/libstalltrace_mark.so
