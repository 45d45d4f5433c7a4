/* SPDX-License-Identifier: MIT */
/*
 * What liburing 2.3 (Debian 12) lacks and the loop needs.  Values come from
 * the kernel uapi; see /work/shared/URING_NOTES.md §1 and §6.  This is the
 * only place allowed to know which liburing we were built against.
 */
#ifndef RV_URING_COMPAT_H
#define RV_URING_COMPAT_H

#include <liburing.h>
#include <signal.h>
#include <sys/wait.h>

#include "config.h"

#ifndef P_PIDFD
#define P_PIDFD 3		/* waitid(2) idtype, kernel 5.4 */
#endif

/*
 * IORING_OP_WAITID is an enum (kernel 6.7), so the preprocessor cannot see
 * it; CMake decides HAVE_IO_URING_PREP_WAITID (liburing >= 2.6) instead.
 */
#define RV_IORING_OP_WAITID 50	/* ... READ_MULTISHOT = 49, WAITID = 50 */

#ifdef HAVE_IO_URING_PREP_WAITID
static inline void rv_prep_waitid(struct io_uring_sqe *sqe, idtype_t idtype,
				  id_t id, siginfo_t *infop, int options)
{
	io_uring_prep_waitid(sqe, idtype, id, infop, options, 0);
}
#else
/*
 * Same SQE layout as liburing 2.6's io_uring_prep_waitid().  prep_rw zeroes
 * the fields the kernel insists on being 0 (addr, buf_index, addr3 and
 * waitid_flags, which shares the union with rw_flags).
 */
static inline void rv_prep_waitid(struct io_uring_sqe *sqe, idtype_t idtype,
				  id_t id, siginfo_t *infop, int options)
{
	io_uring_prep_rw(RV_IORING_OP_WAITID, sqe, (int)id, NULL,
			 (unsigned int)idtype, 0);
	sqe->file_index = (unsigned int)options;
	sqe->addr2 = (unsigned long)infop;
}
#endif

#ifndef IORING_ENTER_ABS_TIMER
#define IORING_ENTER_ABS_TIMER (1U << 5)	/* kernel 6.12 */
#endif

/*
 * Waits for at least one completion or until the absolute CLOCK_MONOTONIC
 * time abs (the ring's default clock), with IORING_ENTER_ABS_TIMER: the
 * kernel arms the deadline itself, so the time between reading the clock
 * and entering the kernel is not added to every wake-up as it is with a
 * relative timeout.  liburing 2.3 has no call for it.  Submits nothing:
 * the caller flushes the SQ first.  0, or -errno (-ETIME: the deadline
 * came; -EINVAL: a kernel without the flag).
 */
static inline int rv_uring_wait_abs(struct io_uring *ring,
				    const struct __kernel_timespec *abs)
{
	struct io_uring_getevents_arg arg = {
		.sigmask_sz = _NSIG / 8,
		.ts = (unsigned long)abs,
	};
	int ret = io_uring_enter2(ring->ring_fd, 0, 1,
				  IORING_ENTER_GETEVENTS |
				  IORING_ENTER_EXT_ARG |
				  IORING_ENTER_ABS_TIMER,
				  (sigset_t *)&arg, sizeof(arg));

	return ret < 0 ? ret : 0;
}

#endif
