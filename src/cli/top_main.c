/* SPDX-License-Identifier: MIT */
/*
 * ringvisor-top: the program `ringvisor top` runs (cli_top_exec.c says
 * why it is one of its own).  Its arguments are top's.
 */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	static char name[] = "top";

	argv[0] = name;	/* as `ringvisor top` names itself in messages */
	return rv_cli_top(argc, argv);
}
