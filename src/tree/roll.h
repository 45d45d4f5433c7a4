/* SPDX-License-Identifier: MIT */
/*
 * Rolling restarts: the instances of one service replaced a few at a time
 * (`ringvisor restart --rolling NAME`, or a reload of a service with
 * `restart_mode = rolling`).
 *
 * A roll is a coordinator, not a new kind of operation: it asks each
 * instance for an ordinary RESTART job (job.h) and advances when it sees
 * that instance's replacement reach `running` (ready, where readiness is
 * configured).  At most `max_unavailable` of its restarts are in flight
 * at once.  A replacement that fails (ready_timeout, an exit before it is
 * ready, `failed`) stops the roll: the instances not reached yet keep
 * their process and, for a reload, their old build (the new one parked on
 * them is dropped).  The instances' own jobs decide everything else: a
 * stop, a shutdown or a reload that takes them away stops the roll too.
 *
 * Each instance points at its roll (s->roll); the service's state change
 * tells the roll (rv_roll_service_state), which only takes notes there
 * and asks for the next restarts on a fresh loop turn (its timer), so it
 * never re-enters the state machine.  An instance that is freed detaches
 * itself; the roll is freed with its last instance, so the outcome of the
 * last roll stays in `status` until then.
 */
#ifndef RV_ROLL_H
#define RV_ROLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "tree/tree.h"

enum rv_roll_state { RV_ROLL_RUNNING, RV_ROLL_DONE, RV_ROLL_STOPPED };

enum rv_roll_phase {
	RV_ROLL_WAIT,		/* not reached yet */
	RV_ROLL_ASKED,		/* its restart is in flight */
	RV_ROLL_REPLACED,	/* the replacement is up */
	RV_ROLL_FAILED,		/* the replacement failed */
};

struct rv_roll_slot {
	struct rv_service *s;	/* NULL once the instance is freed */
	uint64_t seq;		/* its start_seq when the restart was asked */
	enum rv_roll_phase phase;
	bool held;		/* held down by an admin when the roll began:
				 * given its restart (a reload's build), not
				 * waited for */
};

struct rv_roll {
	struct rv_supervisor *sv;
	char *name;			/* the service section, e.g. "web" */
	struct rv_roll_slot *slots;	/* its instances, in order */
	uint32_t n;
	uint32_t refs;			/* instances still pointing here */
	uint32_t next;			/* the next slot to restart */
	uint32_t in_flight;		/* asked, not yet replaced */
	uint32_t replaced;
	uint32_t max_unavailable;
	enum rv_roll_state state;
	bool reload;			/* the instances carry a reload's build */
	bool finished;			/* roll_done / roll_failed reported */
	const char *reason;		/* STOPPED: why (a static string) */
	char at[96];			/* the instance it stopped at */
	struct rv_timer timer;		/* advance on a fresh turn */
};

/*
 * Starts a roll over the instances v[0..n) of one service (n >= 1, all of
 * the same section), max_unavailable from its spec.  reload: they carry a
 * reload's build in next_build.  0, -EBUSY (a roll is running on one of
 * them: nothing changed), or -ENOMEM.
 */
int rv_roll_start(struct rv_supervisor *sv, struct rv_service **v, size_t n,
		  bool reload, int64_t now);
/* s carries a reload's build whose restart_mode is rolling. */
bool rv_roll_wanted(const struct rv_service *s);
/*
 * After a reload parked its builds: one roll per section over the
 * instances rv_roll_wanted() (none has a job yet).  Without memory for a
 * roll, its instances get plain RESTART jobs (the reload still applies).
 */
void rv_roll_reload(struct rv_supervisor *sv, int64_t now);
/* s (s->roll set) changed state: the roll takes note.  Never calls back
 * into the tree. */
void rv_roll_service_state(struct rv_service *s, enum rv_svc_state from,
			   enum rv_svc_state to);
/* Stop a running roll (reason: a static string); the restarts in flight
 * go on, the instances not reached are left alone. */
void rv_roll_cancel(struct rv_roll *r, const char *reason, int64_t now);
/* s is being freed: it leaves its roll (freed with its last instance). */
void rv_roll_detach(struct rv_service *s);
/* A roll is running on s. */
bool rv_roll_is_running(const struct rv_service *s);
const char *rv_roll_state_name(enum rv_roll_state st);

#endif
