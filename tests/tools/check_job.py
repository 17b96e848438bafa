#!/usr/bin/env python3
"""check_job.py NAME VERDICT REPORT.json TRUTH.json [TRACE]: what `analyze` says about one
of the reference jobs of tests/workloads/torch_jobs.py (issue 13), against the job's own ground
truth (tests/workloads/README.md).  Prints one ok/FAIL line per check; exit 1 when any
check fails, 3 when the trace itself is unusable (the tracer lost the wakers: issue 11),
so that the caller can trace the job again.

Every check holds on a busy machine: where load changes the answer, the job's own
figures decide (its run queue, its time in next()).
  - the truth itself: its window is wall_s, its samples are steps x batch size;
  - main thread: the job's own tid;
  - a pin-memory thread (the job's epochs[].pin_memory_tid): listed as a relay;
  - steps: within 2% of the job's steps (at least 1; a window of N takes has N-1
    steps);
  - loader wait: dataloader_wait within 0.05 of the job's time in next() (the last
    next() of each epoch in the window included: StopIteration shuts a pool down; a
    validation loop's next() calls are loader wait too, and its batches no steps:
    steps.other_loader_batches within one per loop of the job's val[].batches); with
    num_workers=0 the loading is the main thread's own (compute): dataloader_wait under
    0.05, steps from its own periodic pattern, and the report says so;
  - verdict: the table's, or cpu_contention when the job's own run queue is as large as
    its cause (a loaded machine), or compute when its cause is under the threshold;
  - with TRACE ($ANALYZE --dump reads it), where the job's schedstat figures are not
    to be trusted, the kernel's own switch and wakeup records in the job's own
    intervals are the truth;
  - and what each class of job is about (docs/analysis.md, "Job classes").
"""
import json
import os
import re
import subprocess
import sys

TOL = 0.05
ANALYZE = os.environ.get("ANALYZE", "analyze")
TRACE = None


def main():
    global TRACE
    name, verdict, rp, tp = sys.argv[1:5]
    TRACE = sys.argv[5] if len(sys.argv) > 5 else None
    d = json.load(open(rp))
    t = json.load(open(tp))
    if any(w.startswith("attribution is unreliable") for w in d["trace"]["warnings"]):
        print("RETRY %s: the tracer lost the wakers (issue 11): %s" % (name, d["trace"]["warnings"]))
        return 3
    wall, m, job = t["wall_s"], t["main"], t["job"]
    f = {k: (v / wall if isinstance(v, (int, float)) else v) for k, v in m.items()}
    f["attach"] = "(attach" in name  # t_jobs.sh names a check "NAME (MODE)"
    bd, dl, st = d["breakdown"], d["dataloader"], d["steps"]
    workers = t["loader"]["num_workers"]
    runq = f["runq_wait_s"]
    checks = []

    def check(what, ok, detail):
        checks.append((what, ok, detail))

    span = (t["window"]["end_ns"] - t["window"]["start_ns"]) / 1e9
    samples = sum(w["samples"] for w in t["workers"]) + t["loader"]["main_samples"]
    check("the job's truth: its window, its samples", abs(span - wall) < 1e-3 and
          samples == t["steps"] * t["batch_size"],
          "window %.3f s, wall %.3f s; %d samples, %d steps x %d" %
          (span, wall, samples, t["steps"], t["batch_size"]))
    # attach mode: the gate opens once the tracer says it is attached, so the trace
    # holds the whole window; where it does not, the run itself went wrong
    late = d["trace"]["start_ns"] - t["window"]["start_ns"]
    check("the trace holds the job's window", late <= 0,
          "the trace starts %.1f ms %s the window" % (abs(late) / 1e6, "after" if late > 0 else "before"))
    check("main thread", d["main"]["tid"] == t["main_tid"],
          "%s vs %s" % (d["main"]["tid"], t["main_tid"]))
    pins = [e["pin_memory_tid"] for e in t.get("epochs", []) if e.get("pin_memory_tid")]
    if pins:
        relays = [r["tid"] for r in dl.get("relays", [])]
        check("the pin-memory thread is a relay", pins[-1] in relays,
              "the last epoch's pin-memory thread %d, relays %s" % (pins[-1], relays))
    check("switch sequences", *switch_sequences(d["trace"]))
    # 2% of the steps, 2 at least: a short job's window edges under load (pt_pin_hogs
    # attached beside its hogs in a clean clone's CI: 52 for 50, an epoch's unseen
    # tail placed 2 steps early at the window's end; pt_pin_tail 51-53 for 52 in 10
    # kept traces)
    tol = max(2, round(0.02 * t["steps"]))
    # a process pool's results (--mp-pool): the loop takes most of them without a
    # call, each counted from the pool's receipts and placed by the loop's CPU, said
    # on top as estimates; the job's own bookkeeping at its window's start is CPU the
    # places cannot tell from steps' (pt_mppool: 113 of 118 in the window of one run
    # trace of 4, every batch counted in the trace): 5% at the window's edges
    if t["loader"].get("mp_pool") and any("unseen" in w and "estimates" in w
                                          for w in d["trace"]["warnings"]):
        tol = max(tol, round(0.05 * t["steps"]))
    # the steps the report says it could not count: an epoch's last batches taken from a
    # pin-memory queue or the loader's cache, full when the tracer attached (prefetch x
    # workers) (where the pool's next epoch said how many, they are counted: no allowance)
    blind = [w for w in d["trace"]["warnings"]
             if "filled before the trace began" in w and "may be missing" in w]
    unseen = workers * t["loader"].get("prefetch_factor", 2) if blind and f["attach"] else 0
    f["blind"] = bool(blind) and f["attach"]
    # the steps the report counted unseen, from a persistent pool's next prefetch
    f["lent"] = sum(int(m.group(1)) for w in d["trace"]["warnings"]
                    for m in [re.search(r"(\d+) of its last steps, unseen, are counted", w)] if m)
    # fewer than a prefetch (prefetch_factor x num_workers): the pool's resume was not
    # read as one (KNOWN_MISS below)
    f["short_resume"] = 0 < f["lent"] < workers * t["loader"].get("prefetch_factor", 2)
    # (a step counts where it starts, in the report as in the job: no fencepost allowance)
    steps_ok = (t["steps"] - tol - unseen <= st["count"] <= t["steps"] + tol and
                (workers or st["method"] == "activity_period"))
    f["steps_over"] = st["count"] - t["steps"] - tol
    f["steps_ratio"] = st["count"] / max(1, t["steps"])
    check("steps", steps_ok,
          "%d vs the job's %d (method %s)%s%s" % (st["count"], t["steps"], st["method"],
                                                  ", up to %d not counted, said on top" % unseen
                                                  if unseen else "",
                                                  "" if steps_ok else "; " + step_places(t, st)))
    advice = " ".join(d["verdict"]["advice"])
    if workers:
        # the for loop's last next() of an epoch (StopIteration: a pool shuts down) is
        # time in next() too; the window ends before the last epoch's.  Its waits for
        # the workers to exit are loader waits, its own teardown work on the main
        # thread is compute (or cpu_contention while it waits for a CPU): on a loaded
        # machine that part grows (0.115 of a window once, against 0.01 usually)
        # So is an iter() in the window: a persistent pool's reset waits for each
        # worker's answer, and where the loop left its epoch early, for the batches
        # still on their way, read and dropped (70 ms an epoch for pt_ep_break_pers)
        ends = (sum(e.get("end_s", 0) for e in t.get("epochs", [])[:-1]) +
                sum(e.get("iter_s", 0) for e in t.get("epochs", [])
                    if e.get("iter_ns", 0) >= t["window"]["start_ns"]) +
                sum(v["end_s"] for v in t.get("val", []))) / wall
        # with a GIL-bound thread beside the loop, next() also waits for the GIL:
        # lock_wait, shown in the time in next() beside the loader wait
        gil_job = bool(t.get("gil_thread"))
        got = dl["time_in_next_fraction"] if gil_job else bd["dataloader_wait"]
        # next()'s own code on the CPU past its tail is compute in the report; what the
        # hypervisor stole there stretched it (a munmap of 6.8 ms on the CPU, 0.04 of a
        # window in next() once, idle): the main thread's stolen time off the bound
        took = d["main"]["stolen_s"] / wall
        # with the GIL handed back and forth, next() runs its own code between its GIL
        # waits (unpickling, putting the next index: 0.023-0.030 of pt_gil_w2's window,
        # 0.05 with the loader wait in CI once): on its CPU, compute in the report,
        # which time_in_next_fraction leaves out (docs/analysis.md, "Time in next()")
        own = (f.get("next_oncpu_s") or 0) if gil_job else 0
        check("time in next() (loader wait + the GIL in it)" if gil_job else
              "loader wait = time in next()",
              f["batch_wait_s"] - own - TOL - took <= got <= f["batch_wait_s"] + ends + TOL and
              bd["dataloader_wait"] <= dl["time_in_next_fraction"] + 1e-6,
              "%.3f vs %.3f (%.3f of it ending and starting epochs, %.3f next()'s own CPU; "
              "loader wait %.3f, the GIL in next() %.3f)" %
              (got, f["batch_wait_s"] + ends, ends, own, bd["dataloader_wait"],
               dl.get("gil_in_next_fraction", 0)))
        cause = f["gil_wait_s"] if gil_job else f["batch_wait_s"]
    else:
        # the advice goes with the steps of the thread's own pattern (none: the steps check)
        check("num_workers=0: no loader wait, loading is compute", bd["dataloader_wait"] <= TOL and
              ("num_workers=0" in advice or "num_workers>0" in advice or not st["count"]),
              "dataloader_wait %.3f" % bd["dataloader_wait"])
        cause = f.get("gil_wait_s", 0)
        if t["loader"].get("memmap"):
            cause = memmap(d, t, f, check)
    want = {verdict}
    if runq >= cause - TOL and runq >= 0.15 - TOL:
        want.add("cpu_contention")
    if cause < 0.15 + TOL:
        want.add("compute")
    # a job whose workers keep up at rest may fall behind on a loaded machine: the
    # workers that decode share the CPUs with the load (pt_ep_w4_pf2_pers beside an
    # analysis at nice 10: the job's own time in next() 0.52 of its window, its run
    # queue 0.42); where its time in next() is then its largest wait, the loader is.
    # Near STALL_MIN either verdict is true: as for the run queue above, the job's time
    # in next() within TOL of it lets the report's loader wait (held to TOL of the
    # job's) cross it (pt_valnp_pin_pers attached in a CI run at f554376: the job 0.20
    # in next(), the report 0.22, dataloader_prep where compute alone was wanted)
    if workers and verdict in ("compute", "cpu_contention") and \
            f["batch_wait_s"] >= 0.15 - TOL and f["batch_wait_s"] >= runq - TOL:
        want.add("dataloader_prep")
    check("verdict", d["verdict"]["primary"] in want,
          "%s (want %s; the job: cause %.2f, run queue %.2f; analyze: loader %.2f, lock %.2f, "
          "CPU %.2f)" % (d["verdict"]["primary"], "/".join(sorted(want)), cause, runq,
                         bd["dataloader_wait"], bd["lock_wait"], bd["cpu_contention"]))
    if verdict.startswith("dataloader") and d["verdict"]["primary"].startswith("dataloader"):
        check("not prep when the workers wait", d["verdict"]["primary"] == verdict,
              "%s (want %s)" % (d["verdict"]["primary"], verdict))
    CLASS.get(job, lambda *a: None)(d, t, f, check)
    if t["loader"].get("intra_op_threads", 1) > 1:
        intra_op(d, t, f, check)
    if TRACE:
        stolen(d, t, check)
    srv = t.get("server") or {}
    if srv.get("started_by") == "job":
        # a program the job launched (subprocess.Popen of python3 featsrv.py): no
        # worker, no pool of its own, and its states (asleep between requests) are
        # not the workers' (theirs: under 1% asleep, by the job's own clock)
        pids = [w["pid"] for w in dl["worker_list"]]
        asleep = sum(w["sleep_s"] + w["lock_wait_s"] for w in t["workers"]) / \
            max(1e-9, sum(w["oncpu_s"] + w["net_s"] + w["sleep_s"] for w in t["workers"]))
        check("the job's own server is no worker", dl["workers"] == len(t["workers"]) and
              srv["pid"] not in pids and dl["pools"] == 1 and
              dl["sleep_fraction"] <= asleep + TOL,
              "%d workers %s, %d pools, asleep %.2f; the job's %d, server %d, asleep %.2f" %
              (dl["workers"], pids, dl["pools"], dl["sleep_fraction"], len(t["workers"]),
               srv["pid"], asleep))
    bad = 0
    for what, ok, detail in checks:
        known = KNOWN_MISS.get((t["scenario"], what)) or KNOWN_MISS.get((job, what))
        miss = not ok and known and known[0](f) and known[1]
        print("%s %s: %s: %s%s" % ("ok  " if ok else "KNOWN MISS" if miss else "FAIL", name, what,
                                  detail, " (%s)" % miss if miss else ""))
        bad += not ok and not miss
    return 1 if bad else 0


# Misses open in issue 13, said on every run but not failed, so that the rest gates:
# (job or scenario, check) -> (where it is known to miss, by the job's own figures; why).
KNOWN_MISS = {
    # num_workers=0 only (no schedstat around next(): next_runq_s is None); with workers
    # the steps are the takes, and they gate
    ("gil", "steps"): (lambda f: f["runq_wait_s"] < 0.05 and f.get("next_runq_s") is None,
                       "issue 13, open: on an idle machine "
                       "the GIL-bound main thread's CPU per step is bimodal (13 or 24 ms), and "
                       "its own periodic pattern gave 29, 0 or 119 steps for 60 in 3 of 16 idle "
                       "traces (59 in every trace on a busy one); the 29 and 0 are mended "
                       "(goldens nw0_regimes, nw0_sharpish, nw0_bimodal: 29 came again at "
                       "c6f2938), the 119 came again in attach mode in an idle clean clone at "
                       "fe03558, and in 1 of 8 idle traces at f552804: there the step's two "
                       "clock reads' places differ in spread (sd 3 and 10 ms of CPU) but "
                       "neither in mean by 4 standard errors nor in the lag-1/lag-2 median "
                       "of differences beyond its bound (2.0, bound 2.29), and a variance "
                       "test that lognormal step times pass (ratio up to 17 at n=60) "
                       "cannot tell its 10"),
}
# pin memory with workers faster than the steps: the loop seldom waits in next().  The
# report's loader wait ran 0.02-0.06 of the window over the job's time in next() (the
# time runnable after the pin-memory thread handed the GIL back during the step); since
# 2026-12-03 it is a wait for a CPU there, and 48 kept pin-memory traces are within
# 0.022 of the job's next() (0.051 before), so the loader wait gates again.  The verdict
# stays said, not gated: such a loop's loader wait and run queue lie near each other
# and near STALL_MIN (0.15), and have not been seen often enough since.
_PIN_FAST = (lambda f: f["batch_wait_s"] < 0.2,
             "issue 13, open: in a pin-memory job whose workers outrun the steps the verdict "
             "lies between the loader, the CPU and compute")
for _s in ("pt_val_pin_pers", "pt_pin_hogs"):
    KNOWN_MISS[(_s, "verdict")] = _PIN_FAST
# pin memory, persistent workers, a validation loop after each epoch: up to 3 of one
# loop's 12 batches went uncounted, neither validation batches nor steps (21 for 24
# with 110 steps for 110: clean clones of 13ff5ba in run mode and of b2e6c54 attached;
# 39459fe's analyzer reads both traces alike).  Those traces are not kept.  One cause
# found since: a new relay's first 2 batches counted for nobody where the loop waited
# on it (known as a relay at its third wake from a worker); they count now where the
# process has a relay already (golden relay_blind_valnp; 1 of 23 kept attached traces
# of this job, 23 -> 24).  Left: where the loop never waits on the new relay
# (golden relay_fork_blind, its KNOWN WRONG (1)).
KNOWN_MISS[("pt_val_pin_pers", "a validation loader's batches are no steps")] = (
    lambda f: f.get("val_off", 99) <= 3 or f.get("short_resume"),
    "issue 13, open: a pin-memory validation loop's batches, up to 3 uncounted; or the "
    "pool's resume after a validation loop misread")
# attached, pin memory, persistent workers, a validation loop after each epoch: where
# the first epoch's end was taken at the validation pool's fork, the training pool's
# resume after that loop was not read as one: its answers counted as batches, its
# prefetch as resume puts, the blind epoch's tail as 1 step of 6 (the report says so
# on top: "1 of its last steps, unseen, are counted"), the loaders not told apart:
# 116 steps for 110 under busy 500 at caafb32 (08616dd and 5d8bc44 alike), 1 of 6
# attached runs under heavy load since 5d8bc44 fixed the other cause of this
# signature (a vCPU's steal in a resume put).  Not found yet.
KNOWN_MISS[("pt_val_pin_pers", "steps")] = (
    lambda f: f["attach"] and f.get("short_resume"),
    "issue 13, open: an attached pin-memory pool's resume after a validation loop "
    "misread (said on top: fewer unseen steps counted than a prefetch)")

# loaders zipped, pools re-created each epoch (pt_zip_np): at an epoch's end, after the
# last step, one or two more takes read as steps (the other loader's batches of the
# tail): 91 for 88 attached in a clean clone's CI at 5f8f5a5 (1, 2 and 0 extra in its
# epochs) and in 1 of 3 traces here, run mode; e32f6f4's analyzer reads those traces
# alike (it passed CI 5 times).  Not found yet.
KNOWN_MISS[("pt_zip_np", "steps")] = (
    lambda f: 0 < f.get("steps_over", 99) <= 2,
    "issue 13, open: zipped loaders re-created each epoch, up to 2 takes at an epoch's "
    "end read as steps")

# the same with pools of two sizes (pt_zip_uneq: 3 workers and 1): a clean clone's CI at
# 6c694c1 read 81 steps for 78 in run mode, all 3 extra at its first epoch's end (a step
# split at 438 ms, and two takes after the last step, before the next iter()); the
# analyzers of d637328 and e32f6f4 read that trace alike, and the
# job had passed CI in every run before.  Not found yet.
KNOWN_MISS[("pt_zip_uneq", "steps")] = KNOWN_MISS[("pt_zip_np", "steps")]

# a process pool attached where its workers had run ahead of the loop (pt_mppool in a
# clean clone's CI at 8f96054: 105 steps for 118, the first epoch 45 for 58; 1d6360b's
# analyzer 101 on that trace, 116 in its own CI): the queue held 40 results when the
# tracer came, the loop took them without a call, and its few waits then were for the
# Condition's lock, no new result among them; the loop's CPU a step, read from those
# waits, came out a step and a half (5.8 ms for 3.9), so the takes before them counted
# 26 for about 40.  Not mended yet; in run mode the steps gate.
_POOL_AHEAD = (lambda f: f["attach"] and f.get("steps_ratio", 0) >= 0.85,
               "issue 13, open: a process pool attached with its results queued: the "
               "loop's CPU a step read long, its first takes undercounted")
for _s in ("pt_mppool", "pt_ppexec"):
    KNOWN_MISS[(_s, "steps")] = _POOL_AHEAD

# attached within the training epoch, pin memory on both loaders (pt_val_mid_pin): where
# the loop's pin-memory queue was full when the tracer came, the first validation
# loop's fork was read as the end of that blind epoch (said on top: "... may be
# missing"), and that loop's batches were not told apart (16 in 4 loops for 20 in 5,
# with 79 steps for 78: 1 of 5 kept attached traces, 3 of them beside busy --disk)
KNOWN_MISS[("pt_val_mid_pin", "a validation loader's batches are no steps")] = (
    lambda f: f.get("blind") and f.get("val_off", 99) <= 4,
    "issue 13, open: attached with a full pin-memory queue, the first validation loop "
    "read as the end of the blind epoch (said on top)")


def step_places(t, st):
    """Where the report's steps and the job's part (a failure's clue, CI's log being all
    there is of it): the job's steps no report step starts within 3 ms of, and the
    report's no job step starts near, in ms from the window's start, beside the
    epochs' and validation loops' iter() calls."""
    w0 = t["window"]["start_ns"]
    truth = [(s - w0) / 1e6 for s in t["step_start_ns"]]
    rep = [(s - w0) / 1e6 for s in st.get("starts_ns", [])]
    near = lambda x, ys: any(abs(x - y) < 3 for y in ys)
    ms = lambda xs: "[" + " ".join("%.1f" % x for x in xs[:12]) + \
        (" ...%d more" % (len(xs) - 12) if len(xs) > 12 else "") + "]"
    return "job's steps unmatched %s, report's %s, epochs' iter() %s, validation %s" % (
        ms([x for x in truth if not near(x, rep)]), ms([y for y in rep if not near(y, truth)]),
        ms([(e["iter_ns"] - w0) / 1e6 for e in t.get("epochs", []) if e.get("iter_ns")]),
        ms([(v["iter_ns"] - w0) / 1e6 for v in t.get("val", []) if v.get("iter_ns")]))


def switch_sequences(tr):
    """Every switch fits its thread's sequence (a report's "trace"): a switch in the
    kernel did not show is placed by the next switch out's ran= (the main thread of a
    compute job, back unseen after the VM's agent preempted it, read as waiting for a
    CPU until then).  (ok, detail); tests/t_analyze_e2e.sh checks it too."""
    return (tr["dropped_events"] > 0 or tr["inconsistent_sched"] == 0,
            "%d inconsistent, %d switches in placed by ran=, %d dropped" %
            (tr["inconsistent_sched"], tr["unseen_switches_in"], tr["dropped_events"]))


_SWITCHES = {}


def sched_events(trace):
    """The trace's switch and wakeup records ($ANALYZE --dump), decoded once a trace."""
    if trace not in _SWITCHES:
        out = subprocess.run([ANALYZE, "--dump", trace], capture_output=True, text=True,
                             check=True)
        _SWITCHES[trace] = [e for e in map(json.loads, out.stdout.splitlines())
                            if e["type"] in ("switch", "wakeup")]
    return _SWITCHES[trace]


def stolen_in_window(trace, t):
    """The time the switch records say was stolen from the main thread inside the job's
    window (an interval's share of its stolen=, by the clock).  No more than the
    interval, as the report takes it: the run queue's clock may be stale at the switch
    in (a skipped update), and one record held 4.7 ms for 0.17 ms on the CPU
    (docs/trace-format.md)."""
    tid, w0, w1 = t["main_tid"], t["window"]["start_ns"], t["window"]["end_ns"]
    took, since = 0, None
    for e in sched_events(trace):
        if e["type"] != "switch":
            continue
        if e["prev_tid"] == tid:
            if since is not None and e["ts"] > since:
                part = max(0, min(e["ts"], w1) - max(since, w0))
                took += min(e.get("stolen", 0), e["ts"] - since) * part / (e["ts"] - since)
            since = None
        if e.get("next_tid") == tid:
            since = e["ts"]
    return took / 1e9


def stolen(d, t, check):
    """Time the hypervisor took from the main thread (steal): the report's is the switch
    records', and no more than the machine's own steal (/proc/stat) in the window.
    (Its CPU time by the clock less the stolen time is not compared with the job's
    schedstat figure: the kernel charges a woken task from a clock read before the
    switch that brings it in, 3-15 us a switch more than it ran in a futex ping-pong
    here, 0.1-0.3 s of a GIL-bound main thread's 2 s.)"""
    took = stolen_in_window(TRACE, t)
    rep = d["main"]["stolen_s"]
    check("stolen from the main thread: the switch records'", abs(rep - took) <= max(0.005, 0.05 * took),
          "%.3f s vs %.3f s" % (rep, took))
    if "steal_s" in t.get("machine", {}):
        check("no more stolen than the machine's steal", rep <= t["machine"]["steal_s"] + 0.05,
              "%.3f s vs %.3f s (/proc/stat)" % (rep, t["machine"]["steal_s"]))


def gil(d, t, f, check):
    lock = d["breakdown"]["lock_wait"]
    # with workers, blocked in next() may be the loader's: the lower bound is the
    # time blocked outside it.  The job's blocked figure is its wall time less its CPU
    # time and run queue (schedstat), which leave out what the hypervisor stole while
    # it ran: the report's stolen time comes off the bound (0.46 s of 6.2 once, idle)
    lo = f["gil_outside_next_s"] if t["loader"]["num_workers"] else f["gil_wait_s"]
    lo -= d["main"]["stolen_s"] / t["wall_s"]
    check("lock_wait between the GIL blocked (outside next() with workers) and blocked + run queue",
          lo - TOL <= lock <= f["gil_wait_with_runq_s"] + TOL,
          "%.3f in [%.3f, %.3f]" % (lock, lo, f["gil_wait_with_runq_s"]))
    check("the GIL named", d["lock"]["gil_s"] >= 0.5 * d["breakdown_s"]["lock_wait"] > 0,
          "gil_s %.3f of lock_wait %.3f s" % (d["lock"]["gil_s"], d["breakdown_s"]["lock_wait"]))
    # who held it longest over the window (the top stalls may all be other waits on
    # a loaded machine)
    holder = d["lock"].get("gil_holder")
    check("the GIL's holder is the Python thread", bool(holder) and
          holder["tid"] == t["gil_thread"]["tid"],
          "%s vs %s" % (holder, t["gil_thread"]["tid"]))


def intra_op(d, t, f, check):
    """An intra-op team (torch.set_num_threads > 1): the main thread waits at its
    barriers, outside next(), and no Python thread of the job holds the GIL long."""
    io = d["lock"].get("intra_op_fraction", 0)
    out = f.get("blocked_outside_next_s") or 0.0    # (None without --step-sched)
    lo = out - d["main"]["stolen_s"] / t["wall_s"]
    # a wait counts until the thread runs again: its run queue after the wake too
    check("intra-op barrier waits between the time blocked outside next() and that + run queue",
          lo - TOL <= io <= out + f["runq_wait_s"] + TOL,
          "%.3f in [%.3f, %.3f]" % (io, lo, out + f["runq_wait_s"]))
    # the queue feeders' GIL hand-offs are all there is of the GIL in such a job,
    # unless it has a GIL-bound thread (--gil-thread: its own checks)
    if t.get("gil_thread"):
        return
    check("no intra-op wait read as the GIL", d["lock"]["gil_fraction"] <= TOL and
          d["lock"]["gil_fraction"] <= d["breakdown"]["lock_wait"] - io + 1e-6,
          "gil %.3f, intra-op %.3f, lock_wait %.3f" % (d["lock"]["gil_fraction"], io,
                                                     d["breakdown"]["lock_wait"]))


def waiting_workers(kind):
    def c(d, t, f, check):
        dl = d["dataloader"]
        fr = {"sleep": dl["sleep_fraction"], "network": dl["network_fraction"],
              "fetch": dl["fetch_fraction"]}
        check("the workers' wait: %s" % kind, max(fr, key=fr.get) == kind and fr[kind] > dl["prep_fraction"],
              "%s, prep %.2f" % (" ".join("%s %.2f" % kv for kv in fr.items()), dl["prep_fraction"]))
        words = {"sleep": "slept or waited on locks", "network": "network"}[kind]
        if d["verdict"]["primary"] == "dataloader_fetch":
            check("the evidence says %s" % words, words in " ".join(d["verdict"]["advice"]),
                  d["verdict"]["advice"][0])
    return c


def hogs(d, t, f, check):
    cpu, mach = d["cpu"], t["machine"]
    check("spare CPUs = the machine's idle", abs(cpu["spare_cpus"] - mach["idle_cpus"]) <= 0.2,
          "%.2f vs %.2f" % (cpu["spare_cpus"], mach["idle_cpus"]))
    check("no 'add workers' on a saturated machine",
          not any("add workers" in a for a in d["verdict"]["advice"]), d["verdict"]["advice"][0])
    comp = {c["pid"]: c["cpu_s"] for c in cpu["competitors"]}
    for o in [o for o in mach["others"] if o["cpu_s"] >= 0.25 * t["wall_s"]][:2]:
        got = comp.get(o["pid"])
        check("competitor %s(%d) named with its CPU time" % (o["comm"], o["pid"]),
              got is not None and abs(got - o["cpu_s"]) <= max(0.3, 0.25 * o["cpu_s"]),
              "%s vs %.2f CPU-s" % (got, o["cpu_s"]))


def runnable_in_next(trace, t):
    """The main thread's time runnable without a CPU inside the job's own next() calls,
    from the kernel's records in the trace: preempted (a switch out in state R) or
    woken (a wakeup) until its next switch in.  The job's schedstat figure
    (next_runq_ns) is the same thing, but the kernel's run_delay also counts a
    sleeping thread's time once load balancing moved it between CPUs while it slept
    (delayed dequeue): it can exceed the call's own length."""
    tid, spans, since = t["main_tid"], [], None
    for e in sched_events(trace):
        if e["type"] == "wakeup" and e["tid"] == tid and since is None:
            since = e["ts"]
        elif e["type"] == "switch" and e["prev_tid"] == tid:
            since = e["ts"] if e["prev_state"] == "R" else None
        elif e["type"] == "switch" and e.get("next_tid") == tid:
            if since is not None:
                spans.append((since, e["ts"]))
            since = None
    calls = [(s - n, s) for s, n in zip(t["step_start_ns"], t["next_ns"])]
    return sum(max(0, min(b, y) - max(a, x)) for a, b in calls for x, y in spans) / 1e9


def next_cpu(d, t, f, check):
    dl = d["dataloader"]
    check("time in next()", abs(dl["time_in_next_fraction"] - f["batch_wait_s"]) <= TOL,
          "%.3f vs %.3f" % (dl["time_in_next_fraction"], f["batch_wait_s"]))
    if not TRACE:
        return
    rq = runnable_in_next(TRACE, t) / t["wall_s"]
    got = dl["runnable_after_arrival_fraction"]
    # after the batch arrived: a part of all the runnable time in next()
    check("of it, waiting for a CPU after the batch arrived", abs(got - rq) <= TOL and
          got <= f["next_runq_s"] + TOL,
          "%.3f; the kernel's records in the job's next() calls %.3f, its schedstat %.3f"
          % (got, rq, f["next_runq_s"]))


def epochs(d, t, f, check):
    dl, lo = d["dataloader"], t["loader"]
    check("pool size", dl["pool_size"] == lo["pool_size"], "%d vs %d" % (dl["pool_size"], lo["pool_size"]))
    check("pools", dl["pools"] == lo["pools"], "%d vs %d" % (dl["pools"], lo["pools"]))
    val = t.get("val", [])
    if val:
        st = d["steps"]
        # a loop's first or last take may be found a batch off (an epoch's tail, a
        # persistent pool's resume): one per loop at most.  Where the report says on top
        # that an epoch's last steps were behind a queue filled before the trace and
        # counted from the pool's next prefetch, the validation loop that came between
        # may have lent some of its batches to that count (pt_val_pin_pers attach: 21
        # for 24 with 110 steps for 110, the analyzers of 39459fe and b2e6c54 alike)
        f["val_off"] = abs(st["other_loader_batches"] - sum(v["batches"] for v in val)) - \
            len(val) - f["lent"]
        check("a validation loader's batches are no steps",
              f["val_off"] <= 0 and st["other_loader_loops"] == len(val),
              "%d batches in %d loops vs the job's %d in %d%s" %
              (st["other_loader_batches"], st["other_loader_loops"],
               sum(v["batches"] for v in val), len(val),
               ", up to %d lent to the steps counted unseen, said on top" % f["lent"]
               if f["lent"] else ""))
    vpers = lo.get("val_persistent_workers", lo["persistent_workers"])
    if not lo["persistent_workers"] or (val and not vpers):
        # every new pool's first batch: the training loader's at each epoch, the
        # validation loader's at each loop but its first (no loader's workers were
        # there before it: no re-creation), each where its loader is not persistent
        lost = (0 if lo["persistent_workers"] else
                sum(e["first_batch_s"] for e in t["epochs"][1:])) + \
            (0 if vpers else sum(v["first_batch_s"] for v in val[1:]))
        check("the time lost re-creating workers", abs(dl["recreate_s"] - lost) <= max(0.05, 0.5 * lost),
              "%.3f vs the job's first batches %.3f s" % (dl["recreate_s"], lost))


def memmap(d, t, f, check):
    """num_workers=0 over an np.memmap (nanoGPT's get_batch()), the file's cache
    dropped before each batch: the main thread's own reads are page faults, no read
    call.  Its io_wait, less the wakeup latency the report keeps in it, is its time
    blocked in next() (neither on a CPU nor waiting for one, by the job's clock and CPU
    clock), plus at most the cache drops' file calls (on a CPU mostly: time in a file
    call is I/O by the report's rule); all of it reading (main_io.read_wait_s).
    Returns the cause's share for the verdict."""
    bd, mio = d["breakdown"], d["main_io"]
    lo, hi = f["next_blocked_s"], f["next_blocked_s"] + f["cache_drop_s"]
    wall = t["wall_s"]
    # a wait's wakeup latency (runnable after the I/O ended) is the wait's in the report
    # (docs/analysis.md) and the job's run queue in its own figures: off, to compare
    lat = min(bd["io_wait"], d["wakeup_latency_s"] / wall)
    check("memmap: io_wait = blocked in next() (page faults)",
          lo - TOL <= bd["io_wait"] - lat <= hi + TOL and
          bd["io_wait"] <= hi + f["next_runq_s"] + TOL and
          abs(mio["read_wait_s"] / wall - bd["io_wait"]) <= 0.01,
          "%.3f (%.3f of it runnable after the wakeup) vs the job's %.3f blocked in next(), "
          "%.3f in its cache drops, %.3f runnable; reading %.3f" %
          (bd["io_wait"], lat, lo, f["cache_drop_s"], f["next_runq_s"],
           mio["read_wait_s"] / wall))
    return lo


CLASS = {"gil": gil, "wk_sleep": waiting_workers("sleep"), "wk_lock": waiting_workers("sleep"),
         "wk_net": waiting_workers("network"), "prep": hogs, "next_cpu": next_cpu,
         "epochs": epochs}

if __name__ == "__main__":
    sys.exit(main())
