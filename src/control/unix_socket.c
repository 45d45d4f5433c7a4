// SPDX-License-Identifier: MIT
#include "config/runtime_dir.h"
#include "control/unix_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * Whether the process that listens on the socket fd is connected to (the
 * one that called listen(), SO_PEERCRED) still lives.  A supervisor
 * SIGKILLed on io_uring leaves its listening socket open for a few
 * milliseconds after its death (the ring is torn down asynchronously and
 * the accept in flight holds the file): connect() then succeeds into the
 * backlog of nobody.  An unknown pid (another pid namespace) counts as
 * alive, and so does a pid we cannot check: refusing is the safe side.
 */
static bool listener_alive(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	char path[64], buf[512], *p;
	ssize_t n;
	int sfd;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 ||
	    cr.pid <= 0)
		return true;
	if (kill(cr.pid, 0) < 0 && errno == ESRCH)
		return false;
	/* a zombie (not reaped yet by its parent) is dead too */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)cr.pid);
	sfd = open(path, O_RDONLY | O_CLOEXEC);
	if (sfd < 0)
		return errno != ENOENT;
	n = read(sfd, buf, sizeof(buf) - 1);
	close(sfd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* after "pid (comm" */
	return !(p && p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X'));
}

/* An existing socket file: refuse if someone listens, else remove it. */
static int clear_stale(const char *path, const struct sockaddr_un *sa,
		       const char *what, FILE *errors)
{
	struct stat st;
	int fd, ret;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(errors, "ringvisor: %s %s exists and is not a "
			"socket; refusing to remove it\n", what, path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	if (ret < 0)
		ret = -errno;
	else if (!listener_alive(fd))
		ret = -ECONNREFUSED;	/* the socket of a dead supervisor */
	close(fd);
	if (ret == 0) {
		fprintf(errors, "ringvisor: another supervisor is listening "
			"on the %s %s\n", what, path);
		return -EADDRINUSE;
	}
	if (ret != -ECONNREFUSED)
		return ret;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int rv_unix_socket_prepare(const char *path, const char *what, FILE *errors)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	ret = rv_make_socket_dir(path, errors);	/* says why */
	return ret ? ret : clear_stale(path, &sa, what, errors);
}
