/* SPDX-License-Identifier: MIT */
/*
 * Deadlines from outside input saturate (issue 13, item 7): the helper,
 * the formatter of the restart_scheduled line, and a supervisor embedded
 * as examples/embed.c does, whose custom backoff (rv_backoff_fn) answers
 * INT64_MAX: "never", where now + delay used to wrap into the past and
 * restart at once.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/parse.h"
#include "ringvisor.h"
#include "util/deadline.h"
#include "util/log.h"

static void deadline_saturates(void **state)
{
	(void)state;
	assert_true(rv_deadline_after(1000, 5) == 1005);
	assert_true(rv_deadline_after(1000, 0) == 1000);
	assert_true(rv_deadline_after(1000, -7) == 1000);
	assert_true(rv_deadline_after(1000, INT64_MIN) == 1000);
	assert_true(rv_deadline_after(1000, INT64_MAX) == RV_DEADLINE_NEVER);
	assert_true(rv_deadline_after(1000, INT64_MAX - 1000) == INT64_MAX);
	assert_true(rv_deadline_after(1000, INT64_MAX - 1001) ==
		    INT64_MAX - 1);
	assert_true(rv_deadline_after(INT64_MAX, 1) == RV_DEADLINE_NEVER);
	assert_true(rv_deadline_after(0, INT64_MAX) == INT64_MAX);
	assert_true(rv_deadline_after(-5, INT64_MAX) == INT64_MAX - 5);
}

static void fixed3_formats_the_whole_range(void **state)
{
	char b[64];

	(void)state;
	assert_string_equal(rv_format_fixed3(0, 1000000, b, sizeof(b)),
			    "0.000");
	assert_string_equal(rv_format_fixed3(1499, 1000000, b, sizeof(b)),
			    "0.001");
	assert_string_equal(rv_format_fixed3(1500, 1000000, b, sizeof(b)),
			    "0.002");
	assert_string_equal(rv_format_fixed3(250000000, 1000000, b, sizeof(b)),
			    "250.000");
	assert_string_equal(rv_format_fixed3(1234567890, 1000000000, b,
					     sizeof(b)), "1.235");
	assert_string_equal(rv_format_fixed3(-5, 1000000, b, sizeof(b)),
			    "0.000");
	/* 9223372036854.775807 ms: it used to print -9223372036854.-775 */
	assert_string_equal(rv_format_fixed3(INT64_MAX, 1000000, b, sizeof(b)),
			    "9223372036854.776");
	assert_string_equal(rv_format_fixed3(INT64_MAX, 1000000000, b,
					     sizeof(b)), "9223372036.855");
}

/* ---- an embedded supervisor with a custom backoff ---- */

struct embed {
	struct rv_supervisor *sv;
	unsigned int calls;
	char log[96];
	int log_fd;
	const char *cancel_on;	/* a log line that ends the run; NULL: the
				 * backoff call does */
	pthread_t watcher;
};

/*
 * "Never again": the huge delay a library user may well return.  Unless
 * a log line is awaited, the supervisor is asked to end at once; its
 * shutdown comes on the next loop turn, so a restart the overflow made
 * due now would already have been spawned (and logged) in this turn's
 * timer pass.
 */
static int64_t never(void *ctx, const char *service, uint32_t n,
		     int64_t computed_ns)
{
	struct embed *e = ctx;

	(void)service;
	(void)n;
	(void)computed_ns;
	e->calls++;
	if (!e->cancel_on)
		rv_cancel(e->sv);
	return INT64_MAX;
}

/*
 * Ends the run once e->cancel_on is in the log.  A turn's lines are
 * written together when it ends (log.h), so whatever that turn did after
 * the awaited event (a restart) is in the log by then too.
 */
static void *watch_log(void *arg)
{
	struct embed *e = arg;
	static char buf[1 << 20];

	for (int i = 0; i < 20000; i++) {	/* 20 s */
		ssize_t n = pread(e->log_fd, buf, sizeof(buf) - 1, 0);

		if (n > 0) {
			buf[n] = '\0';
			if (strstr(buf, e->cancel_on))
				break;
		}
		usleep(1000);
	}
	rv_cancel(e->sv);
	return NULL;
}

static char *slurp_fd(int fd)
{
	off_t len = lseek(fd, 0, SEEK_END);
	char *text;

	assert_true(len >= 0);
	text = calloc(1, (size_t)len + 1);
	assert_non_null(text);
	assert_int_equal(pread(fd, text, (size_t)len, 0), len);
	return text;
}

static unsigned int count(const char *text, const char *what)
{
	unsigned int n = 0;

	for (const char *p = text; (p = strstr(p, what)); p++)
		n++;
	return n;
}

/*
 * Runs the services (a `s` that fails at once, ...) under a [supervisor]
 * with a control socket of its own, to the end; returns the log.  NULL
 * when io_uring is refused here (epoll must always load).
 */
static char *run_with_never(const char *backend, const char *extra,
			    const char *services, const char *cancel_on,
			    struct embed *e)
{
	struct rv_options opts = { .backend = backend };
	char dir[64] = "/tmp/rv-test-deadline-XXXXXX", sock[96], *text, *log;
	int ret;

	memset(e, 0, sizeof(*e));
	e->cancel_on = cancel_on;
	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/c.sock", dir);
	snprintf(e->log, sizeof(e->log), "%s/log", dir);
	e->log_fd = open(e->log, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(e->log_fd >= 0);
	assert_true(asprintf(&text, "[supervisor]\ncontrol_socket = %s\n%s%s",
			     sock, extra, services) > 0);
	opts.log_fd = e->log_fd;
	ret = rv_supervisor_load_string(&e->sv, text, "t.conf", &opts, stderr);
	free(text);
	if (ret) {
		assert_string_equal(backend, "io_uring");
		unlink(e->log);
		rmdir(dir);
		close(e->log_fd);
		return NULL;
	}
	rv_supervisor_set_backoff(e->sv, never, e);
	if (cancel_on)
		assert_int_equal(pthread_create(&e->watcher, NULL, watch_log,
						e), 0);
	rv_supervisor_run(e->sv);
	if (cancel_on)
		pthread_join(e->watcher, NULL);
	rv_supervisor_free(e->sv);
	rv_log_set_fd(2);
	log = slurp_fd(e->log_fd);
	close(e->log_fd);
	unlink(e->log);
	unlink(sock);
	rmdir(dir);
	return log;
}

static const char *const backends[] = { "io_uring", "epoll" };

static void huge_backoff_means_never(void **state)
{
	const char *text = "[service:s]\ncommand = /bin/sh -c \"exit 3\"\n"
			   "restart = always\n";

	(void)state;
	for (size_t b = 0; b < 2; b++) {
		struct embed e;
		char *log = run_with_never(backends[b], "", text, NULL,
					   &e);

		if (!log) {
			print_message("%s: not available here\n", backends[b]);
			continue;
		}
		assert_int_equal(e.calls, 1);
		/* one start: the restart is not due for 292 years */
		if (count(log, "event=start ") != 1)
			fail_msg("%s: restarted at once:\n%s", backends[b], log);
		if (!strstr(log, "event=restart_scheduled "
				 "delay_ms=9223372036854.776 "))
			fail_msg("%s: delay not logged as saturated:\n%s",
				 backends[b], log);
		free(log);
	}
}

/* one_for_all: the node's restart deadline saturates the same way */
static void huge_backoff_group_restart(void **state)
{
	const char *text = "[service:s]\ncommand = /bin/sh -c \"exit 3\"\n"
			   "restart = always\n"
			   "[service:other]\ncommand = /bin/sleep 30\n";

	(void)state;
	for (size_t b = 0; b < 2; b++) {
		struct embed e;
		const char *gr;
		/* ended once `other` was stopped for the group restart: a
		 * restart due at once would have come in the same turn */
		char *log = run_with_never(backends[b],
					   "strategy = one_for_all\n", text,
					   "service=other event=exit ", &e);

		if (!log) {
			print_message("%s: not available here\n", backends[b]);
			continue;
		}
		assert_int_equal(e.calls, 1);
		/* the line gives the time left until the deadline: ~292
		 * years, where the wrapped sum gave a negative one */
		gr = strstr(log, "event=group_restart ");
		gr = gr ? strstr(gr, " delay_ms=") : NULL;
		if (!gr || strtod(gr + 10, NULL) < 1e12)
			fail_msg("%s: group restart not saturated:\n%s",
				 backends[b], log);
		if (!strstr(log, "service=other event=exit "))
			fail_msg("%s: other was not stopped:\n%s",
				 backends[b], log);
		if (count(log, "service=s event=start ") != 1 ||
		    count(log, "service=other event=start ") != 1)
			fail_msg("%s: restarted at once:\n%s", backends[b], log);
		free(log);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(deadline_saturates),
		cmocka_unit_test(fixed3_formats_the_whole_range),
		cmocka_unit_test(huge_backoff_means_never),
		cmocka_unit_test(huge_backoff_group_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
