/* SPDX-License-Identifier: MIT */
#ifndef ST_DUMP_H
#define ST_DUMP_H

#include <stdio.h>

/*
 * Prints the trace at path as JSON Lines.  Returns the exit status: 0 complete,
 * 1 unreadable (message on stderr), 3 incomplete (truncated or damaged: all that
 * could be read was printed, the reason is on stderr).
 */
int st_dump(const char *path, FILE *out, const char *prog);

#endif
