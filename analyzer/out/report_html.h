/* SPDX-License-Identifier: MIT */
/* `analyze -o DIR`: DIR/index.html, the report as one self-contained page. */
#ifndef ST_REPORT_HTML_H
#define ST_REPORT_HTML_H

#include <stdio.h>

#include "analysis.h"

struct outdir;
/*
 * Writes index.html into d's private directory (outfile.h): the verdict, the
 * breakdown, the steps, the top stalls and, inline, the .svg charts this run drew,
 * so call it after charts__write().  Without charts the page says so.  0, or -1 (said).
 */
int report__html(struct outdir *d, const struct an_result *res);

#endif
