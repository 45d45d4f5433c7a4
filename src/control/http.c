// SPDX-License-Identifier: MIT
/*
 * The HTTP endpoint's mechanics: the listening socket, libmicrohttpd
 * (loaded when the endpoint opens, through mhd.h's table) driven from the
 * loop, and the routes.  What a route says comes from the
 * same code as the control socket's answers (metrics.c, report.c) and
 * `status --check` (health.c).
 *
 * Bounds: HTTP_CONN_MAX connections (MHD refuses more), a request must
 * fit in HTTP_MEMORY (MHD answers 431 or 413 past it) and a connection
 * that does nothing for HTTP_TIMEOUT_S is closed; an /events stream sends
 * a comment every HEARTBEAT_NS so that it is never idle that long, and
 * its buffer is bounded (http_sse.c).
 */
#include "control/http.h"

#include <errno.h>
#include <grp.h>
#include <jansson.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/http_address.h"
#include "control/commands.h"
#include "control/health.h"
#include "control/http_sse.h"
#include "control/mhd.h"
#include "control/report.h"
#include "control/unix_socket.h"
#include "tree/supervisor.h"
#include "util/log.h"

#define HTTP_CONN_MAX	64
#define HTTP_TIMEOUT_S	10
#define HTTP_MEMORY	(32 * 1024)
#define HEARTBEAT_NS	(5LL * 1000000000)

static const char metrics_type[] = "text/plain; version=0.0.4; charset=utf-8";
static const char text_type[] = "text/plain; charset=utf-8";

struct rv_http {
	struct rv_supervisor *sv;
	struct rv_loop *loop;
	struct MHD_Daemon *d;
	char *path;		/* a unix socket's file, to remove */
	dev_t dev;
	ino_t ino;
	struct rv_fdwatch w;	/* MHD's epoll fd */
	struct rv_timer timer;	/* MHD_get_timeout() */
	struct rv_timer heartbeat;
	struct rv_sse_set sse;
	size_t n_conns;
	bool closed;		/* a connection closed in this MHD_run() */
};

static void rearm(struct rv_http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;
	int64_t now = rv_loop_now(h->loop);
	int ret;

	if (!h->w.armed) {
		ret = rv_loop_watch_fd(h->loop, &h->w);
		if (ret)
			rv_log_sup(RV_LOG_ERROR, "main", "http_watch_failed",
				   " errno=%d error=\"%s\"", -ret,
				   strerror(-ret));
	}
	/*
	 * At HTTP_CONN_MAX, MHD takes the listening socket out of its epoll
	 * set, and puts it back at the start of an MHD_run() that finds room
	 * again: after connections closed, one more run, or connections
	 * waiting in the backlog would wait for an unrelated wake-up.
	 */
	if (h->closed) {
		h->closed = false;
		rv_loop_timer_arm(h->loop, &h->timer, now);
	} else if (rv_mhd.get_timeout(h->d, &ms) == MHD_YES)
		rv_loop_timer_arm(h->loop, &h->timer, now +
				  (int64_t)(ms > 3600000 ? 3600000 : ms) *
				  1000000);
	else
		rv_loop_timer_cancel(h->loop, &h->timer);
	if (!h->sse.n)
		rv_loop_timer_cancel(h->loop, &h->heartbeat);
	else if (!rv_timer_is_armed(&h->heartbeat))
		rv_loop_timer_arm(h->loop, &h->heartbeat, now + HEARTBEAT_NS);
}

/* MHD does whatever is ready (never blocks in external mode). */
static void pump(struct rv_http *h)
{
	rv_mhd.run(h->d);
	rearm(h);
}

static void on_ready(struct rv_loop *loop, struct rv_fdwatch *w,
		     uint32_t revents, void *ctx)
{
	pump(ctx);
}

static void on_timer(struct rv_loop *loop, struct rv_timer *t, int64_t now,
		     void *ctx)
{
	pump(ctx);
}

static void on_heartbeat(struct rv_loop *loop, struct rv_timer *t,
			 int64_t now, void *ctx)
{
	struct rv_http *h = ctx;

	rv_sse_heartbeat(&h->sse);
	pump(h);
}

/* Queues a response of text (taken: MHD frees it) with its type. */
static enum MHD_Result respond(struct MHD_Connection *c, unsigned int code,
			       const char *type, char *text, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!text)
		return MHD_NO;	/* out of memory: MHD closes the connection */
	r = rv_mhd.create_response_from_buffer(len, text,
					       MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	rv_mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rv_mhd.add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
				   "no-store");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		rv_mhd.add_response_header(r, MHD_HTTP_HEADER_ALLOW,
					   "GET, HEAD");
	ret = rv_mhd.queue_response(c, code, r);
	rv_mhd.destroy_response(r);
	return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *c,
				    unsigned int code, const char *msg)
{
	return respond(c, code, text_type, strdup(msg), strlen(msg));
}

static enum MHD_Result get_status(struct rv_http *h, struct MHD_Connection *c)
{
	json_t *j = rv_status_json(h->sv, NULL, 0);
	char *doc = j ? json_dumps(j, JSON_INDENT(2)) : NULL, *text = NULL;
	int n = doc ? asprintf(&text, "%s\n", doc) : -1;

	json_decref(j);
	free(doc);
	return respond(c, MHD_HTTP_OK, "application/json",
		       n < 0 ? NULL : text, n < 0 ? 0 : (size_t)n);
}

static enum MHD_Result get_events(struct rv_http *h, struct MHD_Connection *c)
{
	struct MHD_Response *r = rv_sse_response(&h->sse, c);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	rv_mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				   "text/event-stream");
	rv_mhd.add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
				   "no-cache");
	ret = rv_mhd.queue_response(c, MHD_HTTP_OK, r);
	rv_mhd.destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_len, void **req_ctx)
{
	struct rv_http *h = cls;
	char health[300];
	int code;

	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				    "read-only: only GET and HEAD\n");
	if (!strcmp(url, "/metrics")) {
		char *text = rv_metrics_text(h->sv);

		return respond(c, MHD_HTTP_OK, metrics_type, text,
			       text ? strlen(text) : 0);
	}
	if (!strcmp(url, "/healthz")) {
		code = rv_health_check(h->sv, rv_mhd.lookup_connection_value(
					       c, MHD_GET_ARGUMENT_KIND,
					       "service"),
				       health, sizeof(health));
		return respond_text(c, (unsigned int)code, health);
	}
	if (!strcmp(url, "/status"))
		return get_status(h, c);
	if (!strcmp(url, "/events"))
		return get_events(h, c);
	return respond_text(c, MHD_HTTP_NOT_FOUND, "not found (GET /metrics, "
			    "/healthz, /status or /events)\n");
}

static void on_connection(void *cls, struct MHD_Connection *c,
			  void **socket_ctx,
			  enum MHD_ConnectionNotificationCode what)
{
	struct rv_http *h = cls;

	if (what == MHD_CONNECTION_NOTIFY_STARTED) {
		h->n_conns++;
	} else {
		h->closed = true;
		if (h->n_conns)
			h->n_conns--;
	}
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256], quoted[300];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	/* mostly peers that went away mid-response: not our failure */
	rv_log_sup(RV_LOG_DEBUG, "main", "http_error", " error=%s",
		   rv_log_quote(msg, quoted, sizeof(quoted)));
}

/* A unix socket file: 0600 from the start, or 0660 owned by group. */
static int bind_unix(struct rv_http *h, int fd,
		     const struct rv_listen_addr *a, const char *group,
		     FILE *errors)
{
	const char *path = ((const struct sockaddr_un *)&a->sa)->sun_path;
	struct group *gr = NULL;
	struct stat st;
	mode_t old;
	int ret;

	if (group && !(gr = getgrnam(group))) {
		fprintf(errors, "ringvisor: control_group %s: no such group\n",
			group);
		return -ENOENT;
	}
	ret = rv_unix_socket_prepare(path, "http_listen socket", errors);
	if (ret)
		return ret;
	old = umask(0177);
	ret = bind(fd, (const struct sockaddr *)&a->sa, a->len);
	umask(old);
	if (ret < 0)
		return -errno;
	/* ours from now on: removed on failure too */
	if (stat(path, &st) == 0) {
		h->dev = st.st_dev;
		h->ino = st.st_ino;
	}
	h->path = strdup(path);
	if (!h->path) {
		unlink(path);
		return -ENOMEM;
	}
	if (gr && (chown(path, (uid_t)-1, gr->gr_gid) < 0 ||
		   chmod(path, 0660) < 0))
		return -errno;
	return 0;
}

/* An adopted unix socket's file is still ours to remove at the end. */
static void adopt_socket_file(struct rv_http *h, const char *addr)
{
	struct rv_listen_addr a;
	char why[160];
	struct stat st;

	if (rv_listen_parse(addr, &a, why, sizeof(why)) ||
	    a.sa.ss_family != AF_UNIX)
		return;
	h->path = strdup(((const struct sockaddr_un *)&a.sa)->sun_path);
	if (h->path && stat(h->path, &st) == 0) {
		h->dev = st.st_dev;
		h->ino = st.st_ino;
	}
}

/* The listening socket, bound and listening; fd or -errno. */
static int make_listener(struct rv_http *h, const char *addr,
			 const char *group, FILE *errors)
{
	struct rv_listen_addr a;
	char why[160];
	int fd, one = 1, ret;

	if (rv_listen_parse(addr, &a, why, sizeof(why))) {
		fprintf(errors, "ringvisor: http_listen %s: %s\n", addr, why);
		return -EINVAL;
	}
	fd = socket(a.sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -errno;
	if (a.sa.ss_family == AF_UNIX) {
		ret = bind_unix(h, fd, &a, group, errors);
	} else {
		/* a restart must not wait out TIME_WAIT */
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
				 sizeof(one));
		ret = bind(fd, (const struct sockaddr *)&a.sa, a.len) < 0 ?
			-errno : 0;
	}
	if (!ret && listen(fd, HTTP_CONN_MAX) < 0)
		ret = -errno;
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static void remove_socket_file(struct rv_http *h)
{
	struct stat st;

	/* only if it is still the one we created */
	if (h->path && stat(h->path, &st) == 0 && st.st_dev == h->dev &&
	    st.st_ino == h->ino)
		unlink(h->path);
	free(h->path);
	h->path = NULL;
}

int rv_http_load(char *why, size_t len)
{
	return rv_mhd_load(why, len);
}

static int http_open(struct rv_http **out, struct rv_supervisor *sv,
		     const char *addr, const char *group, int fd,
		     FILE *errors)
{
	const union MHD_DaemonInfo *info;
	struct rv_http *h;
	char why[300];
	int ret;

	/* the library first: nothing bound when it is missing */
	ret = rv_http_load(why, sizeof(why));
	if (ret) {
		fprintf(errors, "ringvisor: http_listen %s: %s\n", addr, why);
		return ret;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->sv = sv;
	h->loop = sv->loop;
	rv_timer_init(&h->timer, on_timer, h);
	rv_timer_init(&h->heartbeat, on_heartbeat, h);
	/* fd >= 0: bound and listening in the image before (reexec) */
	if (fd < 0)
		fd = make_listener(h, addr, group, errors);
	else
		adopt_socket_file(h, addr);
	if (fd < 0) {
		ret = fd;
		goto err_msg;
	}
	/* MHD owns fd from here, and closes it when it stops */
	h->d = rv_mhd.start_daemon(
		MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_request, h,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,	/* first */
		MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)HTTP_CONN_MAX,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
		MHD_OPTION_END);
	if (!h->d) {
		/* not closed here: MHD may have closed it already, and the
		 * supervisor exits 2 on this error anyway */
		ret = -EINVAL;
		goto err_msg;
	}
	info = rv_mhd.get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	ret = info ? 0 : -EINVAL;
	if (!ret)
		ret = rv_loop_fd_reserve(h->loop, 1);
	if (!ret)
		ret = rv_loop_timer_reserve(h->loop, 2);
	if (ret)
		goto err_msg;
	h->w.fd = info->epoll_fd;
	h->w.events = POLLIN;
	h->w.cb = on_ready;
	h->w.ctx = h;
	rearm(h);
	rv_log_sup(RV_LOG_INFO, "main", "http_listening", " address=%s", addr);
	*out = h;
	return 0;
err_msg:
	fprintf(errors, "ringvisor: cannot serve http_listen %s: %s\n", addr,
		strerror(-ret));
	if (h->d)
		rv_mhd.stop_daemon(h->d);
	remove_socket_file(h);
	free(h);
	return ret;
}

int rv_http_listen_fd(const struct rv_http *h)
{
	const union MHD_DaemonInfo *info =
		h && h->d ? rv_mhd.get_daemon_info(h->d,
						   MHD_DAEMON_INFO_LISTEN_FD) :
			    NULL;

	return info ? info->listen_fd : -1;
}

int rv_http_open(struct rv_http **out, struct rv_supervisor *sv,
		 const char *addr, const char *group, FILE *errors)
{
	return http_open(out, sv, addr, group, -1, errors);
}

int rv_http_adopt(struct rv_http **out, struct rv_supervisor *sv,
		  const char *addr, const char *group, int fd, FILE *errors)
{
	return http_open(out, sv, addr, group, fd, errors);
}

void rv_http_handover(struct rv_http *h, const char *line)
{
	if (!h || !h->d)
		return;
	rv_sse_last(&h->sse, "reexec", line, strlen(line));
	/* best effort, never blocking: what the sockets take now */
	for (int i = 0; i < 3; i++)
		rv_mhd.run(h->d);
}

void rv_http_close(struct rv_http *h)
{
	if (!h || !h->d)
		return;
	/* MHD must not be stopped with suspended connections */
	rv_sse_end_all(&h->sse);
	rv_mhd.run(h->d);
	rv_loop_unwatch_fd(h->loop, &h->w);
	rv_loop_timer_cancel(h->loop, &h->timer);
	rv_loop_timer_cancel(h->loop, &h->heartbeat);
	rv_mhd.stop_daemon(h->d);
	h->d = NULL;
	remove_socket_file(h);
}

void rv_http_free(struct rv_http *h)
{
	if (!h)
		return;
	rv_http_close(h);
	free(h);
}

bool rv_http_has_followers(const struct rv_http *h)
{
	return h && h->sse.n > 0;
}

void rv_http_broadcast(struct rv_http *h, const char *line, size_t len)
{
	/* resumed streams are MHD's work at its next MHD_run(): in this
	 * loop turn's timers, not from inside the tree's observer */
	rv_sse_broadcast(&h->sse, line, len);
	rv_loop_timer_arm(h->loop, &h->timer, rv_loop_now(h->loop));
}

size_t rv_http_connections(const struct rv_http *h)
{
	return h ? h->n_conns : 0;
}
