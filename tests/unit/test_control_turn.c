// SPDX-License-Identifier: MIT
/*
 * The control socket's share of a loop turn (src/control/control.c), on
 * each backend available, driving the loop one turn at a time as
 * test_follow does:
 *
 *   - however many clients have a request ready in the same turn, at most
 *     TURN_BUDGET are served per turn, the rest in order in later turns
 *     (child exits and timers come in between);
 *   - a request whose reply cannot even be queued (the send is refused)
 *     closes the connection without touching it after it was freed.
 *
 * Links with -Wl,--wrap=rv_loop_send,--wrap=free (tests/CMakeLists.txt):
 * the first lets a case refuse sends; the second poisons memory freed by
 * libringvisor's own code, so a use after free fails here even without
 * AddressSanitizer (which reports it in the sanitizer build).
 */
#include <errno.h>
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "control/control.h"
#include "loop.h"
#include "ringvisor.h"
#include "tree/supervisor.h"

#define TURN_BUDGET	32	/* as in src/control/control.c */
#define CLIENTS		100

int __real_rv_loop_send(struct rv_loop *loop, struct rv_io *io);
int __wrap_rv_loop_send(struct rv_loop *loop, struct rv_io *io);
void __real_free(void *p);
void __wrap_free(void *p);

static bool g_refuse_send;

int __wrap_rv_loop_send(struct rv_loop *loop, struct rv_io *io)
{
	if (g_refuse_send)
		return -EBUSY;	/* as a full submission queue would */
	return __real_rv_loop_send(loop, io);
}

void __wrap_free(void *p)
{
	if (p)
		memset(p, 0, malloc_usable_size(p));
	__real_free(p);
}

struct fixture {
	char dir[64];
	char sock[128];
	struct rv_supervisor *sv;
	int fd[CLIENTS];
	int n;
	unsigned int replies[CLIENTS];
};

static const char *backends[] = { "io_uring", "epoll" };

static int load_on(struct fixture *f, const char *backend)
{
	struct rv_options opts = { .backend = backend };
	char *text;
	int ret;

	memset(f, 0, sizeof(*f));
	for (int i = 0; i < CLIENTS; i++)
		f->fd[i] = -1;
	strcpy(f->dir, "/tmp/rv-turn-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->sock, sizeof(f->sock), "%s/c.sock", f->dir);
	assert_true(asprintf(&text,
			     "[supervisor]\ncontrol_socket = %s\n"
			     "[service:s]\ncommand = /bin/true\n",
			     f->sock) > 0);
	ret = rv_supervisor_load_string(&f->sv, text, "t.conf", &opts,
					stderr);
	free(text);
	if (ret)
		assert_string_equal(backend, "io_uring");	/* refused */
	return ret;
}

static void turn(struct fixture *f, int64_t max_wait_ns)
{
	assert_true(rv_loop_run_once(f->sv->loop, max_wait_ns) >= 0);
}

/* Connects n clients and turns the loop until all are accepted. */
static void connect_all(struct fixture *f, int n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	strcpy(sa.sun_path, f->sock);
	for (int i = 0; i < n; i++) {
		f->fd[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(f->fd[i] >= 0);
		assert_int_equal(connect(f->fd[i], (struct sockaddr *)&sa,
					 sizeof(sa)), 0);
	}
	f->n = n;
	for (int i = 0; i < 10 * n &&
	     rv_control_connections(f->sv->control) < (size_t)n; i++)
		turn(f, 10 * 1000000LL);
	assert_int_equal(rv_control_connections(f->sv->control), n);
	/* and their receives submitted */
	turn(f, 0);
	turn(f, 0);
}

/* Reads what has come (non-blocking); returns the new reply lines. */
static unsigned int read_replies(struct fixture *f)
{
	unsigned int fresh = 0;
	char buf[65536];

	for (int i = 0; i < f->n; i++) {
		ssize_t n;

		while ((n = recv(f->fd[i], buf, sizeof(buf), MSG_DONTWAIT)) >
		       0) {
			for (ssize_t k = 0; k < n; k++)
				if (buf[k] == '\n') {
					f->replies[i]++;
					fresh++;
				}
		}
	}
	return fresh;
}

static void teardown_f(struct fixture *f)
{
	for (int i = 0; i < CLIENTS; i++)
		if (f->fd[i] >= 0)
			close(f->fd[i]);
	rv_supervisor_free(f->sv);
	unlink(f->sock);
	rmdir(f->dir);
}

/*
 * CLIENTS clients each send `per` requests at once (pipelined), all ready
 * in the same turn.  No turn may serve more than the budget; every one is
 * answered in the end.
 */
static void bounded(struct fixture *f, const char *backend, int per)
{
	static const char req[] = "{\"cmd\":\"status\"}\n";
	unsigned int total = 0, turns = 0, most = 0;
	char burst[sizeof(req) * 8];

	assert_true(per <= 8);
	for (int k = 0; k < per; k++)
		memcpy(burst + k * (sizeof(req) - 1), req, sizeof(req) - 1);
	connect_all(f, CLIENTS);
	for (int i = 0; i < f->n; i++)
		assert_int_equal(send(f->fd[i], burst,
				      (sizeof(req) - 1) * (size_t)per, 0),
				 (ssize_t)((sizeof(req) - 1) * (size_t)per));
	while (total < (unsigned int)(CLIENTS * per) && turns < 10000) {
		unsigned int fresh;

		turn(f, 10 * 1000000LL);
		turns++;
		fresh = read_replies(f);
		total += fresh;
		if (fresh > most)
			most = fresh;
	}
	print_message("%s: %d requests in %u turns, at most %u per turn\n",
		      backend, CLIENTS * per, turns, most);
	assert_int_equal(total, CLIENTS * per);
	for (int i = 0; i < f->n; i++)
		assert_int_equal(f->replies[i], per);
	/* replies of one turn's requests go out in the next: a turn can
	 * show two turns' worth at most */
	if (most > 2 * TURN_BUDGET)
		fail_msg("%s: %u replies in one turn (budget %d)", backend,
			 most, TURN_BUDGET);
	assert_true(turns >= (unsigned int)(CLIENTS * per / (2 * TURN_BUDGET)));
}

static void test_many_clients_share_the_turns(void **state)
{
	(void)state;
	for (size_t b = 0; b < 2; b++) {
		struct fixture f;

		if (load_on(&f, backends[b])) {
			print_message("%s: not available here, skipped\n",
				      backends[b]);
			continue;
		}
		bounded(&f, backends[b], 1);
		teardown_f(&f);
	}
}

static void test_pipelining_clients_share_the_turns(void **state)
{
	(void)state;
	for (size_t b = 0; b < 2; b++) {
		struct fixture f;

		if (load_on(&f, backends[b])) {
			print_message("%s: not available here, skipped\n",
				      backends[b]);
			continue;
		}
		bounded(&f, backends[b], 5);
		teardown_f(&f);
	}
}

/*
 * The reply cannot be queued: the connection is closed (the client sees
 * EOF) from inside the request's handling, and nothing of it is touched
 * afterwards.  The supervisor keeps serving others.
 */
static void test_refused_reply_closes_cleanly(void **state)
{
	(void)state;
	for (size_t b = 0; b < 2; b++) {
		struct fixture f;
		char buf[256];
		ssize_t n = -1;

		if (load_on(&f, backends[b])) {
			print_message("%s: not available here, skipped\n",
				      backends[b]);
			continue;
		}
		connect_all(&f, 2);
		g_refuse_send = true;
		assert_int_equal(send(f.fd[0], "{\"cmd\":\"status\"}\n", 17, 0),
				 17);
		for (int i = 0; i < 200; i++) {
			turn(&f, 10 * 1000000LL);
			n = recv(f.fd[0], buf, sizeof(buf), MSG_DONTWAIT);
			if (n >= 0)
				break;
		}
		g_refuse_send = false;
		assert_int_equal(n, 0);		/* EOF, no reply */
		for (int i = 0; i < 50 &&
		     rv_control_connections(f.sv->control) != 1; i++)
			turn(&f, 10 * 1000000LL);
		assert_int_equal(rv_control_connections(f.sv->control), 1);
		/* the other client is still served */
		assert_int_equal(send(f.fd[1], "{\"cmd\":\"status\"}\n", 17, 0),
				 17);
		f.fd[0] = (close(f.fd[0]), -1);
		f.n = 2;
		for (int i = 0; i < 200 && !f.replies[1]; i++) {
			turn(&f, 10 * 1000000LL);
			read_replies(&f);
		}
		assert_int_equal(f.replies[1], 1);
		teardown_f(&f);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_clients_share_the_turns),
		cmocka_unit_test(test_pipelining_clients_share_the_turns),
		cmocka_unit_test(test_refused_reply_closes_cleanly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
