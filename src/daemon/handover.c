/* SPDX-License-Identifier: MIT */
/*
 * The hand-over to a new binary (docs/reexec.md, "The sequence"), the old
 * image's side: the probe, quiesce, the state in a sealed memfd, the dry
 * run, the exec.  Every failure before the exec is a plain error with the
 * tree running on; after it, the new image owns the rollback
 * (handover_resume.c).
 *
 * The new image gets the old one's command line and environment, so `ps`
 * and systemd see the same process, and `$VAR`s in the config expand the
 * same way; only RINGVISOR_HANDOVER_FD (and, on a rollback,
 * RINGVISOR_HANDOVER_ERROR) are added, and taken out again at once.
 */
#include "daemon/handover.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control/commands.h"
#include "control/control.h"
#include "control/http.h"
#include "control/notify.h"
#include "control/sd_notify_self.h"
#include "control/waiters.h"
#include "daemon/handover_heap.h"
#include "daemon/handover_internal.h"
#include "daemon/handover_memfd.h"
#include "loop.h"
#include "tree/readiness.h"
#include "tree/supervisor.h"
#include "util/log.h"

#define DEFAULT_TIMEOUT_NS	(10LL * 1000 * NS_PER_MS)
#define QUIESCE_TIMEOUT_NS	(2LL * 1000 * NS_PER_MS)
/* what the output sinks may take to write before the state is taken */
#define FLUSH_TIMEOUT_NS	(100LL * NS_PER_MS)
/* turns given to a spawn between clone and its exec report */
#define BUSY_TRIES		100

/* Everything of ours that crosses: the tree's, then the control plane's. */
static int keep_fds(const struct rv_snapshot *snap,
		    const struct rv_handover_ctl *ctl, int state_fd,
		    struct rv_fdkeep *keep)
{
	int ret = rv_snapshot_keep_fds(snap, keep);

	for (int i = 0; !ret && i < RV_HANDOVER_CTL_NFDS; i++)
		if (ctl->fd[i] >= 0)
			ret = rv_fdkeep_add(keep, ctl->fd[i],
					    rv_handover_ctl_role(i), NULL);
	return ret ? ret : rv_fdkeep_add(keep, state_fd, "state", NULL);
}

/* The tree's state and the daemon's counters. */
static int take_all(const struct rv_supervisor *sv, struct rv_snapshot *snap)
{
	int ret = rv_snapshot_take(sv, snap);

	if (!ret && (ret = rv_handover_daemon_take(sv, &snap->daemon)))
		rv_snapshot_free(snap);
	return ret;
}

/* Quiesced, with the tree's state taken (a spawn in progress: a turn
 * for its exec report, and again).  0 or -errno, not quiesced then. */
static int quiesce_and_take(struct rv_supervisor *sv,
			    struct rv_snapshot *snap, int64_t *st)
{
	int64_t flush_by = rv_clock_now() + FLUSH_TIMEOUT_NS;

	for (int tries = 0;; tries++) {
		int64_t now = rv_clock_now();
		int ret;

		/* a check probe in flight does not cross: it runs again */
		for (size_t i = 0; i < sv->n_svcs; i++)
			rv_ready_quiesce(sv->svcs[i], now);
		ret = rv_loop_quiesce(sv->loop, QUIESCE_TIMEOUT_NS);
		if (ret)
			return ret;
		st[RV_ST_QUIESCED] = rv_clock_now();
		/* whole lines and sink bytes written now, only the rest
		 * crosses (bounded: a reader that does not read) */
		(void)rv_snapshot_flush_outputs(sv, flush_by);
		st[RV_ST_FLUSHED] = rv_clock_now();
		ret = take_all(sv, snap);
		st[RV_ST_TAKEN] = rv_clock_now();
		if (ret != -EBUSY || tries == BUSY_TRIES) {
			if (ret)
				rv_loop_unquiesce(sv->loop);
			return ret;
		}
		rv_loop_unquiesce(sv->loop);
		rv_loop_run_once(sv->loop, 10 * NS_PER_MS);
	}
}

/* The control plane's descriptors that cross. */
static void control_fds(struct rv_supervisor *sv, struct rv_handover_ctl *c)
{
	c->fd[RV_CTL_PREV_EXE] = sv->handover->exe_fd;
	c->fd[RV_CTL_CONTROL_LISTEN] = rv_control_fd(sv->control);
	c->fd[RV_CTL_NOTIFY] = sv->notify ? rv_notify_fd(sv->notify) : -1;
	c->fd[RV_CTL_HTTP_LISTEN] = rv_http_listen_fd(sv->http);
	c->fd[RV_CTL_REQUESTER] = rv_control_requester_fd(sv->control);
}

/* Steps 5 and 6: the point of no return.  Returns only on failure. */
static int exec_new(struct rv_supervisor *sv, const char *binary,
		    struct rv_fdkeep *keep, int state_fd, char *err,
		    size_t errlen)
{
	char fdvar[48], stamps[RV_HANDOVER_STAMPS_LEN];
	char *extra[] = { fdvar, stamps }, **env;
	char event[160];
	static const char retry[] = "{\"ok\":false,\"retry\":true,\"error\":"
				    "\"supervisor re-executing\"}\n";
	int ret;

	snprintf(fdvar, sizeof(fdvar), "%s=%d", RV_HANDOVER_ENV, state_fd);
	snprintf(event, sizeof(event), "{\"event\":\"reexec\",\"from\":\"%s\"}\n",
		 RINGVISOR_VERSION);
	sv->handover->stamp[RV_ST_EXEC] = rv_clock_now();
	rv_handover_stamps_env(sv->handover->stamp, stamps, sizeof(stamps));
	env = rv_handover_env(extra, 2, true);
	if (!env)
		return -ENOMEM;
	ret = rv_fdkeep_clear_cloexec(keep);
	if (!ret) {
		/* followers and waiters told, every other client closed */
		rv_control_handover(sv->control, event, retry);
		rv_http_handover(sv->http, event);
		/* a hand-over is never a missed ping of our own watchdog */
		if (rv_sd_notify_self_watchdog_usec())
			(void)rv_sd_notify_self("WATCHDOG=1");
		rv_log_flush();
		execve(binary, sv->handover->argv, env);
		ret = -errno;
		rv_fdkeep_set_cloexec(keep);
	}
	free(env);
	snprintf(err, errlen, "exec: %s", strerror(-ret));
	return ret;
}

/*
 * Test hook: the pid in the file RINGVISOR_TEST_HANDOVER_KILL names is
 * killed after the state was taken, and is a zombie before the exec: an
 * exit the new image must report, exactly once (test_reexec.py).
 */
static void test_kill_hook(void)
{
	const char *path = getenv(RV_HANDOVER_TEST_KILL_ENV);
	FILE *f = path && *path ? fopen(path, "re") : NULL;
	siginfo_t si;
	int pid = 0;

	if (!f)
		return;
	if (fscanf(f, "%d", &pid) == 1 && pid > 0 && !kill(pid, SIGKILL))
		(void)waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT);
	fclose(f);
}

/* FNV-1a, 64 bits, over len bytes. */
static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < len; i++)
		h = (h ^ c[i]) * 0x100000001b3ULL;
	return h;
}

/* What the dry run's result depends on beyond values: the members (by
 * name, in order), the held sockets, the config's bytes.  The same for
 * the dry run's state and the final one unless a reload came between. */
static uint64_t tree_print(const struct rv_snapshot *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t n[] = { s->n_svcs, s->n_nodes, s->n_sockets, s->n_config };

	h = fnv(h, n, sizeof(n));
	for (size_t i = 0; i < s->n_svcs; i++)
		h = fnv(h, s->svcs[i].m.name, strlen(s->svcs[i].m.name) + 1);
	for (size_t i = 0; i < s->n_nodes; i++)
		h = fnv(h, s->nodes[i].m.name, strlen(s->nodes[i].m.name) + 1);
	for (size_t i = 0; i < s->n_config; i++)
		h = fnv(h, s->config[i].bytes, s->config[i].len);
	return h;
}

/*
 * Step 4, ahead of the pause: the dry run on a state taken with the loop
 * still running (between two turns: the tree is consistent).  What it
 * checks, the format and the config, is that of the final state, which
 * differs only in values: members are the same unless a reload replaced
 * the tree meanwhile (same_tree() after the final take).  1 if checked,
 * 0 if not (a spawn or a probe in flight, a roll: the dry run then runs
 * during the pause, as it did before), -errno with err if it failed.
 */
static int check_ahead(struct rv_supervisor *sv, const char *binary,
		       struct rv_handover_ctl *ctl, uint64_t *print,
		       int64_t timeout_ns, char *err, size_t errlen)
{
	struct rv_snapshot ahead;
	int state_fd = -1, ret;

	if (take_all(sv, &ahead))
		return 0;
	*print = tree_print(&ahead);
	ret = rv_handover_write_state(&ahead, ctl, ctl->format, &state_fd,
				      err, errlen);
	if (!ret)
		ret = rv_handover_dry_run(sv->handover, binary, state_fd,
					  timeout_ns, err, errlen);
	if (state_fd >= 0)
		close(state_fd);
	rv_snapshot_free(&ahead);
	/* its memory, freed, ready for the final state's (not in the pause) */
	rv_handover_heap_settle();
	return ret ? ret : 1;
}

/* Steps 2 to 6 once the probe passed; quiesced on the way, unquiesced
 * again on failure. */
static int hand_over(struct rv_supervisor *sv, const char *binary,
		     int format, int64_t timeout_ns, char *err,
		     size_t errlen)
{
	int64_t *st = sv->handover->stamp;
	struct rv_handover_ctl ctl = { .binary = (char *)binary,
				       .format = format };
	struct rv_fdkeep keep = { 0 };
	struct rv_snapshot snap;
	uint64_t print = 0;
	int state_fd = -1, checked, ret;

	control_fds(sv, &ctl);
	checked = check_ahead(sv, binary, &ctl, &print, timeout_ns, err,
			      errlen);
	if (checked < 0)
		return checked;
	st[RV_ST_CHECKED] = rv_clock_now();
	/* the hand-over time, the pause: from quiesce to the new image's
	 * ack */
	ctl.t0_ns = st[RV_ST_BEGIN] = rv_clock_now();
	ret = quiesce_and_take(sv, &snap, st);
	if (ret) {
		snprintf(err, errlen, "%s", ret == -EBUSY ?
			 "the tree stays busy (a spawn in progress)" :
			 ret == -ENOMEM ? "out of memory" :
			 "the loop did not quiesce");
		return ret;
	}
	if (checked && tree_print(&snap) != print)
		checked = 0;	/* a reload in between: check what crosses */
	test_kill_hook();
	control_fds(sv, &ctl);
	/* in the format the probe chose */
	ret = rv_handover_write_state(&snap, &ctl, ctl.format, &state_fd, err,
				      errlen);
	st[RV_ST_WRITTEN] = rv_clock_now();
	if (!ret && (ret = keep_fds(&snap, &ctl, state_fd, &keep)))
		snprintf(err, errlen, "descriptors: %s", strerror(-ret));
	if (!ret && !checked)
		ret = rv_handover_dry_run(sv->handover, binary, state_fd,
					  timeout_ns, err, errlen);
	if (!ret)
		ret = exec_new(sv, binary, &keep, state_fd, err, errlen);
	rv_loop_unquiesce(sv->loop);
	/* failed: what the exec would have freed */
	rv_fdkeep_free(&keep);
	if (state_fd >= 0)
		close(state_fd);
	rv_snapshot_free(&snap);
	return ret;
}

int rv_handover_run(struct rv_supervisor *sv, const char *binary,
		    int64_t timeout_ns, char *err, size_t errlen)
{
	int64_t *st = sv->handover->stamp;
	int format, ret;

	memset(st, 0, RV_ST_N * sizeof(*st));
	st[RV_ST_CHECK_BEGIN] = rv_clock_now();
	format = rv_handover_probe(binary, timeout_ns, err, errlen);
	if (format < 0)
		return format;
	/* the dry run's state faults in the pages the final one reuses */
	rv_handover_heap_hold(0);
	ret = hand_over(sv, binary, format, timeout_ns, err, errlen);
	rv_handover_heap_release();
	return ret;
}

void rv_handover_maybe_run(struct rv_supervisor *sv)
{
	struct rv_handover *h = sv->handover;
	struct rv_waiters *ws = rv_control_waiters(sv->control);
	char *binary = sv->reexec.binary, err[600], msg[900];
	int64_t timeout = sv->reexec.timeout_ns ? sv->reexec.timeout_ns :
			  DEFAULT_TIMEOUT_NS;
	const char *why;

	rv_handover_config_changed(sv);
	rv_handover_turn_hook(sv);
	if (!sv->reexec.asked)
		return;
	sv->reexec.asked = false;
	sv->reexec.binary = NULL;
	why = ws && ws->reexec ? NULL : rv_commands_reexec_refusal(sv);
	if (!binary && h && h->exe_path)
		binary = strdup(h->exe_path);
	rv_log_sup(RV_LOG_INFO, "main", "reexec_begin", " binary=%s",
		   binary ? binary : "?");
	if (why) {
		snprintf(msg, sizeof(msg), "%s", why);
		goto out;
	}
	if (!binary || !h || h->exe_fd < 0 || !h->argv)
		snprintf(err, sizeof(err), "the running binary is unknown "
			 "(/proc/self/exe)");
	else
		/* returns only if it failed: on success we are the new image */
		(void)rv_handover_run(sv, binary, timeout, err, sizeof(err));
	snprintf(msg, sizeof(msg), "reexec: %s: %s", binary ? binary : "?",
		 err);
out:
	rv_log_sup(RV_LOG_ERROR, "main", "reexec_failed",
		   " binary=%s error=\"%s\"", binary ? binary : "?", msg);
	if (ws && ws->reexec)
		rv_waiter_answer(ws->reexec, rv_commands_error(msg));
	free(binary);
}

void rv_handover_print_formats(FILE *out)
{
	fprintf(out, "%d %d\n", RV_HANDOVER_FORMAT_MIN, RV_HANDOVER_FORMAT);
}
