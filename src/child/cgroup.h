/* SPDX-License-Identifier: MIT */
/*
 * cgroup v2 per service.  At load, rv_cgroup_host_probe() finds the
 * cgroup2 mount and ringvisor's own cgroup; rv_cgroup_create() makes one
 * directory per service that needs it and writes its limits.  The child
 * moves itself in (spawn.c: "0" > cgroup.procs through the directory fd);
 * kill_mode = cgroup stops through cgroup.kill.
 *
 * Layout (docs/isolation.md):
 *   - ringvisor alone in its cgroup (systemd Delegate=yes, a container's
 *     init): that cgroup is delegated to us, and every service gets
 *     <own>/<service>.service;
 *   - otherwise (a login session, the root cgroup): only services that
 *     need one get <own>/ringvisor.<pid>/<service>.service, so two
 *     supervisors in one cgroup never share a service cgroup.
 * A service needs a cgroup for kill_mode = cgroup, memory_max, pids_max,
 * cpu_max and cpu_weight; when it cannot have one (no cgroup2 mounted, a
 * controller missing, not writable) it fails to start with a message
 * naming what is missing, and `ringvisor check` warns.
 */
#ifndef RV_CGROUP_H
#define RV_CGROUP_H

#include <stdbool.h>
#include <stddef.h>

#include "config/spec.h"

enum {
	RV_CG_MEMORY = 1 << 0,
	RV_CG_PIDS = 1 << 1,
	RV_CG_CPU = 1 << 2,
};

struct rv_cgroup_host {
	char *mount;		/* cgroup2 mount point; NULL: none */
	char *own;		/* our cgroup directory (mount + path) */
	char *view;		/* our cgroup as /proc/self/cgroup names it
				 * ("" for the root) */
	char *group_dir;	/* own, or own/ringvisor.<pid> (lazily) */
	bool group_made;	/* we created group_dir: rmdir at the end */
	bool delegated;		/* alone in own: every service placed */
	char controllers[256];	/* own/cgroup.controllers */
	char why[192];		/* why there is no usable cgroup v2 */
	unsigned refs;		/* services holding it, +1 the builder */
};

struct rv_cgroup {
	struct rv_cgroup_host *host;	/* NULL: no cgroup */
	char *path;
	char *view;		/* path as /proc/PID/cgroup names it */
	int dirfd;		/* O_DIRECTORY: the child, cgroup.kill */
};

/* Controllers (RV_CG_*) the spec's keys need. */
unsigned rv_cgroup_controllers(const struct rv_service_spec *sp);
/* The spec cannot run without its own cgroup. */
bool rv_cgroup_required(const struct rv_service_spec *sp);

/*
 * Probes /proc/self/mountinfo and /proc/self/cgroup into a new host.
 * Never fails for lack of cgroups: (*out)->mount is NULL and ->why says
 * why.  -ENOMEM only.  The caller's reference is dropped with
 * rv_cgroup_host_put(); each service cgroup holds one more.
 */
int rv_cgroup_host_new(struct rv_cgroup_host **out);
void rv_cgroup_host_put(struct rv_cgroup_host *h);

/*
 * Can this host give sp what it asks for?  0, or -EOPNOTSUPP with why
 * naming the key and what is missing ("memory_max needs the cgroup v2
 * memory controller, which /sys/fs/cgroup does not offer ...").  Reads
 * only: for `ringvisor check`.
 */
int rv_cgroup_host_check(const struct rv_cgroup_host *h,
			 const struct rv_service_spec *sp, char *why,
			 size_t whylen);

/*
 * Creates name's cgroup under h when sp needs one or h is delegated, and
 * writes its limits.  cg->host stays NULL when the service simply gets
 * none.  On failure -errno with why filled; the caller treats that as a
 * failed start of a service that requires a cgroup (and as a warning
 * otherwise).  Takes a reference on h.
 */
int rv_cgroup_create(struct rv_cgroup_host *h, const char *name,
		     const struct rv_service_spec *sp, struct rv_cgroup *cg,
		     char *why, size_t whylen);
/*
 * Closes and removes the directory, drops the host reference.  With kill,
 * what is left in it is killed first (kill_mode = cgroup) and the removal
 * is retried for up to 200 ms; otherwise a cgroup that still has
 * processes stays.
 */
void rv_cgroup_destroy(struct rv_cgroup *cg, bool kill);

/* SIGKILL to every process of the cgroup via cgroup.kill (5.14+; else one
 * pass over cgroup.procs through pidfds, kill.c).  0 (also when it was
 * empty) or -errno.  No allocation. */
int rv_cgroup_kill(const struct rv_cgroup *cg);
/* Number of processes in the cgroup, or -errno. */
int rv_cgroup_count(const struct rv_cgroup *cg);

#endif
