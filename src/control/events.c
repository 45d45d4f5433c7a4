/* SPDX-License-Identifier: MIT */
#include "control/events.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config/parse.h"
#include "control/control.h"
#include "control/http.h"
#include "tree/roll.h"
#include "tree/supervisor.h"

/* JSON string escaping for names and reasons (no allocation). */
static size_t put_str(char *buf, size_t len, const char *s)
{
	size_t o = 0;

	if (len < 3)
		return 0;
	buf[o++] = '"';
	for (; s && *s && o + 8 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20) {
			o += (size_t)snprintf(buf + o, len - o, "\\u%04x", ch);
		} else {
			buf[o++] = (char)ch;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return o;
}

/* "2026-01-02T03:04:05.123456Z": the time of an event line. */
static void stamp(char *ts, size_t len)
{
	struct timespec now;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(ts, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, len - n, ".%06ldZ", now.tv_nsec / 1000);
}

/* Whether anyone follows the event stream (control socket or HTTP): the
 * line is not even formatted otherwise. */
static bool followed(const struct rv_supervisor *sv)
{
	return rv_control_has_followers(sv->control) ||
	       rv_http_has_followers(sv->http);
}

/* One event line to every follower of both endpoints. */
static void broadcast(struct rv_supervisor *sv, const char *line, size_t n)
{
	if (rv_control_has_followers(sv->control))
		rv_control_broadcast(sv->control, line, n);
	if (rv_http_has_followers(sv->http))
		rv_http_broadcast(sv->http, line, n);
}

void rv_events_service(struct rv_supervisor *sv, const struct rv_service *s,
		       enum rv_svc_state from, enum rv_svc_state to)
{
	char line[1024], name[300], exit_s[96] = "null", delay[48] = "null";
	char pid[24] = "null";
	char ts[48];
	const struct rv_exit_info *e = &s->last_exit;
	int n;

	if (!followed(sv))
		return;
	stamp(ts, sizeof(ts));
	put_str(name, sizeof(name), s->name);
	if (e->valid && e->signal)
		snprintf(exit_s, sizeof(exit_s),
			 "{\"signal\":\"%s\",\"core_dumped\":%s}",
			 rv_signal_name(e->signal),
			 e->core_dumped ? "true" : "false");
	else if (e->valid)
		snprintf(exit_s, sizeof(exit_s), "{\"code\":%d}", e->code);
	if (s->child.pid > 0)
		snprintf(pid, sizeof(pid), "%d", (int)s->child.pid);
	if (to == RV_SVC_BACKOFF)
		snprintf(delay, sizeof(delay), "%.6f",
			 (double)(s->next_start_ns - rv_loop_now(sv->loop)) /
			 1e9);
	n = snprintf(line, sizeof(line),
		     "{\"time\":\"%s\",\"event\":\"state\","
		     "\"service\":%s,\"from\":\"%s\",\"to\":\"%s\","
		     "\"pid\":%s,\"exit\":%s,\"restarts\":%u,"
		     "\"next_delay_s\":%s}\n",
		     ts, name, rv_svc_state_name(from),
		     rv_svc_state_name(to), pid, exit_s,
		     rv_service_restarts(s), delay);
	if (n > 0 && (size_t)n < sizeof(line))
		broadcast(sv, line, (size_t)n);
}

void rv_events_roll(struct rv_supervisor *sv, const struct rv_roll *r,
		    const char *event, const char *at)
{
	char line[1024], name[300], at_s[300] = "null",
	     reason[80] = "null", ts[48];
	int n;

	if (!followed(sv))
		return;
	stamp(ts, sizeof(ts));
	put_str(name, sizeof(name), r->name);
	if (at && *at)
		put_str(at_s, sizeof(at_s), at);
	if (r->state == RV_ROLL_STOPPED)
		put_str(reason, sizeof(reason), r->reason);
	n = snprintf(line, sizeof(line),
		     "{\"time\":\"%s\",\"event\":\"%s\",\"service\":%s,"
		     "\"at\":%s,\"state\":\"%s\",\"reason\":%s,"
		     "\"replaced\":%u,\"instances\":%u,"
		     "\"max_unavailable\":%u}\n",
		     ts, event, name, at_s, rv_roll_state_name(r->state),
		     reason, r->replaced, r->n, r->max_unavailable);
	if (n > 0 && (size_t)n < sizeof(line))
		broadcast(sv, line, (size_t)n);
}
