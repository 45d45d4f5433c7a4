/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's life cycle and the public API of include/ringvisor.h:
 * load (config -> specs -> tree, loop and spawner set up before anything
 * starts), run (start the top node, turn the loop), rv_cancel(), free.
 * The life cycle itself is tree/lifecycle.c; signals are signals.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include "child/exec_check.h"
#include "config/config.h"
#include "config/parse.h"
#include "control/control.h"
#include "control/http.h"
#include "control/notify_dispatch.h"
#include "control/observe.h"
#include "control/report.h"
#include "control/sd_notify_self.h"
#include "control/sd_watchdog.h"
#include "daemon/daemon.h"
#include "daemon/handover.h"
#include "daemon/handover_json.h"
#include "tree/build.h"
#include "tree/isolation.h"
#include "tree/readiness.h"
#include "tree/reload.h"
#include "tree/snapshot.h"
#include "tree/specset.h"
#include "tree/supervisor.h"
#include "util/log.h"


static int parse_backend(const char *name, enum rv_backend *out)
{
	if (!strcmp(name, "auto"))
		*out = RV_BACKEND_AUTO;
	else if (!strcmp(name, "io_uring"))
		*out = RV_BACKEND_IO_URING;
	else if (!strcmp(name, "epoll"))
		*out = RV_BACKEND_EPOLL;
	else
		return -EINVAL;
	return 0;
}

/* Service instances of the specs: the children that may exit at once. */
static uint32_t count_instances(const struct rv_specs *sp)
{
	uint64_t n = 0;

	for (size_t i = 0; i < sp->n_services; i++)
		n += sp->services[i].instances;
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}
/*
 * realtime_priority: a page fault in the loop costs what the priority was
 * meant to save, so memory is locked, as cyclictest -m does.  MCL_FUTURE
 * only where the memlock limit cannot make a later allocation fail (root,
 * or no limit); otherwise what is mapped now.  Children do not inherit
 * it (fork and exec drop memory locks).  A failure is a warning: the
 * priority still helps.
 */
static void lock_memory(void)
{
	struct rlimit rl;
	int flags = MCL_CURRENT;

	if (!geteuid() ||
	    (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur == RLIM_INFINITY))
		flags |= MCL_FUTURE;
	if (mlockall(flags))
		rv_log(RV_LOG_WARN, "supervisor", "main", "mlockall",
		       " error=\"%s\" detail=\"realtime_priority: memory not "
		       "locked, page faults may delay timers\"",
		       strerror(errno));
}


/* Everything after the specs: loop, spawner, tree.  0 or -errno. */
/*
 * A hand-over's new image binds nothing: the state's held sockets are the
 * `old` set every [socket:NAME] is carried over from, by its address
 * (docs/reexec.md, "Held sockets").
 */
static int open_sockets(struct rv_supervisor *sv, FILE *errors)
{
	const struct rv_snapshot *snap = rv_handover_state(sv);
	struct rv_diag d = { .out = errors };
	struct rv_socket_set set;
	char err[300];
	int ret = 0;

	if (snap)
		ret = rv_snapshot_sockets(snap, sv->specs, &sv->sockets, err,
					  sizeof(err));
	if (ret)
		fprintf(errors, "ringvisor: hand-over state: %s\n", err);
	if (!ret)
		ret = rv_sockets_open(sv->specs, snap ? &sv->sockets : NULL,
				      &set, &d);
	if (ret)
		return ret;
	rv_sockets_commit(&sv->sockets, &set);
	return 0;
}

/*
 * check: a hand-over's dry run (`--handover-check`): the tree only, built
 * from the config, with nothing bound, opened or started.
 */
/*
 * The control socket and http_listen: bound here, or (a hand-over's new
 * image) the ones the image before was listening on, never closed.
 */
static int open_control(struct rv_supervisor *sv,
			const struct rv_options *opts, FILE *errors)
{
	const char *path = opts && opts->control_socket ?
			   opts->control_socket : sv->specs->control_socket;
	const char *group = sv->specs->control_group;
	int cfd = rv_handover_inherited(sv, RV_CTL_CONTROL_LISTEN);
	int hfd = rv_handover_inherited(sv, RV_CTL_HTTP_LISTEN);
	int ret = 0;

	/* exec (a container's init) has a control socket only if asked */
	if (!sv->exec_mode || (opts && opts->control_socket))
		ret = cfd >= 0 ?
		      rv_control_adopt(&sv->control, sv, path, group, cfd,
				       errors) :
		      rv_control_open(&sv->control, sv, path, group, errors);
	if (!ret && sv->specs->http_listen)
		ret = hfd >= 0 ?
		      rv_http_adopt(&sv->http, sv, sv->specs->http_listen,
				    group, hfd, errors) :
		      rv_http_open(&sv->http, sv, sv->specs->http_listen,
				   group, errors);
	return ret;
}

static int setup(struct rv_supervisor *sv, const struct rv_options *opts,
		 bool check, FILE *errors)
{
	struct rv_loop_config lc = {
		.backend = sv->specs->backend,
		.signals = rv_daemon_signals(),
		.signal_cb = rv_daemon_on_signal,
		.wake_cb = rv_daemon_on_wake,
		.orphan_cb = rv_daemon_on_orphan,
		.ctx = sv,
		/* a reload that adds many more services overflows the CQ
		 * in a storm: handled by the kernel (NODROP), just slower */
		.completions = count_instances(sv->specs),
	};
	char why[300], quoted[320];
	int ret;

	if (opts && opts->log_fd > 0)
		rv_log_set_fd(opts->log_fd);
	/* log_target: our lines to stderr or the journal (auto: when stderr
	 * is the journal's stream) */
	if (rv_log_set_target((enum rv_log_target)sv->specs->log_target,
			      why, sizeof(why)))
		rv_log_sup(RV_LOG_WARN, "main", "journal_unusable",
			   " reason=%s", rv_log_quote(why, quoted,
						      sizeof(quoted)));
	/* under systemd: keep NOTIFY_SOCKET for ourselves, out of the
	 * environment every child inherits */
	if (rv_sd_notify_self_init() < 0)
		rv_log_sup(RV_LOG_WARN, "main", "sd_notify_unusable",
			   " reason=\"NOTIFY_SOCKET is not a usable address\"");
	rv_log_level_from_env();
	if (opts && opts->backend &&
	    parse_backend(opts->backend, &lc.backend)) {
		fprintf(errors, "ringvisor: unknown backend \"%s\" "
			"(use auto, io_uring or epoll)\n", opts->backend);
		return -EINVAL;
	}
	/* a --backend flag beats RINGVISOR_BACKEND, which beats the config */
	lc.ignore_backend_env = opts && opts->backend;
	if (opts && opts->report_path) {
		sv->report_path = strdup(opts->report_path);
		if (!sv->report_path)
			return -ENOMEM;
	}
	/* PIPE, TTIN, TTOU ignored; children get SIG_DFL back before exec
	 * (under `exec`: their caller's dispositions) */
	ret = rv_daemon_signals_setup();
	if (ret) {
		fprintf(errors, "ringvisor: sigaction: %s\n", strerror(-ret));
		return ret;
	}
	ret = rv_loop_new(&sv->loop, &lc, sv->backend_why,
			  sizeof(sv->backend_why));
	if (ret) {
		fprintf(errors, "ringvisor: %s\n", sv->backend_why);
		return ret;
	}
	/* timer_precision, realtime_priority (SCHED_RESET_ON_FORK) */
	if (check)
		goto tree;
	ret = sv->specs->timer_spin_auto ?
	      rv_loop_set_timer_spin_auto(sv->loop, sv->specs->timer_spin_ns) :
	      rv_loop_set_timer_spin(sv->loop, sv->specs->timer_spin_ns);
	if (!ret && sv->specs->realtime_priority)
		ret = rv_loop_set_realtime(sv->specs->realtime_priority);
	if (ret) {
		fprintf(errors, "ringvisor: realtime_priority = %d: %s\n",
			sv->specs->realtime_priority, strerror(-ret));
		return ret;
	}
	if (sv->specs->realtime_priority)
		lock_memory();
	/* [socket:NAME]: bound now, as the user we run as (root: before
	 * any service drops its privileges); a bind error is a config
	 * error at the section's listen line */
	ret = open_sockets(sv, errors);
	if (ret)
		return ret;
tree:
	ret = rv_spawner_new(&sv->spawner);
	if (!ret)
		ret = rv_notify_dispatch_path(sv);
	if (!ret)
		ret = rv_build_tree(sv);
	if (!ret)
		ret = rv_loop_timer_reserve(sv->loop,
					    sv->n_svcs + sv->n_nodes + 2);
	if (!ret)
		ret = rv_loop_child_reserve(sv->loop, sv->n_svcs);
	if (ret) {
		fprintf(errors, "ringvisor: setup failed: %s\n",
			strerror(-ret));
		return ret;
	}
	rv_supervisor_lifecycle_init(sv);
	rv_reload_init(sv);
	if (check)
		return 0;
	rv_control_observe(sv);
	ret = open_control(sv, opts, errors);
	if (ret)
		return ret;
	ret = rv_notify_dispatch_open(sv, rv_handover_inherited(sv,
						RV_CTL_NOTIFY), errors);
	if (ret)
		return ret;
	/* WatchdogSec= in our unit: pinged from the loop, so a stall shows */
	ret = rv_sd_watchdog_start(sv->loop);
	if (ret)
		return ret;
	if (getrandom(&sv->rng, sizeof(sv->rng), GRND_NONBLOCK) !=
	    sizeof(sv->rng))
		sv->rng = (uint64_t)rv_clock_now() ^ (uint64_t)getpid();
	/*
	 * Not PID 1: become the subreaper, so grandchildren orphaned by a
	 * service are reaped here (and never outlive a stop unnoticed).
	 */
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		rv_log_sup(RV_LOG_WARN, "main", "subreaper_failed",
			   " errno=%d", errno);
	/*
	 * Parsing the config left its temporaries freed between the
	 * allocations that stay (specs, services, tables): whole free pages
	 * go back to the kernel now, rather than stay dirty for the
	 * supervisor's life (bench/analysis.md, "Memory").
	 */
	malloc_trim(0);
	return 0;
}

/*
 * Started with any of fds 0-2 closed (a daemon that closed them, `<&-`,
 * a minimal init): the next descriptors we open (config, signalfd, ring,
 * sockets) would land there, close-on-exec, and every service would start
 * with no stdin, stdout or stderr at all, or a write to "stderr" would go
 * to one of our own sockets.  /dev/null goes onto each closed one first,
 * before anything else opens a descriptor, and children inherit it.
 */
static void stdio_or_dev_null(FILE *errors)
{
	for (int fd = 0; fd < 3; fd++) {
		int nfd;

		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		/* the lowest free descriptor: fd itself (0..fd-1 are open) */
		nfd = open("/dev/null", O_RDWR);
		if (nfd < 0) {
			fprintf(errors, "ringvisor: fd %d is closed and "
				"/dev/null cannot be opened (%s): services "
				"start without it\n", fd, strerror(errno));
			return;
		}
		if (nfd != fd) {
			/* not expected; made sure of all the same */
			if (dup2(nfd, fd) < 0)
				fprintf(errors, "ringvisor: fd %d is closed "
					"and dup2 failed: %s\n", fd,
					strerror(errno));
			close(nfd);
		}
	}
}

static struct rv_supervisor *sv_alloc(void)
{
	struct rv_supervisor *sv = calloc(1, sizeof(*sv));

	if (!sv)
		return NULL;
	atomic_init(&sv->cancel, 0);
	sv->set = rv_specset_new();
	if (!sv->set) {
		free(sv);
		return NULL;
	}
	sv->specs = &sv->set->specs;
	return sv;
}

static int load_common(struct rv_supervisor **out, struct rv_supervisor *sv,
		       int ret, const struct rv_options *opts, FILE *errors)
{
	if (!ret)
		ret = setup(sv, opts, false, errors);
	/* a hand-over's new image: back to the previous one, which still
	 * has everything (nothing of it may be closed or unlinked here) */
	if (ret && rv_handover_resuming(sv))
		rv_handover_setup_failed(sv, "loading the config", ret);
	if (ret) {
		rv_supervisor_free(sv);
		return ret;
	}
	*out = sv;
	return 0;
}

/*
 * The config of config_path, or (sources: a hand-over's state) the one
 * the running tree was built from, from the bytes the state carries:
 * an edit on disk waits for a `reload` (docs/reexec.md).
 */
static int load_config(struct rv_supervisor *sv, const char *config_path,
		       const struct rv_snapshot *snap, struct rv_diag *d)
{
	/* the state's pipes replace the load's: none made twice */
	sv->pipes_later = snap != NULL;
	if (!snap || !snap->n_config)
		return rv_config_load_file(config_path, sv->specs, d);
	free(sv->config_path);
	sv->config_path = strdup(snap->config[0].path);	/* for reload */
	if (!sv->config_path)
		return -ENOMEM;
	return rv_config_load_sources(snap->config, snap->n_config, sv->specs,
				      d);
}

int rv_supervisor_load(struct rv_supervisor **out, const char *config_path,
		       const struct rv_options *opts, FILE *errors)
{
	struct rv_supervisor *sv;
	struct rv_diag d = { .out = errors };

	stdio_or_dev_null(errors);
	sv = sv_alloc();
	if (!sv)
		return -ENOMEM;
	sv->config_path = strdup(config_path);	/* for reload */
	if (!sv->config_path || rv_handover_init(sv, errors)) {
		rv_supervisor_free(sv);
		return -ENOMEM;
	}
	return load_common(out, sv,
			   load_config(sv, config_path, rv_handover_state(sv),
				       &d),
			   opts, errors);
}

int rv_supervisor_load_check(struct rv_supervisor **out,
			     const char *config_path,
			     const struct rv_snapshot *snap,
			     const struct rv_options *opts, FILE *errors)
{
	struct rv_diag d = { .out = errors };
	struct rv_supervisor *sv = sv_alloc();
	int ret;

	if (!sv)
		return -ENOMEM;
	ret = load_config(sv, config_path, snap, &d);
	/* the services are built with the held sockets' numbers: the
	 * state's, named, never bound nor touched (the caller lets the set
	 * go without closing them) */
	if (!ret && snap) {
		char err[300];

		ret = rv_snapshot_sockets(snap, sv->specs, &sv->sockets, err,
					  sizeof(err));
		if (ret)
			fprintf(errors, "hand-over state: %s\n", err);
	}
	if (!ret)
		ret = setup(sv, opts, true, errors);
	if (ret) {
		rv_supervisor_free_check(sv);
		return ret;
	}
	*out = sv;
	return 0;
}

void rv_supervisor_free_check(struct rv_supervisor *sv)
{
	/* the state's pids and descriptors are not ours to close here */
	for (size_t i = 0; i < sv->n_svcs; i++)
		sv->svcs[i]->child.pid = 0;
	/* nor the held sockets (their numbers only; closing one would
	 * unlink the running supervisor's unix socket file) */
	free(sv->sockets.v);
	sv->sockets = (struct rv_socket_set){ 0 };
	rv_supervisor_free(sv);
}

int rv_supervisor_load_string(struct rv_supervisor **out, const char *text,
			      const char *name, const struct rv_options *opts,
			      FILE *errors)
{
	struct rv_supervisor *sv;
	struct rv_diag d = { .out = errors };

	stdio_or_dev_null(errors);
	sv = sv_alloc();
	if (!sv)
		return -ENOMEM;
	return load_common(out, sv,
			   rv_config_load_string(text, name, sv->specs, &d),
			   opts, errors);
}

/* `exec`: one service built from argv and "key=value" options. */
static int exec_specs(struct rv_supervisor *sv, char *const argv[],
		      const char *const keys[], FILE *errors)
{
	struct rv_specs *sp = sv->specs;
	struct rv_service_spec *s;
	struct rv_diag d = { .out = errors };
	size_t argc = 0;
	bool nomem = false;
	char *base;

	rv_specs_init(sp);
	if (!argv || !argv[0] || !*argv[0]) {
		fprintf(errors, "ringvisor: exec: no command given\n");
		return -EINVAL;
	}
	sp->services = calloc(1, sizeof(*sp->services));
	if (!sp->services)
		return -ENOMEM;
	sp->n_services = 1;
	s = sp->services;
	rv_service_spec_init(s);
	s->restart = RV_RESTART_NEVER;	/* tini: run once */
	while (argv[argc])
		argc++;
	s->argv = calloc(argc + 1, sizeof(*s->argv));
	base = strdup(argv[0]);
	s->file = "exec";
	if (!s->argv || !base) {
		free(base);
		return -ENOMEM;
	}
	for (size_t i = 0; i < argc; i++)
		if (!(s->argv[i] = strdup(argv[i])))
			return free(base), -ENOMEM;
	s->argc = (int)argc;
	s->name = strdup(basename(base));
	free(base);
	if (!s->name)
		return -ENOMEM;
	for (size_t i = 0; keys && keys[i]; i++) {
		char *kv = strdup(keys[i]), *eq;

		if (!kv)
			return -ENOMEM;
		eq = strchr(kv, '=');
		if (!eq) {
			rv_diag_error(&d, "exec", 0, "option --%s needs a value",
				      kv);
		} else {
			*eq = '\0';
			if (!strcmp(kv, "stop_timeout"))
				sv->exec_escalate = true;
			/* out of memory is no usage error: say so */
			if (rv_service_spec_set(s, kv, eq + 1, "exec", 0,
						&d) == -ENOMEM)
				nomem = true;
		}
		free(kv);
	}
	/* only the service's own checks: its name comes from argv[0], not
	 * from a config, so any basename is fine */
	/* a container's init passes output through untouched (a tty stays
	 * a tty), unless --log-buffer asks to keep it for `logs` */
	if (s->log_buffer < 0)
		s->log_buffer = 0;
	if (!d.errors)
		rv_service_spec_check(s, &d);
	if (nomem)
		return -ENOMEM;
	return d.errors ? -EINVAL : 0;
}

int rv_supervisor_new_exec(struct rv_supervisor **out, char *const argv[],
			   const char *const keys[],
			   const struct rv_options *opts, FILE *errors)
{
	struct rv_supervisor *sv;
	int ret;

	stdio_or_dev_null(errors);
	sv = sv_alloc();
	if (!sv)
		return -ENOMEM;
	sv->exec_mode = true;
	/* before anything here blocks or ignores a signal: what the child
	 * gets back, as tini does */
	ret = rv_daemon_caller_signals(&sv->exec_child_mask,
				       &sv->exec_child_ignored);
	if (ret) {
		fprintf(errors, "ringvisor: sigprocmask: %s\n",
			strerror(-ret));
		free(sv);
		return ret;
	}
	/* a container init is quiet, as tini is: warnings and errors only,
	 * unless RINGVISOR_LOG_LEVEL says otherwise */
	rv_log_set_level(RV_LOG_WARN);
	return load_common(out, sv, exec_specs(sv, argv, keys, errors), opts,
			   errors);
}

void rv_supervisor_set_backoff(struct rv_supervisor *sv, rv_backoff_fn *fn,
			       void *ctx)
{
	sv->backoff_fn = fn;
	sv->backoff_ctx = ctx;
}

const char *rv_supervisor_backend(const struct rv_supervisor *sv)
{
	return rv_loop_backend_name(sv->loop);
}

static void initial_start(struct rv_supervisor *sv)
{
	sv->started_ns = rv_clock_now();
	sv->state = RV_SUP_STARTING;
	if (atomic_load(&sv->cancel)) {
		rv_supervisor_finish(sv, false, RV_EXIT_COMPLETED);
		return;
	}
	/* every service keeps it `starting` until it is up */
	for (size_t i = 0; i < sv->n_svcs; i++)
		rv_member_update_settled(&sv->svcs[i]->m);
	rv_member_request(&sv->nodes[0]->m, RV_JOB_START, sv->started_ns);
	sv->initial_start_done = true;
	rv_supervisor_maybe_alive(sv);
}

int rv_supervisor_run(struct rv_supervisor *sv)
{
	char q[600];
	int ret;

	/* the choice at info, with its reason when io_uring was wanted and
	 * refused (the one line a container's user must see); how children
	 * are watched and why, at debug (together ~230 characters: too long
	 * for a terminal every time) */
	if (rv_loop_fell_back(sv->loop))
		rv_log_sup(RV_LOG_INFO, "main", "backend", " backend=%s reason=%s",
			   rv_loop_backend_name(sv->loop),
			   rv_log_quote(sv->backend_why, q, sizeof(q)));
	else
		rv_log_sup(RV_LOG_INFO, "main", "backend", " backend=%s",
			   rv_loop_backend_name(sv->loop));
	rv_log_sup(RV_LOG_DEBUG, "main", "backend_detail",
		   " child_exits=%s reason=%s",
		   rv_log_quote(rv_loop_child_method(sv->loop), q, 200),
		   rv_log_quote(sv->backend_why, q + 200, 400));
	if (rv_handover_resuming(sv))
		/* the tree goes on where the image before left it */
		rv_handover_resume(sv);
	else
		initial_start(sv);
	while (!sv->finished) {
		/* a turn's log lines go out together when it ends (log.h) */
		rv_log_batch_begin();
		ret = rv_loop_run_once(sv->loop, -1);
		rv_log_batch_end();
		/* `reexec`, SIGUSR2: between turns, never inside one */
		rv_handover_maybe_run(sv);
		if (ret < 0 && ret != -EINTR) {
			rv_log_sup(RV_LOG_ERROR, "main", "loop_failed",
				   " errno=%d error=%s", -ret,
				   rv_log_quote(strerror(-ret), q, sizeof(q)));
			sv->fail_reason = "loop_failed";
			sv->failing = true;
			rv_supervisor_kill_all(sv, RV_KILL_SHUTDOWN_TIMEOUT);
			rv_supervisor_finish(sv, true, RV_EXIT_FAILED);
		}
	}
	/* the last replies (the `shutdown` that ended us) still go out,
	 * for at most a second */
	for (int64_t end = rv_clock_now() + 1000000000LL;
	     rv_control_flushing(sv->control) && rv_clock_now() < end;)
		rv_loop_run_once(sv->loop, 100000000LL);
	rv_http_close(sv->http);
	if (sv->report_path) {
		ret = rv_report_write(sv, sv->report_path);
		if (ret)
			rv_log_sup(RV_LOG_ERROR, "main", "report_failed",
				   " path=%s error=%s", sv->report_path,
				   rv_log_quote(strerror(-ret), q, sizeof(q)));
	}
	/* the last thing a `shutdown --wait` client sees (its EOF): the
	 * report is written by then, and nothing is left but to exit */
	rv_control_close(sv->control);
	return sv->exit_code;
}

void rv_cancel(struct rv_supervisor *sv)
{
	atomic_store(&sv->cancel, 1);
	if (sv->loop)
		rv_loop_wake(sv->loop);
}

void rv_supervisor_free(struct rv_supervisor *sv)
{
	if (!sv)
		return;
	for (size_t i = 0; sv->svcs && i < sv->n_svcs; i++)
		if (sv->svcs[i] && sv->svcs[i]->child.pid > 0)
			close(sv->svcs[i]->child.pidfd);
	/* stop serving, then the loop: it still points at timers, children
	 * and buffers that live in the tree and the control connections */
	rv_control_close(sv->control);
	rv_http_close(sv->http);
	rv_notify_dispatch_close(sv);
	if (sv->loop) {
		rv_sd_watchdog_stop(sv->loop);
		rv_loop_free(sv->loop);
	}
	sv->loop = NULL;	/* the tree's frees must not call it (isolation.c) */
	rv_control_free(sv->control);
	rv_http_free(sv->http);
	rv_free_tree(sv);
	rv_sockets_close(&sv->sockets);
	free(sv->env_scratch);
	rv_spawner_free(sv->spawner);
	rv_specset_put(sv->set);
	rv_handover_free(sv);
	free(sv->reexec.binary);
	free(sv->report_path);
	free(sv->config_path);
	free(sv->notify_path);
	free(sv);
}

/* http_listen needs libmicrohttpd, which is loaded only then (mhd.h) */
static void check_http(const struct rv_specs *specs, struct rv_diag *d)
{
	char why[300];

	if (specs->http_listen && rv_http_load(why, sizeof(why)))
		rv_diag_error(d, specs->file, 0, "http_listen: %s", why);
}

int rv_config_check_warnings(const char *path, FILE *out, int *warnings)
{
	struct rv_specs specs;
	struct rv_diag d = { .out = out };
	int ret = rv_config_load_file(path, &specs, &d);

	if (ret == 0) {
		/* what this machine cannot give (cgroups, users, programs,
		 * directories): warnings */
		rv_iso_check_specs(&specs, &d);
		rv_exec_check_specs(&specs, &d);
		check_http(&specs, &d);
		rv_specs_free(&specs);
	}
	if (warnings)
		*warnings = d.warnings;
	if (ret && ret != -EINVAL && d.errors == 0)
		return ret;
	return d.errors;
}

int rv_config_check(const char *path, FILE *out)
{
	return rv_config_check_warnings(path, out, NULL);
}
