/* SPDX-License-Identifier: MIT */
/*
 * Children: registration (slot + pid map) and reaping, shared by all child
 * modes.  The backends only say *when* to look ("this pid is a zombie",
 * "this pidfd is readable", "SIGCHLD arrived"); the reaping and the
 * exactly-once report happen here.
 *
 * Why reports happen exactly once: a child is reported when a waitid(...,
 * WEXITED | WNOWAIT) shows it as a zombie, its watch is unregistered before
 * its callback runs, and the loop reaps it right after the callback
 * returns.  Notifications themselves may be stale or duplicated (WAITID
 * CQE + SIGCHLD sweep + pidfd poll for the same exit); a later one finds
 * the pid no longer watched and the zombie gone, and reports nothing.
 *
 * Why the reap comes after the callback: the callback usually spawns the
 * replacement, and the reap (release_task: tens of microseconds) is not
 * on the way to it.  The zombie also keeps the pid and its process group
 * id reserved during the callback, so kill(-pid) there is safe.
 *
 * Why the orphan path never steals a watched child: pids handed to
 * rv_children_reap_pid() come from a WNOWAIT report, so the zombie still
 * pins the pid while it is looked up in the pid map.  A watched pid is
 * reaped through its pidfd; only a pid nobody watches is reaped by P_PID.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "compat.h"
#include "loop_internal.h"

int rv_loop_child_reserve(struct rv_loop *loop, size_t n)
{
	int ret;

	ret = rv_slots_reserve(&loop->children, n);
	if (ret)
		return ret;
	return rv_pidmap_reserve(&loop->pids, loop->children.cap);
}

static void unregister(struct rv_loop *loop, struct rv_child *c)
{
	rv_pidmap_remove(&loop->pids, c->pid);
	rv_slots_release(&loop->children, c->slot);
	c->watched = false;
}

int rv_loop_watch_child(struct rv_loop *loop, struct rv_child *c)
{
	int ret;

	if (c->watched)
		return -EALREADY;
	if (c->pid <= 0 || c->pidfd < 0 || !c->cb)
		return -EINVAL;
	if (rv_pidmap_find(&loop->pids, c->pid) != RV_PIDMAP_NONE)
		return -EEXIST;
	if (rv_slots_full(&loop->children)) {
		size_t want = loop->children.cap ? loop->children.cap * 2 : 16;

		rv_loop_warn_once(loop, RV_WARNED_CHILDREN,
				  "child watched beyond "
				  "rv_loop_child_reserve() (%u watched); "
				  "growing the table", loop->children.cap);
		if (rv_slots_grow(&loop->children, want) ||
		    rv_pidmap_reserve(&loop->pids, loop->children.cap))
			return -ENOSPC;
	}
	c->slot = rv_slots_take(&loop->children, c);
	c->gen = loop->children.gen[c->slot];
	c->turn = loop->in_turn ? loop->stats.turns : 0;
	rv_pidmap_insert(&loop->pids, c->pid, c->slot);
	c->watched = true;
	/* quiesced: recorded only, rv_loop_unquiesce() adds it */
	ret = loop->quiesced ? 0 : loop->ops->child_add(loop, c);
	if (ret)
		unregister(loop, c);
	return ret;
}

void rv_loop_unwatch_child(struct rv_loop *loop, struct rv_child *c)
{
	if (!c->watched)
		return;
	if (!loop->quiesced)
		loop->ops->child_del(loop, c, false);
	unregister(loop, c);
}

struct rv_child *rv_loop_find_child(const struct rv_loop *loop, pid_t pid)
{
	uint32_t slot = pid > 0 ? rv_pidmap_find(&loop->pids, pid) :
				  RV_PIDMAP_NONE;

	return slot == RV_PIDMAP_NONE ? NULL : loop->children.obj[slot];
}

struct rv_child *rv_children_get(const struct rv_loop *loop, uint64_t tag)
{
	return rv_slots_get(&loop->children, rv_tag_slot(tag),
			    rv_tag_gen(tag));
}

static int xwaitid(idtype_t idtype, id_t id, siginfo_t *si, int options)
{
	int ret;

	memset(si, 0, sizeof(*si));
	do {
		ret = waitid(idtype, id, si, options);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}

/*
 * Reports exited child c (si from a WNOWAIT waitid, or the ECHILD stand-in
 * when the status was stolen), then reaps the zombie.  The callback may
 * free c: everything needed afterwards is copied first.
 */
static void report(struct rv_loop *loop, struct rv_child *c,
		   const siginfo_t *si, bool reap)
{
	pid_t pid = c->pid;
	siginfo_t gone;

	loop->ops->child_del(loop, c, true);
	unregister(loop, c);
	loop->stats.children_reaped++;
	c->cb(loop, c, si, c->ctx);
	/*
	 * P_PID is safe: the zombie pins the pid until this very call.  It
	 * can only fail if the callback reaped it itself (ECHILD), which
	 * leaves nothing to do.
	 */
	if (reap)
		(void)xwaitid(P_PID, (id_t)pid, &gone, WEXITED | WNOHANG);
}

/*
 * Reports watched child c if it has exited.  known: its WNOWAIT status
 * (WAITID CQE or sweep), so the zombie pins c->pid; NULL: look through
 * the pidfd.  Returns 1 if reported, 0 if c has not exited yet, or -errno.
 */
static int reap_watched(struct rv_loop *loop, struct rv_child *c,
			const siginfo_t *known)
{
	siginfo_t si;
	int ret = 0;

	if (known) {
		si = *known;
	} else {
		ret = xwaitid(P_PIDFD, (id_t)c->pidfd, &si,
			      WEXITED | WNOHANG | WNOWAIT);
	}
	if (ret == -ECHILD) {
		/*
		 * Someone else reaped it (system(), a stray waitpid()); the
		 * status is lost, but the watch must still end, once.
		 */
		memset(&si, 0, sizeof(si));
		si.si_signo = SIGCHLD;
		si.si_errno = ECHILD;
		si.si_pid = c->pid;
		report(loop, c, &si, false);
		return 1;
	}
	if (ret)
		return ret;
	if (si.si_pid == 0)
		return 0;
	report(loop, c, &si, true);
	return 1;
}

int rv_children_reap(struct rv_loop *loop, struct rv_child *c)
{
	return reap_watched(loop, c, NULL);
}

/*
 * known: a zombie child of ours, seen with WNOWAIT (from the WAITID CQE or
 * a sweep), and slot: its pid looked up in the pid map (or NONE).  The
 * report may be stale (already reaped through another path); then nothing
 * happens.  1 if something was reaped, 0 if not.
 */
static int reap_pid_at(struct rv_loop *loop, uint32_t slot,
		       const siginfo_t *known)
{
	siginfo_t si;
	int ret;

	if (slot != RV_PIDMAP_NONE)
		return reap_watched(loop, loop->children.obj[slot], known);
	ret = xwaitid(P_PID, (id_t)known->si_pid, &si, WEXITED | WNOHANG);
	if (ret == -ECHILD)
		return 0;
	if (ret)
		return ret;
	if (si.si_pid == 0)
		return 0;
	loop->stats.orphans_reaped++;
	if (loop->orphan_cb)
		loop->orphan_cb(loop, &si, loop->ctx);
	return 1;
}

int rv_children_reap_pid(struct rv_loop *loop, const siginfo_t *known)
{
	return reap_pid_at(loop, rv_pidmap_find(&loop->pids, known->si_pid),
			   known);
}

/*
 * Orphans one sweep reaps at most, beyond one per watched child: a service
 * that keeps forking short-lived children into us (we are a subreaper)
 * must not hold the loop either.
 */
#define RV_SWEEP_ORPHANS	64

/* c->turn is 0 for a child watched outside a turn (rv_loop_watch_child) */
static bool watched_this_turn(const struct rv_loop *loop,
			      const struct rv_child *c)
{
	return loop->in_turn && c->turn == loop->stats.turns;
}

/*
 * The sweep ends early; its SIGCHLD is already consumed, so queue one to
 * make the next turn sweep again.  SIGCHLD is blocked: this only makes it
 * pending.  If that fails, the caller sweeps on (never lose an exit).
 */
static bool sweep_again_next_turn(void)
{
	return raise(SIGCHLD) == 0;
}

/*
 * After SIGCHLD: reap the zombie children.  SIGCHLD coalesces, so one
 * signal may stand for many exits; loop until waitid says there are none
 * left, with one exception.  A child watched during this turn (most often
 * the replacement that an exit callback just started) is left to the next
 * turn: a service that exits at once would otherwise be reaped, restarted
 * and reaped again inside this one sweep for as long as it keeps exiting
 * before the next waitid, which on a busy machine is always, and the loop
 * would answer nothing else for seconds (measured: 7 s turns with two such
 * services under CPU load).  Its exit raised a SIGCHLD after ours was
 * read, so the next turn sweeps anyway.  WNOWAIT first so that the pid
 * lookup happens while the zombie pins it.
 */
int rv_children_sweep(struct rv_loop *loop)
{
	uint32_t budget = loop->children.used + RV_SWEEP_ORPHANS;
	siginfo_t si;
	int ret;

	loop->stats.sweeps++;
	for (;;) {
		uint32_t slot;

		ret = xwaitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
		if (ret == -ECHILD)
			return 0;
		if (ret)
			return ret;
		if (si.si_pid == 0)
			return 0;
		slot = rv_pidmap_find(&loop->pids, si.si_pid);
		if (slot != RV_PIDMAP_NONE &&
		    watched_this_turn(loop, loop->children.obj[slot]) &&
		    sweep_again_next_turn())
			return 0;
		if (!budget-- && sweep_again_next_turn())
			return 0;
		ret = reap_pid_at(loop, slot, &si);
		if (ret <= 0) {
			/*
			 * A zombie we were just shown could not be reaped;
			 * stop rather than spin on it.
			 */
			return ret;
		}
	}
}

void rv_children_free(struct rv_loop *loop)
{
	uint32_t i;

	/* leave the caller's structs consistent: nothing is watched now */
	for (i = 0; i < loop->children.used; i++) {
		struct rv_child *c = loop->children.obj[i];

		if (c)
			c->watched = false;
	}
	rv_slots_free_all(&loop->children);
	rv_pidmap_free(&loop->pids);
}
