/* SPDX-License-Identifier: MIT */
/* The control protocol's client side (blocking: this runs in the CLI). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ringvisor.h"

#define LINE_MAX_BYTES (64 * 1024 * 1024)	/* status of many services */

struct rv_client {
	int fd;
	char *buf;
	size_t len, cap;
};

int rv_client_open(struct rv_client **out, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct rv_client *c;
	int err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0 ||
	    connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		if (c->fd >= 0)
			close(c->fd);
		free(c);
		return -err;
	}
	*out = c;
	return 0;
}

int rv_client_fd(const struct rv_client *c)
{
	return c->fd;
}

void rv_client_close(struct rv_client *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rv_client_next_line(struct rv_client *c, char **line, int timeout_ms)
{
	int64_t end = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;

	for (;;) {
		char *nl = c->buf ? memchr(c->buf, '\n', c->len) : NULL;
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		ssize_t n;
		int wait;

		if (nl) {
			size_t n_line = (size_t)(nl - c->buf);

			*line = strndup(c->buf, n_line);
			if (!*line)
				return -ENOMEM;
			memmove(c->buf, nl + 1, c->len - n_line - 1);
			c->len -= n_line + 1;
			return 0;
		}
		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? c->cap * 2 : 8192;
			char *b;

			if (cap > LINE_MAX_BYTES)
				return -E2BIG;
			b = realloc(c->buf, cap);
			if (!b)
				return -ENOMEM;
			c->buf = b;
			c->cap = cap;
		}
		wait = end < 0 ? -1 : (int)(end - mono_ms());
		/* timeout 0 still reads what is there (poll without waiting) */
		if (end >= 0 && wait < 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		c->len += (size_t)n;
	}
}

int rv_client_request(struct rv_client *c, const char *request, char **reply,
		      int timeout_ms)
{
	size_t len = strlen(request), off = 0;
	char *msg = malloc(len + 2);

	if (!msg)
		return -ENOMEM;
	/* a wire message, newline-terminated on purpose */
	// NOLINTNEXTLINE(bugprone-not-null-terminated-result)
	memcpy(msg, request, len);
	msg[len++] = '\n';
	while (off < len) {
		ssize_t n = send(c->fd, msg + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			free(msg);
			/* the server may have answered and hung up before
			 * reading us (a refusal): its answer is still here */
			if ((err == EPIPE || err == ECONNRESET) &&
			    rv_client_next_line(c, reply, 1000) == 0)
				return 0;
			return -err;
		}
		off += (size_t)n;
	}
	free(msg);
	return rv_client_next_line(c, reply, timeout_ms);
}
