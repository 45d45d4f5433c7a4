/* SPDX-License-Identifier: MIT */
#include "child/kill.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Pids remembered during one pass over cgroup.procs.  The kernel may list
 * a process twice (it moved out and back while the file was read); it is
 * signalled once.  A pass over more processes than half the slots stops
 * remembering, and only then could a duplicate slip through.
 */
#define SEEN_SLOTS 1024

struct seen {
	pid_t pid[SEEN_SLOTS];
	unsigned int n;
};

/* How a delivery went, summed over a pass. */
struct tally {
	int sent;
	int err;	/* the first failure other than "gone" */
};

static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

static void count(struct tally *t, int ret)
{
	if (ret == 0)
		t->sent++;
	else if (ret != -ESRCH && !t->err)
		t->err = ret;
}

static int tally_result(const struct tally *t)
{
	if (t->sent)
		return 0;
	return t->err ? t->err : -ESRCH;
}

/* 0, -ESRCH (the process is gone) or -errno. */
static int to_pidfd(int pidfd, int sig)
{
	if (pidfd < 0)
		return -ESRCH;
	return sys_pidfd_send_signal(pidfd, sig) < 0 ? -errno : 0;
}

/* True if pid was met before in this pass; else remembers it. */
static bool seen_before(struct seen *s, pid_t pid)
{
	uint32_t i = ((uint32_t)pid * 2654435761u) & (SEEN_SLOTS - 1);

	for (unsigned int k = 0; k < SEEN_SLOTS; k++) {
		if (s->pid[i] == pid)
			return true;
		if (!s->pid[i]) {
			if (s->n < SEEN_SLOTS / 2) {
				s->pid[i] = pid;
				s->n++;
			}
			return false;
		}
		i = (i + 1) & (SEEN_SLOTS - 1);
	}
	return false;
}

/*
 * Whether pid's cgroup v2 (the "0::" line of /proc/PID/cgroup, the last
 * one on a hybrid system) is cgroup: 1 yes, 0 no, -errno when it cannot
 * be told (the process is gone, /proc is not mounted, no cgroup given).
 */
static int member_of(pid_t pid, const char *cgroup)
{
	char path[32], buf[8192];
	size_t len;
	ssize_t n;
	int fd;

	if (!cgroup)
		return -EINVAL;
	len = strlen(cgroup);
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do {
		n = read(fd, buf, sizeof(buf) - 1);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	for (char *line = buf; *line;) {
		char *nl = strchr(line, '\n');
		size_t l = nl ? (size_t)(nl - line) : strlen(line);

		if (l >= 3 && !memcmp(line, "0::", 3))
			return l - 3 == len && !memcmp(line + 3, cgroup, len);
		if (!nl)
			break;
		line = nl + 1;
	}
	/* a file longer than buf may have its v2 line cut off */
	return n == (ssize_t)sizeof(buf) - 1 ? -E2BIG : 0;
}

/*
 * One pid read from cgroup.procs: a pidfd names the process; if that
 * process is no member (the pid was recycled since the read), it is left
 * alone.  When membership cannot be told, the pidfd is still the process
 * the pid named a moment ago, which the signal then reaches.
 */
static int to_listed_pid(const struct rv_kill_target *t, pid_t pid, int sig)
{
	int pidfd = sys_pidfd_open(pid), ret;

	if (pidfd < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	ret = member_of(pid, t->cgroup);
	ret = ret == 0 ? -ESRCH : to_pidfd(pidfd, sig);
	close(pidfd);
	return ret;
}

/* Parses one line of cgroup.procs; 0 for anything that is not a pid. */
static pid_t parse_pid(const char *s)
{
	long v = 0;

	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > 4194304)
			return 0;
		v = v * 10 + (*s - '0');
	}
	return (pid_t)v;
}

/* Each process of cgroup.procs once; *main_seen when t->pid was one. */
static int walk_cgroup(const struct rv_kill_target *t, int sig,
		       struct tally *tl, bool *main_seen)
{
	struct seen seen;
	char buf[4096];
	size_t have = 0;
	int fd;

	fd = openat(t->cgroup_fd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&seen, 0, sizeof(seen));
	for (;;) {
		ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
		char *p, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		buf[have] = '\0';
		p = buf;
		while ((nl = strchr(p, '\n'))) {
			pid_t pid;

			*nl = '\0';
			pid = parse_pid(p);
			p = nl + 1;
			if (pid <= 0 || seen_before(&seen, pid))
				continue;
			if (pid == t->pid) {
				/* ours already: no lookup, no doubt */
				*main_seen = true;
				count(tl, to_pidfd(t->pidfd, sig));
			} else {
				count(tl, to_listed_pid(t, pid, sig));
			}
		}
		have = (size_t)(buf + have - p);
		memmove(buf, p, have);
	}
	close(fd);
	return 0;
}

/* cgroup.kill: 0, or -errno (-ENOENT before Linux 5.14). */
static int write_cgroup_kill(int dirfd)
{
	int fd = openat(dirfd, "cgroup.kill", O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, "1", 1);
	n = n < 0 ? -errno : 0;
	close(fd);
	return (int)n;
}

static int to_cgroup(const struct rv_kill_target *t, int sig)
{
	struct tally tl = { 0 };
	bool main_seen = false;
	int ret;

	if (sig == SIGKILL && write_cgroup_kill(t->cgroup_fd) == 0) {
		tl.sent++;
		/* a main process that left the cgroup is still ours */
		main_seen = t->pid <= 0 || member_of(t->pid, t->cgroup) != 0;
	} else {
		ret = walk_cgroup(t, sig, &tl, &main_seen);
		if (ret)
			count(&tl, ret);
	}
	if (!main_seen && t->pid > 0)
		count(&tl, to_pidfd(t->pidfd, sig));
	return tally_result(&tl);
}

static int to_group(const struct rv_kill_target *t, int sig)
{
	int ret;

	if (t->pid <= 0)
		return -ESRCH;
	ret = kill(-t->pid, sig) < 0 ? -errno : 0;
	/* the main process reached through its group, or else directly */
	if (ret == 0 && getpgid(t->pid) == t->pid)
		return 0;
	if (to_pidfd(t->pidfd, sig) == 0)
		return 0;
	return ret;
}

int rv_kill(const struct rv_kill_target *t, int sig)
{
	switch (t->mode) {
	case RV_KILL_CGROUP:
		if (t->cgroup_fd >= 0)
			return to_cgroup(t, sig);
		return to_group(t, sig);
	case RV_KILL_GROUP:
		return to_group(t, sig);
	case RV_KILL_PROCESS:
	default:
		if (t->pid <= 0)
			return -ESRCH;
		return to_pidfd(t->pidfd, sig);
	}
}
