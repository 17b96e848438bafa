#!/bin/sh
# SPDX-License-Identifier: MIT
# `make deb-check`: the package on a clean Debian 12.  Builds a minimal bookworm with
# debootstrap, installs the package there with apt (which must resolve its Depends
# from Debian alone), and inside that root with chroot:
#  - tracer --version and analyze --version give the Makefile's version;
#  - analyze reads a synthetic trace (made here with build/tests/stgen from
#    tests/golden/analyze/dataloader_prep.txt) and its JSON has every expected value;
#  - python3 imports stalltrace_mark from the package and finds its library;
#  - where this kernel allows BPF, the installed tracer traces a Python loop marking
#    25 steps, and the installed analyze finds exactly 25 step marks in that trace.
# Needs root and the network (a Debian mirror: DEB_MIRROR, default deb.debian.org).
# Takes 2-6 minutes, mostly debootstrap; the root is removed afterwards
# (DEB_CHECK_KEEP=1 keeps it).
#
#   BUILD=build VERSION=0.1.0 scripts/deb/check.sh      (`make deb-check` runs it)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${BUILD:?BUILD must be set (make deb-check does it)}" "${VERSION:?VERSION must be set}"
mirror=${DEB_MIRROR:-http://deb.debian.org/debian}
arch=$(dpkg --print-architecture)
deb=$BUILD/deb/stalltrace_${VERSION}_$arch.deb
root=$BUILD/deb/check-root
fails=0
die() { echo "deb-check: $*" >&2; exit 1; }
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
expect() { name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
# The root's /proc and /sys mounts live in a mount namespace of this script's own:
# they vanish with it, so even a killed check leaves nothing mounted under $BUILD
# for `make clean` to delete through.
if [ -z "${DEB_CHECK_NS:-}" ]; then
	DEB_CHECK_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
command -v debootstrap >/dev/null || die "debootstrap not found (scripts/deps.sh --deb-check)"
[ -f "$deb" ] || die "$deb not found (make deb)"
[ -x "$BUILD/tests/stgen" ] || die "$BUILD/tests/stgen not found (make)"

# The mounts go before anything is removed: a bound /sys is never deleted through.
unmount_all()
{
	for m in sys proc; do
		if mountpoint -q "$root/$m" 2>/dev/null; then
			umount -l "$root/$m" || return 1
		fi
	done
	return 0
}
cleanup()
{
	if unmount_all; then
		[ "${DEB_CHECK_KEEP:-0}" = 1 ] || rm -rf "$root"
	else
		echo "deb-check: $root still has mounts: not removed" >&2
	fi
}
[ -d "$root" ] && { unmount_all || die "$root still has mounts"; rm -rf "$root"; }
trap cleanup EXIT INT TERM

t0=$(date +%s)
echo "deb-check: debootstrap bookworm (minbase) from $mirror into $root"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$BUILD/deb/debootstrap.log" 2>&1 ||
	die "debootstrap failed (see $BUILD/deb/debootstrap.log)"
t1=$(date +%s)
mount -t proc proc "$root/proc"
mount --bind /sys "$root/sys"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/tmp/check"
cp "$deb" "$root/tmp/check/"
"$BUILD/tests/stgen" -f "$top/tests/golden/analyze/dataloader_prep.txt" "$root/tmp/check/prep.zst"

in_root apt-get update -q >"$BUILD/deb/apt.log" 2>&1 || die "apt-get update failed (see $BUILD/deb/apt.log)"
if in_root apt-get install -y -q --no-install-recommends "/tmp/check/$(basename "$deb")" \
	python3 >>"$BUILD/deb/apt.log" 2>&1; then
	ok "apt installs the package and its Depends ($(in_root dpkg-query -W -f='${Depends}' stalltrace))"
else
	tail -n 20 "$BUILD/deb/apt.log" >&2
	die "apt-get install failed (see $BUILD/deb/apt.log)"
fi
t2=$(date +%s)

v=$(in_root tracer --version)
expect "tracer --version: $v" test "$v" = "tracer $VERSION (trace format 1)"
v=$(in_root analyze --version)
expect "analyze --version: $v" test "$v" = "analyze $VERSION"
for f in /usr/share/man/man8/tracer.8.gz /usr/share/man/man1/analyze.1.gz \
	/usr/include/stalltrace_mark.h /usr/share/doc/stalltrace/copyright; do
	expect "installed: $f" test -s "$root$f"
done

if in_root analyze -q --json /tmp/check/prep.json /tmp/check/prep.zst &&
	python3 "$top/tests/tools/check_json.py" "$top/tests/golden/analyze/dataloader_prep.txt" \
		"$root/tmp/check/prep.json" >"$BUILD/deb/prep.check"; then
	ok "analyze on a synthetic trace: $(grep -c '^ok' "$BUILD/deb/prep.check") expected values"
else
	bad "analyze on a synthetic trace"
	grep FAIL "$BUILD/deb/prep.check" 2>/dev/null
fi
if in_root python3 -c 'import stalltrace_mark as m; assert m._lib, "no library"; m.step()'; then
	ok "python3: import stalltrace_mark finds libstalltrace_mark.so.1"
else
	bad "python3: import stalltrace_mark"
fi

if [ -r /sys/kernel/btf/vmlinux ]; then
	in_root tracer run -q --steps -o /tmp/check/py.zst -- python3 -c \
		'from stalltrace_mark import step
for _ in range(25): step()' 2>"$BUILD/deb/tracer.err" || true
	n=$(in_root analyze --dump /tmp/check/py.zst 2>/dev/null | grep -c '"type":"probe",' || true)
	expect "the installed tracer records $n step marks from 25 calls (want 25)" test "$n" = 25
	[ "$n" = 25 ] || cat "$BUILD/deb/tracer.err"
else
	echo "SKIPPED: no BTF on this kernel: the installed tracer cannot trace here (not a pass)" >&2
fi
t3=$(date +%s)
echo "deb-check: debootstrap $((t1 - t0)) s, apt install $((t2 - t1)) s, checks $((t3 - t2)) s"
[ "$fails" -eq 0 ] || die "$fails check(s) failed"
echo "deb-check: the package installs and runs on a clean Debian 12"
