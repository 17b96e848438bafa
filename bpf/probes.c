// SPDX-License-Identifier: MIT
/*
 * User-space probes: CUDA synchronisation and launches (--cuda), any function
 * (--uprobe LIB:SYMBOL[:step]) and step markers.
 *
 * A probe is attached to a library file, for every process mapping it; the BPF
 * side keeps only traced threads.  A library is found where the dynamic linker
 * would find it before the job starts, in the maps of the traced processes at
 * attach, and afterwards whenever a traced thread opens a file whose name matches
 * a wanted library (dlopen opens before it maps), so a library loaded after
 * tracing began is probed from about 10 ms after it was opened.
 *
 * The traced job chooses what those files are: a FIFO or a device named like
 * libcuda.so.1, or a library on a file system that never answers.  So the tracer
 * (root) opens files only with O_PATH (no open of a FIFO or a device happens), probes
 * only regular files, and reaches a file the job opened only through the job's own
 * fd or mapping (/proc/TID/fd, /proc/TID/map_files), never by its name.  All of it
 * runs in a worker thread: reading a file may still block (FUSE, NFS), and the
 * trace loop never waits for it.  A file that takes longer than PROBE_TIMEOUT_NS is
 * given up, said once: its worker is left behind (a read from a hung file system
 * cannot be interrupted) and a new one goes on with the rest.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "probes.h"
#include "stalltrace.skel.h"

#define PROBE_TIMEOUT_NS	(3ull * 1000 * 1000 * 1000)	/* one file, then given up */
#define OPEN_LOOK_NS		(2ull * 1000 * 1000 * 1000)	/* an opened library is looked for */
#define RETRY_NS		(10ull * 1000 * 1000)
#define QUEUE_MAX		256

struct spec {
	char *lib;		/* a path, or a file-name prefix ("libcuda.so") */
	char *sym;		/* as given: names the same function may have, split at '|' */
	char *alts;		/* sym's names, each NUL-terminated, nalts of them */
	int nalts;
	__u32 role;
	bool cuda;		/* from --cuda: a missing symbol is normal, not worth a word */
	bool marker;		/* from --steps */
};

struct done {			/* a library file already probed for a spec */
	dev_t dev;
	ino_t ino;
	int spec;
};

enum job_kind {
	JOB_DIR = 1,		/* a directory the dynamic linker searches */
	JOB_CONF,		/* a dynamic linker configuration file: its directories */
	JOB_PATH,		/* a library given by its path (--uprobe /path/lib.so:SYM) */
	JOB_SCAN,		/* the mappings of a process found at attach */
	JOB_OPENED,		/* a file a traced thread opened */
};

struct job {
	int kind;
	char *path;		/* DIR, CONF, PATH */
	int depth;		/* CONF: includes followed */
	pid_t tid;		/* SCAN: the process; OPENED: the thread that opened */
	int fd;			/* OPENED: the fd its open returned */
	bool have_id;		/* OPENED: dev/ino known from the trace */
	__u32 dev;		/* trace encoding: major << 20 | minor */
	__u64 ino;
	__u64 specs;		/* OPENED: the specs the opened name matched (bit per spec) */
	__u64 not_before, deadline;
};

struct out {			/* a result for the trace loop: a probe definition or a line */
	__u64 ts;
	struct st_probe_def def;
	char *names;		/* library\0symbol\0 */
	size_t len;
	char *msg;
};

struct probes;

struct worker {
	struct probes *p;
	pthread_t thr;
	/* under p->mu */
	bool active;		/* running a job */
	bool abandoned;		/* given up by the trace loop: it ends as soon as it can */
	bool exited;
	__u64 busy_since;	/* the file being looked at, since when (0: none) */
	char busy_what[PATH_MAX];
	__u64 attach_ts;	/* an attach in flight: its definition's time */
};

struct probes {
	/* set before the worker starts, read-only after */
	struct stalltrace_bpf *skel;
	struct sink *sink;
	bool verbose;
	struct spec *specs;
	int nspecs;
	char *ld_path;		/* LD_LIBRARY_PATH when the tracer started */

	/* shared by the workers, under mu */
	pthread_mutex_t mu;
	pthread_cond_t work, idle;
	struct worker *cur;	/* the worker taking jobs; NULL when none */
	bool left_behind;	/* a worker was given up: it may still use p, never freed */
	bool stop, closed;
	struct done *done;
	int ndone;
	__u32 next_id;
	struct job *jobs;
	int njobs;
	struct out *outs;
	int nouts;
	struct bpf_link **links;
	int nlinks;
	bool cuda_seen;		/* a traced process opened or mapped a CUDA library */
	bool marker_seen;	/* ... or the step-marker library */

	/* the trace loop's own */
	__u32 *step_ids;	/* ids of step-marker probes */
	int nstep_ids;
};

static const struct { const char *lib, *sym; __u32 role; } cuda_syms[] = {
	{ "libcuda.so", "cuStreamSynchronize", ST_PROBE_GPU_SYNC },
	{ "libcuda.so", "cuCtxSynchronize", ST_PROBE_GPU_SYNC },
	{ "libcuda.so", "cuEventSynchronize", ST_PROBE_GPU_SYNC },
	{ "libcuda.so", "cuMemcpyDtoH_v2", ST_PROBE_GPU_SYNC },
	{ "libcuda.so", "cuMemcpyDtoH", ST_PROBE_GPU_SYNC },
	{ "libcuda.so", "cuLaunchKernel", ST_PROBE_GPU_LAUNCH },
	{ "libcuda.so", "cuLaunchKernelEx", ST_PROBE_GPU_LAUNCH },
	{ "libcudart.so", "cudaDeviceSynchronize", ST_PROBE_GPU_SYNC },
	{ "libcudart.so", "cudaStreamSynchronize", ST_PROBE_GPU_SYNC },
	{ "libcudart.so", "cudaEventSynchronize", ST_PROBE_GPU_SYNC },
	{ "libcudart.so", "cudaMemcpy", ST_PROBE_GPU_SYNC },
	{ "libcudart.so", "cudaLaunchKernel", ST_PROBE_GPU_LAUNCH },
};

/* ------------------------------------------------------------ specs */

static int add_spec(struct probes *p, const char *lib, const char *sym, __u32 role, bool cuda)
{
	struct spec *n;

	if (p->nspecs == 64)	/* job.specs is a 64-bit mask */
		return -E2BIG;
	n = realloc(p->specs, (size_t)(p->nspecs + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->specs = n;
	n[p->nspecs] = (struct spec){ .lib = strdup(lib), .sym = strdup(sym), .alts = strdup(sym),
				      .nalts = 1, .role = role, .cuda = cuda,
				      .marker = !strcmp(lib, ST_MARK_LIB) && !strcmp(sym, ST_MARK_SYM) };
	if (!n[p->nspecs].lib || !n[p->nspecs].sym || !n[p->nspecs].alts)
		return -ENOMEM;
	for (char *c = n[p->nspecs].alts; (c = strchr(c, '|')); *c++ = '\0')
		n[p->nspecs].nalts++;
	p->nspecs++;
	return 0;
}

/* LIB:SYMBOL[:step]; the library may itself hold no ':' */
static int parse_uprobe(struct probes *p, const char *arg)
{
	char *s = strdup(arg), *sym, *role;
	int err = -EINVAL;

	if (!s)
		return -ENOMEM;
	sym = strchr(s, ':');
	if (sym && sym != s && sym[1]) {
		*sym++ = '\0';
		role = strchr(sym, ':');
		if (role)
			*role++ = '\0';
		if (!role || !strcmp(role, "step"))
			err = add_spec(p, s, sym, role ? ST_PROBE_STEP : ST_PROBE_PLAIN, false);
	}
	free(s);
	return err;
}

/* "libcuda.so" matches libcuda.so, libcuda.so.1 and libcuda.so.535.1, not libcuda.so.d */
static bool lib_matches(const struct spec *s, const char *path)
{
	const char *base = strrchr(path, '/'), *rest;
	size_t n = strlen(s->lib);

	if (strchr(s->lib, '/'))
		return !strcmp(s->lib, path);
	base = base ? base + 1 : path;
	if (strncmp(base, s->lib, n))
		return false;
	rest = base + n;
	return !*rest || (rest[0] == '.' && rest[1] >= '0' && rest[1] <= '9');
}

static __u64 matching_specs(const struct probes *p, const char *path)
{
	__u64 m = 0;

	for (int i = 0; i < p->nspecs; i++)
		if (lib_matches(&p->specs[i], path))
			m |= 1ull << i;
	return m;
}

/* ------------------------------------------------------------ worker: results */

static void push_out(struct probes *p, const struct out *o)
{
	struct out *n = realloc(p->outs, (size_t)(p->nouts + 1) * sizeof(*n));

	if (!n) {
		free(o->names);
		free(o->msg);
		return;
	}
	p->outs = n;
	p->outs[p->nouts++] = *o;
}

/* A line for the trace loop to print (it owns stderr's status line). */
static void tell(struct probes *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tell(struct probes *p, const char *fmt, ...)
{
	struct out o = { 0 };
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&o.msg, fmt, ap) < 0)
		o.msg = NULL;
	va_end(ap);
	if (!o.msg)
		return;
	pthread_mutex_lock(&p->mu);
	push_out(p, &o);
	pthread_mutex_unlock(&p->mu);
}

static void seen(struct probes *p, __u64 specs)
{
	bool cuda = false, marker = false;

	for (int i = 0; i < p->nspecs; i++) {
		if (!(specs & (1ull << i)))
			continue;
		cuda |= p->specs[i].cuda;
		marker |= p->specs[i].marker;
	}
	if (!cuda && !marker)
		return;
	pthread_mutex_lock(&p->mu);
	p->cuda_seen |= cuda;
	p->marker_seen |= marker;
	pthread_mutex_unlock(&p->mu);
}

/*
 * The worker starts on one file: the trace loop may give it up from now on.
 * Returns false when it was given up already (it must end).
 */
static bool begin_file(struct worker *w, const char *what)
{
	bool ok;

	pthread_mutex_lock(&w->p->mu);
	w->busy_since = now_ns();
	snprintf(w->busy_what, sizeof(w->busy_what), "%s", what);
	ok = !w->abandoned;
	pthread_mutex_unlock(&w->p->mu);
	return ok;
}

/* The file has a better name than the one it was reached by (/proc/PID/fd/N). */
static void name_file(struct worker *w, const char *name)
{
	pthread_mutex_lock(&w->p->mu);
	snprintf(w->busy_what, sizeof(w->busy_what), "%s", name);
	pthread_mutex_unlock(&w->p->mu);
}

static void end_file(struct worker *w)
{
	pthread_mutex_lock(&w->p->mu);
	w->busy_since = 0;
	pthread_mutex_unlock(&w->p->mu);
}

/* ------------------------------------------------------------ worker: attaching */

static struct bpf_link *attach_one(struct probes *p, const char *path, const char *sym,
				   __u64 cookie, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = sym, .retprobe = ret, .bpf_cookie = cookie);
	struct bpf_program *prog = ret ? p->skel->progs.on_probe_return : p->skel->progs.on_probe_entry;

	return bpf_program__attach_uprobe_opts(prog, -1, path, 0, &uo);
}

/*
 * The first of the spec's names ("a|b": the same function as builds name it) that
 * the file has (*sym: that name); NULL when none attaches.  PyTorch 1.x exports
 * THPEngine_run_backward (_Z22...), 2.x makes it static (_ZL22..., in .symtab only).
 */
static struct bpf_link *attach_named(struct probes *p, const char *path, const struct spec *s,
				     const char **sym, __u64 cookie)
{
	struct bpf_link *l = NULL;
	const char *n = s->alts;
	int err = ENOENT;

	for (int k = 0; !l && k < s->nalts; k++, n += strlen(n) + 1) {
		*sym = n;
		if (!(l = attach_one(p, path, n, cookie, false)) && errno != ENOENT)
			err = errno;	/* a name the file lacks says less than any other error */
	}
	if (!l)
		errno = err;
	return l;
}

/* Under p->mu. */
static bool already_done(struct probes *p, int si, const struct stat *st)
{
	struct done *n;

	for (int i = 0; i < p->ndone; i++)
		if (p->done[i].spec == si && p->done[i].dev == st->st_dev && p->done[i].ino == st->st_ino)
			return true;
	n = realloc(p->done, (size_t)(p->ndone + 1) * sizeof(*n));
	if (!n)
		return true;
	p->done = n;
	p->done[p->ndone++] = (struct done){ st->st_dev, st->st_ino, si };
	return false;
}

/*
 * Keeps the links and queues the definition, unless the trace loop gave the file
 * up or closed meanwhile: then the probe goes, as if it had never been attached.
 */
static bool keep(struct worker *w, struct bpf_link *in, struct bpf_link *out, const struct out *o)
{
	struct probes *p = w->p;
	struct bpf_link **n = NULL;
	bool ok;

	pthread_mutex_lock(&p->mu);
	w->attach_ts = 0;
	ok = !w->abandoned && !p->closed &&
	     (n = realloc(p->links, (size_t)(p->nlinks + 2) * sizeof(*n)));
	if (ok) {
		p->links = n;
		p->links[p->nlinks++] = in;
		if (out)
			p->links[p->nlinks++] = out;
		push_out(p, o);
	}
	pthread_mutex_unlock(&p->mu);
	if (!ok) {
		bpf_link__destroy(in);
		bpf_link__destroy(out);
		free(o->names);
	}
	return ok;
}

/*
 * Probes `sym` of the regular file open at `fd` (an O_PATH fd), `name` being what
 * the trace calls it.  libbpf and the kernel reach the file through /proc/self/fd,
 * so it is that very file whatever its name points to by now.
 */
static void attach_spec(struct worker *w, int si, int fd, const struct stat *st, const char *name)
{
	struct probes *p = w->p;
	const struct spec *s = &p->specs[si];
	struct out o = { .def = { .role = s->role } };
	bool timed = s->role == ST_PROBE_PLAIN || s->role == ST_PROBE_GPU_SYNC;
	struct bpf_link *in, *out = NULL;
	const char *sym = s->sym;
	char path[64];
	__u64 cookie;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	pthread_mutex_lock(&p->mu);
	if (w->abandoned || p->closed || already_done(p, si, st)) {
		pthread_mutex_unlock(&p->mu);
		return;
	}
	o.def.id = p->next_id++;
	cookie = (__u64)o.def.id | ((__u64)s->role << 32);
	/* the definition precedes every call it times: the loop holds later records back */
	o.ts = w->attach_ts = now_ns();
	pthread_mutex_unlock(&p->mu);
	in = attach_named(p, path, s, &sym, cookie);
	if (!in)
		err = errno;
	if (in && timed && !(out = attach_one(p, path, sym, cookie, true))) {
		err = errno;
		bpf_link__destroy(in);
		in = NULL;
	}
	if (!in) {
		pthread_mutex_lock(&p->mu);
		w->attach_ts = 0;
		pthread_mutex_unlock(&p->mu);
		if (!s->cuda || p->verbose)
			tell(p, "cannot probe %s in %s: %s", s->sym, name, strerror(err));
		return;
	}
	o.len = strlen(name) + strlen(sym) + 2;
	o.names = malloc(o.len);
	if (o.names)
		snprintf(o.names, o.len, "%s%c%s", name, '\0', sym);
	if (!o.names || !keep(w, in, out, &o))
		return;
	if (p->verbose)
		tell(p, "probing %s in %s", sym, name);
}

/*
 * Kernel file systems whose regular files are not files: reading /proc/kmsg blocks
 * and takes the messages away from the system log; no library lives there.
 */
static bool pseudo_fs(int fd)
{
	static const long magic[] = {
		0x9fa0 /* proc */, 0x62656572 /* sysfs */, 0x64626720 /* debugfs */,
		0x74726163 /* tracefs */, 0x73636673 /* securityfs */, 0x63677270 /* cgroup2 */,
		0x27e0eb /* cgroup */, 0xcafe4a11 /* bpf */, 0x62656570 /* configfs */,
		0xde5e81e4 /* efivarfs */, 0x6165676c /* pstore */, 0xf97cff8c /* selinuxfs */,
		0x42494e4d /* binfmt_misc */, 0x65735543 /* fusectl */, 0x19800202 /* mqueue */,
	};
	struct statfs sf;

	if (fstatfs(fd, &sf))
		return true;
	for (size_t i = 0; i < sizeof(magic) / sizeof(magic[0]); i++)
		if ((long)sf.f_type == magic[i])
			return true;
	return false;
}

/*
 * Probes the specs in `specs` on the file `fd` (O_PATH) reaches, when it is a
 * regular file (and, when `want` is given, that very file).  Returns whether it was.
 */
static bool probe_fd(struct worker *w, int fd, __u64 specs, const struct stat *want)
{
	struct probes *p = w->p;
	char link[64], name[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || pseudo_fs(fd))
		return false;
	if (want && (st.st_dev != want->st_dev || st.st_ino != want->st_ino))
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, name, sizeof(name) - 1);
	if (n <= 0)
		return false;
	name[n] = '\0';
	name_file(w, name);
	for (int i = 0; i < p->nspecs; i++)
		if (specs & (1ull << i))
			attach_spec(w, i, fd, &st, name);
	return true;
}

/* Opens `path` without opening the file (O_PATH: no FIFO or device is ever opened). */
static bool probe_path(struct worker *w, const char *path, __u64 specs, const struct stat *want)
{
	bool ok = false;
	int fd;

	if (!specs || !begin_file(w, path))
		return false;
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd >= 0) {
		ok = probe_fd(w, fd, specs, want);
		close(fd);
	}
	end_file(w);
	return ok;
}

/* ------------------------------------------------------------ worker: finding libraries */

static void queue(struct probes *p, const struct job *j);

static void queue_path(struct probes *p, int kind, const char *path, int depth)
{
	struct job j = { .kind = kind, .path = strdup(path), .depth = depth };

	if (!j.path)
		return;
	pthread_mutex_lock(&p->mu);
	queue(p, &j);
	pthread_mutex_unlock(&p->mu);
}

/* Probes the wanted libraries found in one directory. */
static void scan_dir(struct worker *w, const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (!begin_file(w, dir))
		return;
	d = opendir(dir);
	end_file(w);
	while (d && begin_file(w, dir)) {
		de = readdir(d);	/* a directory can hang too */
		end_file(w);
		if (!de)
			break;
		if (strncmp(de->d_name, "lib", 3))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		probe_path(w, path, matching_specs(w->p, path), NULL);
	}
	if (d)
		closedir(d);
}

/* The directories listed in the dynamic linker's configuration (one level of include). */
static void scan_ld_conf(struct worker *w, const char *conf, int depth)
{
	char line[PATH_MAX];
	FILE *f;

	if (!begin_file(w, conf))
		return;
	f = fopen(conf, "re");
	end_file(w);
	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n#")] = '\0';
		if (!strncmp(line, "include ", 8) && depth == 0) {
			glob_t g;

			if (!glob(line + 8, 0, NULL, &g))
				for (size_t i = 0; i < g.gl_pathc; i++)
					queue_path(w->p, JOB_CONF, g.gl_pathv[i], 1);
			globfree(&g);
		} else if (line[0] == '/') {
			queue_path(w->p, JOB_DIR, line, 0);
		}
	}
	if (f)
		fclose(f);
}

struct mapping {
	unsigned long start, end;
	unsigned major, minor;
	unsigned long long ino;
	const char *path;
};

/* One line of /proc/PID/maps: only executable file mappings are kept. */
static bool parse_map(char *line, struct mapping *m)
{
	char perms[8];
	int off = 0;

	line[strcspn(line, "\n")] = '\0';
	if (sscanf(line, "%lx-%lx %7s %*x %x:%x %llu %n", &m->start, &m->end, perms, &m->major,
		   &m->minor, &m->ino, &off) < 6 || !off || perms[2] != 'x' || line[off] != '/')
		return false;
	m->path = line + off;
	return true;
}

/*
 * Probes, among pid's executable mappings, those whose name matches a spec (want
 * NULL), or the one of the file `want` (its specs in `specs`).  The file is reached
 * through /proc/PID/map_files: the very file mapped, whatever its name says.
 * Returns whether `want` was found.
 */
static bool scan_maps(struct worker *w, pid_t pid, __u64 specs, const struct job *want)
{
	char maps[64], line[PATH_MAX + 128], mf[96];
	struct mapping m;
	bool found = false;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	if (!begin_file(w, maps))
		return false;
	f = fopen(maps, "re");
	end_file(w);
	while (f && !found && fgets(line, sizeof(line), f)) {
		__u64 s = specs;

		if (!parse_map(line, &m))
			continue;
		if (want) {
			if (m.ino != want->ino || ((m.major << 20) | m.minor) != want->dev)
				continue;
			found = true;
		} else if (!(s = matching_specs(w->p, m.path))) {
			continue;
		}
		seen(w->p, s);
		snprintf(mf, sizeof(mf), "/proc/%d/map_files/%lx-%lx", pid, m.start, m.end);
		probe_path(w, mf, s, NULL);
	}
	if (f)
		fclose(f);
	return found;
}

/*
 * A traced thread opened a file named like a wanted library: probe it through the
 * fd the thread holds if it is still that file, else through its mapping once
 * dlopen has mapped it.  Returns true when done (found, or nothing left to try).
 */
static bool opened(struct worker *w, struct job *j)
{
	struct stat want = { 0 };
	char path[64];

	if (!j->have_id) {
		scan_maps(w, j->tid, j->specs, NULL);
		return true;
	}
	want.st_dev = makedev(j->dev >> 20, j->dev & 0xfffff);
	want.st_ino = j->ino;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", j->tid, j->fd);
	if (probe_path(w, path, j->specs, &want) || scan_maps(w, j->tid, j->specs, j))
		return true;
	snprintf(path, sizeof(path), "/proc/%d", j->tid);
	return now_ns() >= j->deadline || access(path, F_OK);
}

/* ------------------------------------------------------------ worker: the thread */

static int take_job(struct probes *p, struct job *j, __u64 *wake)
{
	__u64 now = now_ns();

	*wake = UINT64_MAX;
	for (int i = 0; i < p->njobs; i++) {
		if (p->jobs[i].not_before > now) {
			if (p->jobs[i].not_before < *wake)
				*wake = p->jobs[i].not_before;
			continue;
		}
		*j = p->jobs[i];
		memmove(p->jobs + i, p->jobs + i + 1, (size_t)(p->njobs - i - 1) * sizeof(*j));
		p->njobs--;
		return 1;
	}
	return 0;
}

/* Under p->mu; takes j->path. */
static void queue(struct probes *p, const struct job *j)
{
	struct job *n = p->njobs < QUEUE_MAX ?
			realloc(p->jobs, (size_t)(p->njobs + 1) * sizeof(*n)) : NULL;

	if (!n) {
		free(j->path);
		return;
	}
	p->jobs = n;
	p->jobs[p->njobs++] = *j;
	pthread_cond_signal(&p->work);
}

static void run_job(struct worker *w, struct job *j)
{
	switch (j->kind) {
	case JOB_DIR:
		scan_dir(w, j->path);
		break;
	case JOB_CONF:
		scan_ld_conf(w, j->path, j->depth);
		break;
	case JOB_PATH:
		probe_path(w, j->path, matching_specs(w->p, j->path), NULL);
		break;
	case JOB_SCAN:
		scan_maps(w, j->tid, 0, NULL);
		break;
	case JOB_OPENED:
		if (!opened(w, j)) {
			j->not_before = now_ns() + RETRY_NS;
			pthread_mutex_lock(&w->p->mu);
			queue(w->p, j);
			pthread_mutex_unlock(&w->p->mu);
			return;
		}
		break;
	}
	free(j->path);
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct probes *p = w->p;
	struct job j;
	__u64 wake;
	bool left;

	pthread_mutex_lock(&p->mu);
	while (!p->stop && !w->abandoned) {
		if (!take_job(p, &j, &wake)) {
			pthread_cond_broadcast(&p->idle);
			if (wake == UINT64_MAX) {
				pthread_cond_wait(&p->work, &p->mu);
			} else {
				struct timespec ts = { (time_t)(wake / 1000000000),
						       (long)(wake % 1000000000) };

				pthread_cond_timedwait(&p->work, &p->mu, &ts);
			}
			continue;
		}
		w->active = true;
		pthread_mutex_unlock(&p->mu);
		run_job(w, &j);
		pthread_mutex_lock(&p->mu);
		w->active = false;
	}
	w->exited = true;
	left = w->abandoned;
	pthread_cond_broadcast(&p->idle);
	pthread_mutex_unlock(&p->mu);
	if (left)
		free(w);	/* detached: nobody else holds it */
	return NULL;
}

/* Under p->mu (or before any worker runs). */
static int start_worker(struct probes *p)
{
	struct worker *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	w->p = p;
	err = pthread_create(&w->thr, NULL, worker, w);
	if (err) {
		free(w);
		return -err;
	}
	p->cur = w;
	return 0;
}

/*
 * Under p->mu: the current worker has been stuck in one file too long.  It is left
 * to itself (a read from a hung file system cannot be interrupted) and a new
 * worker takes the next jobs.  Returns the time it has been stuck, in seconds.
 */
static double give_up(struct probes *p, __u64 now, char *what, size_t len)
{
	struct worker *w = p->cur;
	double secs = (double)(now - w->busy_since) / 1e9;

	snprintf(what, len, "%s", w->busy_what);
	w->abandoned = true;
	p->left_behind = true;
	pthread_detach(w->thr);
	p->cur = NULL;
	if (!p->stop)
		start_worker(p);
	return secs;
}

/* ------------------------------------------------------------ the trace loop's side */

int probes__new(struct probes **pp, struct stalltrace_bpf *skel, struct sink *sink,
		const struct tracer_opts *o)
{
	struct probes *p = calloc(1, sizeof(*p));
	const char *env = getenv("LD_LIBRARY_PATH");
	pthread_condattr_t ca;
	int err = 0;

	*pp = p;
	if (!p)
		return -ENOMEM;
	p->skel = skel;
	p->sink = sink;
	p->verbose = o->verbose;
	p->next_id = 1;
	pthread_mutex_init(&p->mu, NULL);
	/* the worker's retry deadlines are CLOCK_MONOTONIC, like every time here */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->work, &ca);
	pthread_cond_init(&p->idle, &ca);
	pthread_condattr_destroy(&ca);
	if (env && !(p->ld_path = strdup(env)))
		return -ENOMEM;
	for (size_t i = 0; o->cuda && !err && i < sizeof(cuda_syms) / sizeof(cuda_syms[0]); i++)
		err = add_spec(p, cuda_syms[i].lib, cuda_syms[i].sym, cuda_syms[i].role, true);
	for (int i = 0; !err && i < o->nuprobes; i++) {
		err = parse_uprobe(p, o->uprobes[i]);
		if (err == -EINVAL)
			fprintf(stderr, "tracer: --uprobe wants LIB:SYMBOL or LIB:SYMBOL:step (got '%s')\n",
				o->uprobes[i]);
		else if (err == -E2BIG)
			fprintf(stderr, "tracer: too many probes (--cuda counts 12, at most 64 in all)\n");
	}
	if (err || !p->nspecs)
		return err;
	return start_worker(p);
}

bool probes__wanted(const struct probes *p)
{
	return p && p->nspecs;
}

/*
 * Libraries named without a path are looked for where the dynamic linker would
 * find them, before the job starts: a probe on a file fires in every process that
 * maps it later, so nothing is missed however soon the job calls the function.
 * (A library loaded from elsewhere is caught when a traced thread opens it.)  One
 * job per directory: a directory that hangs costs only itself.
 */
void probes__resolve(struct probes *p)
{
	static const char *const std_dirs[] = {
		"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
		"/lib", "/usr/lib", "/usr/local/lib",
	};
	char *dirs, *dir, *save = NULL;

	if (!probes__wanted(p))
		return;
	for (size_t i = 0; i < sizeof(std_dirs) / sizeof(std_dirs[0]); i++)
		queue_path(p, JOB_DIR, std_dirs[i], 0);
	queue_path(p, JOB_CONF, "/etc/ld.so.conf", 0);
	for (int i = 0; i < p->nspecs; i++)
		if (strchr(p->specs[i].lib, '/'))
			queue_path(p, JOB_PATH, p->specs[i].lib, 0);
	if (p->ld_path && (dirs = strdup(p->ld_path))) {
		for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
			queue_path(p, JOB_DIR, dir, 0);
		free(dirs);
	}
}

void probes__scan_pid(struct probes *p, pid_t pid)
{
	if (!probes__wanted(p))
		return;
	pthread_mutex_lock(&p->mu);
	queue(p, &(struct job){ .kind = JOB_SCAN, .tid = pid });
	pthread_mutex_unlock(&p->mu);
}

void probes__saw_open(struct probes *p, pid_t tid, int fd, const char *path,
		      const struct st_sc_fd *id)
{
	struct job j = { .kind = JOB_OPENED, .tid = tid, .fd = fd };
	bool dup = false;

	if (!probes__wanted(p) || !(j.specs = matching_specs(p, path)))
		return;
	if (id && id->kind != ST_FD_REG) {
		/* a FIFO or a device named like a library: never touched */
		if (p->verbose)
			fprintf(stderr, "tracer: not probing '%s': the job opened a %s, not a library\n",
				path, st_fd_kind_name(id->kind));
		return;
	}
	seen(p, j.specs);
	if (id) {
		j.have_id = true;
		j.dev = id->dev;
		j.ino = id->ino;
	}
	j.deadline = now_ns() + OPEN_LOOK_NS;
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->njobs && !dup; i++)
		dup = p->jobs[i].kind == JOB_OPENED && p->jobs[i].dev == j.dev &&
		      p->jobs[i].ino == j.ino && p->jobs[i].tid == j.tid;
	if (!dup)
		queue(p, &j);
	pthread_mutex_unlock(&p->mu);
}

/* Under p->mu. */
static bool idle(const struct probes *p)
{
	return !p->cur || p->cur->exited || !(p->njobs || p->cur->active);
}

/* Until the worker has nothing to do, or `ns` passed; false on a timeout. */
bool probes__wait(struct probes *p, __u64 ns)
{
	__u64 end = now_ns() + ns;
	struct timespec ts = { (time_t)(end / 1000000000), (long)(end % 1000000000) };
	bool done;
	int rc = 0;

	if (!probes__wanted(p))
		return true;
	pthread_mutex_lock(&p->mu);
	while (!(done = idle(p)) && !rc)
		rc = pthread_cond_timedwait(&p->idle, &p->mu, &ts);
	pthread_mutex_unlock(&p->mu);
	return done;
}

__u64 probes__hold(struct probes *p)
{
	__u64 h = UINT64_MAX;

	if (!probes__wanted(p))
		return h;
	pthread_mutex_lock(&p->mu);
	if (p->cur && p->cur->attach_ts)
		h = p->cur->attach_ts - 1;
	pthread_mutex_unlock(&p->mu);
	return h;
}

static void remember_step(struct probes *p, const struct out *o)
{
	__u32 *n;

	if (o->def.role != ST_PROBE_STEP)
		return;
	n = realloc(p->step_ids, (size_t)(p->nstep_ids + 1) * sizeof(*n));
	if (!n)
		return;
	p->step_ids = n;
	p->step_ids[p->nstep_ids++] = o->def.id;
}

/* Delivers the workers' results; gives up on a file that does not answer. */
static void deliver(struct probes *p, __u64 now)
{
	struct out *outs;
	char what[PATH_MAX] = "";
	double secs = 0;
	int n;

	pthread_mutex_lock(&p->mu);
	if (now && p->cur && p->cur->busy_since && now > p->cur->busy_since + PROBE_TIMEOUT_NS)
		secs = give_up(p, now, what, sizeof(what));
	outs = p->outs;
	n = p->nouts;
	p->outs = NULL;
	p->nouts = 0;
	pthread_mutex_unlock(&p->mu);
	if (what[0])
		fprintf(stderr, "tracer: probes: '%s' has not answered for %.0f s (a hung file "
			"system?): going on without it\n", what, secs);
	for (int i = 0; i < n; i++) {
		if (outs[i].msg)
			fprintf(stderr, "tracer: %s\n", outs[i].msg);
		if (outs[i].names) {
			sink__record(p->sink, outs[i].ts, ST_REC_PROBE_DEF, 0, &outs[i].def,
				     sizeof(outs[i].def), outs[i].names, outs[i].len);
			remember_step(p, &outs[i]);
		}
		free(outs[i].msg);
		free(outs[i].names);
	}
	free(outs);
}

void probes__poll(struct probes *p)
{
	if (probes__wanted(p))
		deliver(p, now_ns());
}

bool probes__is_step(const struct probes *p, __u32 id)
{
	for (int i = 0; p && i < p->nstep_ids; i++)
		if (p->step_ids[i] == id)
			return true;
	return false;
}

static bool flag(struct probes *p, const bool *f)
{
	bool v;

	pthread_mutex_lock(&p->mu);
	v = *f;
	pthread_mutex_unlock(&p->mu);
	return v;
}

bool probes__cuda_seen(struct probes *p)
{
	return probes__wanted(p) && flag(p, &p->cuda_seen);
}

bool probes__marker_seen(struct probes *p)
{
	return probes__wanted(p) && flag(p, &p->marker_seen);
}

/*
 * Stops the worker (waiting for it at most a second: it may be stuck in a file
 * that never answers), delivers what it found and detaches every probe.
 */
void probes__stop(struct probes *p)
{
	__u64 end = now_ns() + 1000000000ull;
	struct timespec ts = { (time_t)(end / 1000000000), (long)(end % 1000000000) };
	struct worker *w;
	char what[PATH_MAX] = "";

	if (!probes__wanted(p) || p->stop)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	while (p->cur && !p->cur->exited && !pthread_cond_timedwait(&p->idle, &p->mu, &ts))
		;
	w = p->cur;
	if (w && !w->exited)
		give_up(p, end, what, sizeof(what));
	p->closed = true;
	for (int i = 0; i < p->nlinks; i++)
		bpf_link__destroy(p->links[i]);
	p->nlinks = 0;
	pthread_mutex_unlock(&p->mu);
	if (what[0])
		fprintf(stderr, "tracer: probes: gave up on '%s': it has not answered\n", what);
	if (p->cur) {
		pthread_join(p->cur->thr, NULL);
		free(p->cur);
		p->cur = NULL;
	}
	deliver(p, 0);
}

void probes__free(struct probes *p)
{
	if (!p)
		return;
	probes__stop(p);
	if (p->left_behind)
		return;		/* a worker left behind may still read it */
	free(p->links);
	for (int i = 0; i < p->nspecs; i++) {
		free(p->specs[i].lib);
		free(p->specs[i].sym);
		free(p->specs[i].alts);
	}
	for (int i = 0; i < p->njobs; i++)
		free(p->jobs[i].path);
	free(p->specs);
	free(p->jobs);
	free(p->done);
	free(p->step_ids);
	free(p->ld_path);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->idle);
	free(p);
}
