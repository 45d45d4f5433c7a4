/* SPDX-License-Identifier: MIT */
/*
 * Jobs: what has been asked of a member (service or nested supervisor)
 * and is not done yet.  A member has at most one pending job; a new
 * request merges with it or supersedes it by the table in job.c, as
 * systemd's job engine does (`start` after a pending `stop` is a
 * `restart`; `stop` supersedes `start`; shutdown supersedes everything and
 * no later request undoes it).  Admin commands, the node's strategy,
 * reload and shutdown all request through here, so their combinations are
 * defined in one place (docs/state-machine.md shows the table).
 *
 * Pure: no member, no loop, no clock.  The member's state machine
 * (service.c, node.c) decides what a pending job means in its state.
 */
#ifndef RV_JOB_H
#define RV_JOB_H

#include <stdbool.h>
#include <stdint.h>

enum rv_job_type {
	RV_JOB_NONE,
	RV_JOB_START,		/* bring it up (admin start, reload add) */
	RV_JOB_STOP,		/* admin stop: down, and held down */
	RV_JOB_STOP_GROUP,	/* the parent's group operation (strategy
				 * restart, subtree stop or failure): down,
				 * then the parent decides */
	RV_JOB_RESTART,		/* down, then up (admin restart, reload
				 * replace: the new spec is applied when down) */
	RV_JOB_REMOVE,		/* reload removed it: down, then forgotten */
	RV_JOB_SHUTDOWN,	/* the supervisor is ending: down for good */
	RV_JOB_NTYPES
};

/* What a request did to the pending job. */
enum rv_job_verdict {
	RV_JOB_INSTALLED,	/* no job was pending: the request is it */
	RV_JOB_MERGED,		/* pending and request combined into one */
	RV_JOB_SUPERSEDED,	/* the request replaced the pending job */
	RV_JOB_ABSORBED,	/* the pending job already does it */
	RV_JOB_REFUSED,		/* contradicts a job that cannot change
				 * (remove, shutdown): nothing changed */
};

/*
 * *pending is updated in place; returns what happened.  `req` is never
 * RV_JOB_NONE.  Every (pending, request) pair has a defined answer.
 */
enum rv_job_verdict rv_job_merge(enum rv_job_type *pending,
				 enum rv_job_type req);

/* Jobs that take the member down before anything else happens. */
static inline bool rv_job_goes_down(enum rv_job_type t)
{
	return t == RV_JOB_STOP || t == RV_JOB_STOP_GROUP ||
	       t == RV_JOB_RESTART || t == RV_JOB_REMOVE ||
	       t == RV_JOB_SHUTDOWN;
}

const char *rv_job_name(enum rv_job_type t);
const char *rv_job_verdict_name(enum rv_job_verdict v);

#endif
