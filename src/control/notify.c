/* SPDX-License-Identifier: MIT */
#include "control/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"

/*
 * fds taken per datagram: more than this sets MSG_CTRUNC and the kernel
 * drops the rest itself; we close the ones we got.
 */
#define RV_NOTIFY_MAX_FDS 16
/*
 * Datagrams handled per wake-up.  The watch is one-shot and re-armed on a
 * socket that is still readable, so the rest are read on the next turn:
 * a flooding sender cannot keep the loop from its timers and children.
 */
#define RV_NOTIFY_BUDGET 64
#define RV_NOTIFY_LOG_INTERVAL_NS 1000000000LL

enum drop_reason {
	DROP_OVERSIZE,
	DROP_NO_CREDS,
	DROP_CTRUNC,
	DROP_INVALID,
	DROP_UNKNOWN_SENDER,
	DROP_NREASONS,
};

static const char *const drop_names[DROP_NREASONS] = {
	[DROP_OVERSIZE] = "oversize",
	[DROP_NO_CREDS] = "no_credentials",
	[DROP_CTRUNC] = "control_truncated",
	[DROP_INVALID] = "invalid",
	[DROP_UNKNOWN_SENDER] = "unknown_sender",
};

struct ratelimit {
	int64_t last_ns;
	uint64_t suppressed;
	bool logged;
};

struct rv_notify {
	struct rv_loop *loop;
	struct rv_fdwatch watch;
	int fd;
	rv_notify_cb *cb;
	void *ctx;
	bool in_dispatch;
	bool closing;		/* rv_notify_close() from the callback */
	bool fs_socket;		/* a file to unlink on close */
	dev_t dev;		/* ... if it is still this one */
	ino_t ino;
	struct rv_notify_stats stats;
	struct ratelimit rl[DROP_NREASONS];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	char buf[RV_NOTIFY_MSG_MAX + 1];
	int fds[RV_NOTIFY_MAX_FDS];	/* the datagram being handled's */
	size_t n_fds;
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(struct ucred)) +
		       CMSG_SPACE(sizeof(int) * RV_NOTIFY_MAX_FDS)];
	} cmsg;
};

int rv_notify_sockaddr(const char *path, struct sockaddr_un *sa,
		       socklen_t *len)
{
	size_t n = path ? strlen(path) : 0;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n < 2 || (path[0] != '/' && path[0] != '@'))
		return -EINVAL;
	if (path[0] == '@') {
		/* abstract: a leading NUL, no terminating one */
		if (n > sizeof(sa->sun_path))
			return -ENAMETOOLONG;
		memcpy(sa->sun_path + 1, path + 1, n - 1);
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
		return 0;
	}
	if (n >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

/*
 * A socket file already at path: unlink it if nobody is bound to it any
 * more (connect() is refused), refuse if it is alive or not a socket.
 */
static int remove_stale(const char *path, const struct sockaddr_un *sa,
			socklen_t salen)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, salen);
	if (ret == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	ret = errno;
	close(fd);
	if (ret != ECONNREFUSED)
		return -ret;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static void on_readable(struct rv_loop *loop, struct rv_fdwatch *w,
			uint32_t revents, void *ctx);

static int arm(struct rv_notify *n)
{
	n->watch.fd = n->fd;
	n->watch.events = POLLIN;
	n->watch.cb = on_readable;
	n->watch.ctx = n;
	return rv_loop_watch_fd(n->loop, &n->watch);
}

/* A new socket bound at path, with credentials passed: n->fd. */
static int bind_at(struct rv_notify *n, const char *path,
		   const struct sockaddr_un *sa, socklen_t salen)
{
	static const int one = 1;
	struct stat st;
	int ret;

	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n->fd < 0)
		return -errno;
	/* before bind: no datagram may arrive without credentials */
	if (setsockopt(n->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
		return -errno;
	if (n->fs_socket) {
		ret = remove_stale(path, sa, salen);
		if (ret)
			return ret;
	}
	if (bind(n->fd, (const struct sockaddr *)sa, salen) < 0)
		return -errno;
	if (n->fs_socket && (chmod(path, 0666) < 0 || stat(path, &st) < 0)) {
		ret = -errno;
		unlink(path);
		return ret;
	}
	if (n->fs_socket) {
		n->dev = st.st_dev;
		n->ino = st.st_ino;
	}
	return 0;
}

/* fd >= 0: the socket a previous image handed over (reexec) */
static int notify_open(struct rv_notify **out, struct rv_loop *loop,
		       const char *path, int fd, rv_notify_cb *cb, void *ctx)
{
	struct sockaddr_un sa;
	struct rv_notify *n;
	socklen_t salen;
	struct stat st;
	int ret;

	*out = NULL;
	if (!loop || !cb)
		return -EINVAL;
	ret = rv_notify_sockaddr(path, &sa, &salen);
	if (ret)
		return ret;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->loop = loop;
	n->cb = cb;
	n->ctx = ctx;
	n->fs_socket = path[0] == '/';
	strcpy(n->path, path);	/* fits: checked by rv_notify_sockaddr() */
	ret = rv_loop_fd_reserve(loop, 1);
	if (ret)
		goto err_free;
	n->fd = fd;
	if (fd >= 0) {
		if (n->fs_socket && stat(path, &st) == 0) {
			n->dev = st.st_dev;
			n->ino = st.st_ino;
		}
	} else {
		ret = bind_at(n, path, &sa, salen);
		if (ret)
			goto err_close;
	}
	ret = arm(n);
	if (!ret) {
		*out = n;
		return 0;
	}
	if (n->fs_socket && fd < 0)
		unlink(path);
err_close:
	if (n->fd >= 0 && fd < 0)
		close(n->fd);
err_free:
	free(n);
	return ret;
}

int rv_notify_open(struct rv_notify **out, struct rv_loop *loop,
		   const char *path, rv_notify_cb *cb, void *ctx)
{
	return notify_open(out, loop, path, -1, cb, ctx);
}

int rv_notify_adopt(struct rv_notify **out, struct rv_loop *loop,
		    const char *path, int fd, rv_notify_cb *cb, void *ctx)
{
	return notify_open(out, loop, path, fd, cb, ctx);
}

static void destroy(struct rv_notify *n)
{
	struct stat st;

	rv_loop_unwatch_fd(n->loop, &n->watch);
	close(n->fd);
	if (n->fs_socket && stat(n->path, &st) == 0 && st.st_dev == n->dev &&
	    st.st_ino == n->ino)
		unlink(n->path);
	free(n);
}

void rv_notify_close(struct rv_notify *n)
{
	if (!n)
		return;
	if (n->in_dispatch) {
		n->closing = true;
		return;
	}
	destroy(n);
}

const char *rv_notify_path(const struct rv_notify *n)
{
	return n->path;
}

int rv_notify_fd(const struct rv_notify *n)
{
	return n->fd;
}

void rv_notify_get_stats(const struct rv_notify *n,
			 struct rv_notify_stats *out)
{
	*out = n->stats;
}

void rv_notify_carry_stats(struct rv_notify *n,
			   const struct rv_notify_stats *st)
{
	n->stats.received += st->received;
	n->stats.delivered += st->delivered;
	n->stats.dropped_oversize += st->dropped_oversize;
	n->stats.dropped_no_creds += st->dropped_no_creds;
	n->stats.dropped_ctrunc += st->dropped_ctrunc;
	n->stats.dropped_invalid += st->dropped_invalid;
	n->stats.dropped_unknown_sender += st->dropped_unknown_sender;
	n->stats.fds_closed += st->fds_closed;
}

/*
 * One warn line per reason per second at most: the socket is world-
 * writable, so what it receives must not be able to flood the log.  Past
 * that line a dropped datagram costs a counter increment, and the next
 * line says how many were not logged (suppressed=).
 */
static void drop(struct rv_notify *n, enum drop_reason why, pid_t pid,
		 uid_t uid, ssize_t len)
{
	struct ratelimit *rl = &n->rl[why];
	int64_t now = rv_loop_now(n->loop);

	switch (why) {
	case DROP_OVERSIZE:
		n->stats.dropped_oversize++;
		break;
	case DROP_NO_CREDS:
		n->stats.dropped_no_creds++;
		break;
	case DROP_CTRUNC:
		n->stats.dropped_ctrunc++;
		break;
	case DROP_UNKNOWN_SENDER:
		n->stats.dropped_unknown_sender++;
		break;
	case DROP_INVALID:
	case DROP_NREASONS:
	default:
		n->stats.dropped_invalid++;
		break;
	}
	if (rl->logged && now - rl->last_ns < RV_NOTIFY_LOG_INTERVAL_NS) {
		rl->suppressed++;
		return;
	}
	if (why == DROP_UNKNOWN_SENDER)
		rv_log_sup(RV_LOG_WARN, "main", "notify_unknown_sender",
			   " pid=%d uid=%u suppressed=%llu", (int)pid,
			   (unsigned)uid, (unsigned long long)rl->suppressed);
	else
		rv_log_sup(RV_LOG_WARN, "main", "notify_dropped",
			   " reason=%s pid=%d uid=%d bytes=%zd max=%d"
			   " suppressed=%llu", drop_names[why], (int)pid,
			   (int)uid, len, RV_NOTIFY_MSG_MAX,
			   (unsigned long long)rl->suppressed);
	rl->logged = true;
	rl->last_ns = now;
	rl->suppressed = 0;
}

/* The sender's credentials, if the datagram carries them. */
static bool find_creds(struct msghdr *mh, struct ucred *cred)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_SOCKET &&
		    c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(*cred))) {
			memcpy(cred, CMSG_DATA(c), sizeof(*cred));
			return true;
		}
	return false;
}

/* The fds of every SCM_RIGHTS message, into n->fds (at most
 * RV_NOTIFY_MAX_FDS fit in the control buffer; the kernel dropped any
 * more and set MSG_CTRUNC). */
static void collect_fds(struct rv_notify *n, struct msghdr *mh)
{
	n->n_fds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t nfd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd && n->n_fds < RV_NOTIFY_MAX_FDS;
		     i++)
			memcpy(&n->fds[n->n_fds++],
			       CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
}

/* Closes the fds nobody kept (the owner's fd store takes some, -1). */
static void close_fds(struct rv_notify *n)
{
	for (size_t i = 0; i < n->n_fds; i++) {
		if (n->fds[i] < 0)
			continue;
		close(n->fds[i]);
		n->stats.fds_closed++;
	}
	n->n_fds = 0;
}

/* Checks one datagram that was read and hands it on (or drops it). */
static void handle(struct rv_notify *n, struct msghdr *mh, ssize_t len)
{
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	struct rv_notify_msg msg;

	if (!find_creds(mh, &cred) || cred.pid <= 0) {
		drop(n, DROP_NO_CREDS, cred.pid, cred.uid, len);
		return;
	}
	if (mh->msg_flags & MSG_CTRUNC) {
		drop(n, DROP_CTRUNC, cred.pid, cred.uid, len);
		return;
	}
	if (len > RV_NOTIFY_MSG_MAX || (mh->msg_flags & MSG_TRUNC)) {
		drop(n, DROP_OVERSIZE, cred.pid, cred.uid, len);
		return;
	}
	if (rv_notify_msg_parse(&msg, n->buf, (size_t)len, sizeof(n->buf))) {
		drop(n, DROP_INVALID, cred.pid, cred.uid, len);
		return;
	}
	msg.fds = n->fds;
	msg.n_fds = n->n_fds;
	if (!n->cb(n->ctx, cred.pid, cred.uid, &msg)) {
		drop(n, DROP_UNKNOWN_SENDER, cred.pid, cred.uid, len);
		return;
	}
	n->stats.delivered++;
}

/* Reads and handles one datagram; false when there is nothing left. */
static bool receive_one(struct rv_notify *n)
{
	struct iovec iov = { .iov_base = n->buf, .iov_len = RV_NOTIFY_MSG_MAX };
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = n->cmsg.b,
		.msg_controllen = sizeof(n->cmsg.b),
	};
	ssize_t len;

	do {
		/* MSG_TRUNC: len is the datagram's real size */
		len = recvmsg(n->fd, &mh,
			      MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
	} while (len < 0 && errno == EINTR);
	if (len < 0) {
		if (errno != EAGAIN)
			rv_log_sup(RV_LOG_ERROR, "main", "notify_recv_failed",
				   " errno=%d", errno);
		return false;
	}
	n->stats.received++;
	collect_fds(n, &mh);
	handle(n, &mh, len);
	/*
	 * Only now: a sender waiting on a barrier (sd_notify_barrier(),
	 * systemd-notify without --no-block) lives until its fd is closed,
	 * so its pid is still its own while the owner looks it up.
	 */
	close_fds(n);
	return true;
}

static void on_readable(struct rv_loop *loop, struct rv_fdwatch *w,
			uint32_t revents, void *ctx)
{
	struct rv_notify *n = ctx;
	int ret;

	n->in_dispatch = true;
	for (int i = 0; i < RV_NOTIFY_BUDGET && !n->closing; i++)
		if (!receive_one(n))
			break;
	n->in_dispatch = false;
	if (n->closing) {
		destroy(n);
		return;
	}
	ret = arm(n);
	if (ret)
		rv_log_sup(RV_LOG_ERROR, "main", "notify_watch_failed",
			   " errno=%d path=%s", -ret, n->path);
}
