/* SPDX-License-Identifier: MIT */
#include "child/listen.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* net.core.somaxconn: listen() silently truncates to it anyway; read so
 * that the log and status can say what the backlog really is. */
static int somaxconn(void)
{
	char buf[32];
	int fd = open("/proc/sys/net/core/somaxconn", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 4096;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 4096;
	buf[n] = '\0';
	return atoi(buf) > 0 ? atoi(buf) : 4096;
}

static int backlog_of(const struct rv_socket_spec *k)
{
	int max = somaxconn();

	return k->backlog > (uint32_t)max ? max : (int)k->backlog;
}

static const char *unix_path(const struct rv_socket_spec *k)
{
	const struct sockaddr_un *a = (const struct sockaddr_un *)&k->addr;

	return k->family == AF_UNIX && a->sun_path[0] ? a->sun_path : NULL;
}

/* A socket file nobody listens on any more is ours to replace; anything
 * else at the path (a live socket, a regular file) is a bind error. */
static int unlink_stale(const struct rv_socket_spec *k)
{
	const char *path = unix_path(k);
	struct stat st;
	int fd, err;

	if (!path || lstat(path, &st) < 0)
		return 0;		/* bind() reports what is wrong */
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, k->type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&k->addr, k->addrlen) == 0) {
		close(fd);
		return -EADDRINUSE;
	}
	err = errno;
	close(fd);
	/* a datagram socket nobody reads also says ECONNREFUSED */
	if (err != ECONNREFUSED)
		return -err;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

/* Owner and mode of a unix socket's file (nothing else has one). */
static int set_owner_mode(const struct rv_socket_spec *k, const char **step)
{
	const char *path = unix_path(k);
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	if (!path)
		return 0;
	if (k->socket_user) {
		struct passwd *pw = getpwnam(k->socket_user);
		char *end;
		unsigned long v = strtoul(k->socket_user, &end, 10);

		if (*end == '\0' && *k->socket_user)
			uid = (uid_t)v;
		else if (pw)
			uid = pw->pw_uid;
		else
			return *step = "socket_user", -ENOENT;
	}
	if (k->socket_group) {
		struct group *gr = getgrnam(k->socket_group);
		char *end;
		unsigned long v = strtoul(k->socket_group, &end, 10);

		if (*end == '\0' && *k->socket_group)
			gid = (gid_t)v;
		else if (gr)
			gid = gr->gr_gid;
		else
			return *step = "socket_group", -ENOENT;
	}
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    lchown(path, uid, gid) < 0)
		return *step = "chown", -errno;
	if (k->socket_mode >= 0 && chmod(path, (mode_t)k->socket_mode) < 0)
		return *step = "chmod", -errno;
	return 0;
}

int rv_listen_open(const struct rv_socket_spec *k, struct rv_listen_fd *out,
		   const char **step)
{
	static const int one = 1;
	struct stat st;
	int s, ret;

	out->fd = -1;
	out->dev = 0;
	out->ino = 0;
	*step = "socket";
	s = socket(k->family, k->type | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	/* a restarted supervisor rebinds a port whose old connections are
	 * still in TIME_WAIT, as every server does */
	*step = "setsockopt";
	if (k->family != AF_UNIX &&
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto err;
	if (k->reuse_port &&
	    setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto err;
	/* tcp6:// is IPv6 only: tcp:// may take the same port for IPv4 */
	if (k->family == AF_INET6 &&
	    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto err;
	*step = "bind";
	ret = unlink_stale(k);
	if (ret) {
		errno = -ret;
		goto err;
	}
	if (bind(s, (const struct sockaddr *)&k->addr, k->addrlen) < 0)
		goto err;
	*step = "listen";
	if (k->type == SOCK_STREAM && listen(s, backlog_of(k)) < 0)
		goto err_unlink;
	ret = set_owner_mode(k, step);
	if (ret) {
		errno = -ret;
		goto err_unlink;
	}
	if (unix_path(k) && stat(unix_path(k), &st) == 0) {
		out->dev = st.st_dev;
		out->ino = st.st_ino;
	}
	out->fd = s;
	return 0;

err_unlink:
	if (unix_path(k))
		unlink(unix_path(k));
err:
	ret = -errno;
	close(s);
	return ret;
}

int rv_listen_update(const struct rv_socket_spec *k, int fd,
		     const char **step)
{
	*step = "listen";
	/* listen() again on a listening socket sets its backlog */
	if (k->type == SOCK_STREAM && listen(fd, backlog_of(k)) < 0)
		return -errno;
	return set_owner_mode(k, step);
}

void rv_listen_close(const struct rv_socket_spec *k,
		     const struct rv_listen_fd *l)
{
	const char *path = unix_path(k);
	struct stat st;

	if (path && l->ino && stat(path, &st) == 0 && st.st_ino == l->ino &&
	    st.st_dev == l->dev)
		unlink(path);
	close(l->fd);
}
