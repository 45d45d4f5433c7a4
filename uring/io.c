/* SPDX-License-Identifier: MIT */
/*
 * Socket I/O as completions.  On io_uring, accept/recv/send are ring
 * operations tagged {RV_OP_IO, gen, slot}; a late completion of a released
 * slot is dropped.  On epoll there is no such thing, so the same contract
 * is kept with a one-shot readiness watch followed by the non-blocking
 * syscall (and a new watch on EAGAIN).
 *
 * Cancel differs in one way that owners must respect: on io_uring the
 * kernel may still be filling io->buf until the -ECANCELED completion, so
 * rv_loop_io_cancel() returns false and the owner frees the buffer in its
 * callback; on epoll nothing is in flight and it returns true, as on
 * io_uring for an operation still in the SQ (made a NOP there).
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>

#include "loop_internal.h"

int rv_loop_io_reserve(struct rv_loop *loop, size_t n)
{
	int ret = rv_slots_reserve(&loop->ios, n);

	return ret ? ret : rv_slots_reserve(&loop->fds, n);
}

static void io_ready(struct rv_loop *loop, struct rv_fdwatch *w,
		     uint32_t revents, void *ctx)
{
	struct rv_io *io = ctx;
	ssize_t r;

	switch (io->op) {
	case RV_IO_ACCEPT:
		r = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		break;
	case RV_IO_RECV:
		r = recv(io->fd, io->buf, io->len, MSG_DONTWAIT);
		break;
	case RV_IO_SEND:
	default:
		r = send(io->fd, io->buf, io->len,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		break;
	}
	if (r < 0)
		r = -errno;
	/* a spurious wake-up (or an accept that a peer abandoned): wait on */
	if ((r == -EAGAIN || r == -EINTR || r == -ECONNABORTED) &&
	    rv_loop_watch_fd(loop, &io->w) == 0)
		return;
	io->armed = false;
	io->cb(loop, io, (int)r, io->ctx);
}

static int io_start(struct rv_loop *loop, struct rv_io *io, enum rv_io_op op)
{
	int ret;

	if (io->armed)
		return -EALREADY;
	if (io->fd < 0 || !io->cb || (op != RV_IO_ACCEPT && !io->buf))
		return -EINVAL;
	io->op = op;
	io->cancelling = false;
	if (!loop->ops->io_add) {
		io->w.fd = io->fd;
		io->w.events = op == RV_IO_SEND ? POLLOUT : POLLIN;
		io->w.cb = io_ready;
		io->w.ctx = io;
		ret = rv_loop_watch_fd(loop, &io->w);
		if (!ret)
			io->armed = true;
		return ret;
	}
	if (rv_slots_full(&loop->ios)) {
		ret = rv_slots_grow(&loop->ios,
				    loop->ios.cap ? loop->ios.cap * 2 : 16);
		if (ret)
			return ret;	/* -ENOMEM */
	}
	io->slot = rv_slots_take(&loop->ios, io);
	io->gen = loop->ios.gen[io->slot];
	/* quiesced: recorded only, rv_loop_unquiesce() submits it */
	ret = loop->quiesced ? 0 : loop->ops->io_add(loop, io);
	if (ret) {
		rv_slots_release(&loop->ios, io->slot);
		return ret;
	}
	io->armed = true;
	return 0;
}

int rv_loop_accept(struct rv_loop *loop, struct rv_io *io)
{
	return io_start(loop, io, RV_IO_ACCEPT);
}

int rv_loop_recv(struct rv_loop *loop, struct rv_io *io)
{
	return io_start(loop, io, RV_IO_RECV);
}

int rv_loop_send(struct rv_loop *loop, struct rv_io *io)
{
	return io_start(loop, io, RV_IO_SEND);
}

bool rv_loop_io_cancel(struct rv_loop *loop, struct rv_io *io)
{
	if (!io->armed)
		return true;
	if (!loop->ops->io_add) {
		rv_loop_unwatch_fd(loop, &io->w);
		io->armed = false;
		return true;
	}
	if (loop->quiesced) {
		/* not in the kernel: nothing will complete */
		rv_slots_release(&loop->ios, io->slot);
		io->armed = false;
		return true;
	}
	if (!io->cancelling) {
		if (loop->ops->io_cancel(loop, io)) {
			/* still in the SQ: gone before the kernel saw it */
			rv_slots_release(&loop->ios, io->slot);
			io->armed = false;
			return true;
		}
		io->cancelling = true;
	}
	return false;
}

void rv_io_complete(struct rv_loop *loop, uint64_t tag, int res)
{
	struct rv_io *io = rv_slots_get(&loop->ios, rv_tag_slot(tag),
					rv_tag_gen(tag));

	if (!io) {
		loop->stats.stale++;
		return;
	}
	/* quiesce took it out of the kernel: it stays registered */
	if (res == -ECANCELED && loop->quiesced && !io->cancelling)
		return;
	rv_slots_release(&loop->ios, io->slot);
	io->armed = false;
	io->cb(loop, io, res, io->ctx);
}
