# The trace library (format writer + reader), shared by the tracer, the analyzer and
# the tests, and the `analyze` program (every other analyzer/*.c).  Builds with cc only.

ST_LIB_SRCS  := analyzer/trace_write.c analyzer/trace_read.c analyzer/trace_names.c \
		analyzer/trace_types.c \
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

# libFuzzer targets (clang only), built with ASan and UBSan (any report is a crash):
#   fuzz_reader   the reader over a buffer
#   fuzz_analyze  the whole of analyze: file reader, analysis, every output
#   fuzz_json     the JSON reader and --compare on summaries
# Seed corpora in tests/fuzz/<target>; `make test` runs each briefly (tests/t_fuzz.sh),
# `make fuzz` for FUZZ_SECS each (default 300) on corpora kept in $(BUILD)/fuzz-corpus.
FUZZ_TARGETS := $(BUILD)/fuzz_reader $(BUILD)/fuzz_analyze $(BUILD)/fuzz_json
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -g -O1 -std=gnu11 $(FUZZ_SAN) -fsanitize=fuzzer-no-link -Iinclude -I$(BUILD) \
		-DST_VERSION=\"$(VERSION)\" -MMD -MP
FUZZ_OBJS    := $(patsubst %.c,$(BUILD)/fuzz/%.o,$(filter-out analyzer/main.c,$(ANALYZE_SRCS)) \
		$(ST_LIB_SRCS))
FUZZ_SECS    ?= 300

$(BUILD)/fuzz/%.o: %.c | $(BUILD)/st_syscalls.h
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(BUILD)/fuzz_reader: $(BUILD)/fuzz/analyzer/fuzz_reader.o $(ST_LIB_SRCS:%.c=$(BUILD)/fuzz/%.o)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -lzstd -lm

$(BUILD)/fuzz_analyze $(BUILD)/fuzz_json: $(BUILD)/fuzz_%: $(BUILD)/fuzz/analyzer/fuzz_%.o $(FUZZ_OBJS)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -lzstd -lm

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS)
	$(Q)BUILD=$(abspath $(BUILD)) FUZZ_SECS=$(FUZZ_SECS) tests/t_fuzz.sh --long

# Synthetic trace generator for the golden tests (tests/tools/stgen.c), writer API only.
STGEN := $(BUILD)/tests/stgen
all: $(STGEN)

$(STGEN): $(BUILD)/tests/tools/stgen.o $(ST_LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ZSTD)
