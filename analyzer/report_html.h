/* SPDX-License-Identifier: MIT */
/* `analyze -o DIR`: DIR/index.html, the report as one self-contained page. */
#ifndef ST_REPORT_HTML_H
#define ST_REPORT_HTML_H

#include <stdio.h>

#include "analysis.h"

/*
 * Writes DIR/index.html (DIR is created when missing): the verdict, the breakdown,
 * the steps, the top stalls and every .svg chart found in DIR inline, so call it
 * after charts__write().  Without charts the page says so.  0, or a negative errno.
 */
int report__html(const char *dir, const struct an_result *res);

/* Writes at most max bytes of s as HTML text: &<>"' escaped, control bytes and
 * invalid UTF-8 as U+FFFD.  Safe in element content and quoted attributes. */
void html_esc(FILE *f, const char *s, size_t max);

#endif
