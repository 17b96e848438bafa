# Shared helpers for the test groups (sourced).  Each group runs with $BUILD set.
set -u
: "${BUILD:?BUILD must be set (tests/run.sh does it)}"
TRACER=$BUILD/tracer
ANALYZE=$BUILD/analyze
PY=${PY:-python3}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/stalltrace-test.XXXXXX")
trap 'cleanup_tmp' EXIT
fails=0

cleanup_tmp()
{
	# background helpers of a test never outlive it
	jobs -p | xargs -r kill 2>/dev/null
	# ST_KEEP_TMP=1: keep the group's traces and reports to look at
	if [ -n "${ST_KEEP_TMP:-}" ]; then
		echo "kept $TMP"
		return
	fi
	rm -rf "$TMP"
}

ok() { printf 'ok   %s\n' "$*"; }
fail() { printf 'FAIL %s\n' "$*"; fails=$((fails + 1)); }

# check NAME CMD...: runs CMD, records ok/FAIL under NAME
check()
{
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}

# skip_unless_bpf: the BPF tests need root and a kernel with BTF; say loudly why not
skip_unless_bpf()
{
	if [ "$(id -u)" != 0 ]; then
		echo "SKIPPED: BPF tests need root (this is not a pass: run them as root)" >&2
		exit 77
	fi
	if [ ! -r /sys/kernel/btf/vmlinux ]; then
		echo "SKIPPED: kernel has no BTF (/sys/kernel/btf/vmlinux): BPF capture cannot work here" >&2
		exit 77
	fi
}

# skip_unless_torchrun WHAT: DDP jobs need python3-torch's torch.distributed and torchrun
skip_unless_torchrun()
{
	if ! /usr/bin/python3 -c 'import torch.distributed' 2>/dev/null ||
	   ! command -v torchrun >/dev/null; then
		echo "SKIPPED: $1 needs python3-torch with torch.distributed and torchrun" >&2
		exit 77
	fi
}

# ddp_setup: what a DDP group needs: BPF and torchrun (else it skips, loudly), $WL
# (the workloads), and TMPDIR in the group's own directory: the jobs' datasets (the
# fetch scenario's, uncached) and logs live there and go with it
ddp_setup()
{
	skip_unless_bpf
	skip_unless_torchrun "the DDP tests"
	WL=${WL:-tests/workloads}
	export TMPDIR=$TMP
}

# wait_for FILE PATTERN [SECONDS]: waits until FILE contains PATTERN (a line a process
# prints when it reaches a state), failing after SECONDS; event-driven, not a fixed sleep
wait_for()
{
	local file=$1 pat=$2 secs=${3:-20} i=0
	while ! grep -q -- "$pat" "$file" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt $((secs * 50)) ] && return 1
		sleep 0.02
	done
}

# stop_fuse PID MOUNTPOINT: ends a test FUSE server (tests/tools/hangfs) for sure: TERM,
# then KILL, then the kernel's abort of its connection, so that no reader stays stuck
# on it and the group cannot hang on a file system that never answers
stop_fuse()
{
	local pid=$1 mnt=$2 i c dev
	kill "$pid" 2>/dev/null
	for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	kill -KILL "$pid" 2>/dev/null
	dev=$(stat -c %d "$mnt" 2>/dev/null)
	[ -d /sys/fs/fuse/connections ] && ! mountpoint -q /sys/fs/fuse/connections &&
		mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null
	for c in /sys/fs/fuse/connections/*; do
		[ -n "$dev" ] && [ "${c##*/}" = "$dev" ] && echo 1 >"$c/abort" 2>/dev/null
	done
	umount -l "$mnt" 2>/dev/null
	wait "$pid" 2>/dev/null
	true
}

finish()
{
	if [ "$fails" -ne 0 ]; then
		echo "$fails check(s) failed"
		exit 1
	fi
	echo "all checks passed"
	exit 0
}
