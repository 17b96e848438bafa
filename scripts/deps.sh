#!/bin/sh
# Installs the Debian packages stalltrace needs, when run as root; otherwise prints
# the exact command.  Only what is missing is installed, so a second run is quick.
#
#   scripts/deps.sh           build + test packages
#   scripts/deps.sh --bench   also the peers `make bench` compares with
set -eu

pkgs="clang llvm libbpf-dev bpftool libelf-dev libzstd-dev zlib1g-dev pkg-config make gcc \
zstd gnuplot-nox python3 python3-torch python3-numpy python3-pil util-linux chromium"
[ "${1:-}" = --bench ] && pkgs="$pkgs linux-perf trace-cmd bpftrace hyperfine"

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
