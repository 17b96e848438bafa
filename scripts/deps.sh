#!/bin/sh
# Installs the Debian packages stalltrace needs, when run as root; otherwise prints
# the exact command.  Only what is missing is installed, so a second run is quick.
#
#   scripts/deps.sh              build + test packages
#   scripts/deps.sh --bench      also the peers `make bench` compares with
#   scripts/deps.sh --deb        only what `make deb` needs: the build + dpkg-dev
#   scripts/deps.sh --deb-check  also debootstrap, for `make deb-check`
set -eu

build="clang llvm libbpf-dev bpftool libelf-dev libzstd-dev zlib1g-dev pkg-config make gcc"
# dpkg-dev and lintian: tests/t_package.sh builds the package and lints it; slurm-wlm
# and munge: tests/t_slurm.sh runs the Slurm recipe on a single-node Slurm it starts
test="zstd gnuplot-nox python3 python3-torch python3-numpy python3-pil util-linux chromium \
dpkg-dev lintian slurm-wlm munge"
case "${1:-}" in
'') pkgs="$build $test" ;;
--bench) pkgs="$build $test linux-perf trace-cmd bpftrace hyperfine" ;;
--deb) pkgs="$build dpkg-dev binutils" ;;
--deb-check) pkgs="$build dpkg-dev binutils debootstrap" ;;
*) echo "deps: unknown option '$1' (--bench, --deb, --deb-check)" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: install them with: sudo apt-get update && sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
