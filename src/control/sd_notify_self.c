/* SPDX-License-Identifier: MIT */
#include "control/sd_notify_self.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/notify.h"

static struct {
	bool enabled;
	struct sockaddr_un sa;
	socklen_t salen;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	uint64_t watchdog_usec;
} self;

/* A positive decimal, as systemd's parse_pid()/safe_atou64() take it. */
static bool parse_positive(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (!v)
		return false;
	*out = v;
	return true;
}

static void take_watchdog(void)
{
	const char *wpid = getenv("WATCHDOG_PID");
	const char *usec = getenv("WATCHDOG_USEC");
	uint64_t pid, v;

	if (!usec && !wpid)
		return;
	if (wpid && (!parse_positive(wpid, INT32_MAX, &pid) ||
		     (pid_t)pid != getpid()))
		return;		/* someone else's: leave it alone */
	if (usec && parse_positive(usec, UINT64_MAX, &v))
		self.watchdog_usec = v;
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

int rv_sd_notify_self_init(void)
{
	const char *v = getenv("NOTIFY_SOCKET");
	int ret = 0;

	memset(&self, 0, sizeof(self));
	take_watchdog();
	if (!v)
		return 0;
	ret = rv_notify_sockaddr(v, &self.sa, &self.salen);
	if (ret == 0) {
		/* fits: rv_notify_sockaddr() checked it against sun_path */
		strcpy(self.path, v);
		self.enabled = true;
	}
	unsetenv("NOTIFY_SOCKET");	/* v is invalid from here on */
	return ret;
}

bool rv_sd_notify_self_enabled(void)
{
	return self.enabled;
}

const char *rv_sd_notify_self_socket(void)
{
	return self.enabled ? self.path : NULL;
}

uint64_t rv_sd_notify_self_watchdog_usec(void)
{
	return self.watchdog_usec;
}

int rv_sd_notify_self(const char *state)
{
	size_t len = state ? strlen(state) : 0;
	ssize_t n;
	int fd, err;

	if (!len)
		return -EINVAL;
	if (len > RV_NOTIFY_MSG_MAX)
		return -EMSGSIZE;
	if (!self.enabled)
		return 0;
	/*
	 * A fresh socket per message: rare messages, and no fd of ours stays
	 * open.  The manager's SO_PASSCRED makes the kernel attach our
	 * credentials; nothing to add by hand.
	 */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	do {
		n = sendto(fd, state, len, MSG_NOSIGNAL,
			   (const struct sockaddr *)&self.sa, self.salen);
	} while (n < 0 && errno == EINTR);
	err = n < 0 ? errno : 0;
	close(fd);
	return -err;
}
