/* SPDX-License-Identifier: MIT */
/*
 * The notify socket against real senders: forked children with and
 * without explicit credentials, file-system and abstract addresses,
 * oversized and malformed datagrams, fds passed with SCM_RIGHTS, a sender
 * whose pid we cannot see (another pid namespace), our own
 * rv_sd_notify_self(), and a daemon linked against libsystemd.
 *
 * RINGVISOR_BACKEND=io_uring|epoll runs on that backend only; unset, on
 * each available one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/notify.h"
#include "control/sd_notify_self.h"
#include "loop.h"
#include "util/log.h"

#define MS 1000000LL

static enum rv_backend g_backend;
static char g_dir[64];		/* a private directory for socket files */
static pid_t g_fixture;		/* killed in teardown if a case failed */
static unsigned g_seq;

/* ---- helpers ---- */

struct got {
	int n;
	int ready;		/* messages with READY=1 */
	int watchdogs;		/* messages with WATCHDOG=1 */
	pid_t pid;
	uid_t uid;
	struct rv_notify_msg m;
	char status[RV_NOTIFY_MSG_MAX + 1];
	bool has_status;
	struct rv_notify *close_me;	/* rv_notify_close() from the cb */
	bool refuse;		/* the callback says: unknown sender */
	bool keep;		/* the callback keeps the first fd ... */
	int kept;		/* ... here (the fd store's way) */
	char fdname[64];
};

static bool on_msg(void *ctx, pid_t pid, uid_t uid,
		   const struct rv_notify_msg *msg)
{
	struct got *g = ctx;

	g->n++;
	g->ready += msg->ready;
	g->watchdogs += msg->watchdog;
	g->pid = pid;
	g->uid = uid;
	g->m = *msg;
	g->has_status = msg->status != NULL;
	if (msg->status)
		snprintf(g->status, sizeof(g->status), "%s", msg->status);
	g->m.status = NULL;	/* points into the socket's buffer */
	if (msg->fdname)
		snprintf(g->fdname, sizeof(g->fdname), "%s", msg->fdname);
	g->m.fdname = NULL;
	if (g->keep && msg->n_fds) {
		g->kept = msg->fds[0];
		msg->fds[0] = -1;	/* ours now: not closed */
	}
	if (g->close_me) {
		rv_notify_close(g->close_me);
		g->close_me = NULL;
	}
	return !g->refuse;
}

static int g_orphans;

static void on_orphan(struct rv_loop *loop, const siginfo_t *si, void *ctx)
{
	g_orphans++;
}

static struct rv_loop *new_loop(void)
{
	struct rv_loop_config cfg = {
		.backend = g_backend,
		.orphan_cb = on_orphan,
	};
	struct rv_loop *loop;
	char why[256];
	int ret;

	g_orphans = 0;
	ret = rv_loop_new(&loop, &cfg, why, sizeof(why));
	if (ret)
		print_message("rv_loop_new: %s\n", why);
	assert_int_equal(ret, 0);
	return loop;
}

static void run_until(struct rv_loop *loop, const int *counter, int target,
		      int timeout_ms)
{
	int64_t end = rv_clock_now() + timeout_ms * MS;

	while (*counter < target) {
		int64_t left = end - rv_clock_now();

		if (left <= 0)
			break;
		assert_int_equal(rv_loop_run_once(loop, left), 0);
	}
	assert_int_equal(*counter, target);
}

static void settle(struct rv_loop *loop, int ms)
{
	int64_t end = rv_clock_now() + ms * MS;
	int64_t left;

	while ((left = end - rv_clock_now()) > 0)
		assert_int_equal(rv_loop_run_once(loop, left), 0);
}

/* Turns the loop until the socket has read `target` datagrams. */
static void run_until_received(struct rv_loop *loop, struct rv_notify *n,
			       uint64_t target, int timeout_ms)
{
	int64_t end = rv_clock_now() + timeout_ms * MS;
	struct rv_notify_stats st;

	for (;;) {
		int64_t left = end - rv_clock_now();

		rv_notify_get_stats(n, &st);
		if (st.received >= target || left <= 0)
			break;
		assert_int_equal(rv_loop_run_once(loop, left), 0);
	}
	assert_true(st.received == target);
}

static void sock_path(char *buf, size_t len, const char *tag)
{
	snprintf(buf, len, "%s/%s%u.sock", g_dir, tag, g_seq++);
}

static void abstract_path(char *buf, size_t len)
{
	snprintf(buf, len, "@ringvisor-test-notify-%d-%u", (int)getpid(),
		 g_seq++);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * Sends one datagram to path; explicit_creds adds SCM_CREDENTIALS as
 * sd_pid_notify() does, fds are passed with SCM_RIGHTS.  0 or -errno.
 * Async-signal-safe enough for a forked child (no allocation).
 */
static int send_dgram(const char *path, const void *data, size_t len,
		      const int *fds, int nfds, bool explicit_creds)
{
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(struct ucred)) +
		       CMSG_SPACE(sizeof(int) * 253)];
	} cm;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct sockaddr_un sa;
	struct cmsghdr *c;
	size_t clen = 0;
	socklen_t salen;
	int fd, ret;

	ret = rv_notify_sockaddr(path, &sa, &salen);
	if (ret)
		return ret;
	mh.msg_name = &sa;
	mh.msg_namelen = salen;
	memset(&cm, 0, sizeof(cm));
	if (explicit_creds || nfds) {
		mh.msg_control = cm.b;
		mh.msg_controllen = sizeof(cm.b);
		c = CMSG_FIRSTHDR(&mh);
		if (explicit_creds) {
			struct ucred uc = { getpid(), getuid(), getgid() };

			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_CREDENTIALS;
			c->cmsg_len = CMSG_LEN(sizeof(uc));
			memcpy(CMSG_DATA(c), &uc, sizeof(uc));
			clen += CMSG_SPACE(sizeof(uc));
			c = CMSG_NXTHDR(&mh, c);
		}
		if (nfds) {
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
			clen += CMSG_SPACE(sizeof(int) * (size_t)nfds);
		}
		mh.msg_controllen = clen;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
	close(fd);
	return ret;
}

/*
 * A child that sends one datagram (with nfds fresh /dev/null fds) and
 * exits 0, or 1 if sending failed; the loop reaps it as an orphan.
 */
static pid_t fork_sender(const char *path, const char *data, size_t len,
			 int nfds, bool explicit_creds)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fds[253];

		for (int i = 0; i < nfds; i++) {
			fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
			if (fds[i] < 0)
				_exit(2);
		}
		_exit(send_dgram(path, data, len, fds, nfds, explicit_creds) ?
			      1 : 0);
	}
	return pid;
}

/* ---- cases ---- */

static void test_path_socket(void **state)
{
	struct rv_loop *loop = new_loop();
	struct got g = { 0 };
	struct rv_notify *n;
	char path[108];
	struct stat st;
	pid_t pid;
	const char *msg = "READY=1\nSTATUS=hello world\nMAINPID=4242";

	sock_path(path, sizeof(path), "fs");
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);
	assert_string_equal(rv_notify_path(n), path);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0666);
	assert_true(fcntl(rv_notify_fd(n), F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(rv_notify_fd(n), F_GETFL) & O_NONBLOCK);

	pid = fork_sender(path, msg, strlen(msg), 0, true);
	run_until(loop, &g.n, 1, 2000);
	assert_int_equal(g.pid, pid);
	assert_int_equal(g.uid, getuid());
	assert_true(g.m.ready);
	assert_true(g.has_status);
	assert_string_equal(g.status, "hello world");
	assert_int_equal(g.m.mainpid, 4242);

	/* without explicit credentials: the kernel attaches them */
	pid = fork_sender(path, "WATCHDOG=1", 10, 0, false);
	run_until(loop, &g.n, 2, 2000);
	assert_int_equal(g.pid, pid);
	assert_true(g.m.watchdog);
	assert_false(g.m.ready);

	rv_notify_close(n);
	assert_int_equal(lstat(path, &st), -1);
	assert_int_equal(errno, ENOENT);
	/* a file-system path is free again at once */
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);
	rv_notify_close(n);
	settle(loop, 20);
	rv_loop_free(loop);
}

static void test_abstract_socket(void **state)
{
	struct rv_loop *loop = new_loop();
	struct got g = { 0 };
	struct rv_notify *n, *n2;
	char path[108];
	pid_t pid;

	abstract_path(path, sizeof(path));
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);
	assert_string_equal(rv_notify_path(n), path);
	/* the name is taken while we hold it */
	assert_int_equal(rv_notify_open(&n2, loop, path, on_msg, &g),
			 -EADDRINUSE);
	assert_null(n2);

	pid = fork_sender(path, "READY=1\nSTATUS=abstract", 23, 0, false);
	run_until(loop, &g.n, 1, 2000);
	assert_int_equal(g.pid, pid);
	assert_true(g.m.ready);
	assert_string_equal(g.status, "abstract");
	/* the forked sender shares our socket until it exits */
	run_until(loop, &g_orphans, 1, 2000);
	rv_notify_close(n);

	/* and free again once the loop has dropped its reference (io_uring:
	 * the poll's cancel is submitted on the next turn) */
	settle(loop, 10);
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);
	rv_notify_close(n);
	settle(loop, 20);
	rv_loop_free(loop);
}

static void test_stale_and_foreign_files(void **state)
{
	struct rv_loop *loop = new_loop();
	struct got g = { 0 };
	struct rv_notify *n, *n2;
	struct sockaddr_un sa;
	char path[108];
	socklen_t salen;
	struct stat st;
	int fd;

	/* a socket file nobody is bound to any more: replaced */
	sock_path(path, sizeof(path), "stale");
	assert_int_equal(rv_notify_sockaddr(path, &sa, &salen), 0);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, salen), 0);
	close(fd);
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);

	/* a live one (ours): refused, and left in place */
	assert_int_equal(rv_notify_open(&n2, loop, path, on_msg, &g),
			 -EADDRINUSE);
	assert_int_equal(lstat(path, &st), 0);
	fork_sender(path, "READY=1", 7, 0, false);
	run_until(loop, &g.n, 1, 2000);
	rv_notify_close(n);

	/* not a socket: refused, never deleted */
	sock_path(path, sizeof(path), "file");
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), -EEXIST);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(path);

	/* replaced behind our back: close does not remove the newcomer */
	sock_path(path, sizeof(path), "moved");
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);
	assert_int_equal(unlink(path), 0);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	rv_notify_close(n);
	assert_int_equal(lstat(path, &st), 0);
	unlink(path);

	settle(loop, 20);
	rv_loop_free(loop);
}

static void test_bad_paths(void **state)
{
	struct rv_loop *loop = new_loop();
	struct got g = { 0 };
	struct rv_notify *n = (struct rv_notify *)&g;
	char longp[200];

	assert_int_equal(rv_notify_open(&n, loop, "", on_msg, &g), -EINVAL);
	assert_null(n);
	assert_int_equal(rv_notify_open(&n, loop, "rel/path", on_msg, &g),
			 -EINVAL);
	assert_int_equal(rv_notify_open(&n, loop, "@", on_msg, &g), -EINVAL);
	assert_int_equal(rv_notify_open(&n, loop, NULL, on_msg, &g), -EINVAL);
	assert_int_equal(rv_notify_open(&n, loop, "@x", NULL, &g), -EINVAL);
	memset(longp, 'a', sizeof(longp));
	longp[0] = '/';
	longp[108] = '\0';	/* 108 bytes + NUL: one too many */
	assert_int_equal(rv_notify_open(&n, loop, longp, on_msg, &g),
			 -ENAMETOOLONG);
	longp[0] = '@';
	longp[109] = '\0';
	longp[108] = 'a';
	assert_int_equal(rv_notify_open(&n, loop, longp, on_msg, &g),
			 -ENAMETOOLONG);
	/* the longest abstract name fits */
	longp[108] = '\0';
	assert_int_equal(rv_notify_open(&n, loop, longp, on_msg, &g), 0);
	rv_notify_close(n);
	assert_int_equal(rv_notify_open(&n, loop, "/nonexistent-dir/x.sock",
					on_msg, &g), -ENOENT);
	rv_notify_close(NULL);
	rv_loop_free(loop);
}

static void test_oversize_dropped(void **state)
{
	struct rv_loop *loop = new_loop();
	struct got g = { 0 };
	struct rv_notify_stats st;
	struct rv_notify *n;
	char path[108];
	char *big = malloc(RV_NOTIFY_MSG_MAX + 2);

	assert_non_null(big);
	abstract_path(path, sizeof(path));
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);

	/* one byte over: dropped, with no callback */
	memcpy(big, "READY=1\nSTATUS=", 15);
	memset(big + 15, 'x', RV_NOTIFY_MSG_MAX + 1 - 15);
	assert_int_equal(send_dgram(path, big, RV_NOTIFY_MSG_MAX + 1, NULL, 0,
				    false), 0);
	/* exactly the limit: taken */
	big[RV_NOTIFY_MSG_MAX - 1] = 'y';
	assert_int_equal(send_dgram(path, big, RV_NOTIFY_MSG_MAX, NULL, 0,
				    false), 0);
	/* and a small one after it: taken */
	assert_int_equal(send_dgram(path, big, 64, NULL, 0, false), 0);
	run_until_received(loop, n, 3, 2000);
	rv_notify_get_stats(n, &st);
	assert_true(st.dropped_oversize == 1);
	assert_true(st.delivered == 2);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.pid, getpid());
	assert_true(g.m.ready);
	/* the last delivered one is the 64-byte message */
	assert_int_equal(strlen(g.status), 64 - 15);

	free(big);
	big = malloc(65536);
	assert_non_null(big);
	memset(big, 'z', 65536);
	memcpy(big, "READY=1\n", 8);
	assert_int_equal(send_dgram(path, big, 65536, NULL, 0, false), 0);
	assert_int_equal(send_dgram(path, "STATUS=after", 12, NULL, 0, false),
			 0);
	run_until_received(loop, n, 5, 2000);
	rv_notify_get_stats(n, &st);
	assert_true(st.dropped_oversize == 2);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.status, "after");
	free(big);
	rv_notify_close(n);
	rv_loop_free(loop);
}

static void test_invalid_dropped(void **state)
{
	struct rv_loop *loop = new_loop();
	struct got g = { 0 };
	struct rv_notify_stats st;
	struct rv_notify *n;
	char path[108];

	abstract_path(path, sizeof(path));
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);
	assert_int_equal(send_dgram(path, "READY=1\0STATUS=x", 16, NULL, 0,
				    false), 0);
	assert_int_equal(send_dgram(path, "no assignment", 13, NULL, 0, false),
			 0);
	assert_int_equal(send_dgram(path, "", 0, NULL, 0, false), 0);
	assert_int_equal(send_dgram(path, "READY=1\0", 8, NULL, 0, false), 0);
	run_until_received(loop, n, 4, 2000);
	rv_notify_get_stats(n, &st);
	assert_true(st.dropped_invalid == 3);
	assert_int_equal(g.n, 1);
	assert_true(g.m.ready);
	rv_notify_close(n);
	rv_loop_free(loop);
}

static void test_scm_rights_closed(void **state)
{
	struct rv_loop *loop = new_loop();
	struct got g = { 0 };
	struct rv_notify_stats st;
	struct rv_notify *n;
	char path[108];
	int before, after;

	abstract_path(path, sizeof(path));
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);
	settle(loop, 10);
	before = count_fds();

	/* a few fds with a good message (FDSTORE=1): delivered, fds closed */
	fork_sender(path, "FDSTORE=1\nREADY=1", 17, 3, true);
	run_until(loop, &g.n, 1, 2000);
	assert_true(g.m.fdstore);
	assert_true(g.m.ready);
	rv_notify_get_stats(n, &st);
	assert_true(st.fds_closed == 3);

	/* more than we take (MSG_CTRUNC): dropped, every fd still closed */
	fork_sender(path, "READY=1", 7, 200, false);
	run_until_received(loop, n, 2, 2000);
	rv_notify_get_stats(n, &st);
	assert_true(st.dropped_ctrunc == 1);
	assert_true(st.fds_closed > 3);
	assert_int_equal(g.n, 1);

	/* fds on an oversized datagram are closed too */
	{
		static char big[RV_NOTIFY_MSG_MAX + 100];

		memset(big, 'a', sizeof(big));
		fork_sender(path, big, sizeof(big), 2, false);
	}
	run_until_received(loop, n, 3, 2000);
	rv_notify_get_stats(n, &st);
	assert_true(st.dropped_oversize == 1);

	settle(loop, 50);	/* reap the senders */
	after = count_fds();
	assert_int_equal(before, after);
	rv_notify_close(n);
	rv_loop_free(loop);
}

/* An fd the callback takes (FDSTORE=1) stays open, close-on-exec; the
 * others of the datagram are closed. */
static void test_scm_rights_kept(void **state)
{
	struct rv_loop *loop = new_loop();
	struct got g = { .keep = true, .kept = -1 };
	struct rv_notify_stats st;
	struct rv_notify *n;
	char path[108];
	int before;

	abstract_path(path, sizeof(path));
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);
	settle(loop, 10);
	before = count_fds();
	fork_sender(path, "FDSTORE=1\nFDNAME=db", 20, 2, true);
	run_until(loop, &g.n, 1, 2000);
	assert_true(g.m.fdstore);
	assert_int_equal(g.m.n_fds, 2);
	assert_string_equal(g.fdname, "db");
	rv_notify_get_stats(n, &st);
	assert_true(st.fds_closed == 1);
	assert_true(g.kept >= 0);
	assert_true(fcntl(g.kept, F_GETFD) & FD_CLOEXEC);
	settle(loop, 50);	/* reap the sender */
	assert_int_equal(count_fds(), before + 1);
	close(g.kept);
	rv_notify_close(n);
	rv_loop_free(loop);
}

static void test_many_datagrams(void **state)
{
	struct rv_loop *loop = new_loop();
	struct got g = { 0 };
	struct rv_notify *n;
	char path[108];
	pid_t pid;

	sock_path(path, sizeof(path), "many");
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);
	/* a blocking sender: the queue (max_dgram_qlen) fills and drains;
	 * every one arrives, in order, through re-armed watches */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char m[32];

		for (int i = 1; i <= 500; i++) {
			int len = snprintf(m, sizeof(m), "STATUS=%d", i);

			if (send_dgram(path, m, (size_t)len, NULL, 0, false))
				_exit(1);
		}
		_exit(0);
	}
	run_until(loop, &g.n, 500, 10000);
	assert_string_equal(g.status, "500");
	assert_int_equal(g.pid, pid);
	rv_notify_close(n);
	settle(loop, 20);
	rv_loop_free(loop);
}

/*
 * Well-formed datagrams the owner refuses (a sender that belongs to no
 * service): each is counted, and the log gets one line per second at
 * most, however many arrive.
 */
static void test_unknown_sender_counted_not_logged(void **state)
{
	struct rv_loop *loop = new_loop();
	struct got g = { .refuse = true };
	struct rv_notify_stats st;
	struct rv_notify *n;
	char path[108], logpath[PATH_MAX], buf[65536];
	int64_t t0 = rv_clock_now();
	int logfd, lines = 0;
	ssize_t len;

	snprintf(logpath, sizeof(logpath), "%s/unknown%u.log", g_dir,
		 g_seq++);
	logfd = open(logpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(logfd >= 0);
	rv_log_set_fd(logfd);
	sock_path(path, sizeof(path), "unknown");
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);
	/* a blocking sender: the queue (max_dgram_qlen) fills and drains */
	g_fixture = fork();
	assert_true(g_fixture >= 0);
	if (g_fixture == 0) {
		for (int i = 0; i < 2000; i++)
			if (send_dgram(path, "READY=1", 7, NULL, 0, false))
				_exit(1);
		_exit(0);
	}
	run_until_received(loop, n, 2000, 20000);
	g_fixture = 0;	/* exited: the loop reaps it as an orphan */
	rv_log_set_fd(2);
	rv_notify_get_stats(n, &st);
	assert_int_equal(g.n, 2000);		/* each one was looked up */
	assert_true(st.dropped_unknown_sender == 2000);
	assert_true(st.delivered == 0);
	len = pread(logfd, buf, sizeof(buf) - 1, 0);
	assert_true(len > 0);
	buf[len] = '\0';
	for (char *p = buf; (p = strstr(p, "event=notify_unknown_sender"));
	     p++)
		lines++;
	/* one line, plus one per further second the test took */
	assert_true(lines >= 1);
	assert_true(lines <= 1 + (rv_clock_now() - t0) / (1000 * MS));
	assert_non_null(strstr(buf, "suppressed=0"));
	close(logfd);
	unlink(logpath);
	rv_notify_close(n);
	rv_loop_free(loop);
}

static void test_close_in_callback(void **state)
{
	struct rv_loop *loop = new_loop();
	struct got g = { 0 };
	struct rv_notify *n;
	char path[108];
	struct stat st;

	sock_path(path, sizeof(path), "cb");
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);
	g.close_me = n;
	assert_int_equal(send_dgram(path, "READY=1", 7, NULL, 0, false), 0);
	assert_int_equal(send_dgram(path, "STOPPING=1", 10, NULL, 0, false), 0);
	run_until(loop, &g.n, 1, 2000);
	settle(loop, 30);
	/* closed after the first: the second was never handed over */
	assert_int_equal(g.n, 1);
	assert_true(g.m.ready);
	assert_int_equal(lstat(path, &st), -1);
	rv_loop_free(loop);
}

/*
 * A sender whose pid the receiver cannot see gets pid 0 in its
 * credentials: the receiver lives in a new pid namespace (a forked child
 * after unshare), we send from outside.  Root only.
 */
struct ns_result {
	uint64_t received, delivered, no_creds;
	int ret;
};

static int ns_received;

static bool ns_on_msg(void *ctx, pid_t pid, uid_t uid,
		      const struct rv_notify_msg *msg)
{
	ns_received++;
	return true;
}

static void ns_receiver(const char *path, int ready_fd, int result_fd)
{
	struct rv_loop_config cfg = { .backend = g_backend };
	struct ns_result r = { 0 };
	struct rv_notify_stats st = { 0 };
	struct rv_loop *loop;
	struct rv_notify *n = NULL;
	char why[256];
	int64_t end;

	r.ret = rv_loop_new(&loop, &cfg, why, sizeof(why));
	if (!r.ret)
		r.ret = rv_notify_open(&n, loop, path, ns_on_msg, NULL);
	if (write(ready_fd, "r", 1) != 1 || r.ret)
		goto out;
	end = rv_clock_now() + 3000 * MS;
	while (rv_clock_now() < end) {
		rv_notify_get_stats(n, &st);
		if (st.received >= 2)
			break;
		rv_loop_run_once(loop, 100 * MS);
	}
	r.received = st.received;
	r.delivered = st.delivered;
	r.no_creds = st.dropped_no_creds;
out:
	if (write(result_fd, &r, sizeof(r)) != sizeof(r))
		_exit(3);
	_exit(0);
}

static void test_invisible_sender_dropped(void **state)
{
	struct ns_result r;
	int ready[2], result[2], status;
	char path[108], c;
	pid_t pid;

	if (geteuid() != 0) {
		print_message("needs root for unshare(CLONE_NEWPID)\n");
		skip();
	}
	abstract_path(path, sizeof(path));
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(result, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pid_t inner;

		if (unshare(CLONE_NEWPID))
			_exit(77);
		inner = fork();
		if (inner == 0)
			ns_receiver(path, ready[1], result[1]);
		if (inner < 0 || waitpid(inner, &status, 0) != inner)
			_exit(4);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 5);
	}
	close(ready[1]);
	close(result[1]);
	if (read(ready[0], &c, 1) != 1) {
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
			print_message("unshare(CLONE_NEWPID) refused\n");
			close(ready[0]);
			close(result[0]);
			skip();
		}
		fail_msg("receiver did not start (status %d)", status);
	}
	/* from here: its pid namespace cannot see us */
	assert_int_equal(send_dgram(path, "READY=1", 7, NULL, 0, false), 0);
	assert_int_equal(send_dgram(path, "READY=1", 7, NULL, 0, true), 0);
	assert_int_equal(read(result[0], &r, sizeof(r)), sizeof(r));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(ready[0]);
	close(result[0]);
	assert_int_equal(r.ret, 0);
	assert_true(r.received == 2);
	assert_true(r.no_creds == 2);
	assert_true(r.delivered == 0);
}

/* ---- our own sd_notify ---- */

static void test_sd_notify_self(void **state)
{
	struct rv_loop *loop = new_loop();
	struct got g = { 0 };
	struct rv_notify *n;
	char path[108], pid[32];

	abstract_path(path, sizeof(path));
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);

	/* not under systemd: nothing to do, nothing sent */
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(rv_sd_notify_self_init(), 0);
	assert_false(rv_sd_notify_self_enabled());
	assert_null(rv_sd_notify_self_socket());
	assert_int_equal(rv_sd_notify_self("READY=1"), 0);

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "3000000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(rv_sd_notify_self_init(), 0);
	/* gone from the environment our children will inherit */
	assert_null(getenv("NOTIFY_SOCKET"));
	assert_null(getenv("WATCHDOG_USEC"));
	assert_null(getenv("WATCHDOG_PID"));
	assert_true(rv_sd_notify_self_enabled());
	assert_string_equal(rv_sd_notify_self_socket(), path);
	assert_true(rv_sd_notify_self_watchdog_usec() == 3000000);

	assert_int_equal(rv_sd_notify_self("READY=1\nSTATUS=3 services up"), 0);
	run_until(loop, &g.n, 1, 2000);
	assert_int_equal(g.pid, getpid());
	assert_true(g.m.ready);
	assert_string_equal(g.status, "3 services up");
	assert_int_equal(rv_sd_notify_self("STOPPING=1"), 0);
	run_until(loop, &g.n, 2, 2000);
	assert_true(g.m.stopping);
	assert_int_equal(rv_sd_notify_self(""), -EINVAL);

	/* a watchdog meant for another process stays where it is */
	setenv("NOTIFY_SOCKET", path, 1);
	setenv("WATCHDOG_USEC", "3000000", 1);
	setenv("WATCHDOG_PID", "1", 1);
	assert_int_equal(rv_sd_notify_self_init(), 0);
	assert_true(rv_sd_notify_self_watchdog_usec() == 0);
	assert_string_equal(getenv("WATCHDOG_PID"), "1");
	assert_non_null(getenv("WATCHDOG_USEC"));
	assert_null(getenv("NOTIFY_SOCKET"));
	/* no WATCHDOG_PID: ours (sd_watchdog_enabled() reads it so) */
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "500", 1);
	assert_int_equal(rv_sd_notify_self_init(), 0);
	assert_true(rv_sd_notify_self_watchdog_usec() == 500);
	assert_null(getenv("WATCHDOG_USEC"));

	/* the manager went away */
	rv_notify_close(n);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(rv_sd_notify_self_init(), 0);
	assert_int_equal(rv_sd_notify_self("WATCHDOG=1"), -ECONNREFUSED);

	/* unusable addresses: refused, and still removed */
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	assert_int_equal(rv_sd_notify_self_init(), -EINVAL);
	assert_null(getenv("NOTIFY_SOCKET"));
	assert_false(rv_sd_notify_self_enabled());
	assert_int_equal(rv_sd_notify_self("READY=1"), 0);
	rv_loop_free(loop);
}

/* ---- a real libsystemd client ---- */

static bool fixture_path(char *buf, size_t len)
{
	const char *dir = getenv("RV_FIXTURES");
	char exe[PATH_MAX];
	ssize_t n;
	char *slash;

	if (dir && *dir) {
		if (snprintf(buf, len, "%s/sdnotify", dir) >= (int)len)
			return false;
		return access(buf, X_OK) == 0;
	}
	/* build/tests/test_notify -> build/fixtures/sdnotify */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = '\0';
	if (snprintf(buf, len, "%s/../fixtures/sdnotify", exe) >= (int)len)
		return false;
	return access(buf, X_OK) == 0;
}

static void test_libsystemd_client(void **state)
{
	struct rv_loop *loop;
	struct got g = { 0 };
	struct rv_notify *n;
	char path[108], fx[PATH_MAX], env[160];
	pid_t pid;

	if (!fixture_path(fx, sizeof(fx))) {
		print_message("no fixtures/sdnotify (libsystemd-dev missing?)\n");
		skip();
	}
	loop = new_loop();
	sock_path(path, sizeof(path), "sd");
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);
	snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s", path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { fx, "--delay-ms", "20", "--watchdog-ms", "20",
				 "--pings", "3", NULL };
		char *envp[] = { env, NULL };
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(fx, argv, envp);
		_exit(127);
	}
	g_fixture = pid;
	/* READY=1 and STATUS= in one datagram; the status stays the last
	 * one sent since the pings carry none */
	run_until(loop, &g.ready, 1, 3000);
	assert_int_equal(g.pid, pid);
	assert_string_equal(g.status, "ready");
	run_until(loop, &g.watchdogs, 3, 3000);
	assert_int_equal(g.pid, pid);
	/* then it stops pinging */
	settle(loop, 150);
	assert_int_equal(g.watchdogs, 3);
	assert_int_equal(g.n, 4);
	kill(pid, SIGKILL);
	g_fixture = 0;
	settle(loop, 50);
	rv_notify_close(n);

	/* an abstract address through libsystemd too */
	abstract_path(path, sizeof(path));
	assert_int_equal(rv_notify_open(&n, loop, path, on_msg, &g), 0);
	snprintf(env, sizeof(env), "NOTIFY_SOCKET=%s", path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv[] = { fx, "--status", "abstract ok", NULL };
		char *envp[] = { env, NULL };
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execve(fx, argv, envp);
		_exit(127);
	}
	g_fixture = pid;
	run_until(loop, &g.ready, 2, 3000);
	assert_int_equal(g.pid, pid);
	assert_string_equal(g.status, "abstract ok");
	kill(pid, SIGKILL);
	g_fixture = 0;
	settle(loop, 50);
	rv_notify_close(n);
	rv_loop_free(loop);
}

/* ---- main ---- */

static int group_setup(void **state)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/rv-test-notify-XXXXXX");
	return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char p[PATH_MAX];
	struct dirent *e;
	DIR *d;

	/* a case that failed half-way may leave its fixture running (the
	 * loop that would have reaped it is gone: reap it here) ... */
	if (g_fixture > 0) {
		kill(g_fixture, SIGKILL);
		waitpid(g_fixture, NULL, 0);
		g_fixture = 0;
	}
	if (rmdir(g_dir) == 0)
		return 0;
	/* ... and its socket files */
	d = opendir(g_dir);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (snprintf(p, sizeof(p), "%s/%s", g_dir, e->d_name) <
		    (int)sizeof(p))
			unlink(p);
	}
	if (d)
		closedir(d);
	rmdir(g_dir);
	return -1;
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_path_socket),
	cmocka_unit_test(test_abstract_socket),
	cmocka_unit_test(test_stale_and_foreign_files),
	cmocka_unit_test(test_bad_paths),
	cmocka_unit_test(test_oversize_dropped),
	cmocka_unit_test(test_invalid_dropped),
	cmocka_unit_test(test_scm_rights_closed),
	cmocka_unit_test(test_scm_rights_kept),
	cmocka_unit_test(test_many_datagrams),
	cmocka_unit_test(test_unknown_sender_counted_not_logged),
	cmocka_unit_test(test_close_in_callback),
	cmocka_unit_test(test_invisible_sender_dropped),
	cmocka_unit_test(test_sd_notify_self),
	cmocka_unit_test(test_libsystemd_client),
};

static bool available(enum rv_backend b, const char *name)
{
	struct rv_loop_config cfg = { .backend = b };
	struct rv_loop *loop;
	char why[256];

	if (rv_loop_new(&loop, &cfg, why, sizeof(why))) {
		printf("skipping %s: %s\n", name, why);
		return false;
	}
	rv_loop_free(loop);
	return true;
}

int main(void)
{
	static const int sigs[] = { 0 };
	static const struct {
		const char *name;
		enum rv_backend backend;
	} runs[] = {
		{ "notify/io_uring", RV_BACKEND_IO_URING },
		{ "notify/epoll", RV_BACKEND_EPOLL },
	};
	const char *env = getenv("RINGVISOR_BACKEND");
	int failed = 0, ran = 0;

	if (rv_loop_block_signals(sigs)) {
		printf("cannot block signals\n");
		return 77;
	}
	if (env && *env) {
		g_backend = RV_BACKEND_AUTO;	/* the loop obeys the env */
		if (!available(g_backend, env))
			return 77;
		return cmocka_run_group_tests_name("notify/env", tests,
						   group_setup, group_teardown);
	}
	for (size_t i = 0; i < sizeof(runs) / sizeof(*runs); i++) {
		if (!available(runs[i].backend, runs[i].name))
			continue;
		g_backend = runs[i].backend;
		failed += cmocka_run_group_tests_name(runs[i].name, tests,
						      group_setup,
						      group_teardown);
		ran++;
	}
	if (!ran) {
		printf("no loop backend available\n");
		return 77;
	}
	return failed;
}
