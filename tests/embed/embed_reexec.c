// SPDX-License-Identifier: MIT
/*
 * embed_reexec: a program built on libringvisor that upgrades itself live
 * (include/ringvisor.h, "Live upgrade"; tests/integration/
 * test_reexec_embed.py).
 *
 *   embed_reexec CONFIG TRIGGER
 *
 * Supervises CONFIG's services.  Between loop turns it looks for the file
 * TRIGGER: when it exists, it is removed and the tree handed over with
 * rv_supervisor_reexec() to the binary the file names (empty: this one).
 * That call returns only on failure, which is printed as
 * "embed_reexec: reexec failed: ..."; on success this program starts
 * again in the same process and resumes the tree.  Each start prints
 * "embed_reexec: pid=N resumed=0|1" on stderr.  It answers the new
 * binary's probe and dry run as the library asks.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ringvisor.h>

static void maybe_reexec(struct rv_supervisor *sv, void *ctx)
{
	const char *trigger = ctx;
	char path[512] = "", err[700];
	FILE *f = fopen(trigger, "re");
	int ret;

	if (!f)
		return;
	if (!fgets(path, sizeof(path), f))
		path[0] = '\0';
	fclose(f);
	path[strcspn(path, "\n")] = '\0';
	unlink(trigger);
	ret = rv_supervisor_reexec(sv, path[0] ? path : NULL, NULL, NULL, err,
				   sizeof(err));
	fprintf(stderr, "embed_reexec: reexec failed: %d %s\n", ret, err);
}

int main(int argc, char **argv)
{
	struct rv_options opts = { 0 };
	struct rv_supervisor *sv;
	int ret;

	/* the old image's questions to this binary, before anything else */
	if (argc > 1 && !strcmp(argv[1], "--handover-formats")) {
		rv_handover_print_formats(stdout);
		return 0;
	}
	if (argc > 2 && !strcmp(argv[1], "--handover-check"))
		return rv_handover_check(argv[2], &opts, stderr);
	if (argc != 3) {
		fprintf(stderr, "usage: embed_reexec CONFIG TRIGGER\n");
		return 2;
	}
	ret = rv_supervisor_load(&sv, argv[1], &opts, stderr);
	if (ret) {
		fprintf(stderr, "embed_reexec: %s: %s\n", argv[1],
			strerror(-ret));
		return 2;
	}
	fprintf(stderr, "embed_reexec: pid=%d resumed=%d\n", (int)getpid(),
		rv_supervisor_resumed(sv));
	/* function pointers do not cross: set again in every image */
	rv_supervisor_set_turn_hook(sv, maybe_reexec, argv[2]);
	ret = rv_supervisor_run(sv);
	rv_supervisor_free(sv);
	return ret;
}
