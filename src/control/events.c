/* SPDX-License-Identifier: MIT */
#include "control/events.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config/parse.h"
#include "control/control.h"
#include "control/http.h"
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

void rv_events_service(struct rv_supervisor *sv, const struct rv_service *s,
		       enum rv_svc_state from, enum rv_svc_state to)
{
	char line[1024], name[300], exit_s[96] = "null", delay[48] = "null";
	char pid[24] = "null";
	char ts[40];
	const struct rv_exit_info *e = &s->last_exit;
	struct timespec now;
	struct tm tm;
	int n;

	if (!rv_control_has_followers(sv->control) &&
	    !rv_http_has_followers(sv->http))
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
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
		     "{\"time\":\"%s.%06ldZ\",\"event\":\"state\","
		     "\"service\":%s,\"from\":\"%s\",\"to\":\"%s\","
		     "\"pid\":%s,\"exit\":%s,\"restarts\":%u,"
		     "\"next_delay_s\":%s}\n",
		     ts, now.tv_nsec / 1000, name, rv_svc_state_name(from),
		     rv_svc_state_name(to), pid, exit_s,
		     rv_service_restarts(s), delay);
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	if (rv_control_has_followers(sv->control))
		rv_control_broadcast(sv->control, line, (size_t)n);
	if (rv_http_has_followers(sv->http))
		rv_http_broadcast(sv->http, line, (size_t)n);
}
