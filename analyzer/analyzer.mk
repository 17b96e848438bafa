# The analyzer, one folder per module (each file's header says what it owns):
#   analyzer/lib/      the trace format library: writer, reader, record and syscall
#                      tables, names; linked by the tracer, stgen and analyze, it sees
#                      only include/ and itself
#   analyzer/pass/     the analysis: one pass over a trace into the model (threads,
#                      segments, causes, wakeup chains), then steps, categories, verdict
#   analyzer/out/      what a result becomes: text, JSON, HTML, charts, Perfetto, --dump
#   analyzer/json/     the JSON writer every report uses, the readers --compare and
#                      --merge use
#   analyzer/compare/  --compare: a report against a baseline, the CI gate
#   analyzer/job/      several nodes, one job: clocks, --merge of reports and traces
#   analyzer/fuzz/     libFuzzer targets
#   analyzer/main.c    the command line
# Builds with cc only.  Every source is listed: a new file joins a program when it is
# named here.

ST_LIB_SRCS  := $(addprefix analyzer/lib/,trace_write.c trace_read.c trace_names.c \
		trace_types.c hmap.c)
ST_LIB       := $(BUILD)/libstalltrace.a
AN_PASS_SRCS := $(addprefix analyzer/pass/,analysis.c categories.c an_core.c an_attr.c \
		an_dist.c an_loader.c an_stats.c an_finish.c an_straggler.c an_verdict.c \
		an_cpu.c an_period.c)
AN_OUT_SRCS  := $(addprefix analyzer/out/,report_text.c report_json.c report_html.c \
		charts.c perfetto.c dump.c esc.c outfile.c)
AN_JSON_SRCS := $(addprefix analyzer/json/,json.c jparse.c jstream.c)
AN_CMP_SRCS  := $(addprefix analyzer/compare/,compare.c compare_rules.c compare_out.c)
AN_JOB_SRCS  := $(addprefix analyzer/job/,merge.c merge_tr.c job.c)
# everything of analyze but its command line (the fuzz targets and repgen link it)
AN_SRCS      := $(AN_PASS_SRCS) $(AN_OUT_SRCS) $(AN_JSON_SRCS) $(AN_CMP_SRCS) \
		$(AN_JOB_SRCS)
ANALYZE_SRCS := analyzer/main.c $(AN_SRCS)
ANALYZE      := $(BUILD)/analyze
AN_INCLUDES  := $(addprefix -Ianalyzer/,lib pass out json compare job)

.PHONY: analyze tracer
analyze: $(ANALYZE)
all: $(ANALYZE) $(ST_LIB)

$(BUILD)/st_syscalls.h: scripts/gen-syscalls.sh scripts/syscalls.tsv
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)scripts/gen-syscalls.sh scripts/syscalls.tsv > $@.tmp && mv $@.tmp $@

# generated before any object that may include it (-MMD then tracks who does)
$(ST_LIB_SRCS:%.c=$(BUILD)/%.o) $(ANALYZE_SRCS:%.c=$(BUILD)/%.o): | $(BUILD)/st_syscalls.h
$(ST_LIB_SRCS:%.c=$(BUILD)/%.o): CFLAGS += -Ianalyzer/lib
$(ANALYZE_SRCS:%.c=$(BUILD)/%.o): CFLAGS += $(AN_INCLUDES)

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
# Seeds: made from text by tests/t_fuzz.sh (JSON: tests/fuzz/json); `make test` runs each
# briefly (tests/t_fuzz.sh), `make fuzz` for FUZZ_SECS each (default 300) on corpora kept
# in $(BUILD)/fuzz-corpus.
FUZZ_TARGETS := $(BUILD)/fuzz_reader $(BUILD)/fuzz_analyze $(BUILD)/fuzz_json
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -g -O1 -std=gnu11 $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
		-Iinclude -I$(BUILD) $(AN_INCLUDES) \
		-DST_VERSION=\"$(VERSION)\" -MMD -MP
FUZZ_OBJS    := $(patsubst %.c,$(BUILD)/fuzz/%.o,$(AN_SRCS) $(ST_LIB_SRCS))
FUZZ_SECS    ?= 300

$(BUILD)/fuzz/%.o: %.c | $(BUILD)/st_syscalls.h
	$(call msg,FUZZCC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -c $< -o $@

$(BUILD)/fuzz_reader: $(BUILD)/fuzz/analyzer/fuzz/fuzz_reader.o \
		$(ST_LIB_SRCS:%.c=$(BUILD)/fuzz/%.o)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -lzstd -lm

$(BUILD)/fuzz_analyze $(BUILD)/fuzz_json: $(BUILD)/fuzz_%: \
		$(BUILD)/fuzz/analyzer/fuzz/fuzz_%.o $(FUZZ_OBJS)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -lzstd -lm

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS) $(BUILD)/tests/stgen
	$(Q)BUILD=$(abspath $(BUILD)) FUZZ_SECS=$(FUZZ_SECS) tests/t_fuzz.sh --long

# Synthetic trace generator for the golden tests (tests/tools/stgen.c), writer API only.
STGEN := $(BUILD)/tests/stgen
all: $(STGEN)

$(STGEN): $(BUILD)/tests/tools/stgen.o $(ST_LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ZSTD)
