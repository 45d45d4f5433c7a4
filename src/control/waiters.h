/* SPDX-License-Identifier: MIT */
/*
 * Requests that wait (`start|stop|restart NAME... --wait`, `shutdown
 * --wait`): the reply is held until every named service reached the
 * command's target state, failed, or the timeout passed.  A waiter is
 * registered before its command's jobs are requested and is fed by the
 * observer hook (observe.c), so no transition can slip between the
 * command and the subscription; its connection answers when it is done
 * and drops it if the client hangs up first.
 *
 * A target keeps the service's address only to recognise its events:
 * it is compared, never dereferenced after the request (a reload may
 * free the service), so what the reply says comes from copies.
 */
#ifndef RV_WAITERS_H
#define RV_WAITERS_H

#include <stdbool.h>
#include <stdint.h>

#include "tree/tree.h"

struct rv_loop;
struct rv_roll;
struct rv_waiter;

enum rv_wait_goal {
	RV_WAIT_UP,		/* start: running and ready (oneshot:
				 * completed) */
	RV_WAIT_RESTART,	/* restart: up again after the request */
	RV_WAIT_DOWN,		/* stop: stopped (or ended) */
	RV_WAIT_EXIT,		/* shutdown: the supervisor ended */
	RV_WAIT_ROLL,		/* restart --rolling: the rolls over the
				 * services ended (done or stopped) */
	RV_WAIT_REEXEC,		/* reexec: answered by the hand-over alone
				 * (rv_waiter_answer()), in this image or
				 * on its connection in the next one */
};

/* The waiters of one control socket (zeroed = empty). */
struct rv_waiters {
	struct rv_loop *loop;
	struct rv_waiter *head;
	struct rv_waiter *reexec;	/* the one RV_WAIT_REEXEC, or NULL */
};

/* The reply is ready: ctx's connection sends text (malloc'd, now the
 * callee's).  Called at most once, after which the waiter is gone. */
typedef void rv_waiter_done_fn(void *ctx, char *text);

/*
 * A waiter for the services v[0..n) (n may be 0), with a deadline
 * timeout_ns after now (0: none).  NULL when out of memory.  It collects
 * outcomes at once; rv_waiter_bind() says where its reply goes.
 */
struct rv_waiter *rv_waiter_new(struct rv_waiters *ws, enum rv_wait_goal goal,
				struct rv_service *const *v, size_t n,
				int64_t timeout_ns, int64_t now);
/* The request was refused for the services of member m (its subtree). */
void rv_waiter_refuse(struct rv_waiter *w, const struct rv_member *m,
		      const char *why);
/*
 * The jobs were requested: targets already where they should be are done
 * (RV_WAIT_ROLL: the rolls its services point at now are the ones waited
 * for).
 * Returns the reply line when the waiter is complete now (and frees it),
 * else NULL with the waiter pending until rv_waiter_bind()'s callback.
 * *nomem is set when the reply could not be made (the waiter is freed).
 */
char *rv_waiter_settle(struct rv_waiter *w, bool *nomem);
void rv_waiter_bind(struct rv_waiter *w, rv_waiter_done_fn *done, void *ctx);
/* The client went away: forget the waiter without answering. */
void rv_waiter_drop(struct rv_waiter *w);
/* Answers w with text (malloc'd, now the callee's) and frees it. */
void rv_waiter_answer(struct rv_waiter *w, char *text);

/* Observer feed: cheap when nobody waits. */
void rv_waiters_service(struct rv_waiters *ws, const struct rv_service *s,
			enum rv_svc_state to);
/* Observer feed: a roll's event (roll.h), at: its instance or NULL. */
void rv_waiters_roll(struct rv_waiters *ws, const struct rv_roll *r,
		     const char *event, const char *at);
/* The supervisor ended with exit code `code`: every waiter answers. */
void rv_waiters_supervisor_end(struct rv_waiters *ws, int code);

#endif
