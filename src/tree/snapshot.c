/* SPDX-License-Identifier: MIT */
/*
 * The tree's state as plain data (snapshot.h): take, check, apply.
 * Matching is by name, with the same index tried first: the new image
 * loaded the same config, so the order normally agrees and a hand-over of
 * 10,000 services does no quadratic scan.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tree/fdpass.h"
#include "tree/isolation.h"
#include "tree/readiness.h"
#include "tree/roll.h"
#include "tree/snapshot.h"
#include "tree/supervisor.h"
#include "tree/window.h"
#include "util/fdkeep.h"
#include "util/log.h"

/* Every reason the tree and the daemon pass as fail_reason. */
static const char *const known_reasons[] = {
	"dependency failed",
	"intensity_exceeded",
	"max_restarts",
	"supervisor_intensity_exceeded",
	"services_failed",
	"critical_failed",
	"signal",
	"cancel",
	"control",
	"loop_failed",		/* main's lifecycle, after the merge */
};

const char *rv_snapshot_reason(const char *text)
{
	if (!text)
		return NULL;
	for (size_t i = 0; i < sizeof(known_reasons) / sizeof(*known_reasons);
	     i++)
		if (!strcmp(text, known_reasons[i]))
			return known_reasons[i];
	return "unknown";
}

static int dup_reason(char **out, const char *reason)
{
	*out = NULL;
	if (!reason)
		return 0;
	*out = strdup(reason);
	return *out ? 0 : -ENOMEM;
}

static int take_window(struct rv_snap_window *out, const struct rv_window *w)
{
	uint32_t n = rv_window_stamps(w, NULL, 0);

	out->n = 0;
	out->stamps = NULL;
	if (!n)
		return 0;
	out->stamps = calloc(n, sizeof(*out->stamps));
	if (!out->stamps)
		return -ENOMEM;
	out->n = rv_window_stamps(w, out->stamps, n);
	return 0;
}

static int take_member(struct rv_snap_member *out, const struct rv_member *m)
{
	out->name = strdup(m->name);
	out->job = m->job;
	out->queued = m->queued;
	out->in_op = m->in_op;
	out->held = m->held;
	out->was_up = m->was_up;
	out->start_seq = m->start_seq;
	return out->name ? 0 : -ENOMEM;
}

static int64_t armed_at(const struct rv_timer *t)
{
	return rv_timer_is_armed(t) ? t->deadline_ns : RV_SNAP_NO_DEADLINE;
}

static int take_stored(struct rv_snap_service *o, const struct rv_service *s)
{
	size_t n = rv_fdstore_count(s);

	if (!n)
		return 0;
	o->stored = calloc(n, sizeof(*o->stored));
	if (!o->stored)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *name;

		o->stored[i].fd = rv_fdstore_at(s, i, &name);
		o->stored[i].name = strdup(name);
		o->n_stored++;
		if (!o->stored[i].name)
			return -ENOMEM;
	}
	return 0;
}

static int take_service(struct rv_snap_service *o, const struct rv_service *s)
{
	int ret;

	/* between clone and the exec report: comes within microseconds */
	if (s->spawn_report_fd >= 0)
		return -EBUSY;
	ret = take_member(&o->m, &s->m);

	o->state = (uint8_t)s->state;
	o->abort = (uint8_t)s->abort;
	o->kill_sent = s->kill_sent;
	o->manual_start = s->manual_start;
	o->pid = s->child.pid;
	o->pidfd = s->child.pid > 0 ? s->child.pidfd : -1;
	o->timer_ns = armed_at(&s->timer);
	o->started_ns = s->started_ns;
	o->next_start_ns = s->next_start_ns;
	o->due_ns = s->due_ns;
	o->backoff_n = s->backoff_n;
	o->restarts = s->restarts;
	o->last_exit = s->last_exit;
	memcpy(o->ends, s->ends, sizeof(o->ends));
	if (!ret)
		ret = dup_reason(&o->fail_reason, s->fail_reason);
	if (!ret)
		ret = take_window(&o->window, &s->window);
	if (!ret)
		ret = rv_ready_take(s, &o->ready);
	if (!ret)
		ret = rv_iso_take(s, o);
	if (!ret)
		ret = take_stored(o, s);
	return ret;
}

static int take_node(struct rv_snap_node *o, const struct rv_node *n)
{
	int ret = take_member(&o->m, &n->m);

	o->state = (uint8_t)n->state;
	o->op = (uint8_t)n->op;
	o->any_failed = n->any_failed;
	o->op_deadline_ns = n->op_deadline_ns;
	o->timer_ns = armed_at(&n->timer);
	o->restarts = n->restarts;
	o->n_terminal = (uint32_t)n->n_terminal;
	if (!ret)
		ret = dup_reason(&o->fail_reason, n->fail_reason);
	if (!ret)
		ret = take_window(&o->window, &n->window);
	return ret;
}

int rv_snapshot_alloc(struct rv_snapshot *snap, size_t n_svcs,
		      size_t n_nodes)
{
	memset(snap, 0, sizeof(*snap));
	snap->svcs = calloc(n_svcs ? n_svcs : 1, sizeof(*snap->svcs));
	snap->nodes = calloc(n_nodes ? n_nodes : 1, sizeof(*snap->nodes));
	if (!snap->svcs || !snap->nodes) {
		rv_snapshot_free(snap);
		return -ENOMEM;
	}
	snap->n_svcs = n_svcs;
	snap->n_nodes = n_nodes;
	for (size_t i = 0; i < n_svcs; i++)
		snap->svcs[i].pidfd = -1;
	return 0;
}

/*
 * What no state can say: a rolling restart (its position is not part of
 * format 1) and a reload whose jobs still run (the tree holds members of
 * two configs then).  Both end on their own; the caller retries.
 */
static int busy(const struct rv_supervisor *sv)
{
	if (sv->reload_jobs)
		return -EALREADY;
	for (size_t i = 0; i < sv->n_svcs; i++)
		if (sv->svcs[i]->roll &&
		    sv->svcs[i]->roll->state == RV_ROLL_RUNNING)
			return -EINPROGRESS;
	return 0;
}

const char *rv_snapshot_strerror(int ret)
{
	switch (ret) {
	case 0:
		return "no error";
	case -EBUSY:
		return "a service is being spawned or checked";
	case -EINPROGRESS:
		return "a rolling restart is in progress";
	case -EALREADY:
		return "a reload is being applied";
	case -ENOMEM:
		return "out of memory";
	default:
		return strerror(-ret);
	}
}

static int take_sockets(struct rv_snapshot *out,
			const struct rv_socket_set *set)
{
	if (!set->n)
		return 0;
	out->sockets = calloc(set->n, sizeof(*out->sockets));
	if (!out->sockets)
		return -ENOMEM;
	for (size_t i = 0; i < set->n; i++) {
		const struct rv_socket *k = &set->v[i];
		struct rv_snap_socket *o = &out->sockets[out->n_sockets++];

		o->fd = k->l.fd;
		o->dev = (uint64_t)k->l.dev;
		o->ino = (uint64_t)k->l.ino;
		o->name = strdup(k->spec->name);
		o->listen = strdup(k->spec->listen);
		if (!o->name || !o->listen)
			return -ENOMEM;
	}
	return 0;
}

static int take_config(struct rv_snapshot *out, const struct rv_specs *sp)
{
	if (!sp->n_sources)
		return 0;
	out->config = calloc(sp->n_sources, sizeof(*out->config));
	if (!out->config)
		return -ENOMEM;
	for (size_t i = 0; i < sp->n_sources; i++) {
		const struct rv_config_source *src = &sp->sources[i];
		struct rv_config_source *o = &out->config[out->n_config++];

		o->path = strdup(src->path);
		o->bytes = malloc(src->len + 1);
		if (!o->path || !o->bytes)
			return -ENOMEM;
		memcpy(o->bytes, src->bytes, src->len + 1);
		o->len = src->len;
	}
	return 0;
}

int rv_snapshot_take(const struct rv_supervisor *sv, struct rv_snapshot *out)
{
	struct rv_snap_supervisor *o = &out->sup;
	int ret = rv_snapshot_alloc(out, sv->n_svcs, sv->n_nodes);

	if (ret)
		return ret;
	o->state = (uint8_t)sv->state;
	o->failing = sv->failing;
	o->initial_start_done = sv->initial_start_done;
	o->exit_code = sv->exit_code;
	o->seq = sv->seq;
	o->rng = sv->rng;
	o->started_ns = sv->started_ns;
	o->shutdown_ns = armed_at(&sv->shutdown_timer);
	o->restart_latency = sv->restart_latency;
	o->reload_queued = sv->reload_queued;
	o->exec_mode = sv->exec_mode;
	o->exec_escalate = sv->exec_escalate;
	o->exec_stop_signal = sv->exec_stop_signal;
	o->exec_child_mask = sv->exec_child_mask;
	o->exec_child_ignored = sv->exec_child_ignored;
	ret = busy(sv);
	if (!ret)
		ret = dup_reason(&o->fail_reason, sv->fail_reason);
	for (int fd = 1; !ret && fd <= 2; fd++) {
		struct rv_out_stream *st = rv_iso_std_stream(sv, fd);

		if (st)
			ret = rv_out_sink_take(st, &o->std_pending[fd],
					       &o->std_pending_len[fd]);
	}
	if (!ret)
		ret = take_sockets(out, &sv->sockets);
	if (!ret)
		ret = take_config(out, sv->specs);
	for (size_t i = 0; !ret && i < sv->n_svcs; i++)
		ret = take_service(&out->svcs[i], sv->svcs[i]);
	for (size_t i = 0; !ret && i < sv->n_nodes; i++)
		ret = take_node(&out->nodes[i], sv->nodes[i]);
	if (ret)
		rv_snapshot_free(out);
	return ret;
}

static void free_member(struct rv_snap_member *m, char *reason,
			struct rv_snap_window *w)
{
	free(m->name);
	free(reason);
	free(w->stamps);
}

static void free_stream(struct rv_out_state *st)
{
	if (st)
		rv_out_state_free(st);
	free(st);
}

static void free_service_extras(struct rv_snap_service *o)
{
	free_stream(o->out);
	free_stream(o->err);
	if (o->logs) {
		free(o->logs->lines);
		free(o->logs->text);
		free(o->logs->piece[0]);
		free(o->logs->piece[1]);
		free(o->logs);
	}
	for (uint32_t i = 0; o->stored && i < o->n_stored; i++)
		free(o->stored[i].name);
	free(o->stored);
}

void rv_snapshot_free(struct rv_snapshot *snap)
{
	for (size_t i = 0; snap->svcs && i < snap->n_svcs; i++) {
		struct rv_snap_ready *r = snap->svcs[i].ready;

		free_member(&snap->svcs[i].m, snap->svcs[i].fail_reason,
			    &snap->svcs[i].window);
		if (r)
			free(r->status);
		free(r);
		free_service_extras(&snap->svcs[i]);
	}
	for (size_t i = 0; snap->nodes && i < snap->n_nodes; i++)
		free_member(&snap->nodes[i].m, snap->nodes[i].fail_reason,
			    &snap->nodes[i].window);
	free(snap->svcs);
	free(snap->nodes);
	free(snap->sup.fail_reason);
	for (int fd = 1; fd <= 2; fd++)
		free(snap->sup.std_pending[fd]);
	for (size_t i = 0; snap->sockets && i < snap->n_sockets; i++) {
		free(snap->sockets[i].name);
		free(snap->sockets[i].listen);
	}
	free(snap->sockets);
	rv_config_sources_free(snap->config, snap->n_config);
	free(snap->daemon.notify_socket);
	memset(snap, 0, sizeof(*snap));
}

/* ---- apply: check everything, then write ---- */

__attribute__((format(printf, 3, 4)))
static int refuse(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *svc_name(const struct rv_supervisor *sv, size_t k)
{
	return sv->svcs[k]->m.name;
}

static const char *node_name(const struct rv_supervisor *sv, size_t k)
{
	return sv->nodes[k]->m.name;
}

/* The index k < n whose name_at(sv, k) is name, trying i first; n if
 * there is none. */
static size_t find(const struct rv_supervisor *sv, size_t n,
		   const char *(*name_at)(const struct rv_supervisor *, size_t),
		   size_t i, const char *name)
{
	if (i < n && !strcmp(name_at(sv, i), name))
		return i;
	for (size_t k = 0; k < n; k++)
		if (!strcmp(name_at(sv, k), name))
			return k;
	return n;
}

static size_t find_service(const struct rv_supervisor *sv, size_t i,
			   const char *name)
{
	return find(sv, sv->n_svcs, svc_name, i, name);
}

static size_t find_node(const struct rv_supervisor *sv, size_t i,
			const char *name)
{
	return find(sv, sv->n_nodes, node_name, i, name);
}

static bool has_process(uint8_t state)
{
	return state == RV_SVC_STARTING || state == RV_SVC_RUNNING ||
	       state == RV_SVC_STOPPING;
}

static int check_service(const struct rv_snap_service *o,
			 const struct rv_service *s, char *err, size_t errlen)
{
	const char *n = o->m.name;

	if (!o->ready != !s->ready)
		return refuse(err, errlen, "service %s: readiness state %s, "
			      "the config says %s", n,
			      o->ready ? "given" : "missing",
			      s->ready ? "notify or checks" : "none");
	if (o->ready && o->ready->ready_fd >= 0 && !has_process(o->state))
		return refuse(err, errlen, "service %s: a ready_fd pipe in "
			      "state %s", n, rv_svc_state_name(o->state));

	if (o->state >= RV_SVC_NSTATES)
		return refuse(err, errlen, "service %s: state %u unknown", n,
			      o->state);
	if (o->m.job >= RV_JOB_NTYPES)
		return refuse(err, errlen, "service %s: job %u unknown", n,
			      o->m.job);
	if (o->abort > RV_ABORT_HEALTH)
		return refuse(err, errlen, "service %s: abort %u unknown", n,
			      o->abort);
	if (has_process(o->state) != (o->pid > 0))
		return refuse(err, errlen, "service %s: %s %s a process (pid "
			      "%d)", n, rv_svc_state_name(o->state),
			      has_process(o->state) ? "without" : "with",
			      (int)o->pid);
	if (o->pid > 0 && o->pidfd < 0)
		return refuse(err, errlen, "service %s: pid %d without a "
			      "pidfd", n, (int)o->pid);
	if (o->timer_ns != RV_SNAP_NO_DEADLINE &&
	    o->state != RV_SVC_BACKOFF && o->state != RV_SVC_STOPPING)
		return refuse(err, errlen, "service %s: a timer in state %s",
			      n, rv_svc_state_name(o->state));
	if (o->n_stored > rv_fdstore_max(s))
		return refuse(err, errlen, "service %s: %u stored fds, "
			      "fd_store_max is %zu", n, o->n_stored,
			      rv_fdstore_max(s));
	for (uint32_t i = 0; i < o->n_stored; i++)
		if (!rv_fdname_valid(o->stored[i].name))
			return refuse(err, errlen, "service %s: stored fd %d: "
				      "FDNAME \"%s\" not valid", n,
				      o->stored[i].fd, o->stored[i].name);
	return rv_iso_check(s, o, err, errlen);
}

static int check_node(const struct rv_snap_node *o, const struct rv_node *n,
		      char *err, size_t errlen)
{
	const char *name = o->m.name;

	if (o->state >= RV_NODE_NSTATES)
		return refuse(err, errlen, "supervisor %s: state %u unknown",
			      name, o->state);
	if (o->m.job >= RV_JOB_NTYPES)
		return refuse(err, errlen, "supervisor %s: job %u unknown",
			      name, o->m.job);
	if (o->op > RV_OP_FAIL)
		return refuse(err, errlen, "supervisor %s: operation %u "
			      "unknown", name, o->op);
	if (o->n_terminal > n->n_members)
		return refuse(err, errlen, "supervisor %s: %u members ended "
			      "of %zu", name, o->n_terminal, n->n_members);
	return 0;
}

/*
 * Each snapshot entry's member in sv (svcs[i], nodes[i]): every member
 * once, both ways.  seen has room for n_svcs + n_nodes marks.
 */
static int match(struct rv_supervisor *sv, const struct rv_snapshot *snap,
		 struct rv_service **svcs, struct rv_node **nodes, bool *seen,
		 char *err, size_t errlen)
{
	int ret = 0;

	if (snap->n_svcs != sv->n_svcs || snap->n_nodes != sv->n_nodes)
		return refuse(err, errlen, "the state has %zu services and %zu "
			      "supervisors, the config %zu and %zu: not the "
			      "config the tree was built from", snap->n_svcs,
			      snap->n_nodes, sv->n_svcs, sv->n_nodes);
	for (size_t i = 0; !ret && i < snap->n_svcs; i++) {
		const struct rv_snap_service *o = &snap->svcs[i];
		size_t k = find_service(sv, i, o->m.name);

		if (k == sv->n_svcs)
			return refuse(err, errlen, "service %s: in the state, "
				      "not in the config", o->m.name);
		if (seen[k])
			return refuse(err, errlen, "service %s: twice in the "
				      "state", o->m.name);
		seen[k] = true;
		svcs[i] = sv->svcs[k];
		ret = check_service(o, svcs[i], err, errlen);
	}
	seen += sv->n_svcs;
	for (size_t i = 0; !ret && i < snap->n_nodes; i++) {
		const struct rv_snap_node *o = &snap->nodes[i];
		size_t k = find_node(sv, i, o->m.name);

		if (k == sv->n_nodes)
			return refuse(err, errlen, "supervisor %s: in the "
				      "state, not in the config", o->m.name);
		if (seen[k])
			return refuse(err, errlen, "supervisor %s: twice in "
				      "the state", o->m.name);
		seen[k] = true;
		nodes[i] = sv->nodes[k];
		ret = check_node(o, nodes[i], err, errlen);
	}
	if (!ret && snap->sup.state > RV_SUP_FAILED)
		ret = refuse(err, errlen, "supervisor state %u unknown",
			     snap->sup.state);
	if (!ret && snap->sup.exec_mode != sv->exec_mode)
		ret = refuse(err, errlen, "the state is of ringvisor %s, this "
			     "tree of %s", snap->sup.exec_mode ? "exec" : "run",
			     sv->exec_mode ? "exec" : "run");
	for (int fd = 1; !ret && fd <= 2; fd++) {
		struct rv_out_stream *st = rv_iso_std_stream(sv, fd);
		size_t len = snap->sup.std_pending_len[fd];

		if (len && (!st || len > rv_out_sink_room(st)))
			ret = refuse(err, errlen, "%zu bytes for ringvisor's "
				     "%s, %s", len, fd == 1 ? "stdout" :
				     "stderr", st ? "more than it holds" :
				     "where no service writes");
	}
	return ret;
}

static void apply_member(struct rv_member *m, const struct rv_snap_member *o)
{
	m->job = o->job;
	m->queued = o->queued;
	m->in_op = o->in_op;
	m->held = o->held;
	m->was_up = o->was_up;
	m->start_seq = o->start_seq;
}

static void apply_service(struct rv_service *s,
			  const struct rv_snap_service *o)
{
	apply_member(&s->m, &o->m);
	s->state = (enum rv_svc_state)o->state;
	s->abort = (enum rv_abort)o->abort;
	s->kill_sent = o->kill_sent;
	s->manual_start = o->manual_start;
	s->child.pid = o->pid;
	s->child.pidfd = o->pid > 0 ? o->pidfd : -1;
	s->started_ns = o->started_ns;
	s->next_start_ns = o->next_start_ns;
	s->due_ns = o->due_ns;
	s->backoff_n = o->backoff_n;
	s->restarts = o->restarts;
	s->fail_reason = rv_snapshot_reason(o->fail_reason);
	s->last_exit = o->last_exit;
	memcpy(s->ends, o->ends, sizeof(s->ends));
	rv_window_restore(&s->window, o->window.stamps, o->window.n);
	if (o->ready)
		rv_ready_apply(s, o->ready);
}

static void apply_node(struct rv_node *n, const struct rv_snap_node *o)
{
	apply_member(&n->m, &o->m);
	n->state = (enum rv_node_state)o->state;
	n->op = (enum rv_node_op)o->op;
	n->any_failed = o->any_failed;
	n->op_deadline_ns = o->op_deadline_ns;
	n->restarts = o->restarts;
	n->n_terminal = o->n_terminal;
	n->fail_reason = rv_snapshot_reason(o->fail_reason);
	rv_window_restore(&n->window, o->window.stamps, o->window.n);
}

static void apply_supervisor(struct rv_supervisor *sv,
			     const struct rv_snap_supervisor *o)
{
	sv->state = (enum rv_sup_state)o->state;
	sv->failing = o->failing;
	sv->initial_start_done = o->initial_start_done;
	sv->exit_code = o->exit_code;
	sv->seq = o->seq;
	sv->rng = o->rng ? o->rng : sv->rng;	/* xorshift: never 0 */
	sv->started_ns = o->started_ns;
	sv->fail_reason = rv_snapshot_reason(o->fail_reason);
	sv->restart_latency = o->restart_latency;
	sv->reload_queued = o->reload_queued;
	sv->exec_escalate = o->exec_escalate;
	sv->exec_stop_signal = o->exec_stop_signal;
	sv->exec_child_mask = o->exec_child_mask;
	sv->exec_child_ignored = o->exec_child_ignored;
}

/* `unsettled` is derived from the state: counted again from the
 * restored states. */
static void recount_unsettled(struct rv_supervisor *sv)
{
	for (size_t i = 0; i < sv->n_svcs; i++)
		sv->svcs[i]->m.unsettled = false;
	for (size_t i = 0; i < sv->n_nodes; i++)
		sv->nodes[i]->m.unsettled = false;
	sv->n_unsettled = 0;
	for (size_t i = 0; i < sv->n_svcs; i++)
		rv_member_update_settled(&sv->svcs[i]->m);
	for (size_t i = 0; i < sv->n_nodes; i++)
		rv_member_update_settled(&sv->nodes[i]->m);
}

int rv_snapshot_apply(struct rv_supervisor *sv,
		      const struct rv_snapshot *snap, char *err,
		      size_t errlen)
{
	struct rv_service **svcs = calloc(snap->n_svcs + 1, sizeof(*svcs));
	struct rv_node **nodes = calloc(snap->n_nodes + 1, sizeof(*nodes));
	bool *seen = calloc(sv->n_svcs + sv->n_nodes + 1, sizeof(*seen));
	int ret = -ENOMEM;

	if (!svcs || !nodes || !seen) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	ret = match(sv, snap, svcs, nodes, seen, err, errlen);
	if (ret)
		goto out;
	/* match() filled every slot when it returned 0; the checks say so
	 * to the reader (and to clang-tidy, which cannot follow it). */
	for (size_t i = 0; i < snap->n_svcs; i++)
		if (svcs[i])
			apply_service(svcs[i], &snap->svcs[i]);
	for (size_t i = 0; i < snap->n_nodes; i++)
		if (nodes[i])
			apply_node(nodes[i], &snap->nodes[i]);
	apply_supervisor(sv, &snap->sup);
	recount_unsettled(sv);
out:
	free(seen);
	free(svcs);
	free(nodes);
	return ret;
}

/*
 * What the outputs hold and the crossed descriptors into the tree: here
 * and not in apply, so that a dry run (apply without arm) writes no
 * byte of the old image's output when its tree is freed.
 */
static void arm_descriptors(struct rv_service *s,
			    const struct rv_snap_service *o)
{
	if (rv_iso_apply(s, o))
		rv_log_svc(RV_LOG_ERROR, s->name, "output_state_lost",
			   " errno=%d", ENOMEM);
	rv_iso_adopt_pipes(s, o);
	for (uint32_t i = 0; i < o->n_stored; i++)
		if (rv_fdstore_restore(s, o->stored[i].fd, o->stored[i].name))
			close(o->stored[i].fd);	/* checked by apply */
}

void rv_snapshot_arm(struct rv_supervisor *sv, const struct rv_snapshot *snap)
{
	/* the shared sinks' bytes go before any stream writes again */
	for (int fd = 1; fd <= 2; fd++) {
		struct rv_out_stream *st = rv_iso_std_stream(sv, fd);

		/* match() checked it fits */
		if (st && snap->sup.std_pending_len[fd])
			rv_out_sink_restore(st, snap->sup.std_pending[fd],
					    snap->sup.std_pending_len[fd]);
	}
	for (size_t i = 0; i < snap->n_svcs; i++) {
		size_t k = find_service(sv, i, snap->svcs[i].m.name);

		if (k == sv->n_svcs)
			continue;
		if (snap->svcs[i].timer_ns != RV_SNAP_NO_DEADLINE)
			rv_loop_timer_arm(sv->loop, &sv->svcs[k]->timer,
					  snap->svcs[i].timer_ns);
		if (snap->svcs[i].ready)
			rv_ready_arm(sv->svcs[k], snap->svcs[i].ready);
		arm_descriptors(sv->svcs[k], &snap->svcs[i]);
	}
	for (size_t i = 0; i < snap->n_nodes; i++) {
		size_t k = find_node(sv, i, snap->nodes[i].m.name);

		if (k < sv->n_nodes &&
		    snap->nodes[i].timer_ns != RV_SNAP_NO_DEADLINE)
			rv_loop_timer_arm(sv->loop, &sv->nodes[k]->timer,
					  snap->nodes[i].timer_ns);
	}
	if (snap->sup.shutdown_ns != RV_SNAP_NO_DEADLINE)
		rv_loop_timer_arm(sv->loop, &sv->shutdown_timer,
				  snap->sup.shutdown_ns);
	/* a reload asked during the hand-over runs after it */
	if (snap->sup.reload_queued)
		rv_loop_timer_arm(sv->loop, &sv->reload_timer,
				  rv_loop_now(sv->loop));
	/* the services the state brought no pipe for (new in the config,
	 * or kept none) get theirs now, before any spawn */
	for (size_t k = 0; k < sv->n_svcs; k++)
		if (rv_iso_make_pipes(sv->svcs[k]))
			rv_log_svc(RV_LOG_ERROR, sv->svcs[k]->name,
				   "output_state_lost", " errno=%d", ENOMEM);
	sv->pipes_later = false;
}

/* ---- descriptors ---- */

static int keep_stream(struct rv_fdkeep *keep, const struct rv_out_state *st,
		       const char *which, const char *owner)
{
	int ret = rv_fdkeep_add(keep, st->rfd, which, owner);

	return ret ? ret : rv_fdkeep_add(keep, st->wfd, which, owner);
}

int rv_snapshot_keep_fds(const struct rv_snapshot *snap,
			 struct rv_fdkeep *keep)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < snap->n_svcs; i++) {
		const struct rv_snap_service *o = &snap->svcs[i];

		if (o->pid > 0)
			ret = rv_fdkeep_add(keep, o->pidfd, "pidfd", o->m.name);
		if (!ret && o->ready && o->ready->ready_fd >= 0)
			ret = rv_fdkeep_add(keep, o->ready->ready_fd,
					    "ready_fd", o->m.name);
		if (!ret && o->out)
			ret = keep_stream(keep, o->out, "stdout", o->m.name);
		if (!ret && o->err)
			ret = keep_stream(keep, o->err, "stderr", o->m.name);
		for (uint32_t k = 0; !ret && k < o->n_stored; k++)
			ret = rv_fdkeep_add(keep, o->stored[k].fd, "fd_store",
					    o->m.name);
	}
	for (size_t i = 0; !ret && i < snap->n_sockets; i++)
		ret = rv_fdkeep_add(keep, snap->sockets[i].fd, "socket",
				    snap->sockets[i].name);
	return ret;
}

static int adopt_one(int fd, enum rv_fd_kind kind, const char *role,
		     const char *owner, char *err, size_t errlen)
{
	char what[160];

	snprintf(what, sizeof(what), "%s of %s", role, owner);
	return rv_fd_adopt(fd, kind, 0, what, err, errlen);
}

static int adopt_stream(const struct rv_out_state *st, const char *which,
			const char *owner, char *err, size_t errlen)
{
	int ret = adopt_one(st->rfd, RV_FD_FIFO, which, owner, err, errlen);

	return ret ? ret : adopt_one(st->wfd, RV_FD_FIFO, which, owner, err,
				     errlen);
}

int rv_snapshot_adopt_fds(const struct rv_snapshot *snap, char *err,
			  size_t errlen)
{
	char what[160];
	int ret = 0;

	for (size_t i = 0; !ret && i < snap->n_svcs; i++) {
		const struct rv_snap_service *o = &snap->svcs[i];

		if (o->pid > 0) {
			snprintf(what, sizeof(what), "pidfd of %s", o->m.name);
			ret = rv_fd_adopt(o->pidfd, RV_FD_PIDFD, o->pid, what,
					  err, errlen);
		}
		if (!ret && o->ready && o->ready->ready_fd >= 0)
			ret = adopt_one(o->ready->ready_fd, RV_FD_FIFO,
					"ready_fd", o->m.name, err, errlen);
		if (!ret && o->out)
			ret = adopt_stream(o->out, "stdout", o->m.name, err,
					   errlen);
		if (!ret && o->err)
			ret = adopt_stream(o->err, "stderr", o->m.name, err,
					   errlen);
		for (uint32_t k = 0; !ret && k < o->n_stored; k++)
			ret = adopt_one(o->stored[k].fd, RV_FD_ANY,
					"stored fd", o->m.name, err, errlen);
	}
	for (size_t i = 0; !ret && i < snap->n_sockets; i++)
		ret = adopt_one(snap->sockets[i].fd, RV_FD_SOCKET, "socket",
				snap->sockets[i].name, err, errlen);
	return ret;
}

/* ---- held sockets, outputs, names ---- */

int rv_snapshot_sockets(const struct rv_snapshot *snap,
			const struct rv_specs *specs,
			struct rv_socket_set *old, char *err, size_t errlen)
{
	old->v = NULL;
	old->n = 0;
	if (snap->n_sockets != specs->n_sockets)
		return refuse(err, errlen, "the state holds %zu sockets, the "
			      "config has %zu", snap->n_sockets,
			      specs->n_sockets);
	if (!snap->n_sockets)
		return 0;
	old->v = calloc(snap->n_sockets, sizeof(*old->v));
	if (!old->v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < snap->n_sockets; i++) {
		const struct rv_snap_socket *o = &snap->sockets[i];
		const struct rv_socket_spec *k = NULL;

		for (size_t j = 0; !k && j < specs->n_sockets; j++)
			if (!strcmp(specs->sockets[j].name, o->name))
				k = &specs->sockets[j];
		for (size_t j = 0; j < old->n; j++)
			if (old->v[j].spec == k)
				k = NULL;	/* twice */
		if (!k || strcmp(k->listen, o->listen)) {
			free(old->v);
			old->v = NULL;
			old->n = 0;
			return refuse(err, errlen, "socket %s (%s): %s", o->name,
				      o->listen, !k ? "not in the config, or "
				      "twice in the state" : "the config gives "
				      "it another address");
		}
		old->v[old->n++] = (struct rv_socket){
			.spec = k,
			.l = { o->fd, (dev_t)o->dev, (ino_t)o->ino },
		};
	}
	return 0;
}

size_t rv_snapshot_flush_outputs(struct rv_supervisor *sv,
				 int64_t deadline_ns)
{
	size_t held = 0;

	for (size_t i = 0; i < sv->n_svcs; i++)
		held += rv_iso_flush(sv->svcs[i], deadline_ns);
	return held;
}

const char *rv_snap_counter_name(enum rv_snap_counter c)
{
	static const char *const names[] = {
		[RV_SNAP_LOOP_TURNS] = "loop_turns",
		[RV_SNAP_LOOP_COMPLETIONS] = "loop_completions",
		[RV_SNAP_CHILDREN_REAPED] = "children_reaped",
		[RV_SNAP_ORPHANS_REAPED] = "orphans_reaped",
		[RV_SNAP_NOTIFY_RECEIVED] = "notify_received",
		[RV_SNAP_NOTIFY_DELIVERED] = "notify_delivered",
		[RV_SNAP_NOTIFY_OVERSIZE] = "notify_dropped_oversize",
		[RV_SNAP_NOTIFY_NO_CREDS] = "notify_dropped_no_creds",
		[RV_SNAP_NOTIFY_CTRUNC] = "notify_dropped_ctrunc",
		[RV_SNAP_NOTIFY_INVALID] = "notify_dropped_invalid",
		[RV_SNAP_NOTIFY_UNKNOWN_SENDER] =
			"notify_dropped_unknown_sender",
		[RV_SNAP_NOTIFY_FDS_CLOSED] = "notify_fds_closed",
	};

	return c < RV_SNAP_NCOUNTERS ? names[c] : "unknown";
}
