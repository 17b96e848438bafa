#!/usr/bin/env bash
# For users and packagers: the man pages against --help (every option both ways, and
# every default --help states), `make install` into a scratch DESTDIR and `make
# uninstall` from it, and `make deb`: its control fields, Depends against the real
# library needs of its binaries, its exact file list with owners and modes, its
# md5sums, lintian without an error or a warning, and its unpacked files at work
# (versions, a synthetic trace with known answers, the header and library from C,
# the Python module, and as root the packaged tracer counting exact step marks).
# A real install on a clean Debian 12 is `make deb-check` (debootstrap, minutes).
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

# --- make deb: the package and its metadata
make --no-print-directory -s BUILD="$BUILD" deb >"$TMP/deb.log" 2>&1
check "make deb" test $? -eq 0
ARCH=$(dpkg --print-architecture)
DEB=$BUILD/deb/stalltrace_${VERSION}_$ARCH.deb
[ -f "$DEB" ] || { cat "$TMP/deb.log"; fail "no $DEB"; finish; }
field() { dpkg-deb -f "$DEB" "$1"; }
check "control: Package stalltrace, Version $VERSION, Architecture $ARCH" \
	test "$(field Package) $(field Version) $(field Architecture)" = "stalltrace $VERSION $ARCH"
check "control: a Maintainer, Section and Priority, a Description" \
	sh -c "test -n \"\$(dpkg-deb -f '$DEB' Maintainer)\" && test -n \"\$(dpkg-deb -f '$DEB' Section)\" &&
	test -n \"\$(dpkg-deb -f '$DEB' Priority)\" && test \$(dpkg-deb -f '$DEB' Description | wc -l) -gt 5"

root=$TMP/root
dpkg-deb -x "$DEB" "$root"
dpkg-deb -e "$DEB" "$TMP/ctl"

# Depends must name exactly the packages of the libraries the ELF files need directly
for elf in "$root/usr/bin/tracer" "$root/usr/bin/analyze" "$root/usr/lib/$MA/libstalltrace_mark.so.1"; do
	for lib in $(readelf -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		path=$(ldd "$elf" | awk -v l="$lib" '$1 == l { print $3 }')
		{ dpkg -S "$path" 2>/dev/null || dpkg -S "$(realpath "$path")"; } | sed -n '1s/:.*//p'
	done
done | LC_ALL=C sort -u >"$TMP/needs"
field Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//' | LC_ALL=C sort -u >"$TMP/depends"
check "Depends ($(field Depends)) names exactly the packages of the libraries the binaries need" \
	diff "$TMP/needs" "$TMP/depends"
size=$(field Installed-Size)
bytes=$(find "$root" -type f -printf '%s\n' | awk '{ n += $1 } END { print n }')
entries=$(find "$root" -mindepth 1 | wc -l)
check "Installed-Size ${size} KiB fits the unpacked $bytes bytes" \
	test "$size" -ge $((bytes / 1024)) -a "$size" -le $((bytes / 1024 + entries))

# the exact file list, owners and modes
{
	printf '%s\n' "usr/bin/analyze -rwxr-xr-x" "usr/bin/tracer -rwxr-xr-x" \
		"usr/include/stalltrace_mark.h -rw-r--r--" \
		"usr/lib/python3/dist-packages/stalltrace_mark.py -rw-r--r--" \
		"usr/lib/$MA/libstalltrace_mark.so lrwxrwxrwx" \
		"usr/lib/$MA/libstalltrace_mark.so.1 -rw-r--r--" \
		"usr/share/doc/stalltrace/changelog.gz -rw-r--r--" \
		"usr/share/doc/stalltrace/copyright -rw-r--r--" \
		"usr/share/lintian/overrides/stalltrace -rw-r--r--" \
		"usr/share/man/man1/analyze.1.gz -rw-r--r--" "usr/share/man/man8/tracer.8.gz -rw-r--r--"
	# dh_compress's rule: docs over 4 KiB are gzipped
	for d in README.md docs/*.md; do
		n=usr/share/doc/stalltrace/$(basename "$d")
		[ "$(stat -c %s "$d")" -gt 4096 ] && n=$n.gz
		echo "$n -rw-r--r--"
	done
} | LC_ALL=C sort >"$TMP/deb.want"
dpkg-deb -c "$DEB" | awk '$1 !~ /^d/ { sub("^\\./", "", $6); print $6, $1 }' | LC_ALL=C sort >"$TMP/deb.got"
check "the package holds exactly the expected files, with their modes" diff "$TMP/deb.want" "$TMP/deb.got"
check "  ...every entry owned by root:root" \
	test -z "$(dpkg-deb -c "$DEB" | awk '$2 != "root/root"')"
check "  ...its md5sums match its files" sh -c "cd '$root' && md5sum --quiet -c '$TMP/ctl/md5sums'"
check "  ...the library's shlibs, symbols and ldconfig trigger" \
	sh -c "grep -qx 'libstalltrace_mark 1 stalltrace (>= $VERSION)' '$TMP/ctl/shlibs' &&
	grep -q '^ stalltrace_step@Base ' '$TMP/ctl/symbols' && grep -qx 'activate-noawait ldconfig' '$TMP/ctl/triggers'"
check "  ...the binaries are stripped" \
	sh -c "! readelf -S '$root/usr/bin/tracer' '$root/usr/bin/analyze' | grep -q '\.symtab\|\.debug_'"
check "  ...the man pages are the sources, gzipped" sh -c "zcat '$root/usr/share/man/man8/tracer.8.gz' |
	cmp -s - docs/man/tracer.8 && zcat '$root/usr/share/man/man1/analyze.1.gz' | cmp -s - docs/man/analyze.1"

# lintian: no error, no warning (info and pedantic tags are listed in the log)
if command -v lintian >/dev/null; then
	lintian -I -E --pedantic "$DEB" 2>&1 | grep -v 'running with root privileges' >"$TMP/lintian"
	check "lintian: no error and no warning ($(grep -c '^[IPX]:' "$TMP/lintian") info/pedantic tags)" \
		test -z "$(grep '^[EW]:' "$TMP/lintian")"
	sed 's/^/       /' "$TMP/lintian"
else
	fail "lintian is not installed (scripts/deps.sh installs it)"
fi

# --- the unpacked files at work
check "packaged tracer --version" test "$("$root/usr/bin/tracer" --version)" = "tracer $VERSION (trace format 1)"
check "packaged analyze --version" test "$("$root/usr/bin/analyze" --version)" = "analyze $VERSION"
golden=tests/golden/analyze/dataloader_prep.txt
"$STGEN" -f "$golden" "$TMP/prep.zst"
"$root/usr/bin/analyze" -q --json "$TMP/prep.pkg.json" "$TMP/prep.zst" &&
	"$PY" tests/tools/check_json.py "$golden" "$TMP/prep.pkg.json" >"$TMP/prep.check"
rc=$?
check "packaged analyze on a synthetic trace: $(grep -c '^ok' "$TMP/prep.check") expected values" \
	test $rc -eq 0
grep FAIL "$TMP/prep.check"
"$ANALYZE" -q --json "$TMP/prep.build.json" "$TMP/prep.zst"
check "  ...the same JSON as the built analyze" cmp -s "$TMP/prep.pkg.json" "$TMP/prep.build.json"

cat >"$TMP/steps.c" <<'EOF'
#include <stalltrace_mark.h>
int main(void)
{
	for (int i = 0; i < 40; i++)
		stalltrace_step();
	return 0;
}
EOF
cc -I"$root/usr/include" -o "$TMP/steps" "$TMP/steps.c" -L"$root/usr/lib/$MA" -lstalltrace_mark
check "a C program builds with the packaged header and -lstalltrace_mark" test $? -eq 0
check "  ...and needs libstalltrace_mark.so.1" \
	sh -c "readelf -d '$TMP/steps' | grep -q 'NEEDED.*\[libstalltrace_mark.so.1\]'"
check "  ...and runs with the packaged library" env LD_LIBRARY_PATH="$root/usr/lib/$MA" "$TMP/steps"
PYMARK="import stalltrace_mark as m, sys
assert m.__file__.startswith(sys.argv[1]) and m._lib, (m.__file__, m._lib)
for _ in range(25): m.step()"
check "python3 imports the packaged stalltrace_mark, which loads the packaged library" \
	env PYTHONPATH="$root/usr/lib/python3/dist-packages" LD_LIBRARY_PATH="$root/usr/lib/$MA" \
	"$PY" -c "$PYMARK" "$root"

# the packaged tracer at work: exact step marks from C and Python (root and BTF only)
marks() { "$root/usr/bin/analyze" --dump "$1" | grep -c '"type":"probe",'; }
if [ "$(id -u)" = 0 ] && [ -r /sys/kernel/btf/vmlinux ]; then
	LD_LIBRARY_PATH="$root/usr/lib/$MA" "$root/usr/bin/tracer" run -q --steps \
		-o "$TMP/c.zst" -- "$TMP/steps" 2>"$TMP/c.err"
	check "packaged tracer --steps on the C program: exactly 40 step marks" test "$(marks "$TMP/c.zst")" -eq 40
	PYTHONPATH="$root/usr/lib/python3/dist-packages" LD_LIBRARY_PATH="$root/usr/lib/$MA" \
		"$root/usr/bin/tracer" run -q --steps -o "$TMP/py.zst" -- "$PY" -c "$PYMARK" "$root" 2>"$TMP/py.err"
	check "packaged tracer --steps on the Python module: exactly 25 step marks" \
		test "$(marks "$TMP/py.zst")" -eq 25
else
	echo "NOT RUN: the packaged tracer needs root and a kernel with BTF (the rest ran)" >&2
fi
finish
