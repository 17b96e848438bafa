// SPDX-License-Identifier: MIT
/* analyze: placeholder main until the analysis lands; only --dump for now. */
#include <stdio.h>
#include <string.h>

#include "dump.h"

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--dump"))
		return st_dump(argv[2], stdout, "analyze");
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("analyze %s\n", ST_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: analyze --dump TRACE\n");
	return 2;
}
