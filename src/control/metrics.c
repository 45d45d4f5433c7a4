/* SPDX-License-Identifier: MIT */
/*
 * `ringvisor metrics`: Prometheus text exposition (version 0.0.4).  Names
 * follow the conventions: ringvisor_ prefix, _total for counters,
 * _seconds for times.  Two histograms no other supervisor exposes:
 * restart latency (restart due -> replacement exec'd) and timer lateness
 * (how late each deadline fired).
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "control/commands.h"
#include "control/control.h"
#include "control/http.h"
#include "control/notify.h"
#include "loop_stats.h"
#include "tree/supervisor.h"
#include "ringvisor.h"

static const char *const end_names[RV_END_NREASONS] = {
	[RV_END_SUCCESS] = "success",	  [RV_END_EXIT_CODE] = "exit_code",
	[RV_END_SIGNAL] = "signal",	  [RV_END_FAILED_START] = "failed_start",
	[RV_END_TIMEOUT] = "ready_timeout", [RV_END_WATCHDOG] = "watchdog",
	[RV_END_HEALTH] = "health_check", [RV_END_STOPPED] = "stopped",
};

static void head(FILE *f, const char *name, const char *type,
		 const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void timer_lateness(FILE *f, const struct rv_loop *loop)
{
	const char *name = "ringvisor_timer_lateness_seconds";
	struct rv_timer_lateness t;
	uint64_t cum = 0;

	rv_loop_get_timer_lateness(loop, &t);
	head(f, name, "histogram",
	     "How late deadline timers fired, versus their deadline.");
	for (unsigned int i = 0; i + 1 < RV_LATENESS_BUCKETS; i++) {
		cum += t.buckets[i];
		fprintf(f, "%s_bucket{le=\"%.9g\"} %llu\n", name,
			(double)rv_timer_lateness_bucket_end(i) / 1e9,
			(unsigned long long)cum);
	}
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name,
		(unsigned long long)t.count);
	fprintf(f, "%s_sum %.9f\n%s_count %llu\n", name,
		(double)t.sum_ns / 1e9, name, (unsigned long long)t.count);
	/* what precision mode costs: CPU per deadline = spin / count */
	name = "ringvisor_timer_spin_seconds_total";
	head(f, name, "counter",
	     "CPU spent spinning to deadlines (timer_precision = spin:...).");
	fprintf(f, "%s %.9f\n", name, (double)t.spin_ns / 1e9);
	name = "ringvisor_timer_spin_misses_total";
	head(f, name, "counter",
	     "Precision-mode wake-ups that came after the deadline.");
	fprintf(f, "%s %llu\n", name, (unsigned long long)t.misses);
	name = "ringvisor_timer_spin_window_seconds";
	head(f, name, "gauge",
	     "How early the loop wakes before a deadline to spin (spin:auto: learnt).");
	fprintf(f, "%s %.9f\n", name, (double)t.spin_window_ns / 1e9);
}

/* What the notify socket received, by result; zeros without one. */
static void notify_datagrams(FILE *f, const struct rv_supervisor *sv)
{
	const char *name = "ringvisor_notify_datagrams_total";
	struct rv_notify_stats st = { 0 };

	if (sv->notify)
		rv_notify_get_stats(sv->notify, &st);
	const struct {
		const char *result;
		uint64_t n;
	} rows[] = {
		{ "accepted", st.delivered },
		{ "unknown_sender", st.dropped_unknown_sender },
		{ "invalid", st.dropped_invalid },
		{ "oversize", st.dropped_oversize },
		{ "no_credentials", st.dropped_no_creds },
		{ "control_truncated", st.dropped_ctrunc },
	};

	head(f, name, "counter",
	     "Datagrams read from the notify socket, by result (all but "
	     "accepted were dropped).");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		fprintf(f, "%s{result=\"%s\"} %llu\n", name, rows[i].result,
			(unsigned long long)rows[i].n);
}

/* A CLOCK_MONOTONIC instant as Unix time (the clock Prometheus's
 * *_start_time_seconds convention uses). */
static double wall_seconds(int64_t mono_ns, int64_t now_mono_ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 -
	       (double)(now_mono_ns - mono_ns) / 1e9;
}

/* What the process is, and when it started. */
static void identity(FILE *f, struct rv_supervisor *sv, int64_t now)
{
	head(f, "ringvisor_build_info", "gauge",
	     "Always 1; the labels say which ringvisor this is.");
	fprintf(f, "ringvisor_build_info{version=\"%s\",backend=\"%s\"} 1\n",
		RINGVISOR_VERSION, rv_loop_backend_name(sv->loop));
	head(f, "ringvisor_start_time_seconds", "gauge",
	     "When the supervisor started, in seconds since the Unix epoch.");
	fprintf(f, "ringvisor_start_time_seconds %.3f\n",
		wall_seconds(sv->started_ns, now));
}

/* The nested [supervisor:NAME] nodes: state and restarts, by name. */
static void supervisors(FILE *f, const struct rv_supervisor *sv)
{
	head(f, "ringvisor_supervisor_state", "gauge",
	     "1 for the state the nested supervisor is in.");
	for (size_t i = 1; i < sv->n_nodes; i++)
		for (int k = 0; k < RV_NODE_NSTATES; k++)
			fprintf(f, "ringvisor_supervisor_state{supervisor="
				"\"%s\",state=\"%s\"} %d\n",
				sv->nodes[i]->m.name,
				rv_node_state_name((enum rv_node_state)k),
				sv->nodes[i]->state == (enum rv_node_state)k);
	head(f, "ringvisor_supervisor_restarts_total", "counter",
	     "Restarts the nested supervisor's strategy performed.");
	for (size_t i = 1; i < sv->n_nodes; i++)
		fprintf(f, "ringvisor_supervisor_restarts_total{supervisor="
			"\"%s\"} %u\n", sv->nodes[i]->m.name,
			sv->nodes[i]->restarts);
}

char *rv_metrics_text(struct rv_supervisor *sv)
{
	int64_t now = rv_clock_now();
	struct rv_loop_stats st;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	rv_loop_get_stats(sv->loop, &st);
	head(f, "ringvisor_up", "gauge", "1 while the supervisor is alive.");
	fprintf(f, "ringvisor_up{state=\"%s\",backend=\"%s\"} %d\n",
		rv_sup_state_name(sv->state), rv_loop_backend_name(sv->loop),
		sv->state == RV_SUP_ALIVE);
	identity(f, sv, now);
	head(f, "ringvisor_uptime_seconds", "gauge",
	     "Time since the supervisor started.");
	fprintf(f, "ringvisor_uptime_seconds %.3f\n",
		(double)(now - sv->started_ns) / 1e9);
	head(f, "ringvisor_loop_iterations_total", "counter",
	     "Turns of the event loop.");
	fprintf(f, "ringvisor_loop_iterations_total %llu\n",
		(unsigned long long)st.turns);
	head(f, "ringvisor_loop_completions_total", "counter",
	     "Completions (io_uring CQEs or epoll events) handled.");
	fprintf(f, "ringvisor_loop_completions_total %llu\n",
		(unsigned long long)st.completions);
	head(f, "ringvisor_children_reaped_total", "counter",
	     "Child exits reaped, services and orphans.");
	fprintf(f, "ringvisor_children_reaped_total{kind=\"service\"} %llu\n"
		"ringvisor_children_reaped_total{kind=\"orphan\"} %llu\n",
		(unsigned long long)st.children_reaped,
		(unsigned long long)st.orphans_reaped);
	head(f, "ringvisor_control_connections", "gauge",
	     "Open control socket connections.");
	fprintf(f, "ringvisor_control_connections %zu\n",
		rv_control_connections(sv->control));
	head(f, "ringvisor_http_connections", "gauge",
	     "Open connections to the HTTP endpoint (http_listen).");
	fprintf(f, "ringvisor_http_connections %zu\n",
		rv_http_connections(sv->http));

	notify_datagrams(f, sv);

	head(f, "ringvisor_service_restarts_total", "counter",
	     "Restarts of the service.");
	for (size_t i = 0; i < sv->n_svcs; i++)
		fprintf(f, "ringvisor_service_restarts_total{service=\"%s\"}"
			" %u\n", sv->svcs[i]->name, sv->svcs[i]->restarts);
	head(f, "ringvisor_service_exits_total", "counter",
	     "Ends of the service's processes, by reason.");
	for (size_t i = 0; i < sv->n_svcs; i++)
		for (int r = 0; r < RV_END_NREASONS; r++)
			fprintf(f, "ringvisor_service_exits_total{service="
				"\"%s\",reason=\"%s\"} %llu\n",
				sv->svcs[i]->name, end_names[r],
				(unsigned long long)sv->svcs[i]->ends[r]);
	head(f, "ringvisor_service_state", "gauge",
	     "1 for the state the service is in.");
	for (size_t i = 0; i < sv->n_svcs; i++) {
		const struct rv_service *s = sv->svcs[i];

		for (int k = RV_SVC_STOPPED; k < RV_SVC_NSTATES; k++) {
			fprintf(f, "ringvisor_service_state{service=\"%s\","
				"state=\"%s\"} %d\n", s->name,
				rv_svc_state_name((enum rv_svc_state)k),
				s->state == (enum rv_svc_state)k);
		}
	}
	head(f, "ringvisor_service_uptime_seconds", "gauge",
	     "Time since the service's process started (0 when down).");
	for (size_t i = 0; i < sv->n_svcs; i++) {
		const struct rv_service *s = sv->svcs[i];

		fprintf(f, "ringvisor_service_uptime_seconds{service=\"%s\"}"
			" %.3f\n", s->name, s->child.pid > 0 ?
			(double)(now - s->started_ns) / 1e9 : 0.0);
	}
	head(f, "ringvisor_service_start_time_seconds", "gauge",
	     "When the service's current process started, in seconds since "
	     "the Unix epoch (services with a process only).");
	for (size_t i = 0; i < sv->n_svcs; i++) {
		const struct rv_service *s = sv->svcs[i];

		if (s->child.pid > 0)
			fprintf(f, "ringvisor_service_start_time_seconds"
				"{service=\"%s\"} %.3f\n", s->name,
				wall_seconds(s->started_ns, now));
	}
	supervisors(f, sv);
	head(f, "ringvisor_restart_latency_seconds", "histogram",
	     "From a restart being due (exit seen, or backoff over) to the "
	     "replacement's exec.");
	rv_histogram_write(&sv->restart_latency, f,
			   "ringvisor_restart_latency_seconds", "");
	timer_lateness(f, sv->loop);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}
