// SPDX-License-Identifier: MIT
/*
 * Steps of a loop that receives no batches (num_workers=0: it loads its own data) and
 * marks nothing: its own periodic pattern.
 *
 * Each step does the same things in the same order, so some syscall of the main
 * thread (or some way it blocks) recurs once, or a fixed number of times, per step.
 * For every such signature of a candidate thread, the intervals to its 1st .. 4th
 * previous occurrence are kept in log-binned histograms: the autocorrelation of its
 * occurrence train at those neighbours.  After the pass, the signature and lag whose
 * intervals agree best (a sharp mode) and that explain most of the thread's time give
 * the period, and how many times per period the signature recurs; a second pass
 * puts a boundary at every so-many-th occurrence of it (analysis.c).
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "an_core.h"

#define PER_MIN_SC	128		/* syscalls before a thread's signatures are watched */
#define PER_THREADS	32		/* threads watched at most */
#define PER_BIN0_NS	8000.0		/* the first interval bin: shorter is no step */
#define PER_MIN_NS	500000ull	/* a step takes at least this much CPU */
#define PER_MIN_STEPS	8		/* periods a pattern must repeat */
#define PER_SHARP	0.6		/* of the intervals near the mode */
#define PER_PHASED	0.25		/* a phase mismatch this small (phases()) ... */
#define PER_SHARP_PHASED 0.45		/* ... needs only this many near the mode */
#define PER_SHARP_PART	0.45		/* a divisor of a period's lag (fundamental()) */
#define PER_NEAR	1.2		/* lags that cover within this factor of the best */
#define PER_PHASE	1.5		/* lags in phase: mismatch within this factor of the least */
#define PER_PHASE_ABS	0.02		/* ... plus this (of the mean interval) */
#define PER_EXPLAIN	1.41		/* a multiple's mode within two bins of k x a divisor's */
#define PER_ALT		14.0		/* a lag's occurrences differ: median ratio 1 + this/sqrt(n) */
#define PER_ALT_Z	3.0		/* ... or the share under the other's median: 0.5 less this many SE */
#define PER_ALT_SE	4.0		/* ... or their means by this many standard errors */
#define PER_KNOWN	16		/* takes or step marks that make a thread's steps known */
#define PER_LOOSE	0.5		/* a period this far out of phase gives way (period__best) */
#define PER_RANDOM	1.0		/* a mismatch this large is a random process's (sig_period) */

static unsigned bin_of_log(uint64_t d)
{
	double b = 4 * log2((double)d / PER_BIN0_NS);

	return b < 0 ? 0 : b >= PER_BINS ? PER_BINS - 1 : (unsigned)b;
}

/*
 * bin_of_log() without a log2() per interval (it was a tenth of the analysis, and its
 * replacement, a walk up from the bin of d's power of two, still a twentieth): each
 * octave cut into 64 equal parts, the bin where each part starts, and the first
 * interval of each bin, found once by bisecting bin_of_log() itself, so every interval
 * lands in the same bin as before.  A part spans a 64th of its octave (at most 0.023
 * of a log2), a bin a quarter: a bin boundary crosses a part at most once.
 */
#define PER_PART_BITS	6
static uint64_t bin_lo[PER_BINS + 1];	/* the shortest interval of bin b; then none */
static uint8_t part_bin[64][1 << PER_PART_BITS];	/* the bin where part j of octave i starts */
static pthread_once_t bins_once = PTHREAD_ONCE_INIT;

static void bins_init(void)
{
	for (unsigned b = 1; b < PER_BINS; b++) {
		uint64_t lo = bin_lo[b - 1], hi = UINT64_MAX;

		while (lo < hi) {
			uint64_t mid = lo + (hi - lo) / 2;

			if (bin_of_log(mid) >= b)
				hi = mid;
			else
				lo = mid + 1;
		}
		bin_lo[b] = lo;
	}
	bin_lo[PER_BINS] = UINT64_MAX;
	/* octaves under 2^PER_PART_BITS (64 ns) are all in bin 0 (under 8 us) */
	for (unsigned i = PER_PART_BITS; i < 64; i++)
		for (uint64_t j = 0; j < 1 << PER_PART_BITS; j++) {
			uint64_t d = (1ull << i) | j << (i - PER_PART_BITS);
			unsigned b = 0;

			while (bin_lo[b + 1] <= d)
				b++;
			part_bin[i][j] = b;
		}
}

/* d > 0: the bin of d's part of its octave, or the next one */
static inline __attribute__((always_inline)) unsigned bin_of(uint64_t d)
{
	unsigned i = 63 - __builtin_clzll(d);
	unsigned b = i < PER_PART_BITS ? 0 :
		part_bin[i][(d >> (i - PER_PART_BITS)) & ((1 << PER_PART_BITS) - 1)];

	return b + (b + 1 < PER_BINS && bin_lo[b + 1] <= d);
}

static double bin_ns(unsigned b)
{
	return PER_BIN0_NS * exp2(((double)b + 0.5) / 4);
}

static struct persig *sig_slot(struct period *p, uint32_t sig)
{
	struct persig *least = NULL;

	for (uint32_t i = 0; i < p->nsig; i++)
		if (p->sig[i] == sig)
			return &p->s[i];
	for (uint32_t i = 0; i < p->nsig; i++)
		if (!least || p->s[i].n < least->n)
			least = &p->s[i];
	if (p->nsig < PER_SIGS)
		least = &p->s[p->nsig++];
	/* full: the rarest one makes room (start-up calls that never came back) */
	else if (least->n > 16)
		return NULL;
	memset(least, 0, sizeof(*least));
	p->sig[least - p->s] = sig;
	return least;
}

/* The occurrence i of s (one of the last PER_RING). */
static uint64_t occ(const struct persig *s, uint32_t i)
{
	return s->last[i & (PER_RING - 1)];
}

/* s occurs again at CPU time c: its interval against those 1..PER_LAGS before. */
static void phase(struct persig *s, uint64_t c)
{
	uint32_t n = s->n;
	uint64_t e;

	if (!n || c < occ(s, n - 1))
		return;
	e = c - occ(s, n - 1);
	s->esum += (double)e;
	s->en++;
	s->cls[n % PER_CLASSES].sum += (double)e;
	s->cls[n % PER_CLASSES].sq += (double)e * (double)e;
	s->cls[n % PER_CLASSES].n++;
	for (uint32_t k = 1; k <= PER_LAGS && k + 1 <= n; k++) {
		uint64_t a = occ(s, n - k), b = occ(s, n - k - 1);

		if (a < b)
			continue;
		uint64_t diff = e > a - b ? e - (a - b) : a - b - e;
		uint16_t *h = &s->dh[k - 1][diff ? bin_of(diff) : 0];

		s->dsum[k - 1] += (double)diff;
		s->dn[k - 1]++;
		if (*h < UINT16_MAX)
			(*h)++;
	}
}

/*
 * A DataLoader worker's thread: its process wrote messages into pipes (PER_KNOWN) and
 * a thread of an ancestor receives batches from its workers.  Then some process is fed,
 * and trainers are fed processes only (an_finish.c): a worker is one only where workers
 * of its own feed it too, which nothing here rules out.  So the cut is checked after
 * the pass: a trainer without steps whose main thread was cut makes the pass run again
 * with no cut (analysis__run), and the output is the same either way; on the 214 kept
 * traces none did.  Watching the workers was nine tenths of period__event, which was
 * 10.9% of the analysis of a DataLoader job (stgen --bench, 1.0% after).  A trainer
 * that writes its log into a pipe (python train.py | tee log) has no fed ancestor;
 * with --main-tid only that thread's pattern can be wanted.  An observer would see a
 * pass run again: nothing is cut then.
 */
static bool cut(const struct an *a, const struct thr *t)
{
	const struct proc *q = t->proc;

	if (a->o->period_all || a->obs)
		return false;
	if (a->o->main_tid)
		return a->o->main_tid != t->tid;
	if (!q || q->msgs < PER_KNOWN)
		return false;
	for (int depth = 0; (q = q->parent) && depth < AN_MAX_DEPTH; depth++)
		if (q->flags & PF_FED)
			return true;
	return false;
}

/*
 * A signature of the data loading itself: a sample's file or connection opened, read,
 * inspected or closed, or a wait on storage or a socket.  With num_workers=0 the loop
 * makes these once a sample, and a batch is a run of them: the step is the run.
 */
static bool loading_sig(uint32_t sig)
{
	unsigned kind = (sig >> PER_KIND_SHIFT) & 0xf, c;

	if (sig & PER_BLOCK)
		return (sig & ~PER_BLOCK) == ST_WAIT_FILE || (sig & ~PER_BLOCK) == ST_WAIT_SOCK;
	if (sig & PER_PROCFS)
		return false;
	c = st_syscall_class(sig & 0xffff);
	if (c & ST_SYSC_WRITE)
		return false;
	if (c & ST_SYSC_OPEN)
		return true;
	return (kind == ST_FD_REG || kind == ST_FD_SOCK) &&
	       (c & (ST_SYSC_READ | ST_SYSC_RECV | ST_SYSC_NET | ST_SYSC_CLOSE | ST_SYSC_FDOP));
}

#define PER_SEQ_MAX	(1u << 22)	/* occurrences kept for period__batches() */

/*
 * The second pass, the picked signature at ts: a boundary every lag-th occurrence (so
 * many a step), or at the occurrences period__batches() found ending batches.
 */
static void picked(struct an *a, struct thr *t, const struct period_pick *pk, uint64_t ts)
{
	uint64_t seen = t->per_seen++;
	bool mark;

	if (pk->marks) {
		mark = t->per_mark < pk->nmarks && seen == pk->marks[t->per_mark];
		t->per_mark += mark;
	} else {
		mark = !(seen % pk->lag);
	}
	if (mark) {
		attr__become_logger(a, t);
		attr__snap(a, t, ts, SNAP_PERIOD);
	}
}

/* The second pass, loading signature i at ts: its occurrence kept (period__batches()). */
static void keep(struct an *a, struct thr *t, unsigned i, uint64_t ts)
{
	if (a->per_n[i] == PER_SEQ_MAX || (i && a->per_others == PER_SEQ_MAX))
		return;
	if (a->per_n[i] == a->per_cap[i]) {
		uint32_t cap = a->per_cap[i] ? 2 * a->per_cap[i] : 4096;
		uint64_t *q = realloc(a->per_seq[i], cap * sizeof(*q));

		if (!q)
			return;
		a->per_seq[i] = q;
		a->per_cap[i] = cap;
	}
	a->per_seq[i][a->per_n[i]++] = an__period_cpu(t, ts);
	a->per_others += i > 0;
}

#define BATCH_MIN_RUN	2	/* samples a batch at least (occurrences a step) */
#define BATCH_SHARE	0.6	/* runs of the batch's length, of all runs */
#define BATCH_SPLIT	1.5	/* a long interval: this many times the sample's period */
#define BATCH_STEADY	3	/* runs in a row of the batch's length: the loop began */
#define BATCH_PICK_LAG	2	/* a pattern of at most this many calls a period: a sample's */
#define BATCH_SAMPLE_NS	20000.0		/* a sample takes at least this much CPU */

/*
 * The loop's first batch: the first of BATCH_STEADY runs in a row of len (at_long[j]
 * to at_long[j + 1]), give or take an eighth (a call of the same kind between two
 * batches: a log file opened; the start-up's imports open files at no such spacing);
 * UINT32_MAX where none.
 */
static uint32_t steady_from(const uint32_t *at_long, uint32_t nl, uint32_t len)
{
	for (uint32_t j = 0, k; j + BATCH_STEADY < nl; j++) {
		for (k = 0; k < BATCH_STEADY; k++) {
			uint32_t r = at_long[j + k + 1] - at_long[j + k];

			if (r + len / 8 < len || r > len + len / 8)
				break;
		}
		if (k == BATCH_STEADY)
			return j;
	}
	return UINT32_MAX;
}

/*
 * The runs of c's occurrences that intervals of at least thr cut (at_long: where each
 * begins, the first occurrence too, nl of them): their most common length of at least
 * BATCH_MIN_RUN where it holds BATCH_SHARE of the runs from the loop's first batch on
 * (steady_from(): a start-up's imports make runs of every length, as many as a short
 * loop's batches: pt_nw0_files traced in run mode beside busy, 119 runs of 16 of 199,
 * no batch found and 241 steps for 120), else 0; BATCH_NONE where too few intervals are
 * that long (fewer still at longer thresholds).  *whole: how many runs from the loop's
 * first batch on are of that length.
 */
#define BATCH_NONE	UINT32_MAX
static uint32_t batch_runs(const uint64_t *c, uint32_t n, uint64_t thr, uint32_t *at_long,
			   uint32_t *runs, uint32_t *nl, uint32_t *whole)
{
	uint32_t best = 0, len = 0, from, in_loop = 0;

	*nl = 0;
	at_long[(*nl)++] = 0;	/* the first occurrence begins a run: nothing before it */
	for (uint32_t i = 1; i < n; i++)
		if (c[i] - c[i - 1] >= thr)
			at_long[(*nl)++] = i;
	if (*nl <= PER_MIN_STEPS)
		return BATCH_NONE;
	memset(runs, 0, n * sizeof(*runs));
	for (uint32_t j = 1; j < *nl; j++)
		runs[at_long[j] - at_long[j - 1]]++;
	for (uint32_t r = BATCH_MIN_RUN; r < n; r++)
		if (runs[r] > best) {
			best = runs[r];
			len = r;
		}
	if (!len || (from = steady_from(at_long, *nl, len)) == UINT32_MAX)
		return 0;
	for (uint32_t j = from + 1; j < *nl; j++)
		in_loop += at_long[j] - at_long[j - 1] == len;
	*whole = in_loop;
	return in_loop >= BATCH_SHARE * (*nl - 1 - from) && in_loop >= PER_MIN_STEPS ? len : 0;
}

/* The calls of [start, end) that come like or more after the call before: samples. */
static uint32_t likes(const uint64_t *c, uint32_t start, uint32_t end, uint64_t like)
{
	uint32_t k = 1;

	for (uint32_t i = start + 1; i < end; i++)
		k += c[i] - c[i - 1] >= like;
	return k;
}

/*
 * The last call of the last sample of a run of over a batch's calls [start, end): other
 * calls of the kind came in a burst before or after its samples (a /proc scan opens a
 * file for each process, microseconds apart).  A sample's first call comes a sample's
 * period or more (`like`: half of it) after the call before it, its cps - 1 others
 * right after (a file read to its end: 2 reads), and so does the call after the
 * batch's last: the last such, else the len-th call.
 */
static uint32_t batch_end(const uint64_t *c, uint32_t start, uint32_t end, uint32_t len,
			  uint32_t cps, uint64_t like)
{
	for (uint32_t i = end - 1; i > start; i--)
		if (c[i] - c[i - 1] >= like &&
		    (i + cps >= end || c[i + cps] - c[i + cps - 1] >= like))
			return i + cps - 1 < end ? i + cps - 1 : end - 1;
	return start + len - 1;
}

/*
 * With num_workers=0 a loop that loads each sample itself (an image folder: each
 * sample's file opened, read, closed) makes its loading calls once a sample, and its
 * model's step between two batches makes none: the picked pattern is the sample, a
 * step for each sample of a batch (a user's script, 16 JPEG files a batch: 1874 steps
 * for 117; 4 a batch: no step at all, the start-up's imports' opens blur the lags).
 * The second pass keeps the occurrences of the loading signature whose period covers
 * the most (pick->sig2[0]; its lag-1 mode where none is sharp), and of the next
 * PER_LOADS - 1: where one makes no batches the next is tried (a loop that preads its
 * samples from one file opened once, attached at its start: the imports' opens, reads
 * and closes covered more than its preads, and no step was found; golden
 * nw0_pread_imports).  Their intervals on the thread's CPU come in two kinds: a
 * sample's (within the batch), and a sample's plus the step's compute (from a batch's
 * last sample to the next batch's first).  From the
 * shortest threshold over 1.5 x the sample's period up, in quarter-octave bins: the
 * first where more than PER_MIN_STEPS longer intervals split the occurrences into runs
 * of one length in BATCH_SHARE of them, at least BATCH_MIN_RUN, is the batch (calls a
 * step), and the runs are cut at the middle of the widest plateau of thresholds that
 * cut as many.  From the first of BATCH_STEADY such runs in a row (give or take an
 * eighth: the imports open files at no such spacing), and the runs of about a batch just
 * before it, each batch ends at its last sample's call, where the loop takes it: the
 * call before a long interval; in a run of over a batch (a burst of other calls of the
 * kind, a /proc scan, before or after its samples) the last call a sample's period
 * after the one before and before the one after (batch_end()); runs short of half a
 * batch merged with the next.  Other signatures (a log line a step, a checkpoint every
 * N steps) keep their period: a longer interval every N steps is not a batch's end.
 * Frees the occurrences; true when pick now marks batches (pick->marks: a third pass).
 */
static bool batches_of(const uint64_t *c, uint32_t n, uint32_t sig2, uint64_t period2,
		       struct period_pick *pick)
{
	uint32_t *runs = NULL, *at_long = NULL, nl, len = 0, from = UINT32_MAX;
	uint64_t like = period2 / 2;	/* a sample's call after the one before */
	unsigned b0 = PER_BINS, b1 = 0;
	bool found = false;

	if (!c || n < 2 * PER_MIN_STEPS || !period2 ||
	    !(runs = calloc(n, sizeof(*runs))) || !(at_long = malloc(n * sizeof(*at_long))))
		goto out;
	pthread_once(&bins_once, bins_init);
	/*
	 * Of the thresholds that cut runs of the same length, those that cut the most
	 * runs of exactly that length (but for a hundredth), and of those the middle of
	 * the widest plateau of as many long intervals (but for a hundredth): away from
	 * both kinds of interval.  The lowest split batches of 4 where a sample was slow
	 * (a collection: 241 steps for 237); the highest merged batches of 16 whose step
	 * took less CPU than most (113 for 117).  A plateau alone may be low: a start-up's
	 * imports make long intervals at every threshold, no plateau is wider than
	 * another, and the lowest cut slow first batches into runs of one sample
	 * (golden nw0_batch_split: its first batch left out).
	 */
	uint32_t nls[PER_BINS] = { 0 }, wholes[PER_BINS] = { 0 }, most = 0, whole;
	unsigned pb = 0, pw = 0;

	for (unsigned b = bin_of((uint64_t)(BATCH_SPLIT * (double)period2));
	     b < PER_BINS; b++) {
		uint32_t l = batch_runs(c, n, bin_lo[b], at_long, runs, &nl, &whole);

		if (l == BATCH_NONE || (b0 < PER_BINS && l != len))
			break;
		if (!l)
			continue;
		if (b0 == PER_BINS) {
			b0 = b;
			len = l;
		}
		b1 = b;
		nls[b] = nl;
		wholes[b] = whole;
		most = whole > most ? whole : most;
	}
	if (b0 == PER_BINS)
		goto out;
	for (unsigned b = b0, e; b <= b1; b = e) {
		if (wholes[b] + most / 100 < most) {
			e = b + 1;
			continue;
		}
		for (e = b + 1; e <= b1 && wholes[e] + most / 100 >= most &&
				nls[e] + nls[b] / 100 >= nls[b] && nls[e] <= nls[b] + nls[b] / 100; e++)
			;
		if (e - b > pw) {
			pw = e - b;
			pb = b;
		}
	}
	uint64_t thr = bin_lo[pb + pw / 2];

	if (batch_runs(c, n, thr, at_long, runs, &nl, &whole) != len)
		goto out;
	/*
	 * A batch takes a step's CPU: where another pattern was picked (not a sample's),
	 * batches of under half its period are parts of its steps (pt_nw0 under load: a
	 * file read as two calls, read and EOF, 50 us apart, made 940 "batches" of 2 where
	 * its clock reads made 150 steps; the report had no step at all); and a pattern
	 * once a step with the batches' period is kept: they are its steps, and it loses
	 * none at the ends (pt_nw0_mmap in run mode beside busy: 79 steps by its closes'
	 * batches for 81 by its fadvise; golden nw0_mmap_startup)
	 */
	uint64_t sum = 0;
	uint32_t nrun = 0;

	for (uint32_t j = 0; j + 1 < nl; j++)
		if (at_long[j + 1] - at_long[j] == len) {
			sum += c[at_long[j + 1]] - c[at_long[j]];
			nrun++;
		}
	uint64_t mean = nrun ? sum / nrun : 0;

	if (!nrun || (pick->lag && pick->sig != sig2 && (2 * mean < pick->period_ns ||
	    (pick->lag == 1 && mean <= pick->period_ns * PER_EXPLAIN &&
	     pick->period_ns <= mean * PER_EXPLAIN))))
		goto out;
	from = steady_from(at_long, nl, len);	/* the loop's first batch */
	if (from == UINT32_MAX || !(pick->marks = malloc(nl * sizeof(*pick->marks))))
		goto out;
	/*
	 * And the batches just before, as many samples give or take (a burst of other calls
	 * of the kind counts one: the window's first batch after a /proc scan); or several
	 * runs just before, merged up to about a batch, where each run is samples alone
	 * (every call a sample's period or more after the one before): long intervals
	 * inside a batch (slow samples, a CPU the hypervisor took) cut it into several
	 * (pt_nw0_files attached in a clean clone's CI: its first 6 batches, 3-4 ms a
	 * sample for 0.6, were left out, 114 steps for 120).  Samples alone: as many calls
	 * a sample as the batch's (a sample's file read to its end: 2 reads, one a
	 * sample's period after the call before, the other none; pt_nw0_files beside
	 * busy, its runs of 26 and 6 calls, 13 and 3 samples, ended the walk: 117 steps
	 * for 120).  A start-up's calls come in bursts, no such runs.
	 */
	uint32_t k = from;

	/*
	 * counted in the first run of exactly a batch: the first of the 3 may be 15 calls
	 * of 16, its last sample cut off (pt_nw0_files in run mode beside busy: 15
	 * samples a batch for 16 ended the walk at once, 114 steps for 120)
	 */
	while (k + 2 < nl && at_long[k + 1] - at_long[k] != len)
		k++;
	uint32_t spb = likes(c, at_long[k], at_long[k + 1], like);	/* samples a batch */
	uint32_t cps = spb && len % spb == 0 ? len / spb : 1;		/* calls a sample */

	for (uint32_t want = spb, got, j, r; from > 0; from = j) {
		got = likes(c, at_long[from - 1], at_long[from], like);
		j = from - 1;
		if (got + want / 8 >= want && got <= want + want / 2)
			continue;
		for (got = 0, j = from; j > 0 && got + want / 8 < want; j--) {
			r = likes(c, at_long[j - 1], at_long[j], like);
			if ((uint64_t)(at_long[j] - at_long[j - 1]) * want != (uint64_t)r * len)
				break;
			got += r;
		}
		if (got + want / 8 < want || got > want + want / 2)
			break;
	}
	/*
	 * Each batch ends at its last sample's call, where the loop takes it: the one
	 * before a long interval.  A run short of a batch is merged with the next (long
	 * intervals inside a batch add no boundary: cut at half a batch, a batch cut in
	 * runs of 10 and 6 had its boundary after its 10th sample), and where the next is
	 * short of half a batch, up to the whole batch; but a run of half a batch or more
	 * before a whole one is a batch: an epoch's last, short (drop_last=False).
	 */
	pick->nmarks = 0;
	for (uint32_t j = from, acc = 0, start = 0; j < nl; j++) {
		uint32_t end = j + 1 < nl ? at_long[j + 1] : n;
		uint32_t nxt = j + 1 < nl ? (j + 2 < nl ? at_long[j + 2] : n) - end : 0;

		if (!acc)
			start = at_long[j];
		acc += end - at_long[j];
		if ((acc + len / 8 < len && (2 * acc < len || (nxt && nxt + len / 8 < len))) ||
		    (acc < len && nxt && 2 * nxt < len && acc + nxt <= len + len / 8))
			continue;
		pick->marks[pick->nmarks++] = acc > len + len / 8 ?
			batch_end(c, start, end, len, cps, like) : end - 1;
		acc = 0;
	}
	pick->sig = sig2;
	pick->lag = len;
	found = true;
out:
	free(runs);
	free(at_long);
	return found;
}

bool period__batches(struct an *a, struct period_pick *pick)
{
	bool found = false;

	for (unsigned i = 0; i < PER_LOADS; i++) {
		found = found || batches_of(a->per_seq[i], a->per_n[i], pick->sig2[i],
					    pick->period2_ns[i], pick);
		free(a->per_seq[i]);
		a->per_seq[i] = NULL;
		a->per_n[i] = a->per_cap[i] = 0;
	}
	a->per_others = 0;
	return found;
}

/*
 * Thread t did something of signature sig at ts (a syscall ended, it blocked).  The
 * intervals are measured on the thread's own CPU time: a step's work is the same
 * each time, however long a loaded machine makes it wait for a CPU.
 */
void period__event(struct an *a, struct thr *t, uint32_t sig, uint64_t ts)
{
	const struct period_pick *pk = &a->o->period;
	uint64_t c;

	struct persig *s;

	/* the second pass: the pattern was picked in the first */
	if (pk->tid) {
		if (pk->tid != t->tid)
			return;
		if (pk->lag && pk->sig == sig)
			picked(a, t, pk, ts);
		for (unsigned i = 0; !pk->marks && i < PER_LOADS; i++)
			if (pk->sig2[i] == sig)
				keep(a, t, i, ts);
		return;
	}

	/*
	 * A thread with takes or marks of its own has steps (over the steady state, the
	 * only window then): its pattern would not be used.  Watching it was a fifth of
	 * the analysis of a DataLoader job (stgen --bench).
	 */
	if (t->per_done)
		return;
	if (!a->user_window && (t->takes >= PER_KNOWN || t->step_marks >= PER_KNOWN)) {
		free(t->per);
		t->per = NULL;
		t->per_done = true;
		return;
	}
	if (!t->per) {
		if (!(t->flags & TF_LEADER) || t->cum.syscalls < PER_MIN_SC ||
		    a->nperiod == PER_THREADS || !(t->per = calloc(1, sizeof(*t->per))))
			return;
		a->nperiod++;
		/* the bins, once per thread with a signature (not per event) */
		pthread_once(&bins_once, bins_init);
	}
	if (cut(a, t)) {
		free(t->per);
		t->per = NULL;
		t->per_done = t->per_cut = true;
		return;
	}
	if (!(s = sig_slot(t->per, sig)))
		return;
	c = an__period_cpu(t, ts);
	for (uint32_t k = 0; k < PER_LAGS && k < s->n; k++) {
		uint64_t prev = s->last[(s->n - 1 - k) & (PER_RING - 1)];
		uint16_t *h;

		if (c < prev || c - prev < (uint64_t)PER_BIN0_NS)
			continue;
		h = &s->h[k][bin_of(c - prev)];
		if (*h < UINT16_MAX)
			(*h)++;
	}
	phase(s, c);
	if (!s->n)
		s->first = c;
	s->last[s->n & (PER_RING - 1)] = c;
	s->n++;
}

/*
 * The mode of a histogram of intervals, and the intervals within two bins of it
 * (+-40%: a loaded machine stretches steps unevenly): their mass, and where they
 * centre (ns).  The centre, not the mode's bin: a step that drifts from 9 to 15 ms
 * (a noisy host's clock) fills three bins, whose highest may be the lowest, and twice
 * that bin is two bins short of the 2-step lag's (pt_nw0 at rest, 74 steps for 150).
 */
static double mode_of(const uint16_t *h, uint32_t *mass, uint32_t *tot)
{
	unsigned m = 0;
	double lsum = 0;

	*tot = *mass = 0;
	for (unsigned b = 0; b < PER_BINS; b++) {
		*tot += h[b];
		if (h[b] > h[m])
			m = b;
	}
	for (unsigned b = m >= 2 ? m - 2 : 0; b <= m + 2 && b < PER_BINS; b++) {
		*mass += h[b];
		lsum += (double)h[b] * ((double)b + 0.5);
	}
	return *mass ? PER_BIN0_NS * exp2(lsum / *mass / 4) : bin_ns(m);
}

/*
 * The phase mismatch at each lag (ph[k]: the mean |e(n) - e(n-k-1)| over the mean
 * interval), and the lag of the least of them: a lag whose occurrences are not the same places of
 * the loop mixes its uneven sub-intervals (a loop that reads the clock after 4 ms
 * and again after 7 more: lag 3 alternates 15 and 18 ms, as sharp as lag 2's 11 on a
 * busy machine), however sharp its mode.
 */
static unsigned phases(const struct persig *s, double ph[PER_LAGS])
{
	double mean = s->en ? s->esum / s->en : 0;
	unsigned least = 0;

	for (unsigned k = 0; k < PER_LAGS; k++) {
		ph[k] = mean > 0 && s->dn[k] >= PER_MIN_STEPS ? s->dsum[k] / s->dn[k] / mean :
			INFINITY;
		if (ph[k] < ph[least])
			least = k;
	}
	return least;
}

/*
 * Do d occurrences make the loop's period, where k (a multiple of d) do?  Then e(n),
 * the interval to the previous occurrence, is as like e(n-d) as e(n-k): the same place
 * of the loop.  Where a step reads the clock twice, the 12.6 ms of CPU between the two
 * reads the same every step and the rest of the step spread 9 to 25 ms (an idle
 * machine's pt_gil), lag 1 and lag 2 are both sharp, nearly in phase (a mean
 * mismatch of 0.29 against 0.20: one long interval weighs much) and 2 x 12.6 ms is
 * within two bins of lag 2's 30 ms (119 steps for 60).  The medians tell: |e(n) -
 * e(n-1)| 3.3 ms, |e(n) - e(n-2)| 1.2 ms (binned: 3.18 and 1.14).  Of n differences
 * from a loop whose period is d, the ratio of the medians stays under 1 + 14/sqrt(n):
 * normal, exponential and drifting intervals, 3000 draws of each n from 16 to 300,
 * gave at most 1 + 13/sqrt(n) at n = 16 and 1 + 7/sqrt(n) at n = 120, and a bin
 * adds at most 19% (at n = 120: 2.28, against pt_gil's 2.79).  Not where some steps
 * run long (a slow fault, a collection: a third 2.2 times the rest): the differences
 * are then near 0 or near the long steps' excess, about half each, and the median
 * falls on either side by chance (a loop of 80 steps of 10-12 ms, 30% of them long:
 * medians 10.6 and 1.3 ms, 26 steps for 80 in 6 of 40 such loops).  Alike, lag d's
 * differences fall under lag k's median half the time: where the medians disagree,
 * that share decides, at least 0.5 less PER_ALT_Z standard errors.  Simulated on the
 * binned histograms, 600 draws each: of loops whose period is d, 75-85% pass the
 * medians' test with 40-50% long steps, all pass either; of pt_gil's kind (two
 * uneven parts a step), either passes 13% at n = 40 (the medians alone 3%) and none
 * from n = 80.
 */
/*
 * The standard error of lag k's mean phase mismatch (phases(): of the mean interval),
 * from its binned differences.  Where half the steps run long, every lag's mismatch is
 * near 0.4 and which is least is chance (80 steps: lag 4 0.27, lag 1 0.43, over 1.5 x
 * 0.27 + 0.02: lag 2 was the period, 40 steps for 80, golden nw0_long_half): a lag
 * within PER_ALT_Z standard errors of the least is in phase too (phase_near()).
 */
static double phase_se(const struct persig *s, unsigned k)
{
	double mean = s->en ? s->esum / s->en : 0, n = 0, m1 = 0, m2 = 0;

	for (unsigned b = 1; b < PER_BINS; b++) {
		double x = bin_ns(b);

		n += s->dh[k][b];
		m1 += s->dh[k][b] * x;
		m2 += s->dh[k][b] * x * x;
	}
	n += s->dh[k][0];
	if (n < 2 || mean <= 0)
		return 0;
	return sqrt(fmax(0, m2 / n - (m1 / n) * (m1 / n)) / n) / mean;
}

/* lag k's mismatch within PER_ALT_Z standard errors of the least one's (lag m's) */
static bool phase_near(const struct persig *s, const double *ph, unsigned k, unsigned m)
{
	return ph[k] - ph[m] <= PER_ALT_Z * sqrt(pow(phase_se(s, k), 2) + pow(phase_se(s, m), 2));
}

/* The bin of a log-binned histogram's median (0 when empty). */
static unsigned median_bin(const uint16_t *h)
{
	uint32_t tot = 0, run = 0;
	unsigned b;

	for (b = 0; b < PER_BINS; b++)
		tot += h[b];
	for (b = 0; b < PER_BINS - 1; b++)
		if ((run += h[b]) * 2 >= tot)
			break;
	return b;
}

static bool alike_near(const struct persig *s, unsigned d, unsigned k)
{
	const uint16_t *hd = s->dh[d - 1];
	double nd = s->dn[d - 1], nk = s->dn[k - 1], below = 0, tot = 0;
	unsigned mk = median_bin(s->dh[k - 1]);

	if (!nd || bin_ns(median_bin(hd)) <= bin_ns(mk) * (1 + PER_ALT / sqrt(nd)))
		return true;
	for (unsigned b = 0; b < PER_BINS; b++) {
		tot += hd[b];
		below += b < mk ? hd[b] : b == mk ? 0.5 * hd[b] : 0;
	}
	return nk && below >= tot * (0.5 - PER_ALT_Z * 0.5 * sqrt(1 / nd + 1 / nk));
}

/*
 * The same where the loop never skips a beat: e(n)'s mean at each place n mod k, and
 * at n + d, within 4 standard errors or 2% of the mean interval (13 and 17 ms with
 * +-4.4 ms of jitter: medians 1.65 times apart, under 1 + 14/sqrt(80), but means
 * 4 ms apart by 0.4 ms errors).  One occurrence more or less swaps the places: an
 * alternation that does so half-way averages out here, and only the medians see it.
 */
static bool alike_places(const struct persig *s, unsigned d, unsigned k)
{
	double mean = s->en ? s->esum / s->en : 0, m[PER_LAGS], se2[PER_LAGS];

	for (unsigned r = 0; r < k; r++) {
		double sum = 0, sq = 0;
		uint32_t n = 0;

		for (unsigned c = r; c < PER_CLASSES; c += k) {
			sum += s->cls[c].sum;
			sq += s->cls[c].sq;
			n += s->cls[c].n;
		}
		if (n < 2)
			return true;
		m[r] = sum / n;
		se2[r] = fmax(0, sq / n - m[r] * m[r]) / (n - 1);
	}
	for (unsigned r = 0; r < k; r++) {
		double diff = fabs(m[r] - m[(r + d) % k]);

		if (diff > PER_ALT_SE * sqrt(se2[r] + se2[(r + d) % k]) && diff > PER_PHASE_ABS * mean)
			return false;
	}
	return true;
}

static bool periodic(const struct persig *s, unsigned d, unsigned k)
{
	return alike_near(s, d, k) && alike_places(s, d, k);
}

/*
 * Lag k+1, or the first of its sharp, in-phase multiples whose occurrences it does
 * not repeat (and so on up): the period that lag k+1 is a part of.
 */
static unsigned whole_lag(const struct persig *s, const double *cover, unsigned k)
{
	for (unsigned m = 2 * (k + 1); m <= PER_LAGS; m += k + 1)
		if (cover[m - 1] && !periodic(s, k + 1, m))
			return whole_lag(s, cover, m - 1);
	return k;
}

/*
 * A lag whose in-phase divisor explains it (its mode that many times over, within two
 * bins, and the same sub-intervals every divisor's occurrences) is that divisor's
 * multiple: the shorter one is the step, however much more a long lag's wide window
 * covers of a spread step.  The divisor need not be as sharp as a period found
 * alone (PER_SHARP_PART): a step whose CPU is bimodal spreads one step's intervals more
 * than the sum of two (pt_gil at rest, a clock read twice a step: lag 2, the step,
 * had 56% of its intervals near its mode and lag 4 had 68%: 29 steps for 60).
 */
static bool near(double a, double b)
{
	return a <= b * PER_EXPLAIN && b <= a * PER_EXPLAIN;
}

static int fundamental(const struct persig *s, const bool *part, const double *mode, int k0)
{
	double mean = s->en ? s->esum / s->en : 0;

	for (int d = 1; d < k0 + 1; d++) {
		/*
		 * Or the long lag's mode near its multiple of the mean interval, the short
		 * one's not above its own: where some steps run long (a quarter to a third
		 * of them 2.2 times: a slow fault, a flush), a long lag's mode centres on
		 * its sums, whose mean adds up, and the short lag's on the steps that did
		 * not (lag 3 48 ms, lag 1 10.9, the mean 14.3: 26 steps for 80)
		 */
		bool explains = near(mode[k0], mode[d - 1] * (k0 + 1) / d) ||
				(mean > 0 && near(mode[k0], mean * (k0 + 1)) &&
				 mode[d - 1] <= mean * d * PER_EXPLAIN);

		if ((k0 + 1) % d == 0 && part[d - 1] && explains &&
		    periodic(s, (unsigned)d, (unsigned)k0 + 1))
			return d - 1;
	}
	return k0;
}

/*
 * The period of one signature: at lag k+1 a sharp mode in phase, repeated, covering
 * the most time (intervals near the mode / (k+1) x mode: its harmonics cover as
 * much).  Of
 * the lags in phase (phases()) and sharp that cover nearly as much (jitter blurs some
 * more than others), the shortest mode is the period: a signature that recurs twice a
 * step has two lag-1 modes (not sharp) and one lag-2 mode, the step; where its two
 * lag-1 modes are near enough to look like one, lag 1 is no period because its
 * occurrences do not repeat each other (periodic()).  No lag mismatched by PER_RANDOM
 * or more: a random process's intervals (exponential) differ by their mean on
 * average, at every lag, and its lag-k intervals grow sharper with k (malloc's brk
 * calls at random, 13 ms apart on average: lag 3 at 61% near its mode, mismatched by
 * 1.13, covered more than a first epoch's sample files, 13 steps for 30; golden
 * nw0_cache_epoch).
 */
/* One signature's period: its lag, mode, phase mismatch, how much it covers, and how
 * many of its intervals at that lag are near the mode (of all). */
struct sig_pick {
	uint32_t sig, lag, mass;
	double period, cover, phase, sharp;
};

static double sig_period(const struct persig *s, struct sig_pick *pk)
{
	double cover[PER_LAGS] = { 0 }, mode[PER_LAGS] = { 0 }, sharp[PER_LAGS] = { 0 };
	double ph[PER_LAGS], best = 0;
	uint32_t near[PER_LAGS] = { 0 };
	unsigned least = phases(s, ph);
	double pmin = ph[least];
	bool part[PER_LAGS] = { false };
	int k0 = -1;

	for (unsigned k = 0; k < PER_LAGS; k++) {
		uint32_t mass, tot;

		mode[k] = mode_of(s->h[k], &mass, &tot);
		if (!tot || mode[k] < PER_MIN_NS || mass < PER_MIN_STEPS * (k + 1) ||
		    ph[k] >= PER_RANDOM ||
		    (ph[k] > PER_PHASE * pmin + PER_PHASE_ABS && !phase_near(s, ph, k, least)))
			continue;
		sharp[k] = (double)mass / tot;
		near[k] = mass;
		part[k] = sharp[k] >= PER_SHARP_PART;
		if (sharp[k] < (ph[k] <= PER_PHASED ? PER_SHARP_PHASED : PER_SHARP))
			continue;
		cover[k] = (double)mass / (k + 1) * mode[k];
		if (cover[k] > best)
			best = cover[k];
	}
	for (unsigned k = 0; k < PER_LAGS; k++) {
		unsigned w;

		if (!cover[k] || cover[k] < best / PER_NEAR)
			continue;
		w = whole_lag(s, cover, k);
		if (k0 < 0 || mode[w] < mode[k0])
			k0 = (int)w;
	}
	if (k0 < 0 || !best)
		return 0;
	k0 = fundamental(s, part, mode, k0);
	pk->lag = (uint32_t)k0 + 1;
	pk->period = mode[k0];
	pk->phase = ph[k0];
	pk->sharp = sharp[k0];
	pk->mass = near[k0];
	return pk->cover = best;
}

/*
 * The best period of t over its signatures: the one that covers the most.  Three
 * exceptions, each for another signature that covers within PER_NEAR as much, in this
 * order:
 * - the winner is far out of phase (its intervals differ from those its lag before by
 *   PER_LOOSE of the mean, or more: it was only the least uneven of its own lags),
 *   and the other is in phase: the one most in phase is the step.  A loop that reads
 *   its samples through page faults (np.memmap, its cache dropped), under load: its
 *   page faults (a block, 5.6 a step, as many as the batch's samples missed the
 *   cache) every 4th covered 0.70 s at a mismatch of 0.72, the mmap once a step 0.67
 *   s at 0.12 (112 steps for 80);
 * - the winner (or the one in phase that replaced it) is every k-th occurrence of its
 *   signature (k > 1), and the other recurs once a period k' >= 1 times shorter (its
 *   mode within two bins of the winner's over k') and is in phase too: that is the
 *   step, the winner's own lag 1 too uneven to be in phase.  The same loop at rest:
 *   a fcntl once a step, its CPU between two of them uneven, every 2nd one covered
 *   1.44 s, the step's fadvise 1.40 s at every one (40 steps for 80); a pread twice
 *   a step beside the fadvise once (k' = 1) put the first boundary in the start-up.
 *   Out of phase, a lag-1 mode is no step: under load, its page faults' blocks (5.7
 *   a step) 1.39 ms apart at their mode, 16 of those near the fcntl's 22.6 ms,
 *   covered a little more than the fadvise (455 steps for 80).  And where the blocks
 *   win, the one most in phase may be the fcntl's lag 2: its divisor still decides
 *   (golden nw0_fault_blocks_win: 37 steps for 68);
 * - another at the same lag and period (within two bins), in phase, explains nearly as
 *   many steps (intervals near its mode, within PER_NEAR) with a larger share of its
 *   intervals near its mode (sharp): it has fewer extra calls.  A nanoGPT-style
 *   loop attached to: the munmap once a step, and 7 more at exit, covered more than
 *   the mmap once a step (66 steps for 60, golden nw0_exit_munmap).
 */
bool period__best(const struct thr *t, struct period_pick *pick)
{
	const struct period *p = t->per;
	double best = 0, cover2[PER_LOADS] = { 0 }, period, cover;
	uint32_t n = 0;
	struct sig_pick all[PER_SIGS];
	const struct sig_pick *w = NULL, *sub = NULL, *part = NULL, *alike = NULL;

	memset(pick, 0, sizeof(*pick));
	for (uint32_t i = 0; p && i < p->nsig; i++) {
		struct sig_pick *o = &all[n];

		*o = (struct sig_pick){ .sig = p->sig[i] };
		cover = sig_period(&p->s[i], o);
		period = o->period;
		if (cover > 0)
			n++;
		if (cover > best) {
			best = cover;
			w = o;
			pick->tid = t->tid;
		}
		/*
		 * The loading signatures whose period covers the most: a sample's, maybe.  Its
		 * lag-1 mode where no lag of it is sharp: the start-up's imports open and read
		 * files at every spacing, and blur a sample's mode (4 JPEG files a batch: 39%
		 * of the intervals near it, no step found at all).
		 */
		if (!loading_sig(p->sig[i]))
			continue;
		if (!cover || o->lag > BATCH_PICK_LAG) {
			uint32_t mass, tot;

			period = mode_of(p->s[i].h[0], &mass, &tot);
			cover = mass >= 2 * PER_MIN_STEPS && period >= BATCH_SAMPLE_NS ? mass * period : 0;
		}
		/* the most cover first: the others are tried where it finds no batches */
		unsigned j = PER_LOADS;

		for (; j > 0 && cover > cover2[j - 1]; j--)
			if (j < PER_LOADS) {
				cover2[j] = cover2[j - 1];
				pick->sig2[j] = pick->sig2[j - 1];
				pick->period2_ns[j] = pick->period2_ns[j - 1];
			}
		if (j < PER_LOADS) {
			cover2[j] = cover;
			pick->sig2[j] = p->sig[i];
			pick->period2_ns[j] = (uint64_t)period;
		}
	}
	if (w) {
		/* far out of phase: the most in phase of those near it (the more cover at a tie) */
		for (uint32_t i = 0; w->phase >= PER_LOOSE && i < n; i++) {
			const struct sig_pick *o = &all[i];

			if (o != w && o->cover >= best / PER_NEAR && o->phase < PER_LOOSE &&
			    (!sub || o->phase < sub->phase ||
			     (o->phase == sub->phase && o->cover > sub->cover)))
				sub = o;
		}
		w = sub ? sub : w;
		/* every k-th occurrence of its own: the in-phase signature once a step, if one is */
		for (uint32_t i = 0; w->lag > 1 && i < n; i++) {
			const struct sig_pick *o = &all[i];
			double k = round(w->period / o->period);

			if (o != w && o->cover >= best / PER_NEAR && o->lag == 1 && k >= 1 &&
			    o->phase < PER_LOOSE && o->period * k <= w->period * PER_EXPLAIN &&
			    w->period <= o->period * k * PER_EXPLAIN && (!part || o->cover > part->cover))
				part = o;
		}
		w = part ? part : w;
		/* the same period: the train with the most of its intervals near it (no extras) */
		for (uint32_t i = 0; i < n; i++) {
			const struct sig_pick *o = &all[i];
			const struct sig_pick *b = alike ? alike : w;

			if (o != w && o->cover >= best / PER_NEAR && o->lag == w->lag &&
			    o->phase < PER_LOOSE && near(o->period, w->period) &&
			    o->mass * PER_NEAR >= w->mass &&
			    (o->sharp > b->sharp || (o->sharp == b->sharp && alike && o->cover > b->cover)))
				alike = o;
		}
		w = alike ? alike : w;
		pick->sig = w->sig;
		pick->lag = w->lag;
		pick->period_ns = (uint64_t)w->period;
	}
	if (pick->sig2[0] && !pick->tid)
		pick->tid = t->tid;	/* no pattern but maybe a batch's (period__batches()) */
	return pick->tid;
}

/* "clock_gettime", "read on a pipe", "blocking on a futex": what recurs. */
void period__name(const struct period_pick *pk, char *buf, size_t len)
{
	const char *n;

	if (pk->sig & PER_BLOCK) {
		snprintf(buf, len, "blocking (%s)", st_wait_name(pk->sig & ~PER_BLOCK));
		return;
	}
	n = st_syscall_name(pk->sig & 0xffff);
	if (pk->sig & PER_FX_HANDOFF)
		snprintf(buf, len, "%s handing a lock over (no GIL)", n ? n : "syscall");
	else if ((pk->sig >> PER_KIND_SHIFT) & 0xf)
		snprintf(buf, len, "%s on a %s%s", n ? n : "syscall",
			 st_fd_kind_name((pk->sig >> PER_KIND_SHIFT) & 0xf),
			 pk->sig & PER_PROCFS ? " of /proc" :
			 (pk->sig & ~PER_PROCFS) >> PER_FILE_SHIFT ? " (one file)" : "");
	else
		snprintf(buf, len, "%s", n ? n : "syscall");
}

void period__free(struct thr *t)
{
	free(t->per);
	t->per = NULL;
}
