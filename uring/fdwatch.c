/* SPDX-License-Identifier: MIT */
/*
 * One-shot fd readiness watches.  A watch holds a slot from arming until
 * it fires or is unwatched; the backend's in-flight request carries the
 * slot's {slot, gen} tag, so a completion that arrives after unwatch (a
 * cancel race) names a released slot and is dropped.
 */
#include <errno.h>

#include "loop_internal.h"

int rv_loop_fd_reserve(struct rv_loop *loop, size_t n)
{
	return rv_slots_reserve(&loop->fds, n);
}

int rv_loop_watch_fd(struct rv_loop *loop, struct rv_fdwatch *w)
{
	int ret;

	if (w->armed)
		return -EALREADY;
	if (w->fd < 0 || !w->cb || !w->events)
		return -EINVAL;
	if (rv_slots_full(&loop->fds)) {
		size_t want = loop->fds.cap ? loop->fds.cap * 2 : 16;

		rv_loop_warn_once(loop, RV_WARNED_FDS,
				  "fd watched beyond rv_loop_fd_reserve() "
				  "(%u watched); growing the table",
				  loop->fds.cap);
		ret = rv_slots_grow(&loop->fds, want);
		if (ret)
			return ret;	/* -ENOMEM */
	}
	w->slot = rv_slots_take(&loop->fds, w);
	w->gen = loop->fds.gen[w->slot];
	/* quiesced: recorded only, rv_loop_unquiesce() adds it */
	ret = loop->quiesced ? 0 : loop->ops->fd_add(loop, w);
	if (ret) {
		rv_slots_release(&loop->fds, w->slot);
		return ret;
	}
	w->armed = true;
	return 0;
}

void rv_loop_unwatch_fd(struct rv_loop *loop, struct rv_fdwatch *w)
{
	if (!w->armed)
		return;
	if (!loop->quiesced)
		loop->ops->fd_del(loop, w);
	rv_slots_release(&loop->fds, w->slot);
	w->armed = false;
}

struct rv_fdwatch *rv_fdwatch_get(const struct rv_loop *loop, uint64_t tag)
{
	return rv_slots_get(&loop->fds, rv_tag_slot(tag), rv_tag_gen(tag));
}

/* The backend's request for w completed: disarm, then tell the owner. */
void rv_fdwatch_fire(struct rv_loop *loop, struct rv_fdwatch *w,
		     uint32_t revents)
{
	rv_slots_release(&loop->fds, w->slot);
	w->armed = false;
	w->cb(loop, w, revents, w->ctx);
}
