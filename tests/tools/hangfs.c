// SPDX-License-Identifier: MIT
/*
 * hangfs MOUNTPOINT NAME...: mounts a file system of the files NAME... that can be
 * listed, looked up, stat'ed and opened but whose reads are never answered:
 * libraries on a hung network file system.  Speaks the FUSE protocol on /dev/fuse
 * directly (no libfuse); needs root.  Prints "mounted" once ready, then "read" for
 * every read it leaves unanswered.  On SIGTERM or SIGINT it closes /dev/fuse (the
 * kernel fails every pending request) and unmounts.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIRST_INO	2	/* NAME i has inode FIRST_INO + i */
#define FILE_SIZE	(1u << 20)

static char **names;
static int nnames;
static int dev = -1;

static void reply(const struct fuse_in_header *in, int error, const void *data, size_t len)
{
	char buf[sizeof(struct fuse_out_header) + 4096];
	struct fuse_out_header out = { (uint32_t)(sizeof(out) + len), -error, in->unique };

	if (len > sizeof(buf) - sizeof(out))
		len = 0;
	memcpy(buf, &out, sizeof(out));
	memcpy(buf + sizeof(out), data, len);
	if (write(dev, buf, sizeof(out) + len) < 0 && errno != ENOENT)
		perror("hangfs: write");
}

static void attr_of(uint64_t ino, struct fuse_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	a->nlink = 1;
	a->blksize = 4096;
	if (ino == FUSE_ROOT_ID) {
		a->mode = S_IFDIR | 0755;
		a->nlink = 2;
	} else {
		a->mode = S_IFREG | 0755;
		a->size = FILE_SIZE;
		a->blocks = FILE_SIZE / 512;
	}
}

static void readdir_reply(const struct fuse_in_header *in, const struct fuse_read_in *rd)
{
	char buf[4096];
	size_t len = 0;

	for (uint64_t i = rd->offset; i < (uint64_t)nnames + 2; i++) {
		const char *n = i == 0 ? "." : i == 1 ? ".." : names[i - 2];
		struct fuse_dirent d = { i < 2 ? FUSE_ROOT_ID : FIRST_INO + i - 2, i + 1,
					 (uint32_t)strlen(n), i < 2 ? DT_DIR : DT_REG };
		size_t sz = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET + d.namelen);

		if (len + sz > sizeof(buf) || len + sz > rd->size)
			break;
		memset(buf + len, 0, sz);
		memcpy(buf + len, &d, FUSE_NAME_OFFSET);
		memcpy(buf + len + FUSE_NAME_OFFSET, n, d.namelen);
		len += sz;
	}
	reply(in, 0, buf, len);
}

static void handle(const struct fuse_in_header *in, const void *arg)
{
	switch (in->opcode) {
	case FUSE_INIT: {
		struct fuse_init_out o = { .major = FUSE_KERNEL_VERSION,
					   .minor = FUSE_KERNEL_MINOR_VERSION,
					   .max_readahead = 4096, .max_write = 4096,
					   .max_background = 16, .congestion_threshold = 12,
					   .time_gran = 1 };

		reply(in, 0, &o, sizeof(o));
		printf("mounted\n");
		break;
	}
	case FUSE_LOOKUP: {
		struct fuse_entry_out o = { .generation = 1 };

		for (int i = 0; in->nodeid == FUSE_ROOT_ID && i < nnames; i++)
			if (!strcmp(arg, names[i]))
				o.nodeid = FIRST_INO + (uint64_t)i;
		if (!o.nodeid) {
			reply(in, ENOENT, NULL, 0);
			break;
		}
		attr_of(o.nodeid, &o.attr);
		reply(in, 0, &o, sizeof(o));
		break;
	}
	case FUSE_GETATTR: {
		struct fuse_attr_out o = { 0 };

		attr_of(in->nodeid, &o.attr);
		reply(in, 0, &o, sizeof(o));
		break;
	}
	case FUSE_OPEN: case FUSE_OPENDIR: {
		/* keep the cache: an open must not wait for a read left hanging */
		struct fuse_open_out o = { .open_flags = FOPEN_KEEP_CACHE };

		reply(in, 0, &o, sizeof(o));
		break;
	}
	case FUSE_READDIR:
		readdir_reply(in, arg);
		break;
	case FUSE_STATFS: {
		struct fuse_statfs_out o = { .st = { .bsize = 4096, .namelen = 255, .frsize = 4096 } };

		reply(in, 0, &o, sizeof(o));
		break;
	}
	case FUSE_READ:
		printf("read\n");	/* and never answered */
		break;
	case FUSE_RELEASE: case FUSE_RELEASEDIR: case FUSE_FLUSH:
		reply(in, 0, NULL, 0);
		break;
	case FUSE_FORGET: case FUSE_BATCH_FORGET: case FUSE_INTERRUPT:
		break;		/* no reply expected (an interrupt is ignored) */
	default:
		reply(in, ENOSYS, NULL, 0);
	}
}

static void on_term(int sig)
{
	(void)sig;
}

int main(int argc, char **argv)
{
	static char buf[FUSE_MIN_READ_BUFFER + 65536];
	struct sigaction sa = { .sa_handler = on_term };
	char opts[128];

	if (argc < 3) {
		fprintf(stderr, "usage: hangfs MOUNTPOINT NAME...\n");
		return 2;
	}
	names = argv + 2;
	nnames = argc - 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (dev < 0) {
		perror("hangfs: /dev/fuse");
		return 1;
	}
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", dev);
	if (mount("hangfs", argv[1], "fuse.hangfs", MS_NOSUID | MS_NODEV, opts)) {
		perror("hangfs: mount");
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);	/* no SA_RESTART: the read below returns EINTR */
	sigaction(SIGINT, &sa, NULL);
	for (;;) {
		ssize_t n = read(dev, buf, sizeof(buf));

		if (n < 0 && errno == ENOENT)
			continue;	/* a request interrupted before we read it */
		if (n < (ssize_t)sizeof(struct fuse_in_header))
			break;
		handle((const struct fuse_in_header *)buf, buf + sizeof(struct fuse_in_header));
	}
	close(dev);
	umount2(argv[1], MNT_DETACH);
	return 0;
}
