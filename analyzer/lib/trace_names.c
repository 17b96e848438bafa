// SPDX-License-Identifier: MIT
/* Names of the format's enums, for reports and the JSON Lines dump. */
#include <string.h>

#include "st_bpf.h"
#include "st_trace.h"
#define ST_SYSCALL_TABLES
#include "st_syscalls.h"	/* generated from the x86_64 unistd_64.h at build time */

#define NAME(tab, i) ((i) < sizeof(tab) / sizeof(tab[0]) ? tab[i] : NULL)

const char *st_rec_name(unsigned type)
{
	const struct st_rec_desc *d = st_rec_desc(type);

	return d ? d->name : NULL;
}

const char *st_kind_name(unsigned kind)
{
	static const char *const names[ST_KIND_MAX] = {
		"sched", "wakeup", "proc", "syscall", "block", "pcache", "probe", "state",
	};
	return NAME(names, kind);
}

const char *st_state_name(unsigned state)
{
	static const char *const names[] = {
		[ST_STATE_RUNNING] = "R", [ST_STATE_SLEEP] = "S", [ST_STATE_DISK] = "D",
		[ST_STATE_STOPPED] = "T", [ST_STATE_DEAD] = "X", [ST_STATE_IDLE] = "I",
		[ST_STATE_OTHER] = "?",
	};
	const char *n = NAME(names, state);

	return n ? n : "?";
}

const char *st_fd_kind_name(unsigned kind)
{
	static const char *const names[ST_FD_KIND_MAX] = {
		"unknown", "file", "pipe", "socket", "chr", "blk", "dir", "anon", "link",
	};
	const char *n = NAME(names, kind);

	return n ? n : "unknown";
}

const char *st_wait_name(unsigned w)
{
	static const char *const names[ST_WAIT_MAX] = {
		"unknown", "file", "pipe", "socket", "futex", "sleep", "other",
	};
	const char *n = NAME(names, w);

	return n ? n : "unknown";
}

const char *st_blk_op_name(unsigned op)
{
	static const char *const names[] = { "read", "write", "flush", "discard", "other" };
	const char *n = NAME(names, op);

	return n ? n : "other";
}

const char *st_syscall_name(unsigned nr)
{
	return NAME(st_syscall_names, nr);
}

/* for st_syscall_class(), inline in st_trace.h */
const unsigned short *const st_syscall_class_tab = st_syscall_classes;
const unsigned st_syscall_class_len = sizeof(st_syscall_classes) / sizeof(st_syscall_classes[0]);

unsigned st_syscall_capture(unsigned nr)
{
	return nr < sizeof(st_syscall_capture_) / sizeof(st_syscall_capture_[0]) ?
	       st_syscall_capture_[nr] : 0;
}

int st_syscall_nr(const char *name)
{
	for (unsigned i = 0; i < sizeof(st_syscall_names) / sizeof(st_syscall_names[0]); i++)
		if (st_syscall_names[i] && !strcmp(st_syscall_names[i], name))
			return (int)i;
	return -1;
}
