# The trace library (format writer + reader), shared by the tracer, the analyzer and
# the tests, and the `analyze` program (every other analyzer/*.c).  Builds with cc only.

ST_LIB_SRCS  := analyzer/trace_write.c analyzer/trace_read.c analyzer/trace_names.c \
		analyzer/json.c analyzer/hmap.c
ST_LIB       := $(BUILD)/libstalltrace.a
ANALYZE_SRCS := $(filter-out $(ST_LIB_SRCS) analyzer/fuzz_%.c,$(wildcard analyzer/*.c))
ANALYZE      := $(BUILD)/analyze

all: $(ANALYZE) $(ST_LIB)

$(BUILD)/st_syscalls.h: scripts/gen-syscalls.sh scripts/syscalls.tsv
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)scripts/gen-syscalls.sh scripts/syscalls.tsv > $@.tmp && mv $@.tmp $@

# generated before any object that may include it (-MMD then tracks who does)
$(ST_LIB_SRCS:%.c=$(BUILD)/%.o) $(ANALYZE_SRCS:%.c=$(BUILD)/%.o): | $(BUILD)/st_syscalls.h

$(ST_LIB): $(ST_LIB_SRCS:%.c=$(BUILD)/%.o)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(ANALYZE): $(ANALYZE_SRCS:%.c=$(BUILD)/%.o) $(ST_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ZSTD)

# libFuzzer target for the reader (clang only): make fuzz; build/fuzz_reader corpus/
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -I$(BUILD)
$(BUILD)/fuzz_reader: analyzer/fuzz_reader.c $(ST_LIB_SRCS) $(BUILD)/st_syscalls.h
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ analyzer/fuzz_reader.c $(ST_LIB_SRCS) -lzstd -lm

.PHONY: fuzz
fuzz: $(BUILD)/fuzz_reader

# Synthetic trace generator for the golden tests (tests/tools/stgen.c), writer API only.
STGEN := $(BUILD)/tests/stgen
all: $(STGEN)

$(STGEN): $(BUILD)/tests/tools/stgen.o $(ST_LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ZSTD)
