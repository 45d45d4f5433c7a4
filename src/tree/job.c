/* SPDX-License-Identifier: MIT */
/*
 * The merge table of jobs (job.h).  Rows: the pending job; columns: the
 * request.  Each cell is the job that is pending afterwards and what the
 * requester is told.  Read a row as "while X is pending, asking for Y
 * means ...":
 *
 *   - NONE: the request becomes the job.
 *   - START pending: a stop supersedes it (systemd: stop beats start).
 *   - STOP pending (admin): start or restart make it a RESTART (down,
 *     then up again: the process that is stopping is not kept).
 *   - STOP_GROUP pending: the parent owns the member until its group
 *     operation is over; an admin start or restart is absorbed (the
 *     caller clears `held`, so the parent starts it with the rest), an
 *     admin stop is absorbed too (the caller sets `held`, so the parent
 *     leaves it down).
 *   - RESTART pending: start is absorbed, stop supersedes.
 *   - REMOVE pending: the member is no longer in the config; nothing
 *     brings it back, a stop is already happening.
 *   - SHUTDOWN pending: final.  Nothing brings the member back; a REMOVE
 *     cannot arrive (reload is refused during shutdown) and is refused.
 *   - A SHUTDOWN request supersedes everything but REMOVE, which stops
 *     the member as well and then forgets it.
 */
#include "tree/job.h"

#define I RV_JOB_INSTALLED
#define M RV_JOB_MERGED
#define S RV_JOB_SUPERSEDED
#define A RV_JOB_ABSORBED
#define R RV_JOB_REFUSED

struct cell {
	enum rv_job_type next;	/* RV_JOB_NTYPES: the pending job stays */
	enum rv_job_verdict verdict;
};

#define KEEP RV_JOB_NTYPES

static const struct cell table[RV_JOB_NTYPES][RV_JOB_NTYPES] = {
	[RV_JOB_NONE] = {
		[RV_JOB_START] = { RV_JOB_START, I },
		[RV_JOB_STOP] = { RV_JOB_STOP, I },
		[RV_JOB_STOP_GROUP] = { RV_JOB_STOP_GROUP, I },
		[RV_JOB_RESTART] = { RV_JOB_RESTART, I },
		[RV_JOB_REMOVE] = { RV_JOB_REMOVE, I },
		[RV_JOB_SHUTDOWN] = { RV_JOB_SHUTDOWN, I },
	},
	[RV_JOB_START] = {
		[RV_JOB_START] = { KEEP, A },
		[RV_JOB_STOP] = { RV_JOB_STOP, S },
		[RV_JOB_STOP_GROUP] = { RV_JOB_STOP_GROUP, S },
		[RV_JOB_RESTART] = { RV_JOB_RESTART, M },
		[RV_JOB_REMOVE] = { RV_JOB_REMOVE, S },
		[RV_JOB_SHUTDOWN] = { RV_JOB_SHUTDOWN, S },
	},
	[RV_JOB_STOP] = {
		[RV_JOB_START] = { RV_JOB_RESTART, M },
		[RV_JOB_STOP] = { KEEP, A },
		[RV_JOB_STOP_GROUP] = { RV_JOB_STOP_GROUP, S },
		[RV_JOB_RESTART] = { RV_JOB_RESTART, M },
		[RV_JOB_REMOVE] = { RV_JOB_REMOVE, S },
		[RV_JOB_SHUTDOWN] = { RV_JOB_SHUTDOWN, S },
	},
	[RV_JOB_STOP_GROUP] = {
		[RV_JOB_START] = { KEEP, A },
		[RV_JOB_STOP] = { KEEP, A },
		[RV_JOB_STOP_GROUP] = { KEEP, A },
		[RV_JOB_RESTART] = { KEEP, A },
		[RV_JOB_REMOVE] = { RV_JOB_REMOVE, S },
		[RV_JOB_SHUTDOWN] = { RV_JOB_SHUTDOWN, S },
	},
	[RV_JOB_RESTART] = {
		[RV_JOB_START] = { KEEP, A },
		[RV_JOB_STOP] = { RV_JOB_STOP, S },
		[RV_JOB_STOP_GROUP] = { RV_JOB_STOP_GROUP, S },
		[RV_JOB_RESTART] = { KEEP, A },
		[RV_JOB_REMOVE] = { RV_JOB_REMOVE, S },
		[RV_JOB_SHUTDOWN] = { RV_JOB_SHUTDOWN, S },
	},
	[RV_JOB_REMOVE] = {
		[RV_JOB_START] = { KEEP, R },
		[RV_JOB_STOP] = { KEEP, A },
		[RV_JOB_STOP_GROUP] = { KEEP, A },
		[RV_JOB_RESTART] = { KEEP, R },
		[RV_JOB_REMOVE] = { KEEP, A },
		[RV_JOB_SHUTDOWN] = { KEEP, A },
	},
	[RV_JOB_SHUTDOWN] = {
		[RV_JOB_START] = { KEEP, R },
		[RV_JOB_STOP] = { KEEP, A },
		[RV_JOB_STOP_GROUP] = { KEEP, A },
		[RV_JOB_RESTART] = { KEEP, R },
		[RV_JOB_REMOVE] = { KEEP, R },
		[RV_JOB_SHUTDOWN] = { KEEP, A },
	},
};

enum rv_job_verdict rv_job_merge(enum rv_job_type *pending,
				 enum rv_job_type req)
{
	const struct cell *c;

	if (*pending >= RV_JOB_NTYPES || req == RV_JOB_NONE ||
	    req >= RV_JOB_NTYPES)
		return RV_JOB_REFUSED;	/* not a request: change nothing */
	c = &table[*pending][req];
	if (c->next != KEEP)
		*pending = c->next;
	return c->verdict;
}

const char *rv_job_name(enum rv_job_type t)
{
	static const char *const names[RV_JOB_NTYPES] = {
		[RV_JOB_NONE] = "none", [RV_JOB_START] = "start",
		[RV_JOB_STOP] = "stop", [RV_JOB_STOP_GROUP] = "stop_group",
		[RV_JOB_RESTART] = "restart", [RV_JOB_REMOVE] = "remove",
		[RV_JOB_SHUTDOWN] = "shutdown",
	};

	return t < RV_JOB_NTYPES ? names[t] : "unknown";
}

const char *rv_job_verdict_name(enum rv_job_verdict v)
{
	static const char *const names[] = {
		[RV_JOB_INSTALLED] = "installed", [RV_JOB_MERGED] = "merged",
		[RV_JOB_SUPERSEDED] = "superseded",
		[RV_JOB_ABSORBED] = "absorbed", [RV_JOB_REFUSED] = "refused",
	};

	return v <= RV_JOB_REFUSED ? names[v] : "unknown";
}
