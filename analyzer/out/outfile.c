// SPDX-License-Identifier: MIT
/* Output files and directories, written so no one else's file or link is used (outfile.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "outfile.h"

static mode_t file_mode(void)
{
	mode_t mask = umask(0);

	umask(mask);
	return 0666 & ~mask;
}

int out_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (!len || len >= sizeof(buf))
		return len ? -ENAMETOOLONG : 0;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(buf, 0777) && errno != EEXIST)
			return -errno;
		*p = c;
		if (!c)
			break;
	}
	return 0;
}

/* The directory part of path ("." for none), in buf. */
static void dir_of(const char *path, char *buf, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(buf, len, ".");
	else if (slash == path)
		snprintf(buf, len, "/");
	else
		snprintf(buf, len, "%.*s", (int)(slash - path), path);
}

/* A symlink is followed only when its owner could have written the target anyway. */
static bool trusted_link(const struct stat *st)
{
	return st->st_uid == geteuid() || st->st_uid == 0;
}

static int open_direct(struct outfile *o, const char *path, bool trunc)
{
	/* non-blocking open: a FIFO without a reader fails (ENXIO) instead of hanging */
	int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | (trunc ? O_TRUNC : 0));
	int fl;

	if (fd < 0)
		return -errno;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		close(fd);
		return -errno;
	}
	o->fd = fd;
	return 0;
}

static int open_tmp(struct outfile *o, const char *target)
{
	char dir[PATH_MAX];
	const char *base = strrchr(target, '/');
	int err;

	dir_of(target, dir, sizeof(dir));
	base = base ? base + 1 : target;
	if (!*base)
		return -EISDIR;
	if ((err = out_mkdirs(dir)))
		return err;
	if (asprintf(&o->tmp, "%s/.%s.XXXXXX", dir, base) < 0) {
		o->tmp = NULL;
		return -ENOMEM;
	}
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0 || fchmod(o->fd, file_mode())) {
		err = -errno;
		if (o->fd >= 0) {
			close(o->fd);
			unlink(o->tmp);
		}
		free(o->tmp);
		o->tmp = NULL;
		o->fd = -1;
		return err;
	}
	return 0;
}

/*
 * Whether following the links from path passes through /proc: /dev/stdout and
 * /dev/fd/N are links to the process's own open files, written where they point.
 */
static bool via_proc(const char *path)
{
	char cur[PATH_MAX], link[PATH_MAX], dir[PATH_MAX];
	ssize_t n;

	snprintf(cur, sizeof(cur), "%s", path);
	for (int i = 0; i < 40; i++) {
		if (!strncmp(cur, "/proc/", 6))
			return true;
		if ((n = readlink(cur, link, sizeof(link) - 1)) < 0)
			return false;
		link[n] = '\0';
		if (link[0] == '/') {
			memcpy(cur, link, (size_t)n + 1);
		} else {
			dir_of(cur, dir, sizeof(dir));
			if ((size_t)snprintf(cur, sizeof(cur), "%s/%s", dir, link) >= sizeof(cur))
				return false;
		}
	}
	return false;
}

int outfile__open(struct outfile *o, const char *path)
{
	struct stat st, to;
	bool link;

	memset(o, 0, sizeof(*o));
	o->path = path;
	o->fd = -1;
	if (!strcmp(path, "-")) {
		o->fd = STDOUT_FILENO;
		return 0;
	}
	if (lstat(path, &st))
		return errno == ENOENT ? open_tmp(o, path) : -errno;
	if ((link = S_ISLNK(st.st_mode))) {
		/* a link is replaced, never written through, but to our own open files and
		 * devices (/dev/stdout); another user's link to those is refused */
		if (stat(path, &to))
			return open_tmp(o, path);
		if (!via_proc(path) && !S_ISCHR(to.st_mode) && !S_ISFIFO(to.st_mode) &&
		    !S_ISSOCK(to.st_mode))
			return open_tmp(o, path);
		if (!trusted_link(&st))
			return -ELOOP;
		st = to;
	}
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (S_ISBLK(st.st_mode))
		return -ENOTSUP;
	if (!S_ISREG(st.st_mode) || link)
		return open_direct(o, path, S_ISREG(st.st_mode));
	return open_tmp(o, path);
}

int outfile__close(struct outfile *o, bool ok)
{
	int err = 0;

	if (o->fd >= 0 && o->fd != STDOUT_FILENO) {
		if (o->tmp && ok && fsync(o->fd))
			err = -errno;
		if (close(o->fd) && !err)
			err = -errno;
	}
	o->fd = -1;
	if (o->tmp) {
		if (ok && !err && rename(o->tmp, o->path))
			err = -errno;
		if (!ok || err)
			unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
	}
	return err;
}

FILE *outfile__fopen(struct outfile *o, const char *path)
{
	int err = outfile__open(o, path);
	FILE *f;

	if (err) {
		errno = -err;
		return NULL;
	}
	if (o->fd == STDOUT_FILENO)
		return stdout;
	f = fdopen(o->fd, "w");
	if (!f) {
		err = errno;
		outfile__close(o, false);
		errno = err;
	}
	return f;
}

int outfile__fclose(struct outfile *o, FILE *f, bool ok)
{
	int err = 0, cerr;

	if (fflush(f) || ferror(f))
		err = -(errno ? errno : EIO);
	if (f != stdout) {
		if (o->tmp && ok && !err && fsync(fileno(f)))
			err = -errno;
		if (fclose(f) && !err)
			err = -errno;
		o->fd = -1;
	}
	cerr = outfile__close(o, ok && !err);
	return err ? err : cerr;
}

/* ------------------------------------------------------------ directories */

bool outdir_gnuplot = true;

static int say(struct outdir *d, int err, const char *what, const char *name)
{
	if (!d->err) {
		d->err = err;
		fprintf(stderr, "%s: cannot %s '%s/%s': %s\n", d->prog, what, d->dir, name,
			strerror(err));
	}
	return -1;
}

int outdir__open(struct outdir *d, const char *dir, const char *prog)
{
	char tmpl[PATH_MAX];
	struct stat st;
	int err;

	memset(d, 0, sizeof(*d));
	d->dir = dir;
	d->prog = prog;
	d->dfd = d->sfd = -1;
	if (!lstat(dir, &st) && S_ISLNK(st.st_mode) && !trusted_link(&st)) {
		fprintf(stderr, "%s: '%s' is another user's symbolic link: not followed\n", prog,
			dir);
		return -1;
	}
	if ((err = out_mkdirs(dir)) ||
	    (d->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "%s: cannot create '%s': %s\n", prog, dir,
			strerror(err ? -err : errno));
		return -1;
	}
	if ((size_t)snprintf(tmpl, sizeof(tmpl), "%s/.stalltrace.XXXXXX", dir) >= sizeof(tmpl) ||
	    !mkdtemp(tmpl)) {
		fprintf(stderr, "%s: cannot write in '%s': %s\n", prog, dir, strerror(errno));
		goto fail;
	}
	snprintf(d->stage, sizeof(d->stage), "%s", strrchr(tmpl, '/') + 1);
	/* the directory just made, by its name in DIR: still ours, private and empty */
	d->sfd = openat(d->dfd, d->stage, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d->sfd < 0 || fstat(d->sfd, &st) || st.st_uid != geteuid() ||
	    (st.st_mode & 0777) != 0700) {
		fprintf(stderr, "%s: '%s/%s' changed under us: nothing written\n", prog, dir,
			d->stage);
		goto fail;
	}
	return 0;
fail:
	if (d->sfd >= 0)
		close(d->sfd);
	close(d->dfd);
	d->dfd = d->sfd = -1;
	return -1;
}

static int remember(struct outdir *d, const char *name)
{
	if (outdir__has(d, name))
		return 0;
	if (d->n == OUTDIR_FILES || !(d->names[d->n] = strdup(name)))
		return -ENOMEM;
	d->n++;
	return 0;
}

bool outdir__has(struct outdir *d, const char *name)
{
	for (int i = 0; i < d->n; i++)
		if (!strcmp(d->names[i], name))
			return true;
	return false;
}

FILE *outdir__create(struct outdir *d, const char *name)
{
	int fd, err;
	FILE *f;

	if (d->sfd < 0)
		return NULL;
	fd = openat(d->sfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd < 0) {
		say(d, errno, "write", name);
		return NULL;
	}
	if ((err = remember(d, name)) || !(f = fdopen(fd, "w"))) {
		say(d, err ? -err : errno, "write", name);
		close(fd);
		return NULL;
	}
	return f;
}

int outdir__close_file(struct outdir *d, FILE *f)
{
	int err = ferror(f) ? EIO : 0;

	if (fclose(f) && !err)
		err = errno ? errno : EIO;
	if (err && !d->err) {
		d->err = err;
		fprintf(stderr, "%s: cannot write in '%s': %s\n", d->prog, d->dir, strerror(err));
	}
	return err ? -1 : 0;
}

int outdir__gnuplot(struct outdir *d, const char *script, const char *var,
		    const char *const *outputs)
{
	struct stat st;
	pid_t pid;
	int status;

	if (d->sfd < 0 || !outdir__has(d, script))
		return -1;	/* only a script this run wrote */
	if (!outdir_gnuplot)
		return 127;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		if (fchdir(d->sfd))
			_exit(126);
		execlp("gnuplot", "gnuplot", "-e", var, script, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	for (; outputs && *outputs; outputs++)
		if (!fstatat(d->sfd, *outputs, &st, AT_SYMLINK_NOFOLLOW) && S_ISREG(st.st_mode))
			remember(d, *outputs);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Empties and removes the private directory. */
static void remove_stage(struct outdir *d)
{
	int fd = d->sfd >= 0 ? dup(d->sfd) : -1;
	DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	while (dir && (de = readdir(dir)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(d->sfd, de->d_name, 0);
	if (dir)
		closedir(dir);
	else if (fd >= 0)
		close(fd);
	if (d->dfd >= 0 && d->stage[0])
		unlinkat(d->dfd, d->stage, AT_REMOVEDIR);
}

static void outdir_free(struct outdir *d)
{
	for (int i = 0; i < d->n; i++)
		free(d->names[i]);
	d->n = 0;
	if (d->sfd >= 0)
		close(d->sfd);
	if (d->dfd >= 0)
		close(d->dfd);
	d->sfd = d->dfd = -1;
}

int outdir__commit(struct outdir *d, const char *const *ours)
{
	int ret = d->err ? -1 : 0;

	for (int i = 0; !d->err && i < d->n; i++)
		if (renameat(d->sfd, d->names[i], d->dfd, d->names[i]))
			ret = say(d, errno, "write", d->names[i]);
	/* what an earlier run drew and this one did not is not this trace's */
	for (; !d->err && ours && *ours; ours++)
		if (!outdir__has(d, *ours) && unlinkat(d->dfd, *ours, 0) && errno != ENOENT &&
		    errno != EISDIR)
			ret = say(d, errno, "remove", *ours);
	remove_stage(d);
	outdir_free(d);
	return ret;
}

void outdir__abort(struct outdir *d)
{
	remove_stage(d);
	outdir_free(d);
}

const char *outfile__error(int err)
{
	if (err < 0)
		err = -err;
	if (err == ELOOP)
		return "another user's symbolic link: not followed";
	if (err == ENOTSUP)
		return "a block device: not written";
	if (err == ENXIO)
		return "a FIFO nobody reads";
	return strerror(err);
}
