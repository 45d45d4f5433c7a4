/* SPDX-License-Identifier: MIT */
/*
 * Descriptors across an execve (util/fdkeep.h, docs/reexec.md): exactly
 * the listed ones lose close-on-exec, and a real exec sees exactly them;
 * a failed exec gets close-on-exec back; the reader refuses a descriptor
 * that is closed or of the wrong kind, and a pidfd of another process;
 * what the old image leaked is closed, what is listed is not.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/fdkeep.h"

static bool cloexec(int fd)
{
	int flags = fcntl(fd, F_GETFD);

	assert_true(flags >= 0);
	return flags & FD_CLOEXEC;
}

static void pipe_cloexec(int p[2])
{
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
}

static void close_pair(int p[2])
{
	close(p[0]);
	close(p[1]);
}

static void only_listed_lose_cloexec(void **state)
{
	struct rv_fdkeep k = { 0 };
	int a[2], b[2], sp[2];

	(void)state;
	pipe_cloexec(a);
	pipe_cloexec(b);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sp), 0);
	assert_int_equal(rv_fdkeep_add(&k, a[0], "output", "web"), 0);
	assert_int_equal(rv_fdkeep_add(&k, sp[0], "control_listen", NULL), 0);
	assert_int_equal(rv_fdkeep_add(&k, a[0], "output", "web"), -EEXIST);
	assert_int_equal(rv_fdkeep_add(&k, -1, "pidfd", "x"), -EBADF);
	assert_int_equal(k.n, 2);

	assert_int_equal(rv_fdkeep_clear_cloexec(&k), 0);
	assert_false(cloexec(a[0]));
	assert_false(cloexec(sp[0]));
	assert_true(cloexec(a[1]) && cloexec(b[0]) && cloexec(b[1]) &&
		    cloexec(sp[1]));
	/* execve returned */
	rv_fdkeep_set_cloexec(&k);
	assert_true(cloexec(a[0]) && cloexec(sp[0]));

	/* all or nothing: a listed descriptor closed meanwhile */
	close(sp[0]);
	assert_int_equal(rv_fdkeep_clear_cloexec(&k), -EBADF);
	assert_true(cloexec(a[0]));
	rv_fdkeep_free(&k);
	close_pair(a);
	close_pair(b);
	close(sp[1]);
}

/* A real exec: the shell sees the kept descriptor and not the other. */
static void exec_sees_exactly_the_kept(void **state)
{
	struct rv_fdkeep k = { 0 };
	char script[128];
	int kept[2], other[2], status;
	pid_t pid;

	(void)state;
	pipe_cloexec(kept);
	pipe_cloexec(other);
	assert_int_equal(rv_fdkeep_add(&k, kept[1], "output", "web"), 0);
	snprintf(script, sizeof(script),
		 "test -e /proc/self/fd/%d && ! test -e /proc/self/fd/%d",
		 kept[1], other[1]);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		if (rv_fdkeep_clear_cloexec(&k))
			_exit(3);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* and the parent, which cleared nothing, still has them close-on-exec */
	assert_true(cloexec(kept[1]));
	rv_fdkeep_free(&k);
	close_pair(kept);
	close_pair(other);
}

static void adopt(int fd, enum rv_fd_kind kind, pid_t pid, int expect_ret,
		  const char *expect_err)
{
	char err[160] = "";

	assert_int_equal(rv_fd_adopt(fd, kind, pid, "test", err, sizeof(err)),
			 expect_ret);
	if (expect_err && !strstr(err, expect_err))
		fail_msg("\"%s\" does not say \"%s\"", err, expect_err);
	if (!expect_ret)
		assert_true(cloexec(fd));
}

static void adopt_checks_the_kind(void **state)
{
	int p[2], sp[2], memfd, exe, pidfd;
	char path[64];

	(void)state;
	assert_int_equal(pipe(p), 0);	/* no CLOEXEC, as after an exec */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	memfd = memfd_create("state", MFD_ALLOW_SEALING);
	assert_true(memfd >= 0);
	assert_int_equal(write(memfd, "{}", 2), 2);
	exe = open("/bin/sh", O_PATH);
	assert_true(exe >= 0);
	pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd < 0) {
		print_message("no pidfd_open here: pidfd case skipped\n");
	} else {
		adopt(pidfd, RV_FD_PIDFD, getpid(), 0, NULL);
		adopt(pidfd, RV_FD_PIDFD, getpid() + 1, -EINVAL,
		      "refers to pid");
		adopt(p[0], RV_FD_PIDFD, 1, -EINVAL, "not a pidfd");
		close(pidfd);
	}

	adopt(p[0], RV_FD_FIFO, 0, 0, NULL);
	adopt(sp[0], RV_FD_SOCKET, 0, 0, NULL);
	adopt(exe, RV_FD_EXE, 0, 0, NULL);
	adopt(p[1], RV_FD_SOCKET, 0, -EINVAL, "not a socket");
	adopt(sp[1], RV_FD_FIFO, 0, -EINVAL, "not a pipe");
	adopt(p[1], RV_FD_EXE, 0, -EINVAL, "not an O_PATH executable");
	/* a memfd a writer did not seal is a state it did not finish */
	adopt(memfd, RV_FD_MEMFD, 0, -EINVAL, "not a sealed memfd");
	assert_int_equal(fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE |
			       F_SEAL_GROW | F_SEAL_SHRINK), 0);
	adopt(memfd, RV_FD_MEMFD, 0, 0, NULL);
	close(p[1]);
	snprintf(path, sizeof(path), "fd %d (test): not open", p[1]);
	adopt(p[1], RV_FD_FIFO, 0, -EBADF, path);

	close(p[0]);
	close(sp[0]);
	close(sp[1]);
	close(memfd);
	close(exe);
}

/* In a child: the test runner's own descriptors are none of our business. */
static void leaks_closed_listed_kept(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		int a[2], b[2], keep[3];

		if (pipe(a) || pipe(b))
			_exit(2);
		keep[0] = b[1];
		keep[1] = a[0];
		keep[2] = a[0];		/* listed twice: harmless */
		if (rv_fd_close_unlisted(keep, 3, 3))
			_exit(3);
		/* kept: a[0], b[1]; closed: a[1], b[0]; stdio untouched */
		_exit(fcntl(a[0], F_GETFD) < 0 || fcntl(b[1], F_GETFD) < 0 ||
		      fcntl(a[1], F_GETFD) >= 0 || fcntl(b[0], F_GETFD) >= 0 ||
		      fcntl(2, F_GETFD) < 0 ? 1 : 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(only_listed_lose_cloexec),
		cmocka_unit_test(exec_sees_exactly_the_kept),
		cmocka_unit_test(adopt_checks_the_kind),
		cmocka_unit_test(leaks_closed_listed_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
