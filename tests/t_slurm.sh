#!/usr/bin/env bash
# The Slurm recipe of the README, on a real single-node Slurm that this test starts:
# Debian's munged, slurmctld and slurmd (scripts/deps.sh installs them), configs in a
# private directory (ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, ports
# from the kernel), stopped whatever happens.  A batch job runs the recipe:
#   srun --ntasks-per-node=1 tracer run -o $TMPDIR/trace.zst -- torchrun ... (2 ranks,
#        rank 1 slowed by its data loader: tests/workloads/ddp_train.py)
#   srun --ntasks-per-node=1 analyze $TMPDIR/trace.zst --json shared/rank-%n.json
#   analyze --merge shared/*.json
# Checks: the job succeeds; %n became the node id; the merged report names the
# straggler's rank and own cause (the job's own measure), and the Slurm job id.
. "$(dirname "$0")/lib.sh"
skip_unless_bpf
for p in munged slurmctld slurmd sbatch srun scontrol sinfo; do
	command -v "$p" >/dev/null || {
		echo "SKIPPED: $p not found: install slurm-wlm and munge (scripts/deps.sh does)" >&2
		exit 77
	}
done
skip_unless_torchrun "the Slurm test (it runs DDP)"
WL=$(cd "${WL:-tests/workloads}" && pwd)
S=$TMP/slurm
mkdir -p "$S/state" "$S/spool" "$S/shared" "$S/node-tmp"
pids=()

# Every daemon we started, and the job if it still runs: gone whatever happens.
stop_slurm()
{
	local p

	[ -n "${jobid:-}" ] && timeout 10 scancel "$jobid" 2>/dev/null
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	pids=()
}
trap 'stop_slurm; cleanup_tmp' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port()
{
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

head -c 1024 /dev/urandom >"$S/munge.key" && chmod 400 "$S/munge.key"
cat >"$S/slurm.conf" <<EOF
ClusterName=stalltrace-test
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$S/munge.sock
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
$(slurmd -C | head -n 1) NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$S/slurm.conf

# each under timeout: even a test killed with SIGKILL leaves no daemon for long
timeout 900 munged -F --force --key-file="$S/munge.key" --socket="$S/munge.sock" --pid-file="$S/munged.pid" \
	--log-file="$S/munged.log" --seed-file="$S/munged.seed" 2>"$S/munged.err" &
pids+=($!)
wait_for_socket()
{
	local i=0
	while [ ! -S "$S/munge.sock" ]; do
		i=$((i + 1))
		[ $i -gt 1500 ] && return 1
		sleep 0.02
	done
}
wait_for_socket || { fail "munged did not start: $(tail -2 "$S/munged.err")"; finish; }
timeout 900 slurmctld -D -f "$S/slurm.conf" >"$S/slurmctld.out" 2>&1 &
pids+=($!)
timeout 900 slurmd -D -f "$S/slurm.conf" >"$S/slurmd.out" 2>&1 &
pids+=($!)
# the node registers with the controller: idle (polled, bounded)
for i in $(seq 300); do
	[ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && break
	sleep 0.2
done
if [ "$(sinfo -h -o %t 2>/dev/null)" != idle ]; then
	fail "the Slurm node did not come up: $(sinfo 2>&1 | tail -1); $(tail -2 "$S/slurmctld.log" "$S/slurmd.log" 2>/dev/null)"
	finish
fi
ok "Slurm: munged, slurmctld and slurmd up, node $(sinfo -h -o %N) idle"

# the recipe, as a user writes it (README, "Several nodes"), plus the job's own truth
cat >"$S/job.sh" <<EOF
#!/bin/bash
#SBATCH --nodes=1 --ntasks-per-node=1
set -eu
head=\$(scontrol show hostnames "\$SLURM_JOB_NODELIST" | head -n 1)
srun --ntasks-per-node=1 "$TRACER" run -q -o "\$TMPDIR/trace.zst" -- \\
	torchrun --nnodes "\$SLURM_NNODES" --nproc_per_node 2 --rdzv_backend c10d \\
	--rdzv_endpoint "\$head:$(free_port)" --rdzv_id "\$SLURM_JOB_ID" \\
	--redirects 2 --tee 1 --monitor_interval 0.2 --log_dir "$S/torch-logs" \\
	"$WL/ddp_train.py" --slow prep --name slurm --truth "$S/shared/truth.json"
srun --ntasks-per-node=1 "$ANALYZE" "\$TMPDIR/trace.zst" -q --json "$S/shared/rank-%n.json"
"$ANALYZE" --merge "$S"/shared/rank-*.json --json "$S/shared/job.json" >"$S/shared/job.txt"
EOF
chmod +x "$S/job.sh"
out=$(TMPDIR=$S/node-tmp timeout 600 sbatch --wait --output="$S/job.out" "$S/job.sh" 2>&1)
rc=$?
jobid=$(sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p' <<<"$out")
if [ $rc -ne 0 ]; then
	fail "the batch job failed (exit $rc): $out; $(tail -5 "$S/job.out")"
	find "$S/torch-logs" -name stderr.log -exec tail -n 5 {} + 2>/dev/null
	finish
fi
ok "the batch job (job $jobid) ran the recipe"
check "srun tracer run wrote the node's trace" test -s "$S/node-tmp/trace.zst"
check "srun analyze --json rank-%n.json: the node's report, %n the node id" \
	test -s "$S/shared/rank-0.json"
check "analyze --merge: the straggler's rank and own cause, the Slurm job" \
	"$PY" - "$S/shared/job.json" "$S/shared/truth.json" "$jobid" <<'PY'
import json, sys
d, t = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
s, ts = d["straggler"], t["straggler"]
print("straggler", s, "truth", ts["rank"], ts["cause"], "slurm job", d["job"]["slurm_job_id"])
ok = (s is not None and s["rank"] == ts["rank"] and s["cause"] == ts["cause"] and
      d["job"]["slurm_job_id"] == sys.argv[3] and d["job"]["ranks"] == 2)
sys.exit(0 if ok else 1)
PY
check "the merged report names the straggler on top" grep -q "^VERDICT  rank 1 is the straggler" \
	"$S/shared/job.txt"
grep -h "^VERDICT" "$S/shared/job.txt"
finish
