// SPDX-License-Identifier: MIT
/*
 * marksteps N [MODE [LIB]]: a C "trainer" that calls stalltrace_step() exactly N
 * times, each step doing a little work.  MODE "dlopen" loads LIB at run time first
 * (like a Python ctypes.CDLL); "dlopen-wait" then also prints "loaded" and waits
 * for a byte on stdin before stepping, so a test can first see the tracer probe
 * the library it loaded late.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stalltrace_mark.h"

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10;
	void (*step)(void) = stalltrace_step;
	volatile unsigned long x = 0;

	if (argc > 2 && !strncmp(argv[2], "dlopen", 6)) {
		void *h = dlopen(argc > 3 ? argv[3] : "libstalltrace_mark.so.1", RTLD_NOW);

		if (!h || !(step = (void (*)(void))dlsym(h, "stalltrace_step"))) {
			fprintf(stderr, "marksteps: %s\n", dlerror());
			return 1;
		}
		if (!strcmp(argv[2], "dlopen-wait")) {
			char c;

			printf("loaded\n");
			fflush(stdout);
			if (read(0, &c, 1) != 1)
				return 1;
		}
	}
	for (int i = 0; i < n; i++) {
		step();
		for (int j = 0; j < 100000; j++)
			x += (unsigned long)j;
		getppid();
	}
	printf("{\"steps\":%d}\n", n);
	return 0;
}
