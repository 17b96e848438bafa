// SPDX-License-Identifier: MIT
/*
 * After the pass, across trainers: are they ranks of one distributed job, and is one
 * of them the straggler, the rank the others wait for (docs/analysis.md, "The
 * straggler")?
 *
 * Each rank's main thread left a list of its collective waits (struct coll): from
 * its arrival at a collective to the wakeup that ended it.  A collective ends on
 * every rank at about the same time, once the last rank has arrived; so the waits
 * of one collective all overlap the last arrival, and the rank that arrived last
 * starts its wait last, or does not wait at all.  Sorted by start, waits are grouped
 * into collectives greedily, each rank at most once; the others' waiting in each
 * collective is credited to the rank that arrived last.
 */
#include <stdlib.h>
#include <string.h>

#include "analysis.h"

#define MATCH_TOL_NS	500000ull	/* clock and wakeup jitter when matching waits */
#define MIN_COLLS	3		/* collectives matched before naming a straggler */

struct ep {
	uint64_t start, wake;
	uint32_t tr;
};

static int by_start(const void *x, const void *y)
{
	const struct ep *a = x, *b = y;

	return a->start < b->start ? -1 : a->start > b->start;
}

const char *trainer_name(const struct an_trainer *tr, char *buf, size_t len)
{
	if (tr->id.rank >= 0)
		snprintf(buf, len, "rank %d", tr->id.rank);
	else
		snprintf(buf, len, "pid %u", tr->pid);
	return buf;
}

/* Trainers of one job have the same run id, rendezvous address or Slurm job. */
static bool same_job(const struct ident *a, const struct ident *b)
{
	if (a->run_id[0] || b->run_id[0])
		return !strcmp(a->run_id, b->run_id);
	if (a->master_addr[0] || b->master_addr[0])
		return !strcmp(a->master_addr, b->master_addr) && a->master_port == b->master_port;
	return !strcmp(a->slurm_job, b->slurm_job);
}

static bool waits_for_peers(struct an_result *res, const struct an_trainer *tr)
{
	/* a job of several inputs (merge.c) has no trace state: its ranks say who they are */
	struct proc *p = res->an.r ? an__find_proc(&res->an, tr->pid) : NULL;

	return tr->coll.n || (p && (p->flags & PF_NET_PEERS));
}

/*
 * The ranks analysed together: the trainers that are ranks of the job most of them
 * belong to; without identities, the trainers that wait for unrelated peers.
 */
static uint32_t members(struct an_result *res, uint32_t *m)
{
	uint32_t n = 0, best = 0, key = UINT32_MAX;

	for (uint32_t i = 0; i < res->ntr; i++) {
		uint32_t c = 0;

		if (res->tr[i].id.rank < 0)
			continue;
		for (uint32_t k = 0; k < res->ntr; k++)
			c += res->tr[k].id.rank >= 0 && same_job(&res->tr[i].id, &res->tr[k].id);
		if (c > best) {
			best = c;
			key = i;
		}
	}
	for (uint32_t i = 0; i < res->ntr; i++) {
		const struct an_trainer *tr = &res->tr[i];

		if (key != UINT32_MAX ? tr->id.rank >= 0 && same_job(&tr->id, &res->tr[key].id) :
					waits_for_peers(res, tr))
			m[n++] = i;
	}
	return n;
}

/* A time of a trainer on the job's time line (its machine's clock, aligned: job.c). */
static uint64_t on_line(const struct an_trainer *tr, uint64_t t)
{
	return (uint64_t)((int64_t)t + tr->clock_offset);
}

/* Every member's waits inside the window all members cover, sorted by start. */
static struct ep *gather(struct an_result *res, const uint32_t *m, uint32_t n, size_t *len)
{
	uint64_t lo = 0, hi = UINT64_MAX;
	size_t total = 0, k = 0;
	struct ep *e;

	for (uint32_t i = 0; i < n; i++) {
		const struct an_trainer *tr = &res->tr[m[i]];

		lo = on_line(tr, tr->win_start) > lo ? on_line(tr, tr->win_start) : lo;
		hi = on_line(tr, tr->win_end) < hi ? on_line(tr, tr->win_end) : hi;
		total += tr->coll.n;
	}
	if (!(e = malloc(sizeof(*e) * (total + 1))))
		return NULL;
	for (uint32_t i = 0; i < n; i++) {
		const struct an_trainer *tr = &res->tr[m[i]];

		for (uint32_t j = 0; j < tr->coll.n; j++) {
			uint64_t s = on_line(tr, tr->coll.w[j].start);

			if (s >= lo && s < hi)
				e[k++] = (struct ep){ s, on_line(tr, tr->coll.w[j].wake), i };
		}
	}
	qsort(e, k, sizeof(*e), by_start);
	*len = k;
	return e;
}

/* One collective: members[i] is its wait on member i, or -1 when it did not wait. */
static void credit(struct an_result *res, const uint32_t *m, uint32_t n, const struct ep *e,
		   const int64_t *at)
{
	uint64_t waited = 0, last_start = 0;
	uint32_t nlast = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (at[i] < 0) {
			nlast++;
			continue;
		}
		waited += e[at[i]].wake - e[at[i]].start;
	}
	if (!nlast) {
		/* everyone waited: the last to start its wait arrived last */
		uint32_t s = 0;

		for (uint32_t i = 0; i < n; i++) {
			if (e[at[i]].start >= last_start) {
				last_start = e[at[i]].start;
				s = i;
			}
		}
		waited -= e[at[s]].wake - e[at[s]].start;
		res->tr[m[s]].coll.last += 1;
		res->tr[m[s]].coll.waited_for_ns += waited;
		return;
	}
	for (uint32_t i = 0; i < n; i++) {
		if (at[i] >= 0)
			continue;
		res->tr[m[i]].coll.last += 1.0 / nlast;
		res->tr[m[i]].coll.waited_for_ns += waited / nlast;
	}
}

/* Groups the sorted waits into collectives and credits each; returns how many. */
static uint32_t match(struct an_result *res, const uint32_t *m, uint32_t n, const struct ep *e,
		      size_t len)
{
	int64_t *at = malloc(sizeof(*at) * n);
	uint64_t end = 0;
	uint32_t count = 0;
	bool open = false;

	if (!at)
		return 0;
	for (size_t k = 0; k <= len; k++) {
		/* a wait joins the open collective when it starts before that one ends */
		if (open && k < len && e[k].start <= end + MATCH_TOL_NS) {
			if (at[e[k].tr] < 0) {
				at[e[k].tr] = (int64_t)k;
				end = e[k].wake < end ? e[k].wake : end;
			}
			continue;	/* a rank's second piece of the same wait */
		}
		if (open) {
			credit(res, m, n, e, at);
			count++;
		}
		if (k == len)
			break;
		for (uint32_t i = 0; i < n; i++)
			at[i] = -1;
		at[e[k].tr] = (int64_t)k;
		end = e[k].wake;
		open = true;
	}
	free(at);
	return count;
}

/* The ranks whose traffic ended a trainer's waits, the most waited-for first. */
static void peers(struct an_result *res, struct an_trainer *tr)
{
	for (uint32_t j = 0; j < tr->coll.n; j++) {
		const struct coll *c = &tr->coll.w[j];
		struct proc *p = c->peer ? an__find_proc(&res->an, c->peer) : NULL;
		uint32_t i;

		if (!p)
			continue;
		for (i = 0; i < tr->coll.npeers && tr->coll.peers[i].pid != p->pid; i++)
			;
		if (i == tr->coll.npeers) {
			if (i == 4)
				continue;
			tr->coll.npeers++;
			tr->coll.peers[i].pid = p->pid;
			tr->coll.peers[i].rank = p->id ? p->id->rank : -1;
		}
		tr->coll.peers[i].waits++;
		tr->coll.peers[i].ns += c->wake - c->start;
	}
	for (uint32_t i = 1; i < tr->coll.npeers; i++)
		for (uint32_t k = i; k > 0 && tr->coll.peers[k].ns > tr->coll.peers[k - 1].ns; k--) {
			__typeof__(tr->coll.peers[0]) t = tr->coll.peers[k];

			tr->coll.peers[k] = tr->coll.peers[k - 1];
			tr->coll.peers[k - 1] = t;
		}
}

static void identity(struct an_result *res, const uint32_t *m, uint32_t n)
{
	struct an_job *j = &res->job;

	for (uint32_t i = 0; i < n; i++) {
		const struct ident *id = &res->tr[m[i]].id;

		if (id->world_size > j->world_size)
			j->world_size = id->world_size;
		if (!j->run_id && id->run_id[0])
			j->run_id = id->run_id;
		if (!j->master_addr && id->master_addr[0]) {
			j->master_addr = id->master_addr;
			j->master_port = id->master_port;
		}
		if (!j->slurm_job && id->slurm_job[0])
			j->slurm_job = id->slurm_job;
	}
}

/* Which rank stands out, if one does. */
static void decide(struct an_result *res, const uint32_t *m, uint32_t n)
{
	struct an_job *j = &res->job;
	uint64_t total = 0;
	double others = 0;
	uint32_t s = 0;

	for (uint32_t i = 0; i < n; i++) {
		total += res->tr[m[i]].coll.waited_for_ns;
		if (res->tr[m[i]].coll.waited_for_ns > res->tr[m[s]].coll.waited_for_ns)
			s = i;
	}
	for (uint32_t i = 0; i < n; i++)
		if (i != s)
			others += res->tr[m[i]].bd.frac[CAT_COLL] / (n - 1);
	if (j->collectives < MIN_COLLS || !total)
		return;
	j->balanced = true;
	if ((double)res->tr[m[s]].coll.waited_for_ns < STRAGGLER_LAST * (double)total ||
	    others < STRAGGLER_WAIT ||
	    others - res->tr[m[s]].bd.frac[CAT_COLL] < STRAGGLER_WAIT)
		return;
	j->balanced = false;
	j->straggler = (int)m[s];
	j->others_wait = others;
	j->last_fraction = res->tr[m[s]].coll.last / j->collectives;
}

void straggler__find(struct an_result *res)
{
	struct an_job *j = &res->job;
	uint32_t *m = malloc(sizeof(*m) * (res->ntr + 1)), n;
	struct ep *e;
	size_t len;

	*j = (struct an_job){ .world_size = -1, .master_port = -1, .straggler = -1 };
	/* the peers behind the waits need the trace; a job of several inputs has them */
	for (uint32_t i = 0; res->an.r && i < res->ntr; i++)
		peers(res, &res->tr[i]);
	if (!m)
		return;
	n = members(res, m);
	if (!n || (n == 1 && res->tr[m[0]].id.world_size <= 1))
		goto out;
	j->distributed = true;
	j->ranks = n;
	identity(res, m, n);
	for (uint32_t i = 0; i < n; i++) {
		res->tr[m[i]].coll.in_job = true;
		if (!res->tr[m[i]].host)
			res->tr[m[i]].host = res->hostname;
		j->mean_wait += res->tr[m[i]].bd.frac[CAT_COLL] / n;
	}
	if (n < 2 || !(e = gather(res, m, n, &len)))
		goto out;
	j->collectives = match(res, m, n, e, len);
	free(e);
	decide(res, m, n);
out:
	free(m);
}

/* One line on the job for the reports (it holds trace strings: printers escape it). */
void job_summary(const struct an_result *res, char *buf, size_t len)
{
	const struct an_job *j = &res->job;
	size_t off = 0;

#define PUT(...) (off += off < len ? (size_t)snprintf(buf + off, len - off, __VA_ARGS__) : 0)
	PUT("%u rank%s traced", j->ranks, j->ranks == 1 ? "" : "s");
	if (j->world_size > 0)
		PUT(" of %d", j->world_size);
	if (j->run_id)
		PUT(", run id %s", j->run_id);
	if (j->slurm_job)
		PUT(", Slurm job %s", j->slurm_job);
	if (j->master_addr)
		PUT(", rendezvous %s:%d", j->master_addr, j->master_port);
	PUT("; %u collectives matched: ", j->collectives);
	if (j->straggler >= 0)
		PUT("the straggler reached %.0f%% of them last, the others waited %.0f%% of their "
		    "time", 100 * j->last_fraction, 100 * j->others_wait);
	else if (j->balanced)
		PUT("balanced, the ranks wait for each other %.0f%% of their time",
		    100 * j->mean_wait);
	else
		PUT("too few to tell a straggler");
#undef PUT
}
