/* SPDX-License-Identifier: MIT */
/*
 * rvb-cloop N PROG [ARG...]: the minimal C supervisor every ringvisor
 * number is compared with.  N copies of PROG, each started with
 * posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK) + exec), watched through
 * a pidfd in one epoll set; an exit is reaped with waitid(P_PIDFD) and the
 * copy restarted at once.  No throttle, no logging, no state files.
 * Copy i gets STAMP_ID=i.  SIGTERM or SIGINT: SIGTERM every copy, reap
 * them, exit 0.
 *
 * rvb-cloop --floor N PROG [ARG...]: the floor under any fork+exec
 * supervisor, for the failover scenario: blocked in waitid(P_ALL) (the
 * kernel reaps and wakes us, nothing else to look at), then vfork() +
 * execve() at once: no pidfd, no poll, no signal resets in the child, no
 * bookkeeping.  Not a usable supervisor (the child inherits our signal
 * mask and dispositions); what is left is kernel exit, one wake-up, clone
 * and exec.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define SIG_TAG UINT32_MAX

extern char **environ;

struct copy {
	pid_t pid;
	int pidfd;
	char **envp;
};

static struct copy *copies;
static char **cargv;
static int epfd;
static posix_spawnattr_t attr;

static char **env_with_id(long i)
{
	size_t n = 0;
	char **e;

	while (environ[n])
		n++;
	e = calloc(n + 2, sizeof(*e));
	if (!e || asprintf(&e[0], "STAMP_ID=%ld", i) < 0) {
		perror("rvb-cloop: out of memory");
		exit(111);
	}
	memcpy(e + 1, environ, n * sizeof(*e));
	return e;
}

static void spawn_copy(uint32_t i)
{
	struct copy *c = &copies[i];
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
	int err;

	while ((err = posix_spawn(&c->pid, cargv[0], NULL, &attr, cargv,
				  c->envp))) {
		fprintf(stderr, "rvb-cloop: posix_spawn: %s\n", strerror(err));
		usleep(10000);
	}
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pidfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, c->pidfd, &ev)) {
		perror("rvb-cloop: pidfd_open/epoll_ctl");
		exit(111);
	}
}

/*
 * Deregister before close: a child being spawned holds a copy of our fd
 * table until its exec has closed the (close-on-exec) pidfds, and while
 * any reference to the file lives, epoll keeps reporting it.
 */
static void reap_copy(uint32_t i)
{
	struct copy *c = &copies[i];
	siginfo_t si;

	while (waitid(P_PIDFD, (id_t)c->pidfd, &si, WEXITED) < 0 &&
	       errno == EINTR)
		;
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->pidfd, NULL);
	close(c->pidfd);
	c->pidfd = -1;
	c->pid = 0;
}

static volatile sig_atomic_t floor_stop;

static void floor_on_signal(int sig)
{
	(void)sig;
	floor_stop = 1;
}

static pid_t floor_spawn(long i)
{
	pid_t pid = vfork();

	if (pid == 0) {
		execve(cargv[0], cargv, copies[i].envp);
		_exit(127);
	}
	return pid;
}

static int floor_main(long n)
{
	struct sigaction sa = { .sa_handler = floor_on_signal };
	siginfo_t si;

	/* no SA_RESTART: waitid returns EINTR and we stop */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (long i = 0; i < n; i++)
		copies[i].pid = floor_spawn(i);
	while (!floor_stop) {
		if (waitid(P_ALL, 0, &si, WEXITED) < 0)
			continue;
		for (long i = 0; i < n; i++) {
			if (copies[i].pid != si.si_pid)
				continue;
			copies[i].pid = floor_stop ? 0 : floor_spawn(i);
			break;
		}
	}
	for (long i = 0; i < n; i++)
		if (copies[i].pid > 0)
			kill(copies[i].pid, SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	return 0;
}

int main(int argc, char **argv)
{
	struct epoll_event evs[64], sev = { .events = EPOLLIN,
					    .data.u32 = SIG_TAG };
	sigset_t mask, empty;
	long n;
	int sfd;

	bool floor = argc > 1 && !strcmp(argv[1], "--floor");

	if (floor) {
		argc--;
		argv++;
	}
	if (argc < 3 || (n = atol(argv[1])) < 1) {
		fprintf(stderr, "usage: rvb-cloop [--floor] N PROG [ARG...]\n");
		return 2;
	}
	cargv = argv + 2;
	copies = calloc((size_t)n, sizeof(*copies));
	if (!copies)
		return 111;
	for (long i = 0; i < n; i++)
		copies[i].envp = env_with_id(i);
	if (floor)
		return floor_main(n);

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	sigemptyset(&empty);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &empty);
	posix_spawnattr_setsigdefault(&attr, &mask);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || epfd < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &sev)) {
		perror("rvb-cloop: setup");
		return 111;
	}
	for (long i = 0; i < n; i++)
		spawn_copy((uint32_t)i);

	for (;;) {
		int k = epoll_wait(epfd, evs, 64, -1);

		if (k < 0 && errno != EINTR) {
			perror("rvb-cloop: epoll_wait");
			return 111;
		}
		for (int j = 0; j < k; j++) {
			uint32_t i = evs[j].data.u32;

			if (i != SIG_TAG) {
				reap_copy(i);
				spawn_copy(i);
				continue;
			}
			for (long m = 0; m < n; m++)
				if (copies[m].pid > 0)
					kill(copies[m].pid, SIGTERM);
			for (long m = 0; m < n; m++)
				if (copies[m].pid > 0)
					reap_copy((uint32_t)m);
			return 0;
		}
	}
}
