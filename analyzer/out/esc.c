// SPDX-License-Identifier: MIT
/* Escaping for the terminal, HTML and XML, and GitHub workflow commands (esc.h). */
#include <stdint.h>
#include <string.h>

#include "esc.h"
#include "json.h"

/* One code point or byte of s: its text (into out, terminated); the bytes it took. */
static size_t esc_one(const unsigned char *s, size_t left, char out[16])
{
	uint32_t c;
	size_t n = utf8_seq(s, left, &c);

	if (!n)
		snprintf(out, 16, "\\x%02x", *s);
	else if (utf8_unsafe(c))
		snprintf(out, 16, "\\u%04x", (unsigned)c);
	else
		snprintf(out, 16, "%.*s", (int)n, (const char *)s);
	return n ? n : 1;
}

void text_esc(FILE *f, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t left = strnlen((const char *)s, max);
	char out[16];

	while (left) {
		size_t n = esc_one(s, left, out);

		fputs(out, f);
		s += n;
		left -= n;
	}
}

char *text_esc_buf(char *buf, size_t len, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t left = strlen((const char *)s), used = 0;
	char out[16];

	if (!len)
		return buf;
	buf[0] = '\0';
	while (left) {
		size_t n = esc_one(s, left, out), k = strlen(out);

		if (used + k >= len)
			break;
		memcpy(buf + used, out, k + 1);
		used += k;
		s += n;
		left -= n;
	}
	return buf;
}

void html_esc(FILE *f, const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t left = strnlen((const char *)s, max);
	char out[16];

	while (left) {
		size_t n = 1;

		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			n = esc_one(s, left, out);
			fputs(out, f);
		}
		s += n;
		left -= n;
	}
}

void xml_esc(FILE *f, const char *s)
{
	html_esc(f, s, SIZE_MAX);
}

void gh_esc(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t left = strlen((const char *)s);
	char out[16];

	while (left) {
		size_t n = esc_one(s, left, out);

		/* after esc_one no CR or LF is left: only % is special in a message */
		for (const char *p = out; *p; p++)
			*p == '%' ? fputs("%25", f) : fputc(*p, f);
		s += n;
		left -= n;
	}
}
