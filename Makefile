# stalltrace top-level Makefile.  All output goes to $(BUILD); sources never get build products.
# `make` builds everything, `make test` runs the test suite, `make demo` traces the bundled
# reference job and writes a report, `make bench` runs the benchmarks, `make deps` installs
# the Debian packages (as root) or prints the command to do so, `make install` installs
# (PREFIX, DESTDIR), `make deb` builds the Debian package (scripts/deb/).

BUILD     ?= build
# One spelling of the build directory whatever the caller passed (scripts export it
# absolute): the -MMD dependency files name their targets with it, and a header
# change must rebuild what a build under the other spelling compiled.
override BUILD := $(patsubst $(CURDIR)/%,%,$(abspath $(BUILD)))
PREFIX    ?= /usr/local
CC        ?= cc
CLANG     ?= clang
BPFTOOL   ?= bpftool
VERSION   := 0.1.0

# -O3 and link-time optimization: `analyze` runs a tenth faster than with -O2 (its
# hot path crosses files: the reader, hash maps, the passes).  Fat LTO objects: the
# library archive links with or without LTO, whatever `ar` the system has.
CFLAGS    ?= -O3 -g -flto=auto -ffat-lto-objects
LDFLAGS   ?= -flto=auto
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
.PHONY: all test demo bench install uninstall deps clean

all:

include analyzer/analyzer.mk
include bpf/bpf.mk
include tests/tests.mk
include tests/workloads/workloads.mk
include scripts/bench.mk
include scripts/deb/deb.mk

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

# Installs the tools, the step-marker library, its header and Python module, the man
# pages (gzipped) and the docs under $(DESTDIR)$(PREFIX).  Every directory can be moved
# on its own (a package build puts the library and the module where its distribution looks).
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/stalltrace
PYTHONDIR  ?= $(PREFIX)/share/stalltrace

install: $(TRACER) $(ANALYZE) $(MARK_LIB)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(PYTHONDIR) $(DESTDIR)$(DOCDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(TRACER) $(ANALYZE) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(MARK_LIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libstalltrace_mark.so.1 $(DESTDIR)$(LIBDIR)/libstalltrace_mark.so
	install -m 0644 include/stalltrace_mark.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0644 scripts/stalltrace_mark.py $(DESTDIR)$(PYTHONDIR)/
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/
	gzip -9nc docs/man/tracer.8 >$(DESTDIR)$(MANDIR)/man8/tracer.8.gz
	gzip -9nc docs/man/analyze.1 >$(DESTDIR)$(MANDIR)/man1/analyze.1.gz
	chmod 0644 $(DESTDIR)$(MANDIR)/man8/tracer.8.gz $(DESTDIR)$(MANDIR)/man1/analyze.1.gz

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/tracer $(DESTDIR)$(PREFIX)/bin/analyze \
		$(DESTDIR)$(LIBDIR)/libstalltrace_mark.so.1 $(DESTDIR)$(LIBDIR)/libstalltrace_mark.so \
		$(DESTDIR)$(INCLUDEDIR)/stalltrace_mark.h $(DESTDIR)$(PYTHONDIR)/stalltrace_mark.py \
		$(DESTDIR)$(MANDIR)/man8/tracer.8.gz $(DESTDIR)$(MANDIR)/man1/analyze.1.gz
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,README.md $(notdir $(wildcard docs/*.md)))
	rmdir $(DESTDIR)$(DOCDIR) $(DESTDIR)$(PYTHONDIR) 2>/dev/null || true

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
