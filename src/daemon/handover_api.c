/* SPDX-License-Identifier: MIT */
/*
 * The hand-over for programs built on libringvisor (include/ringvisor.h,
 * "Live upgrade"): the same steps as `ringvisor reexec` (handover.c), to
 * the binary, command line and environment the program chooses, called
 * synchronously from its between-turns hook.  The new image resumes in
 * rv_supervisor_load() and rv_supervisor_run() as `ringvisor run` does.
 */
#include <errno.h>
#include <ringvisor.h>
#include <stdio.h>
#include <string.h>

#include "control/commands.h"
#include "daemon/handover.h"
#include "daemon/handover_internal.h"
#include "tree/supervisor.h"
#include "util/log.h"

#define API_TIMEOUT_NS	(10LL * 1000 * NS_PER_MS)

void rv_supervisor_set_turn_hook(struct rv_supervisor *sv, rv_turn_fn *fn,
				 void *ctx)
{
	if (!sv->handover)
		return;
	sv->handover->turn_fn = fn;
	sv->handover->turn_ctx = ctx;
}

void rv_handover_turn_hook(struct rv_supervisor *sv)
{
	struct rv_handover *h = sv->handover;

	if (!h || !h->turn_fn || h->in_turn_hook)
		return;
	h->in_turn_hook = true;
	h->turn_fn(sv, h->turn_ctx);
	h->in_turn_hook = false;
}

int rv_supervisor_resumed(const struct rv_supervisor *sv)
{
	return sv->handover && sv->handover->took_over;
}

/* Why the tree cannot be handed over now, or NULL. */
static const char *refusal(const struct rv_supervisor *sv)
{
	const struct rv_handover *h = sv->handover;

	if (!h)
		return "only a supervisor made by rv_supervisor_load() hands "
		       "over (the new image loads the same file)";
	if (!h->in_turn_hook)
		return "call it from the turn hook "
		       "(rv_supervisor_set_turn_hook): between two loop turns";
	if (h->exe_fd < 0 || !h->argv)
		return "the running binary is unknown (/proc/self/exe)";
	return rv_commands_reexec_refusal(sv);
}

int rv_supervisor_reexec(struct rv_supervisor *sv, const char *path,
			 char *const argv[], char *const envp[], char *err,
			 size_t errlen)
{
	struct rv_handover *h = sv->handover;
	const char *why = refusal(sv);
	char **own_argv;
	char e[600];
	int ret;

	if (why) {
		snprintf(err, errlen, "%s", why);
		return -EINVAL;
	}
	if (!path)
		path = h->exe_path;
	rv_log_sup(RV_LOG_INFO, "main", "reexec_begin", " binary=%s", path);
	own_argv = h->argv;
	if (argv)
		h->argv = (char **)argv;
	rv_handover_env_base(envp);
	ret = rv_handover_run(sv, path, API_TIMEOUT_NS, e, sizeof(e));
	/* still here: it failed, and the tree runs on in this image */
	rv_handover_env_base(NULL);
	h->argv = own_argv;
	snprintf(err, errlen, "reexec: %s: %s", path, e);
	rv_log_sup(RV_LOG_ERROR, "main", "reexec_failed",
		   " binary=%s error=\"%s\"", path, e);
	return ret < 0 ? ret : -EIO;
}
