/* SPDX-License-Identifier: MIT */
/*
 * A service's isolation, resources and output, composed at load time from
 * its spec with the mechanisms of src/child/: identity (identity.c),
 * rlimits, nice, CPU affinity, oom_score_adjust, cgroup (cgroup.c),
 * environment (envfile.c) and the output streams (output.c).  The result is a struct rv_spawn_iso plus fd
 * redirections that spawn() hands to rv_spawn() without allocating.
 *
 * A problem found at load that only concerns one service (an unknown
 * user, an unreadable environment_file, a cgroup controller that is not
 * there) does not stop the supervisor: it is kept as the service's setup
 * failure, and every start of that service fails with it (logged as
 * spawn_failed with step= and detail=), through the normal restart and
 * backoff path.
 */
#ifndef RV_ISOLATION_H
#define RV_ISOLATION_H

#include <stdbool.h>
#include <stddef.h>

#include "child/spawn.h"

struct rv_loop;
struct rv_service;
struct rv_supervisor;
struct rv_specs;
struct rv_diag;
struct rv_iso;
struct rv_cgroup_host;
struct rv_cgroup;
struct rv_out_sink;

/* What one tree build shares between services (cgroup host, stdout). */
struct rv_iso_builder {
	struct rv_loop *loop;
	bool place_all;			/* delegated: place every service */
	struct rv_cgroup_host *cg;	/* probed on first use */
	bool cg_probed;
	struct rv_out_sink *std_sink[3];	/* [1], [2]: opened on first use */
	/* a hand-over's new image: the output streams are made without
	 * their pipes, the state's come instead (rv_iso_adopt_pipes(), then
	 * rv_iso_make_pipes() for the rest) */
	bool pipes_later;
};

void rv_iso_builder_init(struct rv_iso_builder *b, struct rv_loop *loop,
			 bool place_all);
/* Drops the builder's references (services keep theirs). */
void rv_iso_builder_fini(struct rv_iso_builder *b);

/*
 * Prepares s->iso (NULL when the service changes nothing) and, when the
 * environment is ours to build, s->env_own (complete, every string owned,
 * no base).  Call after s->name and s->instance are set.
 * Returns 0 or -ENOMEM; per-service problems become its setup failure.
 */
int rv_iso_prepare(struct rv_iso_builder *b, struct rv_service *s);
/* The instance's recent output (`logs`), or NULL when not kept. */
struct rv_logring;
const struct rv_logring *rv_iso_logring(const struct rv_service *s);
/* true: rv_iso_prepare() built s->env_own (build.c must not). */
bool rv_iso_built_env(const struct rv_service *s);

/*
 * Frees s->iso.  While the loop runs (a reload), its watches are removed;
 * once the loop is gone (s->sv->loop NULL), the loop is never called.
 */
void rv_iso_free(struct rv_service *s);
/*
 * Reload: ns (new tree) takes over old's running process, so it keeps
 * old's pipes and cgroup (old gets ns's fresh ones, freed with the old
 * tree).  Call before the child moves to ns.  Without a running process
 * nothing moves: ns keeps what was just resolved.
 */
void rv_iso_adopt(struct rv_service *ns, struct rv_service *old);

/* ---- spawn time: no allocation ---- */

/*
 * The load-time failure of s, if any: fills res (no child, err, step) and
 * returns -err; 0 when s may be spawned.
 */
int rv_iso_setup_failure(const struct rv_service *s,
			 struct rv_spawn_result *res);
/* A sentence for the log (detail=), or NULL. */
const char *rv_iso_failure_detail(const struct rv_service *s);
/* The plan's isolation part, or NULL. */
const struct rv_spawn_iso *rv_iso_plan(const struct rv_service *s);
/* Writes the stdout/stderr redirections into fds (room for 2); count. */
size_t rv_iso_fds(const struct rv_service *s, struct rv_spawn_fd *fds);

/* ---- while it runs ---- */

/* The service's main process was reaped (output: flush its last line;
 * kill_mode = cgroup: kill what is left of the cgroup unless exec). */
void rv_iso_exited(struct rv_service *s);
/* The service's cgroup (kill.c delivers to it), or NULL without one. */
const struct rv_cgroup *rv_iso_cgroup(const struct rv_service *s);
/* SIGUSR1: reopen every file: output.  Logs what it did. */
void rv_iso_reopen_outputs(struct rv_supervisor *sv);

/* The service's cgroup directory, or NULL. */
const char *rv_iso_cgroup_path(const struct rv_service *s);

/*
 * `ringvisor check`: host-dependent warnings (cgroup v2 or a controller
 * missing, unknown user or group, unreadable environment_file) for every
 * service, at its section's line.  Never an error: the config may be
 * meant for another machine.
 */
void rv_iso_check_specs(const struct rv_specs *specs, struct rv_diag *d);

/* ---- the hand-over to a new binary (tree/snapshot.c) ---- */

struct rv_snap_service;
struct rv_out_stream;
/* s's output pipes and log ring into o (out, err, logs).  0 or -ENOMEM. */
int rv_iso_take(const struct rv_service *s, struct rv_snap_service *o);
/* Whether o's output state fits s (the same streams and ring, sizes
 * within their buffers): 0, or -EINVAL with one line in err. */
int rv_iso_check(const struct rv_service *s, const struct rv_snap_service *o,
		 char *err, size_t errlen);
/* o's data into s (partial lines, exits in progress, a file sink's
 * bytes, the log ring's lines): no descriptor touched.  0 or -ENOMEM. */
int rv_iso_apply(struct rv_service *s, const struct rv_snap_service *o);
/* The crossed pipes replace the load's (the spawn plan follows), and
 * the streams go on. */
void rv_iso_adopt_pipes(struct rv_service *s, const struct rv_snap_service *o);
/* A pipe for each output stream that has none yet (pipes_later, and no
 * crossed pipe came): after the state is armed, before any spawn.  0 or
 * -ENOMEM; a pipe2 failure is the service's (its spawns fail with it). */
int rv_iso_make_pipes(struct rv_service *s);
/* Flush before take (rv_out_stream_flush()): the bytes s still holds. */
size_t rv_iso_flush(struct rv_service *s, int64_t deadline_ns);
/* A stream of sv writing to ringvisor's fd (1 or 2) through the shared
 * sink, or NULL when none does. */
struct rv_out_stream *rv_iso_std_stream(const struct rv_supervisor *sv,
					int fd);

#endif
