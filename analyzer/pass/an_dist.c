// SPDX-License-Identifier: MIT
/*
 * Distributed jobs, during the pass: which rank of which job each process is, from
 * the ENV records the tracer writes (docs/trace-format.md).  A process forked
 * without an exec keeps its parent's identity; an exec brings its own record.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "an_core.h"

/* A non-negative decimal integer, or -1. */
static int32_t int_of(const char *v)
{
	char *end;
	long n;

	if (!v || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	return errno || *end || n > INT32_MAX ? -1 : (int32_t)n;
}

static void copy(char *dst, size_t cap, const char *v)
{
	size_t n = strnlen(v, cap - 1);

	memcpy(dst, v, n);
	dst[n] = '\0';
}

/*
 * The keys in order of precedence: torchrun's own (it sets them for every worker,
 * also under Slurm or MPI, where the launcher's keys describe the agent), then the
 * MPI launchers', then Slurm's (one task per rank when the job is launched by srun).
 */
static const char *const rank_keys[] = {
	"RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID",
};
static const char *const local_keys[] = {
	"LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID",
};
static const char *const world_keys[] = {
	"WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_NTASKS",
};
static const char *const node_keys[] = { "GROUP_RANK", "SLURM_NODEID" };

/* The value of the first key of `keys` present: its index, or -1. */
static int pick(const struct st_event *ev, const char *const *keys, int nkeys, int32_t *out)
{
	int best = nkeys;
	const char *k = NULL, *v;

	*out = -1;
	while (st_env_next(ev, &k, &v)) {
		for (int i = 0; i < best; i++) {
			if (!strcmp(k, keys[i]) && int_of(v) >= 0) {
				best = i;
				*out = int_of(v);
			}
		}
	}
	return best < nkeys ? best : -1;
}

#define PICK(ev, keys, out) pick(ev, keys, (int)(sizeof(keys) / sizeof(keys[0])), out)

static void strings(const struct st_event *ev, struct ident *id)
{
	const char *k = NULL, *v;

	while (st_env_next(ev, &k, &v)) {
		if (!strcmp(k, "TORCHELASTIC_RUN_ID"))
			copy(id->run_id, sizeof(id->run_id), v);
		else if (!strcmp(k, "MASTER_ADDR"))
			copy(id->master_addr, sizeof(id->master_addr), v);
		else if (!strcmp(k, "MASTER_PORT"))
			id->master_port = int_of(v);
		else if (!strcmp(k, "SLURM_JOB_ID"))
			copy(id->slurm_job, sizeof(id->slurm_job), v);
		else if (!strcmp(k, "CUDA_VISIBLE_DEVICES"))
			copy(id->devices, sizeof(id->devices), v);
	}
}

void dist__env(struct an *a, const struct st_event *ev)
{
	struct proc *p = an__proc(a, ev->env.pid);
	struct ident id = { .master_port = -1 };
	int k;

	if (!p)
		return;
	k = PICK(ev, rank_keys, &id.rank);
	id.rank_key = k >= 0 ? rank_keys[k] : NULL;
	PICK(ev, local_keys, &id.local_rank);
	PICK(ev, world_keys, &id.world_size);
	PICK(ev, node_keys, &id.node_rank);
	strings(ev, &id);
	/* the record replaces what the process had (an exec starts afresh) */
	if (id.rank < 0 && !id.run_id[0] && !id.master_addr[0] && !id.slurm_job[0]) {
		free(p->id);
		p->id = NULL;
		return;
	}
	if (!p->id && !(p->id = malloc(sizeof(*p->id))))
		return;
	*p->id = id;
	if (id.rank >= 0)
		a->have_ranks = true;
}

void dist__inherit(struct proc *child, const struct proc *parent)
{
	if (!parent || !parent->id || child->id || !(child->id = malloc(sizeof(*child->id))))
		return;
	*child->id = *parent->id;
}

bool dist__is_rank(const struct proc *p)
{
	return p && p->id && p->id->rank >= 0;
}
