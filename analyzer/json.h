/* SPDX-License-Identifier: MIT */
/* Minimal JSON output helpers shared by the dump and the reports. */
#ifndef ST_JSON_H
#define ST_JSON_H

#include <stdio.h>

/* Writes s as a JSON string literal: quotes, escapes, invalid UTF-8 bytes as \u00XX. */
void json_str(FILE *f, const char *s);
/* Writes a double as a JSON number (non-finite values as null). */
void json_num(FILE *f, double v);

#endif
