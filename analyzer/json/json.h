/* SPDX-License-Identifier: MIT */
/*
 * analyzer/json/: JSON in and out.  json.c writes (the dump, the reports, Perfetto),
 * jparse.c reads a report whole (--compare), jstream.c reads reports as a stream
 * (--merge of thousands).  All three treat their input as hostile.
 *
 * Minimal JSON output helpers shared by the dump and the reports.
 */
#ifndef ST_JSON_H
#define ST_JSON_H

#include <stdio.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes) and its code point, or 0
 * when invalid: overlong forms, UTF-16 surrogates and code points past U+10FFFF too.
 */
size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp);
/*
 * Code points no output shows as they are: controls (C0, DEL, C1), bidirectional
 * overrides and isolates (U+202E...), invisible formatting (zero widths, BOM) and the
 * Unicode line separators.  They can hide or reorder what a terminal, a page or a CI
 * log shows, so every output escapes them.
 */
bool utf8_unsafe(uint32_t cp);

/*
 * Writes s as a JSON string literal: quotes and backslashes escaped, unsafe code
 * points as \uXXXX (the same string once decoded), bytes that are not UTF-8 as
 * \u00XX.
 */
void json_str(FILE *f, const char *s);
/* Writes a double as a JSON number (non-finite values as null). */
void json_num(FILE *f, double v);

#endif
