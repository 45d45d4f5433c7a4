/* SPDX-License-Identifier: MIT */
/*
 * Quiesce: nothing of ours left in the kernel, for a hand-over to a new
 * image (docs/reexec.md, "The loop: quiesce, and a new ring").  The ring
 * and its in-flight requests do not survive execve; what must survive is
 * every completion that happened before the state is written.  So every
 * request is cancelled, each CQE is waited for and dispatched (a child
 * exit, an accept, a received line that won the race against its cancel
 * is handled as in a turn), and then the zombies already there are
 * reported too.  Registrations stay in their slots: unquiesce re-arms all
 * of them when the hand-over is abandoned before exec.
 */
#include <errno.h>

#include "loop_internal.h"

int rv_loop_quiesce(struct rv_loop *loop, int64_t timeout_ns)
{
	int ret;

	if (loop->in_turn)
		return -EDEADLK;
	if (loop->quiesced)
		return -EALREADY;
	/* a turn of its own: callbacks see one (children they watch now
	 * are left to the next sweep, as in children.c) */
	loop->in_turn = true;
	loop->stats.turns++;
	loop->now = rv_clock_now();
	loop->quiesced = true;
	ret = loop->ops->quiesce(loop, loop->now + timeout_ns);
	if (!ret)
		ret = rv_children_sweep(loop);
	loop->in_turn = false;
	if (ret) {
		rv_loop_unquiesce(loop);
		return ret;
	}
	return 0;
}

void rv_loop_unquiesce(struct rv_loop *loop)
{
	if (!loop->quiesced)
		return;
	loop->quiesced = false;
	loop->ops->unquiesce(loop);
}

bool rv_loop_is_quiesced(const struct rv_loop *loop)
{
	return loop->quiesced;
}
