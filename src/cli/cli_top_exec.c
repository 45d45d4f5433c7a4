/* SPDX-License-Identifier: MIT */
/*
 * `ringvisor top` runs the ringvisor-top program with its arguments.
 *
 * Why a program of its own: top draws with ncurses, and everything the
 * `ringvisor` binary links is mapped by the daemon too (`ringvisor run`
 * is the same binary), where ncurses and tinfo are ~150 KiB of PSS that
 * the supervisor never uses.  A separate executable keeps that cost in
 * the process that draws.  (dlopen'ing ncurses instead would need a
 * table of some forty functions and its global variables, LINES, COLS
 * and stdscr, and the macros built on them.)
 *
 * Where it is: beside this binary first (the build tree: build/ringvisor
 * and build/ringvisor-top), then where it is installed
 * (LIBEXECDIR/ringvisor/ringvisor-top).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config.h"

#define TOP_NAME "ringvisor-top"

/* The directory of the running binary into dir ("" when unknown). */
static void self_dir(char *dir, size_t cap)
{
	ssize_t n = readlink("/proc/self/exe", dir, cap - 1);
	char *slash;

	dir[n > 0 ? n : 0] = '\0';
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		dir[0] = '\0';
}

int rv_cli_top_exec(int argc, char **argv)
{
	char dir[PATH_MAX], beside[PATH_MAX + sizeof(TOP_NAME) + 1];
	const char *tried = RV_TOP_PROGRAM;
	int err = ENOENT;

	argv[0] = TOP_NAME;
	self_dir(dir, sizeof(dir));
	if (dir[0] && snprintf(beside, sizeof(beside), "%s/" TOP_NAME, dir) <
			      (int)sizeof(beside)) {
		execv(beside, argv);
		err = errno;
		tried = beside;
	}
	if (err == ENOENT) {
		execv(RV_TOP_PROGRAM, argv);
		err = errno;
		tried = RV_TOP_PROGRAM;
	}
	fprintf(stderr, "ringvisor: top: cannot run %s: %s\n", tried,
		strerror(err));
	return 1;
}
