#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the Debian package of stalltrace with Debian's own tools only (dpkg-dev):
#  1. `make install` with Debian's hardening flags (dpkg-buildflags), its own build
#     directory and Debian's paths, into a staging root;
#  2. strip as dh_strip does, gzip the docs over 4 KiB as dh_compress does, add the
#     copyright file, the changelog and the lintian overrides (each with its reason);
#  3. Depends from the binaries' real shared-library needs (dpkg-shlibdeps), the
#     library's shlibs and symbols files, the ldconfig trigger, md5sums;
#  4. dpkg-deb, as root:root, with the changelog's date on every file (reproducible).
#
#   BUILD=build VERSION=0.1.0 scripts/deb/build.sh     (`make deb` runs it)
#
# Writes $BUILD/deb/stalltrace_VERSION_ARCH.deb and prints its path.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
: "${BUILD:?BUILD must be set (make deb does it)}" "${VERSION:?VERSION must be set}"
out=$BUILD/deb
pkg=stalltrace
stage=$out/src/debian/$pkg	# the layout dpkg-shlibdeps expects
die() { echo "deb: $*" >&2; exit 1; }

for t in dpkg-deb dpkg-shlibdeps dpkg-buildflags dpkg-architecture strip gzip; do
	command -v "$t" >/dev/null || die "$t not found: install dpkg-dev and binutils (scripts/deps.sh --deb)"
done
cl_version=$(sed -n '1s/^stalltrace (\([^)]*\)).*/\1/p' "$here/changelog")
[ "$cl_version" = "$VERSION" ] ||
	die "scripts/deb/changelog is at '$cl_version', the Makefile at '$VERSION': add a changelog entry"
cl_date=$(sed -n 's/^ -- .*>  //p' "$here/changelog" | head -n 1)
SOURCE_DATE_EPOCH=$(date -d "$cl_date" +%s) || die "bad date in scripts/deb/changelog: '$cl_date'"
export SOURCE_DATE_EPOCH
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
libdir=/usr/lib/$multiarch
deb=$out/${pkg}_${VERSION}_$arch.deb

# 1. build and install; the top make's command-line variables must not leak in.  The
# objects are kept for the next run unless the flags or the makefiles that build what
# is packaged changed (make itself does not see those).
rm -rf "$out/src"
mkdir -p "$stage" "$out/obj"
unset MAKEFLAGS MFLAGS MAKELEVEL
cd "$top"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS="$(dpkg-buildflags --get CFLAGS) $(dpkg-buildflags --get CPPFLAGS)"
LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"
export CFLAGS LDFLAGS
mks=$(find . -path ./build -prune -o -path ./tests -prune -o -path ./scripts -prune -o \
	-name '*.mk' -print | sort)
# shellcheck disable=SC2086
stamp=$(printf '%s\n' "$CFLAGS" "$LDFLAGS"; cat Makefile $mks | md5sum)
if [ "$(cat "$out/obj/.stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$out/obj"
	mkdir -p "$out/obj"
	printf '%s\n' "$stamp" >"$out/obj/.stamp"
fi
make --no-print-directory -j"$(nproc)" BUILD="$out/obj" DESTDIR="$stage" PREFIX=/usr \
	LIBDIR="$libdir" PYTHONDIR=/usr/lib/python3/dist-packages install >/dev/null

# 2. strip, docs, copyright, changelog
strip --remove-section=.comment --remove-section=.note "$stage/usr/bin/tracer" "$stage/usr/bin/analyze"
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
	"$stage$libdir/libstalltrace_mark.so.1"
doc=$stage/usr/share/doc/$pkg
find "$doc" -type f -size +4k -exec gzip -9n {} +
install -m 0644 "$here/copyright" "$doc/copyright"
gzip -9nc "$here/changelog" >"$doc/changelog.gz"
install -D -m 0644 "$here/lintian-overrides" "$stage/usr/share/lintian/overrides/$pkg"

# 3. control files
exported=$(nm -D --defined-only "$stage$libdir/libstalltrace_mark.so.1" | awk '$2 == "T" { print $3 }' | sort)
listed=$(sed -n 's/^ \([^@]*\)@Base .*/\1/p' "$here/symbols" | sort)
[ "$exported" = "$listed" ] ||
	die "libstalltrace_mark.so.1 exports '$exported' but scripts/deb/symbols lists '$listed': list each symbol with the version that added it"
mkdir -p "$stage/DEBIAN"
install -m 0644 "$here/symbols" "$stage/DEBIAN/symbols"
echo "libstalltrace_mark 1 $pkg (>= $VERSION)" >"$stage/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$stage/DEBIAN/triggers"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$pkg" "$pkg" >"$out/src/debian/control"
depends=$(cd "$out/src" && dpkg-shlibdeps -O "-Tdebian/$pkg.substvars" \
	"debian/$pkg/usr/bin/tracer" "debian/$pkg/usr/bin/analyze" \
	"debian/$pkg$libdir/libstalltrace_mark.so.1" | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies"
find "$stage" -type d -exec chmod 0755 {} +
find "$stage" -type f -exec chmod 0644 {} +
chmod 0755 "$stage/usr/bin/tracer" "$stage/usr/bin/analyze"
# Installed-Size as dpkg-gencontrol counts it: KiB per file, rounded up, 1 per other entry
size=$(find "$stage" -path "$stage/DEBIAN" -prune -o -mindepth 1 -printf '%y %s\n' |
	awk '{ n += $1 == "f" ? int(($2 + 1023) / 1024) : 1 } END { print n }')
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
	-e "s/@DEPENDS@/$depends/" \
	-e "s/@MAINTAINER@/$(sed -n 's/^ -- \(.*>\)  .*/\1/p' "$here/changelog" | head -n 1)/" \
	"$here/control.in" >"$stage/DEBIAN/control"
(cd "$stage" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort |
	xargs md5sum >DEBIAN/md5sums)
chmod 0644 "$stage"/DEBIAN/*

# 4. the package
find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
rm -f "$deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
