/* SPDX-License-Identifier: MIT */
/*
 * Composition of a service's isolation at load (see isolation.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>
#include <unistd.h>

#include "child/cgroup.h"
#include "child/envfile.h"
#include "child/identity.h"
#include "child/logring.h"
#include "child/output.h"
#include "config/config.h"
#include "config/parse.h"
#include "tree/isolation.h"
#include "tree/snapshot.h"
#include "tree/supervisor.h"
#include "tree/tree.h"
#include "util/journal.h"
#include "util/log.h"

extern char **environ;

struct rv_iso {
	struct rv_spawn_iso plan;	/* points into this struct */
	struct rv_identity id;
	struct rv_spawn_rlimit *rlimits;
	cpu_set_t cpus;
	char oom[16];
	struct rv_cgroup cg;
	struct rv_out_stream *out, *err;	/* err may be out (2>&1) */
	struct rv_logring *ring;	/* log_buffer: for `logs`, or NULL */
	int journal_fd[3];		/* [1], [2]: stdout/stderr = journal */
	int null_fd;
	struct rv_spawn_fd fds[2];
	size_t n_fds;
	bool built_env;
	/* the setup failure: every start fails with it */
	int fail_err;
	const char *fail_step;
	char *fail_detail;
};

/* "setrlimit(nofile)": static strings, for the child's failure report */
static const char *rlimit_step(int resource)
{
	static const struct {
		int resource;
		const char *step;
	} steps[] = {
		{ RLIMIT_AS, "setrlimit(as)" },
		{ RLIMIT_CORE, "setrlimit(core)" },
		{ RLIMIT_CPU, "setrlimit(cpu)" },
		{ RLIMIT_DATA, "setrlimit(data)" },
		{ RLIMIT_FSIZE, "setrlimit(fsize)" },
		{ RLIMIT_LOCKS, "setrlimit(locks)" },
		{ RLIMIT_MEMLOCK, "setrlimit(memlock)" },
		{ RLIMIT_MSGQUEUE, "setrlimit(msgqueue)" },
		{ RLIMIT_NICE, "setrlimit(nice)" },
		{ RLIMIT_NOFILE, "setrlimit(nofile)" },
		{ RLIMIT_NPROC, "setrlimit(nproc)" },
		{ RLIMIT_RSS, "setrlimit(rss)" },
		{ RLIMIT_RTPRIO, "setrlimit(rtprio)" },
		{ RLIMIT_RTTIME, "setrlimit(rttime)" },
		{ RLIMIT_SIGPENDING, "setrlimit(sigpending)" },
		{ RLIMIT_STACK, "setrlimit(stack)" },
	};

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (steps[i].resource == resource)
			return steps[i].step;
	return "setrlimit";
}

void rv_iso_builder_init(struct rv_iso_builder *b, struct rv_loop *loop,
			 bool place_all)
{
	memset(b, 0, sizeof(*b));
	b->loop = loop;
	b->place_all = place_all;
}

void rv_iso_builder_fini(struct rv_iso_builder *b)
{
	rv_cgroup_host_put(b->cg);
	rv_out_sink_put(b->std_sink[1]);
	rv_out_sink_put(b->std_sink[2]);
	b->cg = NULL;
	b->std_sink[1] = b->std_sink[2] = NULL;
}

static int builder_cgroup(struct rv_iso_builder *b)
{
	if (b->cg_probed)
		return 0;
	b->cg_probed = true;
	return rv_cgroup_host_new(&b->cg);
}

static bool wants_output(enum rv_output k)
{
	return k != RV_OUTPUT_INHERIT && k != RV_OUTPUT_STDOUT;
}

/* Does the service change anything the child must apply? */
static bool needs_iso(const struct rv_iso_builder *b,
		      const struct rv_service_spec *sp)
{
	const struct rv_iso_spec *keys = sp->iso;

	return keys->user || keys->group || keys->capabilities ||
	       keys->no_new_privileges || keys->working_directory ||
	       keys->environment_file || keys->clear_environment ||
	       keys->umask >= 0 || keys->n_limits || keys->cpu_affinity ||
	       keys->nice_set || keys->oom_score_adjust_set ||
	       rv_cgroup_required(sp) ||
	       (b->place_all && b->cg && b->cg->mount && b->cg->delegated) ||
	       wants_output(keys->stdout_kind) ||
	       keys->stderr_kind != RV_OUTPUT_INHERIT ||
	       sp->log_buffer > 0;
}

/* `logs` keeps what the service writes: its inherited streams go through
 * a pipe of ours too (output.h) */
static bool captured(const struct rv_service_spec *sp, enum rv_output k)
{
	return sp->log_buffer > 0 && k != RV_OUTPUT_NULL &&
	       k != RV_OUTPUT_STDOUT && k != RV_OUTPUT_JOURNAL;
}

__attribute__((format(printf, 4, 5)))
static int set_failure(struct rv_iso *iso, int err, const char *step,
		       const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	if (iso->fail_err)
		return 0;	/* the first problem is the one to fix */
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	iso->fail_err = err;
	iso->fail_step = step;
	iso->fail_detail = msg;
	return msg ? 0 : -ENOMEM;
}

static int prepare_limits(struct rv_iso *iso, const struct rv_service_spec *sp)
{
	const struct rv_iso_spec *keys = sp->iso;

	if (!keys->n_limits)
		return 0;
	iso->rlimits = calloc(keys->n_limits, sizeof(*iso->rlimits));
	if (!iso->rlimits)
		return -ENOMEM;
	for (size_t i = 0; i < keys->n_limits; i++) {
		const char *eq = strchr(keys->limits[i], '=');
		char name[32];
		struct rv_spawn_rlimit *r = &iso->rlimits[iso->plan.n_rlimits];
		int res;

		if (!eq || (size_t)(eq - keys->limits[i]) >= sizeof(name))
			continue;	/* validated: cannot happen */
		memcpy(name, keys->limits[i], (size_t)(eq - keys->limits[i]));
		name[eq - keys->limits[i]] = '\0';
		res = rv_rlimit_from_name(name);
		if (res < 0 || rv_parse_rlimit(eq + 1, &r->limit))
			continue;
		r->resource = res;
		r->step = rlimit_step(res);
		iso->plan.n_rlimits++;
	}
	iso->plan.rlimits = iso->rlimits;
	return 0;
}

static int prepare_cpus(struct rv_iso *iso, const struct rv_service *s)
{
	const char *list = s->spec->iso->cpu_affinity;
	char *x = NULL;
	int ret;

	if (!list)
		return 0;
	if (s->instance >= 0 && strchr(list, '%') &&
	    rv_expand_instance(list, (unsigned int)s->instance, &x))
		return -ENOMEM;
	ret = rv_parse_cpu_list(x ? x : list, &iso->cpus);
	if (ret)
		ret = set_failure(iso, EINVAL, "cpu_affinity",
				  "cpu_affinity \"%s\" is not a CPU list",
				  x ? x : list);
	else {
		iso->plan.cpus = &iso->cpus;
		iso->plan.cpus_size = sizeof(iso->cpus);
	}
	free(x);
	return ret;
}

static int prepare_identity(struct rv_iso *iso,
			    const struct rv_service_spec *sp)
{
	const struct rv_iso_spec *keys = sp->iso;
	char why[256];
	int ret;

	if (keys->user || keys->group) {
		ret = rv_identity_resolve(&iso->id, keys->user, keys->group,
					  why, sizeof(why));
		if (ret == -ENOMEM)
			return ret;
		if (ret)
			return set_failure(iso, -ret,
					   keys->user ? "user" : "group", "%s",
					   why);
	}
	if (keys->capabilities) {
		ret = rv_identity_caps(&iso->id, keys->capabilities, why,
				       sizeof(why));
		if (ret)
			return set_failure(iso, -ret, "capabilities", "%s",
					   why);
	}
	iso->plan.set_uid = iso->id.set_uid;
	iso->plan.uid = iso->id.uid;
	iso->plan.set_gid = iso->id.set_gid;
	iso->plan.gid = iso->id.gid;
	iso->plan.set_groups = iso->id.set_groups;
	iso->plan.groups = iso->id.groups;
	iso->plan.n_groups = iso->id.n_groups;
	iso->plan.set_caps = iso->id.set_caps;
	iso->plan.caps = iso->id.caps;
	iso->plan.last_cap = iso->id.last_cap;
	return 0;
}

/*
 * The environment, when it is not simply environ (+ `environment`, which
 * build.c does): the layers, later ones winning, are environ (unless
 * clear_environment), USER/LOGNAME/HOME/SHELL of `user`, the
 * environment_file, then `environment` with %i expanded.
 */
static int prepare_env(struct rv_iso *iso, struct rv_service *s)
{
	const struct rv_service_spec *sp = s->spec;
	const struct rv_iso_spec *keys = sp->iso;
	char **user = NULL, **file = NULL, **own = NULL;
	char *const *layers[4];
	char why[320];
	size_t n = 0;
	int ret = 0;

	if (!keys->clear_environment && !keys->environment_file &&
	    !iso->id.name)
		return 0;
	if (iso->id.name) {
		user = calloc(5, sizeof(*user));
		if (!user ||
		    asprintf(&user[0], "USER=%s", iso->id.name) < 0 ||
		    asprintf(&user[1], "LOGNAME=%s", iso->id.name) < 0 ||
		    asprintf(&user[2], "HOME=%s", iso->id.home) < 0 ||
		    asprintf(&user[3], "SHELL=%s", iso->id.shell) < 0) {
			ret = -ENOMEM;
			goto out;
		}
	}
	if (keys->environment_file) {
		ret = rv_envfile_read(keys->environment_file, &file, &n, why,
				      sizeof(why));
		if (ret == -ENOMEM)
			goto out;
		if (ret)
			ret = set_failure(iso, -ret, "environment_file", "%s",
					  why);
		if (ret)
			goto out;
	}
	if (sp->n_environment) {
		own = calloc(sp->n_environment + 1, sizeof(*own));
		if (!own) {
			ret = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < sp->n_environment; i++) {
			unsigned int in = (unsigned int)s->instance;

			if (s->instance >= 0)
				ret = rv_expand_instance(sp->environment[i],
							 in, &own[i]);
			else if (!(own[i] = strdup(sp->environment[i])))
				ret = -ENOMEM;
			if (ret)
				goto out;
		}
	}
	layers[0] = keys->clear_environment ? NULL : environ;
	layers[1] = user;
	layers[2] = file;
	layers[3] = own;
	ret = rv_env_compose(layers, 4, &s->env_own);
	if (!ret) {
		s->env_own_alloc = true;	/* complete: no base */
		iso->built_env = true;
	}
out:
	rv_argv_free(user);
	rv_argv_free(file);
	rv_argv_free(own);
	return ret;
}

/*
 * Does a descriptor as high as fd leave room under RLIMIT_NOFILE for what
 * the supervisor needs besides: a pidfd per instance (n), and 128 for
 * notify and control sockets, client connections and probes?
 */
static bool fds_to_spare(int fd, size_t n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return true;
	return (rlim_t)fd + n + 128 < rl.rlim_cur;
}

/*
 * The pipe of one stream: to a file, prefixed to ringvisor's stdout, or
 * (inherit, captured for `logs`) passed on to ringvisor's own fd std_fd.
 */
static int prepare_stream(struct rv_iso_builder *b, struct rv_iso *iso,
			  const struct rv_service *s, enum rv_output kind,
			  const char *path, int std_fd,
			  struct rv_out_stream **out)
{
	const char *step = std_fd == STDOUT_FILENO ? "stdout" : "stderr";
	int sink_fd = kind == RV_OUTPUT_PREFIX ? STDOUT_FILENO : std_fd;
	char why[256] = "";
	int ret;

	if (kind != RV_OUTPUT_FILE && !b->std_sink[sink_fd]) {
		ret = rv_out_sink_std(b->loop, sink_fd, &b->std_sink[sink_fd]);
		if (ret == -ENOMEM)
			return ret;
		if (ret)
			return set_failure(iso, -ret, step,
					   "ringvisor's %s cannot carry the output: %s",
					   sink_fd == STDOUT_FILENO ? "stdout" : "stderr",
					   strerror(-ret));
		/* POLLOUT on it */
		ret = rv_loop_fd_reserve(b->loop, 1);
		if (ret)
			return ret;
	}
	ret = rv_out_stream_new(b->loop, kind == RV_OUTPUT_FILE ? NULL :
				b->std_sink[sink_fd],
				kind == RV_OUTPUT_PREFIX ? s->name : NULL,
				path, b->pipes_later, out, why, sizeof(why));
	if (ret == -ENOMEM)
		return ret;
	if (!ret && kind == RV_OUTPUT_INHERIT && !b->pipes_later &&
	    !fds_to_spare(rv_out_stream_child_fd(*out),
			  s->sv ? s->sv->n_svcs : 0)) {
		rv_out_stream_free(*out, true);
		*out = NULL;
		ret = -EMFILE;
		snprintf(why, sizeof(why), "descriptors kept free under "
			 "RLIMIT_NOFILE for the supervisor's own use");
	}
	if (ret && kind == RV_OUTPUT_INHERIT) {
		/* kept only for `logs`: without a pipe (4 descriptors per
		 * kept instance) the service still gets its output */
		char q[300];

		rv_log_svc(RV_LOG_WARN, s->name, "output_not_kept",
			   " stream=%s error=%s", step,
			   rv_log_quote(why, q, sizeof(q)));
		return 0;
	}
	if (ret)
		return set_failure(iso, -ret, step, "%s", why);
	if (iso->ring)
		rv_out_stream_capture(*out, iso->ring, std_fd == STDOUT_FILENO ?
				      RV_LOG_STDOUT : RV_LOG_STDERR);
	/* its pipe, and POLLOUT of a file sink */
	return rv_loop_fd_reserve(b->loop, kind == RV_OUTPUT_FILE ? 2 : 1);
}

/*
 * stdout/stderr = journal: a stream socket to journald for the child's
 * std_fd, as systemd gives its services (identifier: the instance's name;
 * priority info, or a "<N>" at a line's start, sd-daemon(3) style).
 * Kept for the service's life like a pipe; its output is not in `logs`.
 */
static int prepare_journal(struct rv_iso *iso, const struct rv_service *s,
			   int std_fd)
{
	const char *key = std_fd == 1 ? "stdout" : "stderr";
	char why[300];
	int fd;

	if (rv_journal_load(why, sizeof(why)))
		return set_failure(iso, ENOENT, key, "%s = journal: %s", key,
				   why);
	fd = rv_journal_stream_fd(s->name, LOG_INFO, 1);
	if (fd < 0)
		return set_failure(iso, -fd, key,
				   "%s = journal: cannot connect to journald: %s",
				   key, strerror(-fd));
	/* sd_journal_stream_fd() leaves it inheritable: ours until given */
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		int err = errno;

		close(fd);
		return set_failure(iso, err, "journal", "fcntl: %s",
				   strerror(err));
	}
	iso->journal_fd[std_fd] = fd;
	return 0;
}

/*
 * One /dev/null for every service whose stdout or stderr is null, held
 * while one of them is loaded: one per service would take 10,000 of the
 * descriptors 10,000 services need for their pidfds.  A child gets its
 * own copy through dup2 at spawn, so sharing it shares nothing else.
 */
static int null_fd = -1;
static unsigned int null_users;

static int null_get(void)
{
	if (null_fd < 0)
		null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd >= 0)
		null_users++;
	return null_fd;
}

static void null_put(void)
{
	if (null_users && !--null_users) {
		close(null_fd);
		null_fd = -1;
	}
}

static int prepare_output(struct rv_iso_builder *b, struct rv_iso *iso,
			  const struct rv_service *s)
{
	const struct rv_service_spec *sp = s->spec;
	const struct rv_iso_spec *keys = sp->iso;
	int ret = 0, out_fd = STDOUT_FILENO;

	if (keys->stdout_kind == RV_OUTPUT_NULL ||
	    keys->stderr_kind == RV_OUTPUT_NULL) {
		iso->null_fd = null_get();
		if (iso->null_fd < 0)
			return set_failure(iso, errno, "stdout",
					   "opening /dev/null: %s",
					   strerror(errno));
	}
	if (captured(sp, keys->stdout_kind) ||
	    captured(sp, keys->stderr_kind)) {
		iso->ring = rv_logring_new(s->name, (size_t)sp->log_buffer);
		if (!iso->ring)
			return -ENOMEM;
	}
	if (keys->stdout_kind == RV_OUTPUT_NULL) {
		out_fd = iso->null_fd;
	} else if (keys->stdout_kind == RV_OUTPUT_JOURNAL) {
		ret = prepare_journal(iso, s, STDOUT_FILENO);
		if (ret || iso->journal_fd[1] < 0)
			return ret;
		out_fd = iso->journal_fd[1];
	} else if (wants_output(keys->stdout_kind) ||
		   captured(sp, keys->stdout_kind)) {
		ret = prepare_stream(b, iso, s, keys->stdout_kind,
				     keys->stdout_path, STDOUT_FILENO,
				     &iso->out);
		if (ret || iso->fail_err)
			return ret;
		if (iso->out)
			out_fd = rv_out_stream_child_fd(iso->out);
	}
	if (out_fd != STDOUT_FILENO)
		iso->fds[iso->n_fds++] = (struct rv_spawn_fd){ out_fd, 1 };
	if (keys->stderr_kind == RV_OUTPUT_NULL) {
		iso->fds[iso->n_fds++] =
			(struct rv_spawn_fd){ iso->null_fd, 2 };
	} else if (keys->stderr_kind == RV_OUTPUT_JOURNAL) {
		ret = prepare_journal(iso, s, STDERR_FILENO);
		if (ret || iso->journal_fd[2] < 0)
			return ret;
		iso->fds[iso->n_fds++] =
			(struct rv_spawn_fd){ iso->journal_fd[2], 2 };
	} else if (keys->stderr_kind == RV_OUTPUT_STDOUT) {
		/* one pipe: `logs` shows both as stdout */
		iso->fds[iso->n_fds++] = (struct rv_spawn_fd){ out_fd, 2 };
	} else if (wants_output(keys->stderr_kind) ||
		   captured(sp, keys->stderr_kind)) {
		ret = prepare_stream(b, iso, s, keys->stderr_kind,
				     keys->stderr_path, STDERR_FILENO,
				     &iso->err);
		if (ret || iso->fail_err)
			return ret;
		if (iso->err)	/* else inherited as is (output_not_kept) */
			iso->fds[iso->n_fds++] = (struct rv_spawn_fd){
				rv_out_stream_child_fd(iso->err), 2 };
	}
	if (!iso->out && !iso->err) {
		/* nothing kept after all (output_not_kept): `logs` says so */
		rv_logring_free(iso->ring);
		iso->ring = NULL;
	}
	return 0;
}

static int prepare_cgroup(struct rv_iso_builder *b, struct rv_iso *iso,
			  const struct rv_service *s)
{
	const struct rv_service_spec *sp = s->spec;
	bool required = rv_cgroup_required(sp);
	char why[384];
	int ret;

	if (!b->cg || (!required && !b->place_all))
		return 0;
	ret = rv_cgroup_create(b->cg, s->name, sp, &iso->cg, why, sizeof(why));
	if (ret == -ENOMEM)
		return ret;
	if (ret && required)
		return set_failure(iso, -ret, "cgroup", "%s", why);
	if (ret) {
		/* placement is a convenience here; say so and go on */
		char q[400];

		rv_log_svc(RV_LOG_WARN, s->name, "cgroup_unavailable",
			   " error=%s", rv_log_quote(why, q, sizeof(q)));
		return 0;
	}
	if (iso->cg.dirfd >= 0)
		iso->plan.cgroup_fd = iso->cg.dirfd;
	return 0;
}

int rv_iso_prepare(struct rv_iso_builder *b, struct rv_service *s)
{
	const struct rv_service_spec *sp = s->spec;
	const struct rv_iso_spec *keys = sp->iso;
	struct rv_iso *iso;
	int ret;

	ret = builder_cgroup(b);
	if (ret)
		return ret;
	if (!needs_iso(b, sp))
		return 0;
	iso = calloc(1, sizeof(*iso));
	if (!iso)
		return -ENOMEM;
	s->iso = iso;
	iso->plan = (struct rv_spawn_iso)RV_SPAWN_ISO_INIT;
	iso->null_fd = -1;
	iso->journal_fd[1] = iso->journal_fd[2] = -1;
	iso->cg.dirfd = -1;
	iso->plan.umask = keys->umask;
	iso->plan.cwd = keys->working_directory;
	iso->plan.no_new_privs = keys->no_new_privileges;
	iso->plan.set_nice = keys->nice_set;
	iso->plan.nice = keys->nice;
	if (keys->oom_score_adjust_set) {
		snprintf(iso->oom, sizeof(iso->oom), "%d",
			 keys->oom_score_adjust);
		iso->plan.oom_score_adj = iso->oom;
	}
	ret = prepare_limits(iso, sp);
	if (!ret)
		ret = prepare_cpus(iso, s);
	if (!ret)
		ret = prepare_identity(iso, sp);
	if (!ret)
		ret = prepare_env(iso, s);
	if (!ret)
		ret = prepare_cgroup(b, iso, s);
	if (!ret)
		ret = prepare_output(b, iso, s);
	return ret;
}

void rv_iso_adopt(struct rv_service *ns, struct rv_service *old)
{
	struct rv_iso *fresh = ns->iso;

	if (old->child.pid <= 0)
		return;	/* nothing runs: the fresh one (users, files re-read) */
	/*
	 * The running process writes into old's pipes and lives in old's
	 * cgroup: the service keeps those.  The fresh iso (same spec) goes
	 * with the old tree; its cgroup directory is the same one, held twice
	 * (cgroup.c), so freeing it removes nothing.
	 */
	ns->iso = old->iso;
	old->iso = fresh;
	if (ns->iso)	/* the only pointer into the (old) spec */
		ns->iso->plan.cwd = ns->spec->iso->working_directory;
}

const struct rv_logring *rv_iso_logring(const struct rv_service *s)
{
	return s->iso ? s->iso->ring : NULL;
}

bool rv_iso_built_env(const struct rv_service *s)
{
	return s->iso && s->iso->built_env;
}

void rv_iso_free(struct rv_service *s)
{
	struct rv_iso *iso = s->iso;
	/* a reload frees trees while the loop runs; exit, after it is gone */
	bool live = s->sv && s->sv->loop;

	if (!iso)
		return;
	if (iso->err && iso->err != iso->out)
		rv_out_stream_free(iso->err, live);
	rv_out_stream_free(iso->out, live);
	rv_logring_free(iso->ring);
	for (int fd = 1; fd <= 2; fd++)
		if (iso->journal_fd[fd] >= 0)
			close(iso->journal_fd[fd]);
	if (iso->null_fd >= 0)
		null_put();
	rv_cgroup_destroy(&iso->cg, s->spec->kill_mode == RV_KILL_CGROUP);
	rv_identity_free(&iso->id);
	free(iso->rlimits);
	free(iso->fail_detail);
	free(iso);
	s->iso = NULL;
}

int rv_iso_setup_failure(const struct rv_service *s,
			 struct rv_spawn_result *res)
{
	const struct rv_iso *iso = s->iso;

	if (!iso || !iso->fail_err)
		return 0;
	res->pid = 0;
	res->pidfd = -1;
	res->err = iso->fail_err;
	res->step = iso->fail_step;
	return -iso->fail_err;
}

const char *rv_iso_failure_detail(const struct rv_service *s)
{
	return s->iso && s->iso->fail_err ? s->iso->fail_detail : NULL;
}

const struct rv_spawn_iso *rv_iso_plan(const struct rv_service *s)
{
	return s->iso ? &s->iso->plan : NULL;
}

size_t rv_iso_fds(const struct rv_service *s, struct rv_spawn_fd *fds)
{
	if (!s->iso)
		return 0;
	memcpy(fds, s->iso->fds, s->iso->n_fds * sizeof(*fds));
	return s->iso->n_fds;
}

void rv_iso_exited(struct rv_service *s)
{
	struct rv_iso *iso = s->iso;

	if (!iso)
		return;
	if (iso->out)
		rv_out_stream_exited(iso->out);
	if (iso->err)
		rv_out_stream_exited(iso->err);
	if (s->spec->kill_mode == RV_KILL_CGROUP && !s->sv->exec_mode &&
	    iso->cg.host)
		rv_cgroup_kill(&iso->cg);
}

const struct rv_cgroup *rv_iso_cgroup(const struct rv_service *s)
{
	return s->iso && s->iso->cg.host ? &s->iso->cg : NULL;
}

const char *rv_iso_cgroup_path(const struct rv_service *s)
{
	return s->iso ? s->iso->cg.path : NULL;
}

static void reopen_one(struct rv_service *s, struct rv_out_stream *st,
		       const char *which)
{
	const char *path = st ? rv_out_stream_path(st) : NULL;
	char q[300];
	int ret;

	if (!path)
		return;
	ret = rv_out_stream_reopen(st);
	if (ret)
		rv_log_svc(RV_LOG_ERROR, s->name, "output_reopen_failed",
			   " stream=%s path=%s errno=%d error=%s", which, path,
			   -ret, rv_log_quote(strerror(-ret), q, sizeof(q)));
	else
		rv_log_svc(RV_LOG_INFO, s->name, "output_reopened",
			   " stream=%s path=%s", which, path);
}

void rv_iso_reopen_outputs(struct rv_supervisor *sv)
{
	for (size_t i = 0; i < sv->n_svcs; i++) {
		struct rv_service *s = sv->svcs[i];

		if (!s->spec || !s->iso)
			continue;
		reopen_one(s, s->iso->out, "stdout");
		if (s->iso->err != s->iso->out)
			reopen_one(s, s->iso->err, "stderr");
	}
}

void rv_iso_check_specs(const struct rv_specs *specs, struct rv_diag *d)
{
	struct rv_cgroup_host *h = NULL;
	char why[384];

	if (rv_cgroup_host_new(&h))
		return;
	for (size_t i = 0; i < specs->n_services; i++) {
		const struct rv_service_spec *sp = &specs->services[i];
		const struct rv_iso_spec *keys = sp->iso;
		struct rv_identity id = { 0 };

		if (rv_cgroup_host_check(h, sp, why, sizeof(why)))
			rv_diag_warning(d, sp->file, sp->line,
					"[service:%s] %s; it will fail to start here",
					sp->name, why);
		if ((keys->user || keys->group) &&
		    rv_identity_resolve(&id, keys->user, keys->group, why,
					sizeof(why)))
			rv_diag_warning(d, sp->file, sp->line,
					"[service:%s] %s on this machine",
					sp->name, why);
		if (keys->capabilities &&
		    rv_identity_caps(&id, keys->capabilities, why, sizeof(why)))
			rv_diag_warning(d, sp->file, sp->line,
					"[service:%s] %s", sp->name, why);
		rv_identity_free(&id);
		if (keys->environment_file) {
			char **env = NULL;
			size_t n;

			if (rv_envfile_read(keys->environment_file, &env, &n,
					    why, sizeof(why)))
				rv_diag_warning(d, sp->file, sp->line,
						"[service:%s] environment_file: %s",
						sp->name, why);
			rv_argv_free(env);
		}
	}
	rv_cgroup_host_put(h);
}

/* ---- the hand-over (isolation.h) ---- */

static bool take_line(const struct rv_logline *line, void *ctx)
{
	struct rv_snap_logs *l = ctx;

	l->lines[l->n++] = (struct rv_snap_logline){
		line->realtime_ns, (uint8_t)line->stream, (uint32_t)line->len };
	memcpy(l->text + l->text_len, line->text, line->len);
	l->text_len += line->len;
	return true;
}

static bool count_bytes(const struct rv_logline *line, void *ctx)
{
	*(size_t *)ctx += line->len;
	return true;
}

static int take_logs(const struct rv_logring *r, struct rv_snap_logs **out)
{
	struct rv_snap_logs *l = calloc(1, sizeof(*l));
	size_t bytes = 0, n = rv_logring_count(r);

	*out = l;
	if (!l)
		return -ENOMEM;
	rv_logring_each(r, 0, count_bytes, &bytes);
	l->lines = calloc(n + 1, sizeof(*l->lines));
	l->text = malloc(bytes + 1);
	if (!l->lines || !l->text)
		return -ENOMEM;
	rv_logring_each(r, 0, take_line, l);
	for (int k = 0; k < 2; k++) {
		const char *p;
		size_t len = rv_logring_piece(r, (enum rv_log_stream)k, &p);

		if (!len)
			continue;
		l->piece[k] = malloc(len);
		if (!l->piece[k])
			return -ENOMEM;
		memcpy(l->piece[k], p, len);
		l->piece_len[k] = len;
	}
	return 0;
}

static int take_stream(const struct rv_out_stream *st,
		       struct rv_out_state **out)
{
	int ret;

	*out = NULL;
	if (!st)
		return 0;
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	ret = rv_out_stream_take(st, *out);
	if (ret) {
		free(*out);
		*out = NULL;
	}
	return ret;
}

int rv_iso_take(const struct rv_service *s, struct rv_snap_service *o)
{
	const struct rv_iso *iso = s->iso;
	int ret;

	if (!iso)
		return 0;
	ret = take_stream(iso->out, &o->out);
	if (!ret)
		ret = take_stream(iso->err, &o->err);
	if (!ret && iso->ring)
		ret = take_logs(iso->ring, &o->logs);
	return ret;
}

static int check_stream(const struct rv_service *s, const char *which,
			const struct rv_out_stream *st,
			const struct rv_out_state *in, char *err,
			size_t errlen)
{
	char why[160];

	if (!st != !in) {
		snprintf(err, errlen, "service %s: %s pipe %s, the config "
			 "says %s", s->name, which, in ? "given" : "missing",
			 st ? "one" : "none");
		return -EINVAL;
	}
	if (st && rv_out_stream_check(st, in, why, sizeof(why))) {
		snprintf(err, errlen, "service %s: %s: %s", s->name, which, why);
		return -EINVAL;
	}
	return 0;
}

int rv_iso_check(const struct rv_service *s, const struct rv_snap_service *o,
		 char *err, size_t errlen)
{
	const struct rv_iso *iso = s->iso;
	const struct rv_logring *ring = iso ? iso->ring : NULL;
	int ret = check_stream(s, "stdout", iso ? iso->out : NULL, o->out, err,
			       errlen);

	if (!ret)
		ret = check_stream(s, "stderr", iso ? iso->err : NULL, o->err,
				   err, errlen);
	if (ret)
		return ret;
	if (!ring != !o->logs) {
		snprintf(err, errlen, "service %s: log_buffer lines %s, the "
			 "config keeps %s", s->name, o->logs ? "given" :
			 "missing", ring ? "them" : "none");
		return -EINVAL;
	}
	for (int k = 0; o->logs && k < 2; k++)
		if (o->logs->piece_len[k] > RV_LOGRING_LINE) {
			snprintf(err, errlen, "service %s: a log line of %zu "
				 "bytes (at most %d)", s->name,
				 o->logs->piece_len[k], RV_LOGRING_LINE);
			return -EINVAL;
		}
	return 0;
}

static void apply_logs(struct rv_logring *r, const struct rv_snap_logs *l)
{
	/* no text at all when every line is empty (blank lines) */
	const char *text = l->text ? l->text : "";
	size_t off = 0;

	for (size_t i = 0; i < l->n; i++) {
		struct rv_logline line = {
			l->lines[i].realtime_ns,
			(enum rv_log_stream)l->lines[i].stream,
			text + off, l->lines[i].len };

		rv_logring_restore(r, &line);
		off += l->lines[i].len;
	}
	for (int k = 0; k < 2; k++)
		rv_logring_set_piece(r, (enum rv_log_stream)k, l->piece[k],
				     l->piece_len[k]);
}

int rv_iso_apply(struct rv_service *s, const struct rv_snap_service *o)
{
	struct rv_iso *iso = s->iso;
	int ret = 0;

	if (!iso)
		return 0;
	if (o->logs && iso->ring)
		apply_logs(iso->ring, o->logs);
	if (o->out && iso->out)
		ret = rv_out_stream_apply(iso->out, o->out);
	if (!ret && o->err && iso->err)
		ret = rv_out_stream_apply(iso->err, o->err);
	return ret;
}

/*
 * The plan hands st's new write end wfd to the child from now on.  A
 * stream made without its pipe (pipe_later) is -1 in the plan, as its
 * sibling may be: then the child's fd says whose entry it is (stdout's
 * stream also serves fd 2 when stderr has none of its own).
 */
static void plan_follows(struct rv_iso *iso, const struct rv_out_stream *st,
			 int old, int wfd)
{
	for (size_t i = 0; i < iso->n_fds; i++) {
		struct rv_spawn_fd *f = &iso->fds[i];

		if (f->from == old &&
		    (old >= 0 || (st == iso->err ? f->to == 2 :
				  f->to == 1 || !iso->err)))
			f->from = wfd;
	}
}

/* The crossed pipe into st. */
static void adopt_stream(struct rv_iso *iso, struct rv_out_stream *st,
			 const struct rv_out_state *in)
{
	int old = st ? rv_out_stream_child_fd(st) : -1;

	if (!st || !in)
		return;
	rv_out_stream_adopt(st, in->rfd, in->wfd);
	plan_follows(iso, st, old, in->wfd);
}

/* The pipe of a stream that got none from the state (pipe_later). */
static int make_pipe(struct rv_service *s, struct rv_out_stream *st,
		     const char *step)
{
	char why[256] = "";
	int ret;

	if (!st || rv_out_stream_piped(st))
		return 0;
	ret = rv_out_stream_pipe(st, why, sizeof(why));
	if (ret)
		return set_failure(s->iso, -ret, step, "%s", why);
	plan_follows(s->iso, st, -1, rv_out_stream_child_fd(st));
	return 0;
}

int rv_iso_make_pipes(struct rv_service *s)
{
	struct rv_iso *iso = s->iso;
	int ret;

	if (!iso)
		return 0;
	ret = make_pipe(s, iso->out, "stdout");
	return ret ? ret : make_pipe(s, iso->err, "stderr");
}

void rv_iso_adopt_pipes(struct rv_service *s, const struct rv_snap_service *o)
{
	struct rv_iso *iso = s->iso;

	if (!iso)
		return;
	adopt_stream(iso, iso->out, o->out);
	adopt_stream(iso, iso->err, o->err);
}

size_t rv_iso_flush(struct rv_service *s, int64_t deadline_ns)
{
	struct rv_iso *iso = s->iso;
	size_t held = 0;

	if (iso && iso->out)
		held += rv_out_stream_flush(iso->out, deadline_ns);
	if (iso && iso->err)
		held += rv_out_stream_flush(iso->err, deadline_ns);
	return held;
}

struct rv_out_stream *rv_iso_std_stream(const struct rv_supervisor *sv,
					int fd)
{
	for (size_t i = 0; i < sv->n_svcs; i++) {
		const struct rv_iso *iso = sv->svcs[i]->iso;

		if (iso && iso->out && rv_out_stream_std(iso->out) == fd)
			return iso->out;
		if (iso && iso->err && rv_out_stream_std(iso->err) == fd)
			return iso->err;
	}
	return NULL;
}
