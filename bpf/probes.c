// SPDX-License-Identifier: MIT
/*
 * User-space probes: CUDA synchronisation and launches (--cuda), any function
 * (--uprobe LIB:SYMBOL[:step]) and step markers.
 *
 * A probe is attached to a library file, for every process mapping it; the BPF
 * side keeps only traced threads.  A library is found in the maps of the traced
 * processes at start, and afterwards whenever a traced thread opens a file whose
 * name matches a wanted library (dlopen opens before it maps), so a library loaded
 * after tracing began is probed from about 10 ms after it was opened.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "probes.h"
#include "stalltrace.skel.h"

struct spec {
	char *lib;		/* a path, or a file-name prefix ("libcuda.so") */
	char *sym;
	__u32 role;
	bool cuda;		/* from --cuda: a missing symbol is normal, not worth a word */
};

struct done {			/* a library file already probed for a spec */
	dev_t dev;
	ino_t ino;
	int spec;
};

struct probes {
	struct stalltrace_bpf *skel;
	struct sink *sink;
	bool verbose;
	struct spec *specs;
	int nspecs;
	struct done *done;
	int ndone;
	struct bpf_link **links;
	int nlinks;
	char **pending;		/* paths traced threads opened, to look at */
	int npending;
	__u32 next_id;
	bool cuda_seen;		/* a traced process opened or mapped a CUDA library */
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

static int add_spec(struct probes *p, const char *lib, const char *sym, __u32 role, bool cuda)
{
	struct spec *n = realloc(p->specs, (size_t)(p->nspecs + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	p->specs = n;
	n[p->nspecs] = (struct spec){ strdup(lib), strdup(sym), role, cuda };
	if (!n[p->nspecs].lib || !n[p->nspecs].sym)
		return -ENOMEM;
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

int probes__new(struct probes **pp, struct stalltrace_bpf *skel, struct sink *sink,
		const struct tracer_opts *o)
{
	struct probes *p = calloc(1, sizeof(*p));
	int err = 0;

	*pp = p;
	if (!p)
		return -ENOMEM;
	p->skel = skel;
	p->sink = sink;
	p->verbose = o->verbose;
	p->next_id = 1;
	for (size_t i = 0; o->cuda && !err && i < sizeof(cuda_syms) / sizeof(cuda_syms[0]); i++)
		err = add_spec(p, cuda_syms[i].lib, cuda_syms[i].sym, cuda_syms[i].role, true);
	for (int i = 0; !err && i < o->nuprobes; i++) {
		err = parse_uprobe(p, o->uprobes[i]);
		if (err == -EINVAL)
			fprintf(stderr, "tracer: --uprobe wants LIB:SYMBOL or LIB:SYMBOL:step (got '%s')\n",
				o->uprobes[i]);
	}
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

static struct bpf_link *attach_one(struct probes *p, const char *path, const char *sym,
				   __u64 cookie, bool ret)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .func_name = sym, .retprobe = ret, .bpf_cookie = cookie);
	struct bpf_program *prog = ret ? p->skel->progs.on_probe_return : p->skel->progs.on_probe_entry;

	return bpf_program__attach_uprobe_opts(prog, -1, path, 0, &uo);
}

static int keep_link(struct probes *p, struct bpf_link *l)
{
	struct bpf_link **n = realloc(p->links, (size_t)(p->nlinks + 1) * sizeof(*n));

	if (!n) {
		bpf_link__destroy(l);
		return -ENOMEM;
	}
	p->links = n;
	p->links[p->nlinks++] = l;
	return 0;
}

/* Probes `sym` of the library at `path` (one file, whatever path reaches it). */
static void attach_spec(struct probes *p, int si, const char *path, const struct stat *st)
{
	const struct spec *s = &p->specs[si];
	struct st_probe_def d = { .id = p->next_id, .role = s->role };
	__u64 cookie = (__u64)d.id | ((__u64)s->role << 32);
	bool timed = s->role == ST_PROBE_PLAIN || s->role == ST_PROBE_GPU_SYNC;
	struct bpf_link *in, *out = NULL;
	char names[PATH_MAX + 256];
	struct done *n;

	for (int i = 0; i < p->ndone; i++)
		if (p->done[i].spec == si && p->done[i].dev == st->st_dev && p->done[i].ino == st->st_ino)
			return;
	n = realloc(p->done, (size_t)(p->ndone + 1) * sizeof(*n));
	if (!n)
		return;
	p->done = n;
	p->done[p->ndone++] = (struct done){ st->st_dev, st->st_ino, si };
	in = attach_one(p, path, s->sym, cookie, false);
	if (in && timed && !(out = attach_one(p, path, s->sym, cookie, true))) {
		bpf_link__destroy(in);
		in = NULL;
	}
	if (!in) {
		if (!s->cuda || p->verbose)
			fprintf(stderr, "tracer: cannot probe %s in %s: %s\n", s->sym, path,
				strerror(errno));
		return;
	}
	if (keep_link(p, in) || (out && keep_link(p, out)))
		return;
	p->next_id++;
	if (p->verbose)
		fprintf(stderr, "tracer: probing %s in %s\n", s->sym, path);
	/* library\0symbol\0 */
	snprintf(names, sizeof(names), "%s%c%s", path, '\0', s->sym);
	sink__record(p->sink, now_ns(), ST_REC_PROBE_DEF, 0, &d, sizeof(d), names,
		     strlen(path) + strlen(s->sym) + 2);
}

/* Probes every wanted function of the library file at `path`, if it is wanted. */
static void consider(struct probes *p, const char *path)
{
	char real[PATH_MAX];
	struct stat st;

	for (int i = 0; i < p->nspecs; i++) {
		if (!lib_matches(&p->specs[i], path))
			continue;
		if (!realpath(path, real) || stat(real, &st))
			return;
		attach_spec(p, i, real, &st);
	}
}

static void note_cuda(struct probes *p, const char *path)
{
	for (int i = 0; i < p->nspecs && !p->cuda_seen; i++)
		p->cuda_seen = p->specs[i].cuda && lib_matches(&p->specs[i], path);
}

void probes__scan_pid(struct probes *p, pid_t pid)
{
	char maps[64], line[PATH_MAX + 128];
	FILE *f;

	if (!p->nspecs)
		return;
	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');
		char perms[8] = "";

		/* address perms offset dev inode path: only executable file mappings */
		if (!path || sscanf(line, "%*s %7s", perms) != 1 || perms[2] != 'x')
			continue;
		path[strcspn(path, "\n")] = '\0';
		note_cuda(p, path);
		consider(p, path);
	}
	fclose(f);
}

/* Probes the wanted libraries found in one directory. */
static void scan_dir(struct probes *p, const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "lib", 3))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		consider(p, path);
	}
	closedir(d);
}

/* The directories listed in the dynamic linker's configuration (one level of include). */
static void scan_ld_conf(struct probes *p, const char *conf, int depth)
{
	char line[PATH_MAX];
	FILE *f = fopen(conf, "re");

	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n#")] = '\0';
		if (!strncmp(line, "include ", 8) && depth == 0) {
			glob_t g;

			if (!glob(line + 8, 0, NULL, &g))
				for (size_t i = 0; i < g.gl_pathc; i++)
					scan_ld_conf(p, g.gl_pathv[i], 1);
			globfree(&g);
		} else if (line[0] == '/') {
			scan_dir(p, line);
		}
	}
	if (f)
		fclose(f);
}

/*
 * Libraries named without a path are looked for where the dynamic linker would
 * find them, before the job starts: a probe on a file fires in every process that
 * maps it later, so nothing is missed however soon the job calls the function.
 * (A library loaded from elsewhere is caught when a traced thread opens it.)
 */
void probes__resolve(struct probes *p)
{
	static const char *const std_dirs[] = {
		"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64",
		"/lib", "/usr/lib", "/usr/local/lib",
	};
	const char *env = getenv("LD_LIBRARY_PATH");
	char *dirs, *dir, *save = NULL;

	if (!p->nspecs)
		return;
	if (env && (dirs = strdup(env))) {
		for (dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
			scan_dir(p, dir);
		free(dirs);
	}
	scan_ld_conf(p, "/etc/ld.so.conf", 0);
	for (size_t i = 0; i < sizeof(std_dirs) / sizeof(std_dirs[0]); i++)
		scan_dir(p, std_dirs[i]);
	for (int i = 0; i < p->nspecs; i++)
		if (strchr(p->specs[i].lib, '/'))
			consider(p, p->specs[i].lib);
}

void probes__saw_open(struct probes *p, const char *path)
{
	char **n;

	note_cuda(p, path);
	for (int i = 0; i < p->nspecs; i++) {
		if (!lib_matches(&p->specs[i], path))
			continue;
		n = realloc(p->pending, (size_t)(p->npending + 1) * sizeof(*n));
		if (!n)
			return;
		p->pending = n;
		if ((p->pending[p->npending] = strdup(path)))
			p->npending++;
		return;
	}
}

void probes__poll(struct probes *p)
{
	for (int i = 0; i < p->npending; i++) {
		consider(p, p->pending[i]);
		free(p->pending[i]);
	}
	p->npending = 0;
}

bool probes__wanted(const struct probes *p)
{
	return p && p->nspecs;
}

bool probes__cuda_seen(const struct probes *p)
{
	return p && p->cuda_seen;
}

void probes__free(struct probes *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nlinks; i++)
		bpf_link__destroy(p->links[i]);
	for (int i = 0; i < p->nspecs; i++) {
		free(p->specs[i].lib);
		free(p->specs[i].sym);
	}
	for (int i = 0; i < p->npending; i++)
		free(p->pending[i]);
	free(p->pending);
	free(p->links);
	free(p->specs);
	free(p->done);
	free(p);
}
