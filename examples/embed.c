// SPDX-License-Identifier: MIT
/*
 * embed: a program that supervises its own children with libringvisor.
 *
 * Two services: "flaky" exits 3 a moment after each start and is restarted
 * with a custom backoff (25 ms, 50 ms, 75 ms, ...: linear, replacing the
 * configured formula); "steady" just runs.  A second thread waits until
 * flaky has been restarted RESTARTS times (or DEADLINE_S has passed) and
 * calls rv_cancel(), which stops both services gracefully from outside the
 * loop thread.  Exit status: 0 when all of that happened as described.
 *
 * Build against the installed package (libringvisor-dev):
 *   cc -o embed embed.c $(pkg-config --cflags --libs ringvisor) -pthread
 * or `make` with the Makefile beside this file.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <ringvisor.h>

#define RESTARTS 3
#define DEADLINE_S 10
#define STEP_NS (25 * 1000000LL)

static const char config[] =
	"[supervisor]\n"
	"max_restarts = infinity\n"
	"shutdown_timeout = 5s\n"
	"\n"
	"[service:flaky]\n"
	"command = /bin/sh -c \"sleep 0.05; exit 3\"\n"
	"restart = on-failure\n"
	"max_restarts = infinity\n"
	"\n"
	"[service:steady]\n"
	"command = /bin/sleep 3600\n"
	"stop_timeout = 2s\n";

struct backoff_state {
	atomic_uint calls;	/* written on the loop thread */
	sem_t restarted;	/* posted once per flaky restart */
};

/*
 * Runs on the loop thread for every restart: must be quick and must not
 * block, so it only counts and posts a semaphore (sem_post never blocks).
 */
static int64_t linear_backoff(void *ctx, const char *service, uint32_t n,
			      int64_t computed_ns)
{
	struct backoff_state *st = ctx;

	(void)computed_ns;
	if (strcmp(service, "flaky"))
		return computed_ns;
	atomic_fetch_add(&st->calls, 1);
	sem_post(&st->restarted);
	return STEP_NS * n;
}

struct canceller {
	struct rv_supervisor *sv;
	struct backoff_state *st;
	int timed_out;
};

static void *cancel_later(void *arg)
{
	struct canceller *c = arg;
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += DEADLINE_S;
	for (int i = 0; i < RESTARTS; i++) {
		while (sem_timedwait(&c->st->restarted, &deadline)) {
			if (errno == ETIMEDOUT) {
				c->timed_out = 1;
				goto cancel;
			}
		}
	}
cancel:
	/* thread-safe and async-signal-safe: a graceful shutdown */
	rv_cancel(c->sv);
	return NULL;
}

int main(void)
{
	struct rv_options opts = { .backend = NULL, .report_path = NULL };
	struct backoff_state st;
	struct canceller c = { 0 };
	struct rv_supervisor *sv;
	pthread_t thread;
	int ret, status;

	atomic_init(&st.calls, 0);
	if (sem_init(&st.restarted, 0, 0))
		return 1;

	/* before any thread: the supervisor blocks the signals it handles */
	ret = rv_supervisor_load_string(&sv, config, "embed.conf", &opts,
					stderr);
	if (ret) {
		fprintf(stderr, "embed: load: %s\n", strerror(-ret));
		return 1;
	}
	rv_supervisor_set_backoff(sv, linear_backoff, &st);
	printf("embed: backend %s\n", rv_supervisor_backend(sv));

	c.sv = sv;
	c.st = &st;
	ret = pthread_create(&thread, NULL, cancel_later, &c);
	if (ret) {
		fprintf(stderr, "embed: pthread_create: %s\n", strerror(ret));
		rv_supervisor_free(sv);
		return 1;
	}

	status = rv_supervisor_run(sv);	/* returns after rv_cancel() */
	pthread_join(thread, NULL);
	rv_supervisor_free(sv);
	sem_destroy(&st.restarted);

	printf("embed: run returned %d after %u custom backoff calls%s\n",
	       status, atomic_load(&st.calls),
	       c.timed_out ? " (timed out)" : "");
	return status == RV_EXIT_COMPLETED && !c.timed_out &&
	       atomic_load(&st.calls) >= RESTARTS ? 0 : 1;
}
