/* SPDX-License-Identifier: MIT */
/*
 * Control socket mechanics: accepting, authenticating, reading request
 * lines, writing replies and event streams, timeouts.  What a request
 * does is commands.c's business.
 *
 * A connection has one operation in flight at a time (the epoll backend
 * allows one watch per fd): it reads until a line is complete, writes the
 * reply, then reads again.  Its buffers are freed only once nothing is in
 * flight, since on io_uring the kernel writes into them until the
 * completion (see rv_loop_io_cancel()).
 *
 * Control work per loop turn is bounded (TURN_BUDGET requests, one per
 * connection): a turn may bring a completion for every connection at once
 * (hundreds of clients pipelining), and a child exit or a deadline due in
 * that turn must not wait for all of them.  Past the budget, connections
 * with a complete line queue up (first come, first served) and the queue
 * is served from a timer in the following turns, after their completions
 * (child exits among them) were handled.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/runtime_dir.h"
#include "control/commands.h"
#include "control/control.h"
#include "control/logs.h"
#include "control/request.h"
#include "control/unix_socket.h"
#include "control/waiters.h"
#include "loop_stats.h"
#include "tree/supervisor.h"
#include "util/log.h"

#define CONN_MAX	4096		/* more are accepted and closed */
/*
 * The loop's room for connections (their timers, I/O and fd watches) is
 * reserved a block at a time as they grow, not CONN_MAX's worth at open:
 * that was ~180 KiB of every supervisor's PSS for connections nobody
 * made (bench/analysis.md, "Memory").  A block is reserved before the
 * connection that needs it is set up, so no watch ever lands beyond the
 * reservation; accepting allocates the connection anyway.
 */
#define CONN_BLOCK	64
#define IN_CHUNK	4096
/*
 * A follower may have FOLLOW_BUF bytes of events not yet sent before it is
 * dropped as too slow.  Its buffer is twice that: while a send is in
 * flight the kernel reads out + off, so the sent prefix cannot be
 * reclaimed until the send completes, and a reader that keeps up with a
 * stream that never pauses would otherwise see that prefix creep up to
 * the limit and be dropped for bytes it has already read.  The prefix is
 * reclaimed at a completion once it reaches FOLLOW_BUF (each byte is moved
 * at most once per byte sent), so it is below FOLLOW_BUF while a send is
 * in flight, and unsent bytes never exceed FOLLOW_BUF: the two fit.
 */
#define FOLLOW_BUF	(256 * 1024)
#define IDLE_TIMEOUT_NS	(10LL * 1000000000)	/* to send a whole line */
#define SEND_TIMEOUT_NS	(10LL * 1000000000)	/* reply not taken */
#define RETRY_NS	(100LL * 1000000)	/* accept after EMFILE */
#define DROP_TIMEOUT_NS	(2LL * 1000000000)	/* a dropped follower's
						 * time to read the notice */
/*
 * Requests served per loop turn, all connections together.  A status of
 * a few hundred services costs some hundred microseconds on a loaded
 * machine: 32 keep a turn's control work in the milliseconds, and still
 * serve thousands of requests a second.
 */
#define TURN_BUDGET	32

static const char drop_notice[] =
	"{\"event\":\"dropped\",\"reason\":\"follower too slow: events "
	"were not read in time\"}\n";

struct conn {
	struct rv_control *ctl;
	struct conn *prev, *next;
	int fd;
	pid_t pid;
	uid_t uid;
	struct rv_io io;
	struct rv_timer timer;
	/* a follower's hang-up: a watch on a dup of fd, since its io is
	 * busy sending (or idle) and the epoll backend takes one watch per
	 * fd; -1 until it follows */
	struct rv_fdwatch hup;
	char *in;		/* request bytes, up to RV_REQUEST_MAX + 1 */
	size_t in_len, in_cap;
	size_t discard;		/* an overlong line: skip to its newline */
	int64_t line_deadline;	/* the line being read is due; 0: none yet */
	char *out;
	size_t out_len, out_off;	/* a follower's is 2 * FOLLOW_BUF + notice */
	/* a request that waits (waiters.h): the reply is held until it is
	 * done, a recv stays armed meanwhile to see the client hang up */
	struct rv_waiter *waiter;
	char *deferred;		/* the held reply, sent once the recv is
				 * cancelled */
	struct conn *q_prev, *q_next;	/* in the queue of the turn budget */
	uint64_t turn;		/* the loop turn it was last served in */
	bool queued;
	bool follower;
	char **logs_of;		/* a `logs -f` follower: these names */
	size_t n_logs_of;
	bool closing;		/* close once out is written */
	bool dead;		/* fd closed, waiting for a cancel CQE */
	bool handling;		/* inside conn_handle_line(): not freed */
};

struct rv_control {
	struct rv_supervisor *sv;
	struct rv_loop *loop;
	char *path;
	dev_t dev;
	ino_t ino;
	int fd;
	gid_t gid;
	bool has_group;
	struct rv_io accept_io;
	struct rv_timer retry;
	struct conn *conns;
	size_t n_conns;
	size_t conns_room;		/* reserved for, CONN_BLOCK at a time */
	size_t n_followers;		/* of events */
	size_t n_log_followers;
	/* the turn budget */
	uint64_t turn;			/* the loop turn served counts */
	unsigned int served;		/* requests handled in that turn */
	struct conn *q_head, *q_tail;	/* lines waiting for a turn */
	struct rv_timer resume;		/* serves the queue next turn */
	struct rv_waiters waiters;	/* requests that wait */
	bool resuming;			/* inside on_resume() */
};

static void conn_next(struct conn *c);

static void unqueue(struct conn *c)
{
	struct rv_control *ctl = c->ctl;

	if (!c->queued)
		return;
	if (c->q_prev)
		c->q_prev->q_next = c->q_next;
	else
		ctl->q_head = c->q_next;
	if (c->q_next)
		c->q_next->q_prev = c->q_prev;
	else
		ctl->q_tail = c->q_prev;
	c->q_prev = c->q_next = NULL;
	c->queued = false;
}

static void conn_free(struct conn *c)
{
	struct rv_control *ctl = c->ctl;

	unqueue(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->n_conns--;
	if (c->follower && !c->logs_of)
		ctl->n_followers--;
	if (c->follower && c->logs_of && --ctl->n_log_followers == 0)
		rv_logs_listen(ctl, false);
	for (size_t i = 0; c->logs_of && i < c->n_logs_of; i++)
		free(c->logs_of[i]);
	free(c->logs_of);
	free(c->in);
	free(c->out);
	free(c->deferred);
	free(c);
}

static void conn_close(struct conn *c)
{
	bool idle;

	if (c->dead)
		return;
	rv_loop_timer_cancel(c->ctl->loop, &c->timer);
	rv_waiter_drop(c->waiter);	/* nobody left to answer */
	c->waiter = NULL;
	c->dead = true;
	if (c->hup.fd >= 0) {
		rv_loop_unwatch_fd(c->ctl->loop, &c->hup);
		close(c->hup.fd);
		c->hup.fd = -1;
	}
	unqueue(c);
	/* the operation first, then the descriptor it names: closed first,
	 * the number could name the next client's socket by the time the
	 * operation reaches the kernel (or epoll's DEL) */
	idle = rv_loop_io_cancel(c->ctl->loop, &c->io);
	close(c->fd);
	c->fd = -1;
	/* freed now, by the callback of the operation still in flight, or
	 * (handling a line) by conn_next() once the handler has returned */
	if (idle && !c->handling)
		conn_free(c);
}

static void on_conn_timer(struct rv_loop *loop, struct rv_timer *t,
			  int64_t now, void *ctx)
{
	struct conn *c = ctx;

	rv_log_sup(RV_LOG_INFO, "main", "control_timeout", " pid=%d uid=%u",
		   (int)c->pid, (unsigned)c->uid);
	conn_close(c);
}

static void on_io(struct rv_loop *loop, struct rv_io *io, int res,
		  void *ctx);

static void conn_send(struct conn *c)
{
	c->io.buf = c->out + c->out_off;
	c->io.len = c->out_len - c->out_off;
	if (!c->follower)
		rv_loop_timer_arm(c->ctl->loop, &c->timer,
				  rv_loop_now(c->ctl->loop) + SEND_TIMEOUT_NS);
	if (rv_loop_send(c->ctl->loop, &c->io))
		conn_close(c);
}

static void conn_recv(struct conn *c)
{
	if (c->in_cap - c->in_len < IN_CHUNK && c->in_cap < RV_REQUEST_MAX + 1) {
		size_t cap = c->in_cap * 2 > RV_REQUEST_MAX + 1 ?
			RV_REQUEST_MAX + 1 : c->in_cap * 2;
		char *in = realloc(c->in, cap);

		if (!in) {
			conn_close(c);
			return;
		}
		c->in = in;
		c->in_cap = cap;
	}
	c->io.buf = c->in + c->in_len;
	c->io.len = c->in_cap - c->in_len;
	/*
	 * A line is due IDLE_TIMEOUT_NS after we start waiting for it, not
	 * after its last byte: a client trickling bytes (or an endless
	 * overlong line) cannot hold a connection for ever.
	 */
	if (!c->line_deadline)
		c->line_deadline = rv_loop_now(c->ctl->loop) + IDLE_TIMEOUT_NS;
	rv_loop_timer_arm(c->ctl->loop, &c->timer, c->line_deadline);
	if (rv_loop_recv(c->ctl->loop, &c->io))
		conn_close(c);
}

/* Replaces the output with text (taking ownership) and sends it. */
static void conn_reply(struct conn *c, char *text, size_t len)
{
	free(c->out);
	c->out = text;
	c->out_len = len;
	c->out_off = 0;
	conn_send(c);
}

static void conn_error(struct conn *c, const char *msg, bool then_close)
{
	char *text = rv_commands_error(msg);

	if (!text) {
		conn_close(c);
		return;
	}
	c->closing = then_close;
	conn_reply(c, text, strlen(text));
}

/* Only what is unsent stays; never while a send is in flight. */
static void follow_compact(struct conn *c)
{
	if (!c->out_off)
		return;
	memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
	c->out_len -= c->out_off;
	c->out_off = 0;
}

/*
 * A follower's peer sent something or hung up.  A follower sends no more
 * requests: what it sends is read and ignored, and its end of the stream
 * (recv 0) or an error closes it now, not at the next event, which may be
 * hours away (ringvisor_control_connections would count it until then).
 */
static void on_follower_hup(struct rv_loop *loop, struct rv_fdwatch *w,
			    uint32_t revents, void *ctx)
{
	struct conn *c = ctx;
	char buf[512];
	ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(c);
		return;
	}
	if (rv_loop_watch_fd(loop, w))
		conn_close(c);
}

/* Watches c's peer for a hang-up while it follows; 0 or -errno. */
static int follow_watch_hup(struct conn *c)
{
	c->hup.fd = fcntl(c->fd, F_DUPFD_CLOEXEC, 3);
	if (c->hup.fd < 0)
		return -errno;
	c->hup.events = POLLIN;
	c->hup.cb = on_follower_hup;
	c->hup.ctx = c;
	return rv_loop_watch_fd(c->ctl->loop, &c->hup);
}

/* Called with nothing in flight: the reply (the acknowledgement) goes
 * first into the follower's fixed buffer, events follow it. */
static void conn_follow(struct conn *c, char *reply)
{
	size_t len = strlen(reply);
	char *out = malloc(2 * FOLLOW_BUF + sizeof(drop_notice));

	if (!out || len > FOLLOW_BUF || follow_watch_hup(c)) {
		free(out);
		free(reply);
		conn_close(c);
		return;
	}
	/* socket output, not a C string */
	// NOLINTNEXTLINE(bugprone-not-null-terminated-result)
	memcpy(out, reply, len);
	free(reply);
	free(c->out);
	c->out = out;
	c->out_len = len;
	c->out_off = 0;
	c->follower = true;
	if (c->logs_of && c->ctl->n_log_followers++ == 0)
		rv_logs_listen(c->ctl, true);
	else if (!c->logs_of)
		c->ctl->n_followers++;
	rv_loop_timer_cancel(c->ctl->loop, &c->timer);
	conn_send(c);
}

/*
 * Watches for the client hanging up while its request waits: a recv with
 * no line timeout (the wait has its own).  What it reads is kept for
 * later requests.
 */
static void conn_watch_hangup(struct conn *c)
{
	if (c->in_len >= c->in_cap)
		return;		/* full: nothing more is read until the answer */
	c->io.buf = c->in + c->in_len;
	c->io.len = c->in_cap - c->in_len;
	if (rv_loop_recv(c->ctl->loop, &c->io))
		conn_close(c);
}

/* The waiter answered (waiters.h): send text once the recv is idle. */
static void conn_wait_done(void *ctx, char *text)
{
	struct conn *c = ctx;

	c->waiter = NULL;
	if (!text && !(text = rv_commands_error("out of memory"))) {
		conn_close(c);
		return;
	}
	if (rv_loop_io_cancel(c->ctl->loop, &c->io)) {
		conn_reply(c, text, strlen(text));
		return;
	}
	c->deferred = text;	/* on_io() sends it at the recv's end */
}

/* Called by conn_next() once the request's line is consumed. */
static void conn_wait(struct conn *c)
{
	/* the line's own timeout is over; the waiter has its deadline */
	rv_loop_timer_cancel(c->ctl->loop, &c->timer);
	conn_watch_hangup(c);
	if (!c->dead)
		rv_waiter_bind(c->waiter, conn_wait_done, c);
}

/* A `logs -f` follower keeps the names it follows (the request goes). */
static int keep_names(struct conn *c, const struct rv_request *req)
{
	c->logs_of = calloc(req->n_names, sizeof(*c->logs_of));
	if (!c->logs_of)
		return -ENOMEM;
	for (size_t i = 0; i < req->n_names; i++) {
		c->logs_of[i] = strdup(req->names[i]);
		if (!c->logs_of[i])
			return -ENOMEM;	/* conn_free() frees what was kept */
		c->n_logs_of++;
	}
	return 0;
}

/* A complete line is in c->in[0..n): run it and answer. */
static void conn_handle_line(struct conn *c, size_t n)
{
	struct rv_waiter *waiter = NULL;
	struct rv_request req;
	char err[256];
	char *reply = NULL;
	bool follow = false;
	int ret;

	if (n && c->in[n - 1] == '\r')
		n--;
	ret = rv_request_parse(c->in, n, &req, err, sizeof(err));
	if (ret) {
		conn_error(c, ret == -ENOMEM ? "out of memory" : err, false);
		return;
	}
	ret = rv_commands_handle(c->ctl->sv, &req, &reply, &follow,
				 &waiter);
	if (!ret && follow && req.cmd == RV_CMD_LOGS &&
	    keep_names(c, &req)) {
		free(reply);
		reply = NULL;
	}
	rv_request_free(&req);
	if (!ret && waiter) {
		c->waiter = waiter;	/* conn_next() waits */
		return;
	}
	if (ret || !reply) {
		conn_error(c, "out of memory", false);
		return;
	}
	if (follow)
		conn_follow(c, reply);
	else
		conn_reply(c, reply, strlen(reply));
}

/* May c have one more request served in this loop turn? */
static bool may_serve(struct rv_control *ctl, const struct conn *c)
{
	struct rv_loop_stats st;

	rv_loop_get_stats(ctl->loop, &st);
	if (st.turns != ctl->turn) {
		ctl->turn = st.turns;
		ctl->served = 0;
	}
	/* first come, first served: a queue goes before newcomers */
	if (ctl->q_head && !ctl->resuming)
		return false;
	/* one request per connection per turn, TURN_BUDGET in all */
	return c->turn != ctl->turn && ctl->served < TURN_BUDGET;
}

/* c has a complete line and must wait for a later turn. */
static void enqueue(struct conn *c)
{
	struct rv_control *ctl = c->ctl;

	/* waiting on us is not the client's delay (the line timeout) */
	rv_loop_timer_cancel(ctl->loop, &c->timer);
	c->q_prev = ctl->q_tail;
	c->q_next = NULL;
	if (ctl->q_tail)
		ctl->q_tail->q_next = c;
	else
		ctl->q_head = c;
	ctl->q_tail = c;
	c->queued = true;
	/* due after this turn's timers: the next turn, after its waits */
	if (!rv_timer_is_armed(&ctl->resume))
		rv_loop_timer_arm(ctl->loop, &ctl->resume,
				  rv_loop_now(ctl->loop) + 1);
}

static void on_resume(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		      void *ctx)
{
	struct rv_control *ctl = ctx;

	ctl->resuming = true;
	/* each c leaves the queue before conn_next() may free it */
	// NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
	while (ctl->q_head && may_serve(ctl, ctl->q_head)) {
		struct conn *c = ctl->q_head;

		unqueue(c);
		conn_next(c);	/* may free c */
	}
	ctl->resuming = false;
	if (ctl->q_head)
		rv_loop_timer_arm(loop, &ctl->resume, now + 1);
}

/* Consumes one buffered line if there is one; else reads more. */
static void conn_next(struct conn *c)
{
	char *nl = memchr(c->in, '\n', c->in_len);
	size_t n;

	if (c->closing) {
		conn_close(c);
		return;
	}
	if (!nl) {
		if (c->in_len > RV_REQUEST_MAX) {
			/* answer now; skip the rest of the line later */
			c->discard = 1;
			c->in_len = 0;
			conn_error(c, "request too large (max 65536 bytes "
				   "per line)", false);
			return;
		}
		conn_recv(c);
		return;
	}
	if (!may_serve(c->ctl, c)) {
		enqueue(c);
		return;
	}
	c->ctl->served++;
	c->turn = c->ctl->turn;
	n = (size_t)(nl - c->in);
	c->line_deadline = 0;	/* the next line has its own */
	/*
	 * The handler may close c (a reply that cannot be queued, no memory
	 * for it); c stays allocated until it returns, and is freed here if
	 * nothing of it is in flight any more.
	 */
	c->handling = true;
	conn_handle_line(c, n);
	c->handling = false;
	if (c->dead) {
		if (!rv_io_is_armed(&c->io))
			conn_free(c);
		return;
	}
	memmove(c->in, nl + 1, c->in_len - n - 1);
	c->in_len -= n + 1;
	if (c->waiter)
		conn_wait(c);
}

static void on_io(struct rv_loop *loop, struct rv_io *io, int res, void *ctx)
{
	struct conn *c = ctx;

	if (c->dead) {
		conn_free(c);
		return;
	}
	if (io->op == RV_IO_RECV && (c->waiter || c->deferred)) {
		char *text = c->deferred;

		if (res == 0 || (res < 0 && res != -ECANCELED)) {
			conn_close(c);	/* hung up: the waiter goes too */
			return;
		}
		if (res > 0)
			c->in_len += (size_t)res;
		if (!text) {
			conn_watch_hangup(c);
			return;
		}
		c->deferred = NULL;
		conn_reply(c, text, strlen(text));
		return;
	}
	if (io->op == RV_IO_RECV) {
		if (res <= 0) {
			conn_close(c);	/* EOF or error */
			return;
		}
		if (c->discard) {
			char *nl = memchr(c->in, '\n', (size_t)res);

			if (!nl) {	/* still inside the overlong line */
				conn_recv(c);
				return;
			}
			c->discard = 0;
			c->line_deadline = 0;
			c->in_len = (size_t)res - (size_t)(nl + 1 - c->in);
			memmove(c->in, nl + 1, c->in_len);
		} else {
			c->in_len += (size_t)res;
		}
		conn_next(c);
		return;
	}
	if (res < 0) {
		conn_close(c);
		return;
	}
	c->out_off += (size_t)res;
	if (c->out_off < c->out_len) {
		if (c->follower && c->out_off >= FOLLOW_BUF)
			follow_compact(c);
		conn_send(c);
		return;
	}
	c->out_off = c->out_len = 0;
	rv_loop_timer_cancel(loop, &c->timer);
	if (c->follower) {
		if (c->closing)
			conn_close(c);
		return;	/* wait for the next event */
	}
	conn_next(c);
}

bool rv_control_has_followers(const struct rv_control *c)
{
	return c && c->n_followers > 0;
}

struct rv_waiters *rv_control_waiters(struct rv_control *c)
{
	return c ? &c->waiters : NULL;
}

size_t rv_control_connections(const struct rv_control *c)
{
	return c ? c->n_conns : 0;
}

/* Queues line to one follower, or drops it as too slow. */
static void follower_push(struct rv_control *ctl, struct conn *c,
			  const char *line, size_t len)
{
	bool idle = !rv_io_is_armed(&c->io);

	if (idle)	/* in flight, append only (see FOLLOW_BUF) */
		follow_compact(c);
	if (c->out_len - c->out_off + len > FOLLOW_BUF) {
		/* too slow: tell it (the notice has its own room past
		 * 2 * FOLLOW_BUF), give it a bounded time to read that,
		 * then hang up */
		memcpy(c->out + c->out_len, drop_notice,
		       sizeof(drop_notice) - 1);
		c->out_len += sizeof(drop_notice) - 1;
		c->closing = true;
		rv_loop_timer_arm(ctl->loop, &c->timer,
				  rv_loop_now(ctl->loop) + DROP_TIMEOUT_NS);
		rv_log_sup(RV_LOG_WARN, "main", "follower_dropped",
			   " pid=%d reason=slow", (int)c->pid);
	} else {
		memcpy(c->out + c->out_len, line, len);
		c->out_len += len;
	}
	if (idle) {
		c->io.buf = c->out + c->out_off;
		c->io.len = c->out_len - c->out_off;
		if (rv_loop_send(ctl->loop, &c->io))
			conn_close(c);
	}
}

void rv_control_broadcast(struct rv_control *ctl, const char *line,
			  size_t len)
{
	for (struct conn *c = ctl->conns, *next; c; c = next) {
		next = c->next;
		if (c->follower && !c->logs_of && !c->dead && !c->closing)
			follower_push(ctl, c, line, len);
	}
}

/* "web@0" is followed as itself, or as "web" (all its instances). */
static bool follows(const struct conn *c, const char *name)
{
	for (size_t i = 0; i < c->n_logs_of; i++) {
		size_t len = strlen(c->logs_of[i]);

		if (!strncmp(name, c->logs_of[i], len) &&
		    (!name[len] || name[len] == '@'))
			return true;
	}
	return false;
}

bool rv_control_follows_logs_of(const struct rv_control *ctl,
				const char *name)
{
	for (const struct conn *c = ctl->conns; c; c = c->next)
		if (c->logs_of && !c->dead && !c->closing && follows(c, name))
			return true;
	return false;
}

void rv_control_broadcast_logs(struct rv_control *ctl, const char *name,
			       const char *line, size_t len)
{
	for (struct conn *c = ctl->conns, *next; c; c = next) {
		next = c->next;
		if (c->logs_of && !c->dead && !c->closing && follows(c, name))
			follower_push(ctl, c, line, len);
	}
}

bool rv_control_flushing(const struct rv_control *ctl)
{
	for (const struct conn *c = ctl ? ctl->conns : NULL; c; c = c->next)
		if (!c->dead && !c->follower && ((rv_io_is_armed(&c->io) &&
		    c->io.op == RV_IO_SEND) || c->deferred))
			return true;
	return false;
}

/* root, our own uid, or a member of control_group */
static bool peer_allowed(struct rv_control *ctl, int fd, struct ucred *cr)
{
	socklen_t len = sizeof(*cr);
	gid_t groups[256];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &len) < 0)
		return false;
	if (cr->uid == 0 || cr->uid == geteuid())
		return true;
	if (!ctl->has_group)
		return false;
	if (cr->gid == ctl->gid)
		return true;
	len = sizeof(groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == ctl->gid)
			return true;
	return false;
}

/* Loop room for CONN_BLOCK more connections: 0 or -ENOMEM. */
static int reserve_conns(struct rv_control *ctl)
{
	/* every connection has a timer (and a waiter's), an I/O in flight
	 * and a watch (a follower's hang-up) */
	int ret = rv_loop_timer_reserve(ctl->loop, 2 * CONN_BLOCK);

	if (!ret)
		ret = rv_loop_io_reserve(ctl->loop, CONN_BLOCK);
	if (!ret)
		ret = rv_loop_fd_reserve(ctl->loop, CONN_BLOCK);
	if (!ret)
		ctl->conns_room += CONN_BLOCK;
	return ret;
}

static void arm_accept(struct rv_control *ctl);

static void on_retry(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx)
{
	arm_accept(ctx);
}

static void refuse(int fd, const struct ucred *cr, const char *why)
{
	static const char msg[] =
		"{\"ok\":false,\"error\":\"permission denied\"}\n";

	rv_log_sup(RV_LOG_WARN, "main", "control_refused",
		   " pid=%d uid=%u reason=%s", (int)cr->pid,
		   (unsigned)cr->uid, why);
	/* best effort, non-blocking: the peer may read why */
	if (!strcmp(why, "permission"))
		(void)send(fd, msg, sizeof(msg) - 1,
			   MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

/* A connection on fd, linked in; NULL when out of memory. */
static struct conn *conn_new(struct rv_control *ctl, int fd,
			     const struct ucred *cr)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c)
		c->in = malloc(IN_CHUNK);
	if (!c || !c->in) {
		free(c);
		return NULL;
	}
	c->in_cap = IN_CHUNK;
	c->ctl = ctl;
	c->fd = fd;
	c->pid = cr->pid;
	c->uid = cr->uid;
	c->io.fd = fd;
	c->io.cb = on_io;
	c->io.ctx = c;
	c->hup.fd = -1;
	rv_timer_init(&c->timer, on_conn_timer, c);
	c->next = ctl->conns;
	if (c->next)
		c->next->prev = c;
	ctl->conns = c;
	ctl->n_conns++;
	return c;
}

static void on_accept(struct rv_loop *loop, struct rv_io *io, int res,
		      void *ctx)
{
	struct rv_control *ctl = ctx;
	struct ucred cr = { 0 };
	struct conn *c;

	if (ctl->fd < 0)
		return;		/* closing down */
	if (res < 0) {
		rv_log_sup(RV_LOG_WARN, "main", "control_accept_failed",
			   " errno=%d error=\"%s\"", -res, strerror(-res));
		/* out of fds or memory: breathe, the loop must go on */
		rv_loop_timer_arm(loop, &ctl->retry,
				  rv_loop_now(loop) + RETRY_NS);
		return;
	}
	arm_accept(ctl);
	if (!peer_allowed(ctl, res, &cr)) {
		refuse(res, &cr, "permission");
		return;
	}
	if (ctl->n_conns >= CONN_MAX) {
		refuse(res, &cr, "too_many_connections");
		return;
	}
	if (ctl->n_conns >= ctl->conns_room && reserve_conns(ctl)) {
		refuse(res, &cr, "out_of_memory");
		return;
	}
	c = conn_new(ctl, res, &cr);
	if (!c) {
		refuse(res, &cr, "out_of_memory");
		return;
	}
	conn_recv(c);
}

static void arm_accept(struct rv_control *ctl)
{
	int ret = rv_loop_accept(ctl->loop, &ctl->accept_io);

	if (ret) {
		rv_log_sup(RV_LOG_ERROR, "main", "control_accept_failed",
			   " errno=%d error=\"%s\"", -ret, strerror(-ret));
		rv_loop_timer_arm(ctl->loop, &ctl->retry,
				  rv_loop_now(ctl->loop) + RETRY_NS);
	}
}

/* Binds and listens on path, created 0600 (0660 for group); ctl->fd. */
static int listen_at(struct rv_control *ctl, const struct sockaddr_un *sa,
		     const char *group)
{
	mode_t old_umask;
	int ret;

	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
			 0);
	if (ctl->fd < 0)
		return -errno;
	/* created 0600 from the start: no window where others may connect */
	old_umask = umask(0177);
	ret = bind(ctl->fd, (const struct sockaddr *)sa, sizeof(*sa));
	umask(old_umask);
	if (ret < 0)
		return -errno;
	if (group && (chown(sa->sun_path, (uid_t)-1, ctl->gid) < 0 ||
		      chmod(sa->sun_path, 0660) < 0))
		return -errno;
	return listen(ctl->fd, 512) < 0 ? -errno : 0;
}

/* fd >= 0: the listening socket a previous image handed over (reexec) */
static int control_open(struct rv_control **out, struct rv_supervisor *sv,
			const char *path, const char *group, int fd,
			FILE *errors)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct rv_control *ctl;
	struct stat st;
	int ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(errors, "ringvisor: control socket path too long "
			"(max %zu bytes): %s\n", sizeof(sa.sun_path) - 1, path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl || !(ctl->path = strdup(path))) {
		free(ctl);
		return -ENOMEM;
	}
	ctl->sv = sv;
	ctl->loop = sv->loop;
	ctl->waiters.loop = sv->loop;
	ctl->fd = -1;
	rv_timer_init(&ctl->retry, on_retry, ctl);
	rv_timer_init(&ctl->resume, on_resume, ctl);
	if (group) {
		struct group *gr = getgrnam(group);

		if (!gr) {
			fprintf(errors, "ringvisor: control_group %s: no such "
				"group\n", group);
			ret = -ENOENT;
			goto err;
		}
		ctl->gid = gr->gr_gid;
		ctl->has_group = true;
	}
	if (fd >= 0) {
		ctl->fd = fd;	/* bound and listening all along */
	} else {
		ret = rv_unix_socket_prepare(path, "control socket", errors);
		if (!ret)
			ret = listen_at(ctl, &sa, group);
		if (ret)
			goto err_msg;
	}
	if (stat(path, &st) == 0) {
		ctl->dev = st.st_dev;
		ctl->ino = st.st_ino;
	}
	/* the retry timer and the accept, and the first block of
	 * connections */
	ret = rv_loop_timer_reserve(ctl->loop, 2);
	if (!ret)
		ret = rv_loop_io_reserve(ctl->loop, 1);
	if (!ret)
		ret = reserve_conns(ctl);
	if (ret)
		goto err_msg;
	ctl->accept_io.fd = ctl->fd;
	ctl->accept_io.cb = on_accept;
	ctl->accept_io.ctx = ctl;
	ret = rv_loop_accept(ctl->loop, &ctl->accept_io);
	if (ret)
		goto err_msg;
	*out = ctl;
	return 0;
err_msg:
	if (ret != -EEXIST && ret != -EADDRINUSE)
		fprintf(errors, "ringvisor: cannot create control socket %s: "
			"%s (set control_socket in [supervisor])\n", path,
			strerror(-ret));
err:
	if (ctl->fd >= 0 && fd < 0) {
		close(ctl->fd);
		unlink(path);
	}
	free(ctl->path);
	free(ctl);
	return ret;
}

int rv_control_open(struct rv_control **out, struct rv_supervisor *sv,
		    const char *path, const char *group, FILE *errors)
{
	return control_open(out, sv, path, group, -1, errors);
}

int rv_control_adopt(struct rv_control **out, struct rv_supervisor *sv,
		     const char *path, const char *group, int fd, FILE *errors)
{
	return control_open(out, sv, path, group, fd, errors);
}

int rv_control_fd(const struct rv_control *ctl)
{
	return ctl ? ctl->fd : -1;
}

/* The connection whose request is the `reexec` being handed over. */
static struct conn *requester(const struct rv_control *ctl)
{
	for (struct conn *c = ctl ? ctl->conns : NULL; c; c = c->next)
		if (!c->dead && c->waiter && c->waiter == ctl->waiters.reexec)
			return c;
	return NULL;
}

int rv_control_requester_fd(const struct rv_control *ctl)
{
	const struct conn *c = requester(ctl);

	return c ? c->fd : -1;
}

/* Best effort, never blocking: the peer is told why the stream ends. */
static void say_last(int fd, const char *a, size_t alen, const char *b)
{
	if (alen && send(fd, a, alen, MSG_DONTWAIT | MSG_NOSIGNAL) !=
		    (ssize_t)alen)
		return;		/* a partial line must not get a tail */
	(void)send(fd, b, strlen(b), MSG_DONTWAIT | MSG_NOSIGNAL);
}

void rv_control_handover(struct rv_control *ctl, const char *event,
			 const char *retry)
{
	struct conn *keep = requester(ctl);

	for (struct conn *c = ctl ? ctl->conns : NULL, *next; c; c = next) {
		next = c->next;
		if (c == keep || c->dead)
			continue;
		/* a follower's pending events first, then the last one */
		if (c->follower && !c->logs_of)
			say_last(c->fd, c->out + c->out_off,
				 c->out_len - c->out_off, event);
		else if (c->waiter)
			say_last(c->fd, NULL, 0, retry);
		conn_close(c);	/* may free c */
	}
}

int rv_control_adopt_conn(struct rv_control *ctl, int fd, char *reply)
{
	struct ucred cr = { 0 };
	socklen_t len = sizeof(cr);
	struct conn *c;

	(void)getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len);
	c = conn_new(ctl, fd, &cr);
	if (!c) {
		free(reply);
		close(fd);
		return -ENOMEM;
	}
	conn_reply(c, reply, strlen(reply));
	return 0;
}

void rv_control_close(struct rv_control *ctl)
{
	struct stat st;

	if (!ctl || ctl->fd < 0)
		return;
	for (struct conn *c = ctl->conns, *next; c; c = next) {
		next = c->next;
		conn_close(c);	/* may free c */
	}
	rv_loop_timer_cancel(ctl->loop, &ctl->retry);
	rv_loop_timer_cancel(ctl->loop, &ctl->resume);
	rv_loop_io_cancel(ctl->loop, &ctl->accept_io);
	/* remove the file only if it is still the one we created */
	if (stat(ctl->path, &st) == 0 && st.st_dev == ctl->dev &&
	    st.st_ino == ctl->ino)
		unlink(ctl->path);
	close(ctl->fd);
	ctl->fd = -1;
}

void rv_control_free(struct rv_control *ctl)
{
	if (!ctl)
		return;
	rv_control_close(ctl);
	/* what is left had operations in flight; the loop is gone now */
	while (ctl->conns)
		/* conn_free() unlinks the connection before freeing it */
		// NOLINTNEXTLINE(clang-analyzer-unix.Malloc)
		conn_free(ctl->conns);
	free(ctl->path);
	free(ctl);
}
