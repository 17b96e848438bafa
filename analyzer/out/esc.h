/* SPDX-License-Identifier: MIT */
/*
 * Escaping for the outputs that are not JSON (json.h): the terminal, HTML and XML,
 * and GitHub workflow commands.  Every string from a trace or from a
 * baseline goes through one of them: names, paths and command lines are whatever
 * the traced job (or a pull request's baseline) made them.
 */
#ifndef ST_ESC_H
#define ST_ESC_H

#include <stddef.h>
#include <stdio.h>

/*
 * At most max bytes of s for a terminal or a log: printable text as it is, unsafe
 * code points (utf8_unsafe(): escapes, C1, U+202E, line separators) as \uXXXX and
 * bytes that are not UTF-8 as \xNN, so nothing can move the cursor, recolour,
 * reorder the line or start a new one.
 */
void text_esc(FILE *f, const char *s, size_t max);
/* The same into buf (always terminated, cut to len); returns buf. */
char *text_esc_buf(char *buf, size_t len, const char *s);
/*
 * At most max bytes of s as HTML or XML 1.0 text: &<>"' escaped, the rest as
 * text_esc (an XML parser then sees no control and no byte that is not UTF-8; a page
 * no U+202E).  Safe in element content and quoted attributes.
 */
void html_esc(FILE *f, const char *s, size_t max);
void xml_esc(FILE *f, const char *s);
/* The message of a GitHub workflow command: as text_esc, then %, CR and LF encoded. */
void gh_esc(FILE *f, const char *s);

#endif
