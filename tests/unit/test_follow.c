// SPDX-License-Identifier: MIT
/*
 * Event followers of the control socket (src/control/control.c), on each backend
 * available: a supervisor is loaded (not run), a client subscribes with
 * {"cmd":"events"}, and the test drives the loop one turn at a time while
 * it broadcasts lines itself, so that what is in flight when is exact.
 *
 * The property under test is the drop rule: a follower is dropped only
 * when what it has not read exceeds the follower buffer, never because of
 * how much it has read.  A stream that never pauses keeps a send in flight
 * across turns (each completion finds new lines and sends them at once);
 * the buffer must still be reclaimed then.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
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

#define FOLLOW_BUF	(256 * 1024)	/* as in src/control/control.c */
#define LINE_LEN	200

struct fixture {
	char dir[64];
	char sock[128];
	struct rv_supervisor *sv;
	int fd;			/* the follower */
	char *got;		/* everything it read */
	size_t got_len, got_cap;
};

static const char *backends[] = { "io_uring", "epoll" };

/* Reads what is there (non-blocking); false at EOF. */
static bool drain(struct fixture *f)
{
	for (;;) {
		ssize_t n;

		if (f->got_cap - f->got_len < 65536) {
			f->got_cap = f->got_cap * 2 + 65536;
			f->got = realloc(f->got, f->got_cap);
			assert_non_null(f->got);
		}
		n = recv(f->fd, f->got + f->got_len, f->got_cap - f->got_len,
			 MSG_DONTWAIT);
		if (n > 0) {
			f->got_len += (size_t)n;
			continue;
		}
		if (n == 0)
			return false;
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		return true;
	}
}

static const char notice[] = "{\"event\":\"dropped\"";

/* Where the drop notice starts in what was read; NULL: none came. */
static const char *notice_at(const struct fixture *f)
{
	return f->got ? memmem(f->got, f->got_len, notice, sizeof(notice) - 1)
		      : NULL;
}

static bool dropped(const struct fixture *f)
{
	return notice_at(f) != NULL;
}

/* Loads a supervisor on backend with a control socket, subscribes. */
static int setup_on(struct fixture *f, const char *backend)
{
	struct rv_options opts = { .backend = backend };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *text;
	int ret;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	strcpy(f->dir, "/tmp/rv-follow-XXXXXX");
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
		return ret;	/* e.g. io_uring refused here */
	assert_non_null(f->sv->control);

	f->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	strcpy(sa.sun_path, f->sock);
	assert_int_equal(connect(f->fd, (struct sockaddr *)&sa, sizeof(sa)),
			 0);
	assert_int_equal(send(f->fd, "{\"cmd\":\"events\"}\n", 17, 0), 17);
	/* accept, read the request, send the acknowledgement */
	for (int i = 0; i < 200 && !memchr(f->got ? f->got : "", '\n',
					   f->got_len); i++) {
		assert_true(rv_loop_run_once(f->sv->loop, 10 * 1000000LL) >= 0);
		assert_true(drain(f));
	}
	assert_non_null(f->got);
	assert_memory_equal(f->got, "{\"ok\":true,\"following\":true}\n", 29);
	assert_true(rv_control_has_followers(f->sv->control));
	f->got_len = 0;
	return 0;
}

static void teardown_f(struct fixture *f)
{
	char path[160];

	if (f->fd >= 0)
		close(f->fd);
	rv_supervisor_free(f->sv);
	free(f->got);
	snprintf(path, sizeof(path), "%s/c.sock", f->dir);
	unlink(path);
	rmdir(f->dir);
}

/* Line number i, LINE_LEN bytes with its newline. */
static void make_line(char *buf, unsigned i)
{
	int n = snprintf(buf, LINE_LEN, "{\"event\":\"state\",\"n\":%u,\"pad\":\"",
			 i);

	memset(buf + n, 'x', LINE_LEN - (size_t)n - 3);
	memcpy(buf + LINE_LEN - 3, "\"}\n", 3);
}

/* The first n lines read are lines 0..n-1, whole and in order. */
static void assert_lines(const struct fixture *f, size_t n)
{
	char line[LINE_LEN];

	assert_true(f->got_len >= n * LINE_LEN);
	for (size_t i = 0; i < n; i++) {
		make_line(line, (unsigned)i);
		assert_memory_equal(f->got + i * LINE_LEN, line, LINE_LEN);
	}
}

/* Runs body on a fresh fixture for each backend this machine has. */
static void on_each_backend(void (*body)(struct fixture *f,
					 const char *backend))
{
	for (size_t b = 0; b < sizeof(backends) / sizeof(*backends); b++) {
		struct fixture f;

		if (setup_on(&f, backends[b]))
			print_message("%s: not available here, skipped\n",
				      backends[b]);
		else
			body(&f, backends[b]);
		teardown_f(&f);
	}
}

/*
 * A follower that reads everything after every turn, while two lines come
 * per turn: a send is always in flight, so its buffer is never found idle.
 * Sixteen times the buffer goes through it; it must get all of it, in
 * order, and no notice.
 */
static void keeps_up(struct fixture *f, const char *backend)
{
	unsigned n = 16 * FOLLOW_BUF / LINE_LEN, sent = 0;
	char line[LINE_LEN];

	while (sent < n) {
		for (int k = 0; k < 2; k++) {
			make_line(line, sent++);
			rv_control_broadcast(f->sv->control, line, LINE_LEN);
		}
		assert_true(rv_loop_run_once(f->sv->loop, 0) >= 0);
		if (!drain(f) || dropped(f))
			fail_msg("%s: dropped after reading all of %zu bytes",
				 backend, f->got_len);
	}
	/* the rest in flight: a few turns */
	for (int i = 0; i < 100 && f->got_len < (size_t)sent * LINE_LEN;
	     i++) {
		assert_true(rv_loop_run_once(f->sv->loop, 10 * 1000000LL) >= 0);
		assert_true(drain(f));
	}
	assert_false(dropped(f));
	assert_int_equal(f->got_len, (size_t)sent * LINE_LEN);
	assert_lines(f, sent);
}

static void test_reader_that_keeps_up_is_never_dropped(void **state)
{
	(void)state;
	on_each_backend(keeps_up);
}

/*
 * A follower that reads nothing is dropped once more than the buffer
 * (plus what the socket holds) is waiting; then it gets every line it was
 * sent up to that point, the notice, and EOF.
 */
static void reads_nothing(struct fixture *f, const char *backend)
{
	unsigned sent = 0, limit = 8 * FOLLOW_BUF / LINE_LEN;
	char line[LINE_LEN];
	size_t lines;

	(void)backend;
	/* eight buffers' worth offered, nothing read */
	while (sent < limit) {
		make_line(line, sent++);
		rv_control_broadcast(f->sv->control, line, LINE_LEN);
		assert_true(rv_loop_run_once(f->sv->loop, 0) >= 0);
	}
	/* now read, until EOF: lines 0..k-1 whole, then the notice */
	for (int i = 0; i < 500; i++) {
		assert_true(rv_loop_run_once(f->sv->loop, 10 * 1000000LL) >= 0);
		if (!drain(f))
			break;
	}
	assert_true(dropped(f));
	lines = (size_t)(notice_at(f) - f->got);
	assert_int_equal(lines % LINE_LEN, 0);
	lines /= LINE_LEN;
	/* at least the buffer's worth was kept for it, and it was dropped
	 * before all was offered */
	assert_true(lines * LINE_LEN >= FOLLOW_BUF - LINE_LEN);
	assert_true(lines < limit);
	assert_lines(f, lines);
	assert_false(rv_control_has_followers(f->sv->control));
}

static void test_reader_that_reads_nothing_is_dropped(void **state)
{
	(void)state;
	on_each_backend(reads_nothing);
}

/*
 * Issue 15: a follower that hangs up while no event comes is closed by
 * its hang-up alone, within a few turns, not at the next broadcast (the
 * connection count said it was there until then).  Bytes it sends before
 * are read and ignored: they do not end it.
 */
static void hangs_up(struct fixture *f, const char *backend)
{
	int i;

	assert_int_equal(send(f->fd, "noise\n", 6, 0), 6);
	for (i = 0; i < 5; i++)
		assert_true(rv_loop_run_once(f->sv->loop, 1000000LL) >= 0);
	assert_true(rv_control_has_followers(f->sv->control));
	assert_int_equal(rv_control_connections(f->sv->control), 1);
	close(f->fd);
	f->fd = -1;
	for (i = 0; i < 100 && rv_control_connections(f->sv->control); i++)
		assert_true(rv_loop_run_once(f->sv->loop, 10 * 1000000LL) >= 0);
	if (rv_control_connections(f->sv->control))
		fail_msg("%s: the follower that hung up is still counted",
			 backend);
	assert_false(rv_control_has_followers(f->sv->control));
}

static void test_follower_that_hangs_up_is_closed_at_once(void **state)
{
	(void)state;
	on_each_backend(hangs_up);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_that_keeps_up_is_never_dropped),
		cmocka_unit_test(test_reader_that_reads_nothing_is_dropped),
		cmocka_unit_test(test_follower_that_hangs_up_is_closed_at_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
