/* SPDX-License-Identifier: MIT */
/*
 * analyzer/out/: what a result becomes.  report_text.c, report_json.c, report_html.c,
 * charts.c (gnuplot), perfetto.c (a view the pass drives: an_obs), dump.c (--dump);
 * esc.c escapes untrusted strings for each of them, and every file they write goes
 * through this module.
 *
 * Where analyze writes: files it replaces whole, and output directories it fills.
 * `analyze` often runs as root (after `tracer`), so a path may lie in a directory
 * another user can write, who may have planted a symlink, a script or an old chart
 * there.  Hence:
 *   - a file is written to a new temporary file beside it, renamed over the path
 *     when complete: never through a symlink, never half written (devices and the
 *     process's own open files, /dev/stdout, are written directly);
 *   - a directory's files are made in a private directory (mode 0700) inside it, where
 *     gnuplot runs on the scripts just written there, then renamed into place; the
 *     page lists only the charts this run drew, and this run's leftovers (a chart
 *     an earlier run drew and this one did not) are removed.
 * Missing parent directories are created.
 */
#ifndef ST_OUTFILE_H
#define ST_OUTFILE_H

#include <stdbool.h>
#include <stdio.h>

struct outfile {
	const char *path;	/* where the file goes */
	char *tmp;		/* the file being written, renamed over path; NULL: direct */
	int fd;
};

/*
 * Opens `path` for writing: "-" is stdout; a character device or FIFO (/dev/null)
 * is written directly, and so are our own open files (/dev/stdout, /dev/fd/N) through
 * a link of ours or root's; anything else goes to a temporary file renamed over the
 * path (a symlink there is replaced, not written through).  0, or a negative errno.
 */
int outfile__open(struct outfile *o, const char *path);
/* Puts the file in place (ok) or removes it (!ok); 0, or a negative errno. */
int outfile__close(struct outfile *o, bool ok);
/* The same for a whole FILE on it: opens, returns it (NULL with errno set). */
FILE *outfile__fopen(struct outfile *o, const char *path);
int outfile__fclose(struct outfile *o, FILE *f, bool ok);

/* What a negative errno of outfile__open means, in words. */
const char *outfile__error(int err);

#define OUTDIR_FILES 64

struct outdir {
	const char *dir, *prog;
	int dfd, sfd;		/* the directory, and the private one inside it */
	char stage[32];
	char *names[OUTDIR_FILES];	/* files made in the private directory */
	int n;
	int err;		/* first error (errno), said once */
};

/* Creates DIR when missing and a private directory in it; 0, or -1 (said). */
int outdir__open(struct outdir *d, const char *dir, const char *prog);
/* A new file NAME in the private directory, or NULL (said once). */
FILE *outdir__create(struct outdir *d, const char *name);
int outdir__close_file(struct outdir *d, FILE *f);
/* Whether NAME was made in this run (a file of ours, or one gnuplot drew). */
bool outdir__has(struct outdir *d, const char *name);
/*
 * Runs gnuplot on SCRIPT (made by this run) in the private directory, with `-e
 * VAR` first; then takes the files it drew (`outputs`, NULL-terminated) as ours.
 * 0, 127 when gnuplot is not installed, else non-zero.
 */
int outdir__gnuplot(struct outdir *d, const char *script, const char *var,
		    const char *const *outputs);
/* false: outdir__gnuplot does nothing and says 127 (the fuzz targets: no processes) */
extern bool outdir_gnuplot;
/*
 * Moves every file made into DIR (replacing what is there, never through a link),
 * removes the names in `ours` (NULL-terminated) that this run did not make, and the
 * private directory.  0, or -1 (said).
 */
int outdir__commit(struct outdir *d, const char *const *ours);
/* Removes the private directory and what is in it (on failure). */
void outdir__abort(struct outdir *d);

/* Creates the missing directories of `path` (mkdir -p); 0 or a negative errno. */
int out_mkdirs(const char *path);

#endif
