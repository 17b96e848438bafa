# stalltrace top-level Makefile.  All output goes to $(BUILD); sources never get build products.
# `make` builds everything, `make test` runs the test suite, `make demo` traces the bundled
# reference job and writes a report, `make bench` runs the benchmarks, `make deps` installs
# the Debian packages (as root) or prints the command to do so.

BUILD     ?= build
PREFIX    ?= /usr/local
CC        ?= cc
CLANG     ?= clang
BPFTOOL   ?= bpftool
VERSION   := 0.1.0

CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
	     -Iinclude -I$(BUILD) -DST_VERSION=\"$(VERSION)\" -MMD -MP
LDLIBS_ZSTD := -lzstd -lm

V ?= 0
ifeq ($(V),0)
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
else
Q :=
msg =
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all test demo bench install deps clean

all:

include analyzer/analyzer.mk
include bpf/bpf.mk
include tests/tests.mk
include tests/workloads/workloads.mk
include scripts/bench.mk

$(BUILD)/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

deps:
	$(Q)scripts/deps.sh

# Traces the bundled reference job (a real PyTorch DataLoader run; trainsim when torch
# is missing), analyzes it and writes the report under $(BUILD)/demo.
demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(abspath $(BUILD)) scripts/demo.sh

bench: all
	$(Q)scripts/deps.sh --bench
	$(Q)BUILD=$(abspath $(BUILD)) scripts/bench.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/stalltrace
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include
	install -m 0755 $(TRACER) $(ANALYZE) $(DESTDIR)$(PREFIX)/bin/
	install -m 0755 $(MARK_LIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libstalltrace_mark.so.1 $(DESTDIR)$(PREFIX)/lib/libstalltrace_mark.so
	install -m 0644 include/stalltrace_mark.h $(DESTDIR)$(PREFIX)/include/
	install -m 0644 scripts/stalltrace_mark.py $(DESTDIR)$(PREFIX)/share/stalltrace/
	install -d $(DESTDIR)$(PREFIX)/share/doc/stalltrace
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/stalltrace/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
