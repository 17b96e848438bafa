// SPDX-License-Identifier: MIT
/*
 * The live status line, when stderr is a terminal.  The traced job usually writes
 * to the same terminal, at any moment, and any line drawn in place among its
 * output runs into it.  So the status gets the terminal's last row to itself: the
 * rows above become the scroll region everything else prints in (what apt does
 * for its progress bar), and the status is drawn there with the cursor saved and
 * restored, in one write(), which the tty never splits with another writer's.  At
 * the end the region is reset and the row cleared; the cursor stays where the
 * job's output left it.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tracer.h"

static bool on;
static int rows, cols;
static volatile sig_atomic_t resized;

static void on_winch(int sig)
{
	(void)sig;
	resized = 1;
}

static bool size(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) || ws.ws_row < 4 || ws.ws_col < 20)
		return false;
	rows = ws.ws_row;
	cols = ws.ws_col;
	return true;
}

/* Only a foreground tracer draws: in the background the terminal is the shell's. */
static bool foreground(void)
{
	return tcgetpgrp(STDERR_FILENO) == getpgrp();
}

static void put(const char *s, int n)
{
	/* a failed write (a closed terminal) just ends the status */
	if (n <= 0 || write(STDERR_FILENO, s, (size_t)n) != n)
		on = false;
}

void status__start(void)
{
	struct sigaction sa = { .sa_handler = on_winch, .sa_flags = SA_RESTART };
	const char *term = getenv("TERM");
	char buf[64];

	if (!isatty(STDERR_FILENO) || !term || !*term || !strcmp(term, "dumb") || !foreground() ||
	    !size())
		return;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	on = true;
	/* a row for the status: a new line, the region above it, back up to the line */
	put(buf, snprintf(buf, sizeof(buf), "\n\0337\033[1;%dr\0338\033[1A", rows - 1));
}

void status__draw(const char *text)
{
	char buf[512];
	int n;

	if (!on)
		return;
	if (!foreground()) {
		status__end();	/* sent to the background (^Z, bg): give the row back */
		return;
	}
	if (resized) {
		resized = 0;
		if (!size()) {
			status__end();
			return;
		}
	}
	/*
	 * The region again each time (the job may have reset the terminal), then the
	 * last row, cleared and written, cut to the width so it never wraps.
	 */
	n = snprintf(buf, sizeof(buf), "\0337\033[1;%dr\033[%d;1H\033[2K%.*s\0338", rows - 1, rows,
		     cols - 1 < 256 ? cols - 1 : 256, text);
	put(buf, n);
}

void status__end(void)
{
	char buf[64];

	if (!on)
		return;
	put(buf, snprintf(buf, sizeof(buf), "\0337\033[1;%dr\033[%d;1H\033[2K\0338", rows, rows));
	on = false;
	signal(SIGWINCH, SIG_DFL);
}
