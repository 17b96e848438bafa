/* SPDX-License-Identifier: MIT */
/* User-space probes (CUDA, --uprobe, step markers): see probes.c. */
#ifndef ST_PROBES_H
#define ST_PROBES_H

#include "tracer.h"

/* What --steps probes: the marker library a job calls (include/stalltrace_mark.h). */
#define ST_MARK_LIB	"libstalltrace_mark.so"
#define ST_MARK_SYM	"stalltrace_step"
/* PyTorch's loss.backward() (and torch.autograd.grad) from Python: 1.x exports the
 * function, 2.x (2.11 seen) keeps it static (_ZL, in .symtab); names split at "|" */
#define ST_TORCH_LIB	"libtorch_python.so"
#define ST_TORCH_SYM	"_Z22THPEngine_run_backwardP7_objectS0_S0_|" \
			"_ZL22THPEngine_run_backwardP7_objectS0_S0_"

struct probes;
struct stalltrace_bpf;

/* What to probe, from --cuda and --uprobe; starts the worker thread if anything. */
int probes__new(struct probes **p, struct stalltrace_bpf *skel, struct sink *sink,
		const struct tracer_opts *o);
/* Queues: probe the wanted libraries where the dynamic linker would find them. */
void probes__resolve(struct probes *p);
/* Queues: probe the wanted libraries pid has mapped. */
void probes__scan_pid(struct probes *p, pid_t pid);
/*
 * Thread tid's open of `path` returned `fd` (`id`: its identity from the trace, or
 * NULL): if the name is a wanted library's, probe that file (in the worker).
 */
void probes__saw_open(struct probes *p, pid_t tid, int fd, const char *path,
		      const struct st_sc_fd *id);
/* Waits until the worker is idle, at most `ns`; false on a timeout. */
bool probes__wait(struct probes *p, __u64 ns);
/*
 * Records at or before this time may be written: an attach in flight holds back
 * the calls it may time until its definition is queued.  UINT64_MAX: no hold.
 */
__u64 probes__hold(struct probes *p);
/* Queues the probe definitions found, prints the worker's messages. */
void probes__poll(struct probes *p);
bool probes__wanted(const struct probes *p);
/* Whether probe `id` marks steps (known once its definition was polled). */
bool probes__is_step(const struct probes *p, __u32 id);
/* Whether a traced process opened or mapped a CUDA library, the step-marker library. */
bool probes__cuda_seen(struct probes *p);
bool probes__marker_seen(struct probes *p);
/* Stops the worker, delivers its last results, detaches every probe. */
void probes__stop(struct probes *p);
void probes__free(struct probes *p);

#endif
