# Test suite: every tests/t_*.sh is one test group, run by tests/run.sh with BUILD exported.
# A group exits 0 (pass), 77 (skipped, with a loud reason on stderr) or anything else (fail).
# `make test T="tracer analyze_golden"` runs some groups only.
test: deps
	$(Q)$(MAKE) --no-print-directory all $(FUZZ_TARGETS)
	$(Q)BUILD=$(abspath $(BUILD)) tests/run.sh $(T)

# Small programs the tracer tests and benchmarks drive (known ground truth).
TEST_TOOLS := $(BUILD)/tests/ctlwork $(BUILD)/tests/sysloop $(BUILD)/tests/pingpong \
	      $(BUILD)/tests/hangfs $(BUILD)/tests/zombie $(BUILD)/tests/churn
all: $(TEST_TOOLS)

$(BUILD)/tests/%: $(BUILD)/tests/tools/%.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -lpthread

# A trainer marking its steps with the shipped marker library (tests/t_probes.sh).
all: $(BUILD)/tests/marksteps
$(BUILD)/tests/marksteps: $(BUILD)/tests/tools/marksteps.o $(MARK_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $< -L$(BUILD) -lstalltrace_mark -ldl -Wl,-rpath,'$$ORIGIN/..'

# Synthetic per-node --json reports of one job, for the merge benchmark (make bench):
# made with the analyzer's own model and JSON writer, so it links the analyzer.
REPGEN := $(BUILD)/tests/repgen
all: $(REPGEN)
$(BUILD)/tests/tools/repgen.o: CFLAGS += $(AN_INCLUDES)
$(REPGEN): $(BUILD)/tests/tools/repgen.o \
	   $(AN_SRCS:%.c=$(BUILD)/%.o) $(ST_LIB)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ZSTD)
