/* SPDX-License-Identifier: MIT */
/*
 * The doorbell: an eventfd that other threads and signal handlers write
 * and the loop reads (through the ring or epoll).  It is the one doorbell
 * that works the same in both backends (URING_NOTES.md §4); a
 * SINGLE_ISSUER ring would refuse SQEs from other threads anyway.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "loop_internal.h"

int rv_wake_open(struct rv_loop *loop)
{
	loop->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return loop->efd < 0 ? -errno : 0;
}

int rv_loop_wake(struct rv_loop *loop)
{
	int saved_errno = errno, ret = 0;
	uint64_t one = 1;
	ssize_t n;

	do {
		n = write(loop->efd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
	/* EAGAIN: the counter is full, so the loop is being woken anyway */
	if (n < 0 && errno != EAGAIN)
		ret = -errno;
	/* we may be running inside a signal handler: leave errno alone */
	errno = saved_errno;
	return ret;
}

/* The eventfd is readable: reset it and run wake_cb once for all writes. */
int rv_wake_drain(struct rv_loop *loop)
{
	uint64_t count;
	ssize_t n;

	do {
		n = read(loop->efd, &count, sizeof(count));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (loop->wake_cb)
		loop->wake_cb(loop, loop->ctx);
	return 0;
}
