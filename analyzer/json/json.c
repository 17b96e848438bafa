// SPDX-License-Identifier: MIT
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "json.h"

size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c;

	if (!n)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates, past U+10FFFF */
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) || (c >= 0xd800 && c <= 0xdfff) ||
	    c > 0x10ffff)
		return 0;
	*cp = c;
	return len;
}

bool utf8_unsafe(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x61c || c == 0x180e ||
	       (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
	       (c >= 0x2060 && c <= 0x2069) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb) ||
	       c == 0xfffe || c == 0xffff;
}

void json_str(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");
	size_t left = strlen((const char *)s), n;
	uint32_t c;

	fputc('"', f);
	while (left) {
		/* a run of plain ASCII goes out in one write */
		for (n = 0; n < left && s[n] >= 0x20 && s[n] < 0x7f && s[n] != '"' && s[n] != '\\'; n++)
			;
		if (n) {
			fwrite(s, 1, n, f);
			s += n;
			left -= n;
			continue;
		}
		if (*s == '"' || *s == '\\') {
			fputc('\\', f);
			fputc(*s, f);
			n = 1;
		} else if (!(n = utf8_seq(s, left, &c))) {
			/* not UTF-8: keep the byte visible without breaking the document */
			fprintf(f, "\\u%04x", *s);
			n = 1;
		} else if (utf8_unsafe(c)) {
			fprintf(f, "\\u%04x", (unsigned)c);
		} else {
			fwrite(s, 1, n, f);
		}
		s += n;
		left -= n;
	}
	fputc('"', f);
}

void json_num(FILE *f, double v)
{
	if (!isfinite(v))
		fputs("null", f);
	else if (fabs(v) < 9e15 && v == (double)(int64_t)v)	/* in range before the cast */
		fprintf(f, "%lld", (long long)v);
	else
		fprintf(f, "%.9g", v);
}
