/* SPDX-License-Identifier: MIT */
/*
 * Signal delivery to a service's processes, per kill_mode, each process
 * once.  Knows processes, groups and cgroups, not services: the caller
 * describes the target (tree/service.c fills it from its service).
 *
 * Why pidfds: a pid read from cgroup.procs may belong to another process
 * by the time kill(pid) runs (it exited, was reaped, the number came
 * round again: pid_max is 32768 on many systems).  A pidfd names one
 * process for good; opened for a listed pid and then found in the cgroup,
 * it is that member, and pidfd_send_signal() can reach no one else.
 *
 * No allocation: pids are read through a stack buffer, so this may run
 * from any callback (the stop path, a forced shutdown).
 */
#ifndef RV_CHILD_KILL_H
#define RV_CHILD_KILL_H

#include <sys/types.h>

#include "config/spec.h"

struct rv_kill_target {
	pid_t pid;		/* the main process: leads its own group */
	int pidfd;		/* its pidfd; the caller has not reaped it */
	int cgroup_fd;		/* the service's cgroup directory, or -1 */
	const char *cgroup;	/* that cgroup as /proc/PID/cgroup names it
				 * ("/ringvisor.812/web.service"); with
				 * cgroup_fd */
	enum rv_kill_mode mode;
};

/*
 * Sends sig to what t->mode designates, once to each process:
 *   RV_KILL_PROCESS  the main process, through its pidfd;
 *   RV_KILL_GROUP    its process group, kill(-pid) (the group id is the
 *                    main process's pid, reserved while it is unreaped);
 *                    and the main process through its pidfd if it left
 *                    the group (setpgid, setsid);
 *   RV_KILL_CGROUP   every process of the cgroup, wherever its group:
 *                    SIGKILL through cgroup.kill (the kernel's, atomic
 *                    against fork), any other signal (or SIGKILL before
 *                    Linux 5.14) to each pid of cgroup.procs through a
 *                    pidfd, skipping a pid that vanished or no longer
 *                    names a member; then the main process through its
 *                    pidfd if it was not among them.  Without a cgroup
 *                    (cgroup_fd < 0): as RV_KILL_GROUP.
 * t->pid <= 0 (cgroup only, e.g. after the main process was reaped) is
 * allowed with RV_KILL_CGROUP.  Returns 0 when at least one process was
 * signalled, -ESRCH when none was there, else -errno of the first
 * failure (-EPERM: a process we may not signal).
 */
int rv_kill(const struct rv_kill_target *t, int sig);

#endif
