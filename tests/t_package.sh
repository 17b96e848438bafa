#!/usr/bin/env bash
# For users and packagers: the man pages against --help (every option both ways, and
# every default --help states), `make install` into a scratch DESTDIR and `make
# uninstall` from it.
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
STGEN=$BUILD/tests/stgen
[ -x "$ANALYZE" ] && [ -x "$TRACER" ] && [ -x "$STGEN" ] || { echo "FAIL: build first (make)"; exit 1; }
# the outer make's variables (make test T=...) must not reach the makes run here
unset MAKEFLAGS MFLAGS MAKELEVEL
VERSION=$(sed -n 's/^VERSION *:= *//p' Makefile)
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)

# --- man pages against --help
for pair in tracer:docs/man/tracer.8 analyze:docs/man/analyze.1; do
	prog=${pair%%:*} page=${pair#*:}
	"$BUILD/$prog" --help >"$TMP/$prog.help"
	if "$PY" tests/check_man.py "$prog" "$TMP/$prog.help" "$page" "$VERSION" >"$TMP/$prog.man"; then
		ok "$page: every option of $prog --help, and only those, with the same defaults"
	else
		fail "$page does not match $prog --help:"
		sed 's/^/       /' "$TMP/$prog.man"
	fi
done
groff -man -ww -z docs/man/tracer.8 docs/man/analyze.1 >"$TMP/groff" 2>&1
check "the man pages format without a groff warning" test ! -s "$TMP/groff"
cat "$TMP/groff"

# --- make install / uninstall into a scratch DESTDIR
inst=$TMP/inst
make --no-print-directory -s BUILD="$BUILD" DESTDIR="$inst" PREFIX=/opt/st install >"$TMP/install.log" 2>&1
check "make install DESTDIR=... PREFIX=/opt/st" test $? -eq 0
{
	printf '%s\n' "bin/analyze f 755" "bin/tracer f 755" "include/stalltrace_mark.h f 644" \
		"lib/libstalltrace_mark.so l 777" "lib/libstalltrace_mark.so.1 f 644" \
		"share/man/man1/analyze.1.gz f 644" "share/man/man8/tracer.8.gz f 644" \
		"share/stalltrace/stalltrace_mark.py f 644" "share/doc/stalltrace/README.md f 644"
	for d in docs/*.md; do echo "share/doc/stalltrace/${d#docs/} f 644"; done
} | LC_ALL=C sort >"$TMP/inst.want"
(cd "$inst/opt/st" 2>/dev/null && find . ! -type d -printf '%P %y %m\n' | LC_ALL=C sort) >"$TMP/inst.got"
check "make install puts every file where it belongs, with its mode, and nothing else" \
	diff "$TMP/inst.want" "$TMP/inst.got"
check "  ...the binaries are the built ones" \
	sh -c "cmp -s '$TRACER' '$inst/opt/st/bin/tracer' && cmp -s '$ANALYZE' '$inst/opt/st/bin/analyze'"
check "  ...the man pages, gzipped" sh -c "zcat '$inst/opt/st/share/man/man8/tracer.8.gz' | cmp -s - docs/man/tracer.8 &&
	zcat '$inst/opt/st/share/man/man1/analyze.1.gz' | cmp -s - docs/man/analyze.1"
check "  ...libstalltrace_mark.so -> libstalltrace_mark.so.1" \
	test "$(readlink "$inst/opt/st/lib/libstalltrace_mark.so")" = libstalltrace_mark.so.1
make --no-print-directory -s BUILD="$BUILD" DESTDIR="$inst" PREFIX=/opt/st uninstall >>"$TMP/install.log" 2>&1
check "make uninstall removes every file it installed" test -z "$(find "$inst" ! -type d)"

finish
