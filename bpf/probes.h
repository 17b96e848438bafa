/* SPDX-License-Identifier: MIT */
/* User-space probes (CUDA, --uprobe, step markers): see probes.c. */
#ifndef ST_PROBES_H
#define ST_PROBES_H

#include "tracer.h"

struct probes;
struct stalltrace_bpf;

/* What to probe, from --cuda and --uprobe; nothing is attached yet. */
int probes__new(struct probes **p, struct stalltrace_bpf *skel, struct sink *sink,
		const struct tracer_opts *o);
/* Probes the wanted libraries where the dynamic linker would find them. */
void probes__resolve(struct probes *p);
/* Probes the wanted libraries pid has mapped. */
void probes__scan_pid(struct probes *p, pid_t pid);
/* A traced thread opened `path`: look at it at the next poll. */
void probes__saw_open(struct probes *p, const char *path);
void probes__poll(struct probes *p);
bool probes__wanted(const struct probes *p);
/* Whether a traced process opened or mapped a CUDA library. */
bool probes__cuda_seen(const struct probes *p);
void probes__free(struct probes *p);

#endif
