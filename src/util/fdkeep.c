/* SPDX-License-Identifier: MIT */
/*
 * Descriptors that cross an execve (fdkeep.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/fdkeep.h"

int rv_fdkeep_add(struct rv_fdkeep *k, int fd, const char *role,
		  const char *owner)
{
	size_t w = (size_t)fd / 64;

	/* whether it is open is not asked here (fdkeep.h) */
	if (fd < 0)
		return -EBADF;
	if (w >= k->listed_words) {
		size_t words = 2 * w + 1;
		uint64_t *l = realloc(k->listed, words * sizeof(*l));

		if (!l)
			return -ENOMEM;
		memset(l + k->listed_words, 0,
		       (words - k->listed_words) * sizeof(*l));
		k->listed = l;
		k->listed_words = words;
	}
	if (k->listed[w] & (1ULL << (fd % 64)))
		return -EEXIST;
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 16;
		struct rv_fdkeep_entry *v = realloc(k->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		k->v = v;
		k->cap = cap;
	}
	k->v[k->n++] = (struct rv_fdkeep_entry){ fd, role, owner };
	k->listed[w] |= 1ULL << (fd % 64);
	return 0;
}

/* FD_CLOEXEC is the only descriptor flag: set without reading it first
 * (one syscall a descriptor, 10,000 of them in a hand-over) */
static int set_cloexec(int fd, bool on)
{
	return fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0) < 0 ? -errno : 0;
}

/* Set once every descriptor from 3 up is close-on-exec already
 * (rv_fd_cloexec_all): rv_fd_adopt() then only checks. */
static bool all_cloexec;

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

void rv_fd_cloexec_all(void)
{
	/* 5.11; before it, or refused, each adoption sets its own */
	all_cloexec = !syscall(SYS_close_range, 3U, ~0U,
			       CLOSE_RANGE_CLOEXEC);
}

int rv_fdkeep_clear_cloexec(struct rv_fdkeep *k)
{
	for (k->cleared = 0; k->cleared < k->n; k->cleared++) {
		int ret = set_cloexec(k->v[k->cleared].fd, false);

		if (ret) {
			rv_fdkeep_set_cloexec(k);
			return ret;
		}
	}
	return 0;
}

void rv_fdkeep_set_cloexec(struct rv_fdkeep *k)
{
	/* F_SETFD on an open descriptor cannot fail */
	for (size_t i = 0; i < k->cleared; i++)
		set_cloexec(k->v[i].fd, true);
	k->cleared = 0;
}

void rv_fdkeep_free(struct rv_fdkeep *k)
{
	free(k->v);
	free(k->listed);
	memset(k, 0, sizeof(*k));
}

/* ---- the reader's side ---- */

__attribute__((format(printf, 4, 5)))
static int refuse(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

/*
 * PIDFD_GET_INFO (Linux 6.13), declared here: Debian 12's headers predate
 * it.  The first version of the struct, 64 bytes; the kernel fills what
 * the size in the request number covers.
 */
struct rv_pidfd_info {
	uint64_t mask, cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid;
	uint32_t fsuid, fsgid;
	int32_t exit_code;
};
#define RV_PIDFD_GET_INFO	_IOWR(0xFF, 11, struct rv_pidfd_info)
#define RV_PIDFD_INFO_PID	1ULL

/*
 * The pid a pidfd refers to, or 0 when fd is no pidfd (-1: the process
 * was reaped).  One ioctl where the kernel has it: 10,000 pidfds cross a
 * hand-over, and reading each one's fdinfo (open, read, close) was most
 * of the new image's adoption.
 */
static pid_t pidfd_pid(int fd)
{
	struct rv_pidfd_info info = { .mask = RV_PIDFD_INFO_PID };
	char path[64], buf[1024], *p;
	ssize_t n;
	int pfd, pid = 0;

	if (!ioctl(fd, RV_PIDFD_GET_INFO, &info) &&
	    (info.mask & RV_PIDFD_INFO_PID) && info.pid > 0)
		return (pid_t)info.pid;
	/* an older kernel, a reaped process (ESRCH), or no pidfd at all:
	 * its fdinfo's "Pid:" says which */
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	pfd = open(path, O_RDONLY | O_CLOEXEC);
	if (pfd < 0)
		return 0;
	n = read(pfd, buf, sizeof(buf) - 1);
	close(pfd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "\nPid:\t");
	if (p)
		pid = atoi(p + 6);
	return (pid_t)pid;
}

static const char *kind_name(enum rv_fd_kind kind)
{
	static const char *const names[] = {
		[RV_FD_SOCKET] = "a socket", [RV_FD_FIFO] = "a pipe",
		[RV_FD_PIDFD] = "a pidfd", [RV_FD_MEMFD] = "a sealed memfd",
		[RV_FD_EXE] = "an O_PATH executable",
		[RV_FD_ANY] = "open",
	};

	return names[kind];
}

/* Does fd (open, st its fstat) look like kind? */
static bool is_kind(int fd, const struct stat *st, enum rv_fd_kind kind)
{
	const int seals = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK;
	int v;

	switch (kind) {
	case RV_FD_SOCKET:
		return S_ISSOCK(st->st_mode);
	case RV_FD_FIFO:
		return S_ISFIFO(st->st_mode);
	case RV_FD_PIDFD:
		return pidfd_pid(fd) != 0;
	case RV_FD_MEMFD:
		v = fcntl(fd, F_GET_SEALS);
		return v >= 0 && (v & seals) == seals;
	case RV_FD_EXE:
		v = fcntl(fd, F_GETFL);
		return v >= 0 && (v & O_PATH) && S_ISREG(st->st_mode);
	case RV_FD_ANY:
		return true;
	}
	return false;
}

int rv_fd_adopt(int fd, enum rv_fd_kind kind, pid_t pid, const char *what,
		char *err, size_t errlen)
{
	pid_t has = 0;
	struct stat st;

	/* a pidfd's ioctl says it is open: no fstat for the 10,000 of them */
	if (kind == RV_FD_PIDFD && fd >= 0)
		has = pidfd_pid(fd);
	if (!has && (fd < 0 || fstat(fd, &st) < 0))
		return refuse(err, errlen, -EBADF, "fd %d (%s): not open", fd,
			      what);
	if (kind == RV_FD_PIDFD ? !has : !is_kind(fd, &st, kind))
		return refuse(err, errlen, -EINVAL, "fd %d (%s): not %s", fd,
			      what, kind_name(kind));
	if (kind == RV_FD_PIDFD && has != pid)
		return refuse(err, errlen, -EINVAL, "fd %d (%s): refers to "
			      "pid %d, the state says %d", fd, what, (int)has,
			      (int)pid);
	return all_cloexec ? 0 : set_cloexec(fd, true);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* close_range(2) (5.9), or one close per descriptor up to the limit. */
static int close_between(unsigned int lo, unsigned int hi)
{
	struct rlimit rl;

	if (lo > hi)
		return 0;
	if (!syscall(SYS_close_range, lo, hi, 0))
		return 0;
	if (errno != ENOSYS)
		return -errno;
	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = 1 << 20;
	for (unsigned int fd = lo; fd <= hi && fd < rl.rlim_cur; fd++)
		close((int)fd);
	return 0;
}

int rv_fd_close_unlisted(const int *keep, size_t n, int from)
{
	int *sorted = malloc((n ? n : 1) * sizeof(*sorted));
	unsigned int next = (unsigned int)from;
	int ret = 0;

	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, keep, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_int);
	for (size_t i = 0; !ret && i < n; i++) {
		unsigned int fd = (unsigned int)sorted[i];

		if (sorted[i] < from || fd < next)
			continue;	/* below the range, or a duplicate */
		if (fd > next)
			ret = close_between(next, fd - 1);
		next = fd + 1;
	}
	if (!ret)
		ret = close_between(next, ~0U);
	free(sorted);
	return ret;
}
