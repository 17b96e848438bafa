// SPDX-License-Identifier: MIT
/*
 * zombie: forks a child that exits at once and is never reaped (a zombie), prints
 * "PARENT CHILD" once the child has exited, then waits for a line on stdin and
 * exits itself.  For the tracer's attach tests: a zombie as the target, and a tree
 * that holds one.
 */
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	siginfo_t si;
	char buf[16];
	pid_t c = fork();

	if (c < 0)
		return 1;
	if (c == 0)
		_exit(0);
	/* until the child has exited, leaving it unreaped */
	if (waitid(P_PID, (id_t)c, &si, WEXITED | WNOWAIT))
		return 1;
	printf("%d %d\n", (int)getpid(), (int)c);
	fflush(stdout);
	return read(0, buf, sizeof(buf)) < 0;
}
