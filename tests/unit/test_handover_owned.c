/* SPDX-License-Identifier: MIT */
/*
 * What a service owns crosses the hand-over with real descriptors
 * (docs/reexec.md, "What crosses"): a line a real child is writing when
 * the state is taken comes out whole, exactly once, from the second
 * supervisor, with `logs` history before it; a held tcp socket is
 * carried into the new set without a second bind; the fd store keeps its
 * fds, names and order; the orchestrator's fields and the supervisor's
 * extras round-trip; a rolling restart or a reload in progress is not a
 * state to take.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child/logring.h"
#include "config/config.h"
#include "daemon/handover_bin.h"
#include "daemon/handover_json.h"
#include "daemon/handover_memfd.h"
#include "tree/fdpass.h"
#include "tree/isolation.h"
#include "tree/roll.h"
#include "tree/snapshot.h"
#include "tree/supervisor.h"
#include "util/fdkeep.h"

struct fixture {
	char dir[64];
	struct rv_supervisor *a, *b;	/* the writer's tree, the reader's */
};

/* conf with the control socket in dir/sock first. */
static struct rv_supervisor *load(const char *dir, const char *sock,
				  const char *conf)
{
	struct rv_supervisor *sv;
	char *text;

	assert_true(asprintf(&text, "[supervisor]\ncontrol_socket = %s/%s\n"
			     "%s", dir, sock, conf) > 0);
	assert_int_equal(rv_supervisor_load_string(&sv, text, "t.conf", NULL,
						   stderr), 0);
	free(text);
	return sv;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/rv-test-owned-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	if (f->a)
		rv_supervisor_free(f->a);
	if (f->b)
		rv_supervisor_free(f->b);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct rv_service *svc(struct rv_supervisor *sv, const char *name)
{
	for (size_t i = 0; i < sv->n_svcs; i++)
		if (!strcmp(sv->svcs[i]->name, name))
			return sv->svcs[i];
	fail_msg("no service %s", name);
	return NULL;
}

/* snap as format 1's JSON text (every field): what two states are
 * compared by. */
static char *full_text(const struct rv_snapshot *snap)
{
	json_t *doc = rv_handover_to_json(snap, 1);
	char *text;

	assert_non_null(doc);
	text = json_dumps(doc, JSON_COMPACT);
	assert_non_null(text);
	json_decref(doc);
	return text;
}

/*
 * sv's state read back as the new image gets it (format 3, binary), in
 * *out; *text is the newest JSON of it, for the edits of the tests that
 * check what a reader refuses.  Both encodings must carry the same.
 */
static void through_json(struct rv_supervisor *sv, struct rv_snapshot *out,
			 char **text)
{
	struct rv_snapshot snap, back;
	char err[256] = "", *bytes, *a, *b;
	size_t len;
	json_t *doc;

	assert_int_equal(rv_snapshot_take(sv, &snap), 0);
	doc = rv_handover_to_json(&snap, RV_HANDOVER_FORMAT_JSON);
	assert_non_null(doc);
	*text = json_dumps(doc, JSON_COMPACT);
	assert_non_null(*text);
	json_decref(doc);
	if (rv_handover_parse(*text, strlen(*text), &back, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(rv_handover_bin_encode(&snap, NULL, &bytes, &len), 0);
	if (rv_handover_parse_state(bytes, len, NULL, out, err, sizeof(err)))
		fail_msg("%s", err);
	a = full_text(&back);
	b = full_text(out);
	assert_string_equal(a, b);
	free(a);
	free(b);
	free(bytes);
	rv_snapshot_free(&back);
	rv_snapshot_free(&snap);
}

static char *slurp(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? 0 : read(fd, buf, sizeof(buf) - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

struct lines {
	char text[8][64];
	size_t n;
};

static bool collect(const struct rv_logline *l, void *ctx)
{
	struct lines *out = ctx;

	if (out->n < 8)
		snprintf(out->text[out->n++], sizeof(out->text[0]), "%.*s",
			 (int)l->len, l->text);
	return true;
}

/*
 * A real child writes "first\n" and "hello wor" into its captured
 * stdout (file: with log_buffer); the first supervisor reads both, the
 * state is taken with "hello wor" in its line buffer, the second
 * supervisor takes the pipe over, the child writes "ld\n" and exits:
 * the file holds each line once and whole, and `logs` shows both.
 */
static void output_line_crosses_whole(void **state)
{
	struct fixture *f = *state;
	struct rv_snapshot snap;
	struct rv_spawn_fd fds[2];
	struct lines lines = { 0 };
	char conf[256], path[128], err[256] = "", *text, go;
	const char *piece;
	int sync[2];
	pid_t child;

	snprintf(path, sizeof(path), "%s/talk.log", f->dir);
	snprintf(conf, sizeof(conf), "[service:talk]\ncommand = /bin/true\n"
		 "stdout = file:%s\nlog_buffer = 4K\n", path);
	f->a = load(f->dir, "a.sock", conf);
	f->b = load(f->dir, "b.sock", conf);
	/* its stdout (stderr is kept for `logs` too) */
	assert_int_equal(rv_iso_fds(svc(f->a, "talk"), fds), 2);
	assert_int_equal(fds[0].to, 1);
	assert_int_equal(pipe2(sync, O_CLOEXEC), 0);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		dup2(fds[0].from, 1);
		if (write(1, "first\nhello wor", 15) != 15 ||
		    read(sync[0], &go, 1) != 1 || write(1, "ld\n", 3) != 3)
			_exit(1);
		_exit(0);
	}
	close(sync[0]);
	/* poll for the state: the old image has read the partial line */
	for (int i = 0; i < 2000 &&
	     rv_logring_piece(rv_iso_logring(svc(f->a, "talk")),
			      RV_LOG_STDOUT, &piece) != 9; i++)
		assert_int_equal(rv_loop_run_once(f->a->loop, 10000000), 0);
	assert_string_equal(slurp(path), "first\n");

	rv_snapshot_flush_outputs(f->a, rv_clock_now() + 100000000);
	through_json(f->a, &snap, &text);
	assert_non_null(strstr(text, "\"line\":\"68656c6c6f20776f72\""));
	assert_int_equal(rv_snapshot_adopt_fds(&snap, err, sizeof(err)), 0);
	assert_int_equal(rv_snapshot_apply(f->b, &snap, err, sizeof(err)), 0);
	rv_snapshot_arm(f->b, &snap);
	/* from here on only the new image's loop runs */
	assert_int_equal(write(sync[1], "x", 1), 1);
	/* reaped here: the loop would take it for an orphan */
	assert_int_equal(waitpid(child, NULL, 0), child);
	for (int i = 0; i < 2000 &&
	     strlen(slurp(path)) < strlen("first\nhello world\n"); i++)
		assert_int_equal(rv_loop_run_once(f->b->loop, 10000000), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(rv_loop_run_once(f->b->loop, 1000000), 0);
	assert_string_equal(slurp(path), "first\nhello world\n");
	rv_logring_each(rv_iso_logring(svc(f->b, "talk")), 0, collect,
			&lines);
	assert_int_equal(lines.n, 2);
	assert_string_equal(lines.text[0], "first");
	assert_string_equal(lines.text[1], "hello world");
	close(sync[1]);
	rv_snapshot_free(&snap);
	free(text);
}

/*
 * An exit whose last bytes are still being consumed: 20,000 bytes without
 * a newline, of which the old image read one buffer's worth when the
 * process exited; the new image reads the rest from the crossed pipe
 * and ends the line there, every byte once.
 */
static void exit_in_progress_crosses(void **state)
{
	struct fixture *f = *state;
	static char big[20000];
	struct rv_snapshot snap;
	struct rv_spawn_fd fds[1];
	char conf[256], path[128], err[256] = "", *text;
	struct stat st;
	pid_t child;

	memset(big, 'x', sizeof(big));
	snprintf(path, sizeof(path), "%s/big.log", f->dir);
	snprintf(conf, sizeof(conf), "[service:big]\ncommand = /bin/true\n"
		 "stdout = file:%s\nlog_buffer = 0\n", path);
	f->a = load(f->dir, "a.sock", conf);
	f->b = load(f->dir, "b.sock", conf);
	assert_int_equal(rv_iso_fds(svc(f->a, "big"), fds), 1);
	child = fork();
	assert_true(child >= 0);
	if (!child)
		_exit(write(fds[0].from, big, sizeof(big)) == sizeof(big) ?
		      0 : 1);
	assert_int_equal(waitpid(child, NULL, 0), child);
	/* the old image's exit handling: one bounded read, the rest left */
	rv_iso_exited(svc(f->a, "big"));
	through_json(f->a, &snap, &text);
	assert_true(snap.svcs[0].out->exit_pending);
	assert_true(snap.svcs[0].out->exit_left > 0);
	assert_true(snap.svcs[0].out->exit_left < sizeof(big));
	assert_int_equal(rv_snapshot_adopt_fds(&snap, err, sizeof(err)), 0);
	assert_int_equal(rv_snapshot_apply(f->b, &snap, err, sizeof(err)), 0);
	rv_snapshot_arm(f->b, &snap);
	for (int i = 0; i < 2000 && (stat(path, &st) || st.st_size <
				     (off_t)sizeof(big)); i++)
		assert_int_equal(rv_loop_run_once(f->b->loop, 10000000), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, sizeof(big));
	rv_snapshot_free(&snap);
	free(text);
}

/*
 * Flush before take writes what the sinks hold and the whole lines of
 * the line buffers; only a partial line is left to cross.  What a sink
 * still holds in the state is written by the new image first.
 */
static void sink_bytes_cross(void **state)
{
	struct fixture *f = *state;
	struct rv_snapshot snap;
	struct rv_out_state held = { .line = "one\ntail", .line_len = 8,
				     .sink = "held\n", .sink_len = 5 };
	struct rv_snap_service o = { .out = &held };
	char conf[256], path[128], err[256] = "", *text;
	struct rv_out_state *st;

	snprintf(path, sizeof(path), "%s/s.log", f->dir);
	snprintf(conf, sizeof(conf), "[service:s]\ncommand = /bin/true\n"
		 "stdout = file:%s\nlog_buffer = 0\n", path);
	f->a = load(f->dir, "a.sock", conf);
	f->b = load(f->dir, "b.sock", conf);
	/* the old image's sink and line buffer, as a slow file left them */
	assert_int_equal(rv_iso_apply(svc(f->a, "s"), &o), 0);
	assert_int_equal(rv_snapshot_flush_outputs(f->a, rv_clock_now() +
						   100000000), 4);
	assert_string_equal(slurp(path), "held\none\n");
	through_json(f->a, &snap, &text);
	st = snap.svcs[0].out;
	assert_non_null(st);
	assert_int_equal(st->line_len, 4);
	assert_memory_equal(st->line, "tail", 4);
	assert_int_equal(st->sink_len, 0);
	/* as if the old sink could not write "more\n" in time */
	st->sink = strdup("more\n");
	st->sink_len = 5;
	/* a dry run applies and frees its tree: it writes none of it */
	{
		struct rv_supervisor *dry = load(f->dir, "c.sock", conf);

		assert_int_equal(rv_snapshot_apply(dry, &snap, err,
						   sizeof(err)), 0);
		rv_supervisor_free(dry);
		assert_string_equal(slurp(path), "held\none\n");
	}
	assert_int_equal(rv_snapshot_apply(f->b, &snap, err, sizeof(err)), 0);
	rv_snapshot_arm(f->b, &snap);
	for (int i = 0; i < 200 && strlen(slurp(path)) < 14; i++)
		assert_int_equal(rv_loop_run_once(f->b->loop, 10000000), 0);
	assert_string_equal(slurp(path), "held\none\nmore\n");
	/* more than the sink's buffer holds is refused before anything */
	free(st->sink);
	st->sink_len = 1 << 20;
	st->sink = calloc(1, st->sink_len);
	assert_int_equal(rv_snapshot_apply(f->b, &snap, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "service s: stdout: 1048576 bytes for a "
			       "sink that has less room"));
	rv_snapshot_free(&snap);
	free(text);
}

/*
 * A sink nobody reads: flush before take gives up at its deadline, and
 * exactly what it could not write crosses (the sink's bytes, then the
 * lines still in the buffer).
 */
static void flush_stops_at_its_deadline(void **state)
{
	struct fixture *f = *state;
	static char sink[60000], lines[16000];
	struct rv_out_state held = { .line = lines, .line_len = sizeof(lines),
				     .sink = sink, .sink_len = sizeof(sink) };
	struct rv_snap_service o = { .out = &held };
	struct rv_snapshot snap;
	char conf[256], path[128], *text;
	size_t left;
	int reader;

	memset(sink, 's', sizeof(sink));
	for (size_t i = 0; i < sizeof(lines); i++)
		lines[i] = i % 8 == 7 ? '\n' : 'l';
	snprintf(path, sizeof(path), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* a reader that never reads: the sink fills the pipe, then waits */
	reader = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(reader >= 0);
	snprintf(conf, sizeof(conf), "[service:s]\ncommand = /bin/true\n"
		 "stdout = file:%s\nlog_buffer = 0\n", path);
	f->a = load(f->dir, "a.sock", conf);
	assert_int_equal(rv_iso_apply(svc(f->a, "s"), &o), 0);
	left = rv_snapshot_flush_outputs(f->a, rv_clock_now() + 50000000);
	/* a pipe takes 64 KiB: of the 76,000 bytes, some are left */
	assert_true(left > 0 && left < sizeof(sink) + sizeof(lines));
	through_json(f->a, &snap, &text);
	assert_int_equal(snap.svcs[0].out->sink_len +
			 snap.svcs[0].out->line_len, left);
	rv_snapshot_free(&snap);
	free(text);
	/* room for the rest, which the teardown writes */
	while (read(reader, sink, sizeof(sink)) > 0)
		;
	rv_supervisor_free(f->a);	/* before its reader goes */
	f->a = NULL;
	close(reader);
}

/* A free tcp port on 127.0.0.1, found by binding port 0. */
static int free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

/*
 * A held tcp socket crosses by its section and address: the new image,
 * building from the state's copy of the config, gets the very socket
 * (same inode) as its `old` set and binds nothing -- a bind of that
 * address would fail, as the plain open shows.
 */
static void held_socket_not_bound_again(void **state)
{
	struct fixture *f = *state;
	struct rv_snapshot snap;
	struct rv_socket_set old, set;
	struct rv_specs specs;
	struct rv_diag d = { .out = NULL };
	struct stat x, y;
	char conf[256], err[256] = "", *text, *bad;
	int fd;

	snprintf(conf, sizeof(conf), "[service:web]\ncommand = /bin/true\n"
		 "[socket:web]\nlisten = tcp://127.0.0.1:%d\nservice = web\n",
		 free_port());
	f->a = load(f->dir, "a.sock", conf);
	fd = f->a->sockets.v[0].l.fd;
	through_json(f->a, &snap, &text);
	assert_int_equal(snap.n_sockets, 1);
	assert_string_equal(snap.sockets[0].name, "web");
	assert_int_equal(snap.sockets[0].fd, fd);
	assert_int_equal(rv_snapshot_adopt_fds(&snap, err, sizeof(err)), 0);

	assert_int_equal(rv_config_load_sources(snap.config, snap.n_config,
						&specs, NULL), 0);
	assert_int_equal(rv_snapshot_sockets(&snap, &specs, &old, err,
					     sizeof(err)), 0);
	assert_int_equal(rv_sockets_open(&specs, &old, &set, &d), 0);
	assert_int_equal(set.n, 1);
	assert_int_equal(set.v[0].l.fd, fd);
	assert_true(set.v[0].kept);
	assert_int_equal(fstat(fd, &x), 0);
	assert_int_equal(fstat(set.v[0].l.fd, &y), 0);
	assert_true(x.st_ino == y.st_ino && x.st_dev == y.st_dev);
	/* nothing was bound: the same open without the old set cannot */
	rv_sockets_abort(&old, &set);
	free(old.v);
	assert_int_equal(rv_sockets_open(&specs, NULL, &set, &d), -EINVAL);
	assert_int_equal(d.errors, 1);
	assert_true(fcntl(fd, F_GETFD) >= 0);	/* the old set's, still */

	/* a socket the config gives another address is refused */
	rv_snapshot_free(&snap);
	bad = strstr(text, "tcp://127.0.0.1:");
	assert_non_null(bad);
	memcpy(bad, "tcp://127.0.0.2:", 16);
	assert_int_equal(rv_handover_parse(text, strlen(text), &snap, err,
					   sizeof(err)), 0);
	assert_int_equal(rv_snapshot_sockets(&snap, &specs, &old, err,
					     sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "socket web (tcp://127.0.0.2:"));
	assert_non_null(strstr(err, "the config gives it another address"));
	assert_null(old.v);
	rv_specs_free(&specs);
	rv_snapshot_free(&snap);
	free(text);
}

/* The fd store crosses in store order with its names; a closed fd, a
 * name FDNAME= cannot give, more than fd_store_max are refused. */
static void fd_store_crosses(void **state)
{
	static const char conf[] = "[service:db]\ncommand = /bin/true\n"
				   "type = notify\nfd_store_max = 2\n";
	struct fixture *f = *state;
	struct rv_service *s;
	struct rv_snapshot snap;
	struct rv_fdkeep keep = { 0 };
	char err[256] = "", *text, *bad;
	int fds[2], kept[2];
	const char *name;

	f->a = load(f->dir, "a.sock", conf);
	f->b = load(f->dir, "b.sock", conf);
	s = svc(f->a, "db");
	fds[0] = memfd_create("one", MFD_CLOEXEC);
	fds[1] = memfd_create("two", MFD_CLOEXEC);
	assert_true(fds[0] >= 0 && fds[1] >= 0);
	kept[0] = fds[0];
	kept[1] = fds[1];
	rv_fdstore_add(s, &fds[1], 1, "second");
	rv_fdstore_add(s, &fds[0], 1, NULL);
	through_json(f->a, &snap, &text);
	assert_int_equal(snap.svcs[0].n_stored, 2);
	assert_int_equal(rv_snapshot_keep_fds(&snap, &keep), 0);
	/* after its output pipes (log_buffer keeps both streams) */
	assert_int_equal(keep.n, 4 + 2);
	assert_string_equal(keep.v[4].role, "fd_store");
	assert_string_equal(keep.v[4].owner, "db");
	assert_int_equal(keep.v[4].fd, kept[1]);
	assert_int_equal(rv_snapshot_adopt_fds(&snap, err, sizeof(err)), 0);
	assert_int_equal(rv_snapshot_apply(f->b, &snap, err, sizeof(err)), 0);
	rv_snapshot_arm(f->b, &snap);
	s = svc(f->b, "db");
	assert_int_equal(rv_fdstore_count(s), 2);
	assert_int_equal(rv_fdstore_at(s, 0, &name), kept[1]);
	assert_string_equal(name, "second");
	assert_int_equal(rv_fdstore_at(s, 1, &name), kept[0]);
	assert_string_equal(name, "stored");
	rv_fdkeep_free(&keep);
	rv_snapshot_free(&snap);

	bad = strstr(text, "\"name\":\"second\"");
	assert_non_null(bad);
	memcpy(bad, "\"name\":\"sec:nd\"", 15);
	assert_int_equal(rv_handover_parse(text, strlen(text), &snap, err,
					   sizeof(err)), 0);
	assert_int_equal(rv_snapshot_apply(f->b, &snap, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "FDNAME \"sec:nd\" not valid"));
	close(kept[1]);
	snap.svcs[0].stored[1].fd = kept[1];
	assert_int_equal(rv_snapshot_adopt_fds(&snap, err, sizeof(err)),
			 -EBADF);
	assert_non_null(strstr(err, "(stored fd of db): not open"));
	rv_snapshot_free(&snap);
	free(text);
}

/* The supervisor's extras and the orchestrator's fields come back. */
static void extras_round_trip(void **state)
{
	struct fixture *f = *state;
	struct rv_snapshot snap, back;
	char err[256] = "", *text, *again;
	json_t *doc;

	f->a = load(f->dir, "a.sock", "[service:x]\ncommand = /bin/true\n");
	f->b = load(f->dir, "b.sock", "[service:x]\ncommand = /bin/true\n");
	/* `logs` history of one blank line: no text at all in the state */
	{
		struct rv_snap_logline blank = { 1764915331874971000,
						 RV_LOG_STDERR, 0 };
		struct rv_snap_logs logs = { .lines = &blank, .n = 1 };
		struct rv_snap_service o = { .logs = &logs };

		assert_int_equal(rv_iso_apply(svc(f->a, "x"), &o), 0);
	}
	f->a->reload_queued = true;
	sigaddset(&f->a->exec_child_mask, SIGUSR1);
	sigaddset(&f->a->exec_child_ignored, SIGPIPE);
	sigaddset(&f->a->exec_child_ignored, SIGRTMAX);
	f->a->exec_stop_signal = SIGTERM;
	assert_int_equal(rv_snapshot_take(f->a, &snap), 0);
	snap.daemon.notify_socket = strdup("@/org/freedesktop/systemd1/x");
	snap.daemon.watchdog_usec = 30000000;
	snap.daemon.counters[RV_SNAP_ORPHANS_REAPED] = 7;
	snap.daemon.counters[RV_SNAP_NOTIFY_FDS_CLOSED] = 3;
	doc = rv_handover_to_json(&snap, RV_HANDOVER_FORMAT_JSON);
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	assert_int_equal(rv_handover_parse(text, strlen(text), &back, err,
					   sizeof(err)), 0);
	assert_string_equal(back.daemon.notify_socket,
			    "@/org/freedesktop/systemd1/x");
	assert_true(back.daemon.watchdog_usec == 30000000);
	assert_memory_equal(back.daemon.counters, snap.daemon.counters,
			    sizeof(snap.daemon.counters));
	assert_true(back.sup.reload_queued);
	assert_int_equal(sigismember(&back.sup.exec_child_mask, SIGUSR1), 1);
	assert_int_equal(sigismember(&back.sup.exec_child_mask, SIGUSR2), 0);
	assert_int_equal(sigismember(&back.sup.exec_child_ignored, SIGRTMAX),
			 1);
	doc = rv_handover_to_json(&back, RV_HANDOVER_FORMAT_JSON);
	again = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	assert_string_equal(text, again);
	/* into the tree: the queued reload runs after the hand-over */
	assert_int_equal(rv_snapshot_apply(f->b, &back, err, sizeof(err)), 0);
	rv_snapshot_arm(f->b, &back);
	assert_true(f->b->reload_queued);
	assert_true(rv_timer_is_armed(&f->b->reload_timer));
	assert_int_equal(f->b->exec_stop_signal, SIGTERM);
	assert_int_equal(sigismember(&f->b->exec_child_ignored, SIGPIPE), 1);
	{
		struct lines lines = { 0 };

		rv_logring_each(rv_iso_logring(svc(f->b, "x")), 0, collect,
				&lines);
		assert_int_equal(lines.n, 1);
		assert_string_equal(lines.text[0], "");
	}
	rv_loop_timer_cancel(f->b->loop, &f->b->reload_timer);
	free(again);
	free(text);
	rv_snapshot_free(&back);
	rv_snapshot_free(&snap);
}

/* Not a state to take: a roll on its way, a reload's jobs running. */
static void roll_and_reload_refused(void **state)
{
	struct fixture *f = *state;
	struct rv_roll roll = { .state = RV_ROLL_RUNNING };
	struct rv_snapshot snap;
	struct rv_service *s;

	f->a = load(f->dir, "a.sock",
		    "[service:web]\ncommand = /bin/true\ninstances = 2\n");
	s = svc(f->a, "web@1");
	s->roll = &roll;
	assert_int_equal(rv_snapshot_take(f->a, &snap), -EINPROGRESS);
	assert_null(snap.svcs);
	assert_string_equal(rv_snapshot_strerror(-EINPROGRESS),
			    "a rolling restart is in progress");
	roll.state = RV_ROLL_DONE;	/* its outcome stays in status */
	assert_int_equal(rv_snapshot_take(f->a, &snap), 0);
	rv_snapshot_free(&snap);
	s->roll = NULL;
	f->a->reload_jobs = 1;
	assert_int_equal(rv_snapshot_take(f->a, &snap), -EALREADY);
	assert_string_equal(rv_snapshot_strerror(-EALREADY),
			    "a reload is being applied");
	f->a->reload_jobs = 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(output_line_crosses_whole,
						setup, teardown),
		cmocka_unit_test_setup_teardown(sink_bytes_cross, setup,
						teardown),
		cmocka_unit_test_setup_teardown(exit_in_progress_crosses,
						setup, teardown),
		cmocka_unit_test_setup_teardown(flush_stops_at_its_deadline,
						setup, teardown),
		cmocka_unit_test_setup_teardown(held_socket_not_bound_again,
						setup, teardown),
		cmocka_unit_test_setup_teardown(fd_store_crosses, setup,
						teardown),
		cmocka_unit_test_setup_teardown(extras_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(roll_and_reload_refused,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
