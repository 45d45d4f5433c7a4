/* SPDX-License-Identifier: MIT */
/*
 * Can we use io_uring here, and how?  io_uring is often unavailable
 * (Docker >= 25 and containerd 2.0 seccomp profiles, io_uring_disabled,
 * old kernels), so every step reports what failed in words a person can
 * act on; loop.c decides whether that is fatal or means epoll.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"
#include "loop_internal.h"

/*
 * The SQ only has to hold one turn's worth of new requests (and
 * rv_uring_sqe() submits early when it fills).  The CQ must hold every
 * request that can complete at once: one per child (its WAITID or pidfd
 * poll), plus what else is in flight (fd watches, control connections,
 * the timeout).  NODROP (5.5+) keeps overflow in the kernel, but sizing
 * generously keeps us off that slow path.  The rings are mapped and
 * resident in full (16 bytes a CQE): sized from the caller's count when it
 * gives one, so 1,000 services do not pay for 8,192 entries, nor do
 * 10,000 overflow them.
 */
#define RV_URING_SQ_ENTRIES	256
#define RV_URING_CQ_ENTRIES	8192	/* no count given */
#define RV_URING_CQ_SLACK	1024	/* beyond the caller's count */
#define RV_URING_CQ_MAX		65536	/* the kernel's limit (2 * 32768) */

/* The CQ size for `completions` (0: the default), a power of two. */
static uint32_t cq_entries(uint32_t completions)
{
	uint32_t n = 1024;

	if (!completions)
		return RV_URING_CQ_ENTRIES;
	while (n < RV_URING_CQ_MAX &&
	       n < (uint64_t)completions + RV_URING_CQ_SLACK)
		n *= 2;
	return n;
}

/*
 * SINGLE_ISSUER|DEFER_TASKRUN (6.1): task_work, including WAITID's reaping
 * and the wait-for-completions, runs only inside our io_uring_enter(), and
 * no IPIs.  DEFER without SINGLE_ISSUER is -EINVAL, so they go together.
 * COOP_TASKRUN|TASKRUN_FLAG (5.19) next, then a plain ring; each older
 * kernel says -EINVAL to flags it does not know.
 */
static const struct {
	unsigned int flags;
	const char *name;
} ladder[] = {
	{ IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
		  IORING_SETUP_CQSIZE,
	  "SINGLE_ISSUER|DEFER_TASKRUN" },
	{ IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
		  IORING_SETUP_CQSIZE,
	  "COOP_TASKRUN|TASKRUN_FLAG" },
	{ IORING_SETUP_CQSIZE, "plain" },
	{ 0, "plain, default CQ" },
};

static const struct {
	int op;
	const char *name;
} required_ops[] = {
	{ IORING_OP_POLL_ADD, "IORING_OP_POLL_ADD" },
	{ IORING_OP_TIMEOUT, "IORING_OP_TIMEOUT" },
	{ IORING_OP_READ, "IORING_OP_READ" },
	{ IORING_OP_ASYNC_CANCEL, "IORING_OP_ASYNC_CANCEL" },
};

static int nop_round_trip(struct io_uring *ring, char *err, size_t errlen)
{
	uint64_t tag = rv_tag(RV_OP_NOP, 0, 0);
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe) {
		snprintf(err, errlen, "io_uring_get_sqe: no free SQE");
		return -EBUSY;
	}
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, tag);
	ret = io_uring_submit_and_wait(ring, 1);
	if (ret < 0) {
		snprintf(err, errlen, "io_uring_enter (NOP): %s",
			 strerror(-ret));
		return ret;
	}
	ret = io_uring_peek_cqe(ring, &cqe);
	if (ret < 0) {
		snprintf(err, errlen, "NOP completion: %s", strerror(-ret));
		return ret;
	}
	if (cqe->user_data != tag || cqe->res != 0) {
		ret = cqe->res < 0 ? cqe->res : -EIO;
		snprintf(err, errlen, "NOP completion: res %d, user_data %#llx",
			 cqe->res, (unsigned long long)cqe->user_data);
		io_uring_cqe_seen(ring, cqe);
		return ret;
	}
	io_uring_cqe_seen(ring, cqe);
	return 0;
}

static int check_ops(struct io_uring *ring, struct rv_uring_caps *caps,
		     char *err, size_t errlen)
{
	struct io_uring_probe *probe;
	size_t i;
	int ret = 0;

	/* the ring's own probe; io_uring_get_probe() would set up another */
	probe = io_uring_get_probe_ring(ring);
	if (!probe) {
		snprintf(err, errlen, "io_uring_get_probe: no opcode probe "
			 "(kernel < 5.6, or IORING_REGISTER_PROBE blocked)");
		return -EOPNOTSUPP;
	}
	for (i = 0; i < sizeof(required_ops) / sizeof(required_ops[0]); i++) {
		if (!io_uring_opcode_supported(probe, required_ops[i].op)) {
			snprintf(err, errlen, "kernel lacks %s",
				 required_ops[i].name);
			ret = -EOPNOTSUPP;
			break;
		}
	}
	caps->waitid = io_uring_opcode_supported(probe, RV_IORING_OP_WAITID);
	io_uring_free_probe(probe);
	return ret;
}

int rv_uring_setup(struct io_uring *ring, struct rv_uring_caps *caps,
		   uint32_t completions, char *err, size_t errlen)
{
	struct io_uring_params p;
	size_t i;
	int ret = -EINVAL;

	/* each step down the ladder only on -EINVAL (flags this kernel
	 * does not know); i stays on the step that was tried last */
	for (i = 0;; i++) {
		memset(&p, 0, sizeof(p));
		p.flags = ladder[i].flags;
		p.cq_entries = cq_entries(completions);
		ret = io_uring_queue_init_params(RV_URING_SQ_ENTRIES, ring, &p);
		if (ret != -EINVAL ||
		    i + 1 == sizeof(ladder) / sizeof(ladder[0]))
			break;
	}
	if (ret) {
		snprintf(err, errlen, "io_uring_queue_init: %s",
			 strerror(-ret));
		return ret;
	}
	caps->setup_flags = ladder[i].flags & ~IORING_SETUP_CQSIZE;
	caps->setup_name = ladder[i].name;
	caps->nodrop = p.features & IORING_FEAT_NODROP;

	ret = check_ops(ring, caps, err, errlen);
	if (!ret)
		ret = nop_round_trip(ring, err, errlen);
	if (ret)
		io_uring_queue_exit(ring);
	return ret;
}

void rv_uring_disabled_str(char *buf, size_t len)
{
	char v[16];
	ssize_t n;
	int fd;

	fd = open("/proc/sys/kernel/io_uring_disabled", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(buf, len, "kernel.io_uring_disabled: %s",
			 errno == ENOENT ? "absent (kernel < 6.6)" :
					   strerror(errno));
		return;
	}
	n = read(fd, v, sizeof(v) - 1);
	close(fd);
	if (n <= 0) {
		snprintf(buf, len, "kernel.io_uring_disabled unreadable");
		return;
	}
	v[n] = '\0';
	v[strcspn(v, "\n")] = '\0';
	snprintf(buf, len, "kernel.io_uring_disabled=%s", v);
}
