/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's end of the systemd notify protocol: one AF_UNIX
 * SOCK_DGRAM socket, read by the loop, whose path goes into the
 * NOTIFY_SOCKET of type=notify services.  Every datagram is authenticated
 * by the kernel (SO_PASSCRED: SCM_CREDENTIALS carries the sender's pid,
 * uid and gid, which an unprivileged sender cannot forge), parsed with
 * rv_notify_msg_parse() and handed to the owner's callback together with
 * the sender's pid.  Deciding whether that pid belongs to a service is the
 * owner's business.
 *
 * Dropped (counted in struct rv_notify_stats, logged at most once a second
 * per reason with event=notify_dropped):
 *   - datagrams larger than RV_NOTIFY_MSG_MAX (4 KiB, as systemd);
 *   - datagrams without credentials, or whose sender's pid is not visible
 *     in our pid namespace (pid 0);
 *   - datagrams whose control data was truncated (more fds than we take);
 *   - messages rv_notify_msg_parse() refuses (empty, embedded NUL, ...);
 *   - messages the owner's callback refuses: the sender belongs to no
 *     service (logged as event=notify_unknown_sender).
 * File descriptors passed with SCM_RIGHTS (sd_pid_notify_with_fds(),
 * FDSTORE=1; at most 16 a datagram) reach the callback in msg->fds: it
 * keeps those it wants (the service's fd store, tree/fdpass.c) and every
 * other one is closed after it returns, also when the datagram is
 * dropped.
 *
 * No allocation after rv_notify_open(): the receive buffers live in the
 * object.  The loop needs one fd watch for it (rv_loop_fd_reserve(loop, 1)).
 */
#ifndef RV_NOTIFY_H
#define RV_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "control/notify_msg.h"
#include "loop.h"

struct rv_notify;

/*
 * Called on the loop thread for each well-formed datagram.  pid and uid
 * come from SCM_CREDENTIALS (pid > 0).  msg and the strings it points to
 * are valid only during the call.  Returns false when pid is nobody the
 * owner listens to: the datagram is then dropped as from an unknown
 * sender (counted, logged at most once a second).  The callback may call
 * rv_notify_close().  It runs for every datagram anyone sends, so it must
 * be cheap for strangers: a lookup, no scan.
 */
typedef bool rv_notify_cb(void *ctx, pid_t pid, uid_t uid,
			  const struct rv_notify_msg *msg);

struct rv_notify_stats {
	uint64_t received;	/* datagrams read */
	uint64_t delivered;	/* accepted by the callback */
	uint64_t dropped_oversize;
	uint64_t dropped_no_creds;
	uint64_t dropped_ctrunc;
	uint64_t dropped_invalid;
	uint64_t dropped_unknown_sender;	/* refused by the callback */
	uint64_t fds_closed;	/* SCM_RIGHTS fds received and closed */
};

/*
 * Creates the socket (SOCK_DGRAM, CLOEXEC, NONBLOCK, SO_PASSCRED) bound to
 * path and starts watching it on loop.
 *   - "/run/ringvisor/notify.sock": a file-system socket.  The directory
 *     must exist.  A stale socket at path is unlinked first; anything else
 *     there (a regular file, a directory) is refused with -EEXIST.  The
 *     socket is made mode 0666 so that services running under other uids
 *     can send; senders are told apart by their credentials, not by file
 *     permissions (as systemd's /run/systemd/notify).
 *   - "@name": an abstract socket (Linux; scoped to the network namespace,
 *     nothing to unlink).
 * path must fit sun_path (at most 107 bytes).  Returns 0 or -errno
 * (-ENAMETOOLONG, -EINVAL for an empty or relative path, -EEXIST,
 * -EADDRINUSE for an abstract name in use, socket/bind errors, -ENOMEM).
 * The caller frees *out with rv_notify_close().
 */
int rv_notify_open(struct rv_notify **out, struct rv_loop *loop,
		   const char *path, rv_notify_cb *cb, void *ctx);

/*
 * Stops watching, closes the socket and unlinks its file if it is still
 * ours.  NULL is a no-op.  Safe from inside the callback (the object is
 * freed once the callback returns).  A file-system path can be bound again
 * at once; an abstract name only once the kernel drops its last reference
 * to the socket, which on the io_uring backend is when the loop submits the
 * poll's cancellation (its next turn).
 */
void rv_notify_close(struct rv_notify *n);

/* The address to put in children's NOTIFY_SOCKET (as given to open). */
const char *rv_notify_path(const struct rv_notify *n);

/* The socket (for tests and diagnostics; the loop owns its readiness). */
/* The same with the socket a previous image handed over (`reexec`),
 * bound at path all along: datagrams sent meanwhile wait in it. */
int rv_notify_adopt(struct rv_notify **out, struct rv_loop *loop,
		    const char *path, int fd, rv_notify_cb *cb, void *ctx);
int rv_notify_fd(const struct rv_notify *n);

void rv_notify_get_stats(const struct rv_notify *n,
			 struct rv_notify_stats *out);
/* A hand-over's new image counts on from the previous image's. */
void rv_notify_carry_stats(struct rv_notify *n,
			   const struct rv_notify_stats *st);

/*
 * Fills *sa for a notify address as NOTIFY_SOCKET spells it ("/abs/path"
 * or "@abstract"); *len is what bind/connect/sendto want.  0, -EINVAL
 * (empty, relative, "@" alone) or -ENAMETOOLONG.
 */
int rv_notify_sockaddr(const char *path, struct sockaddr_un *sa,
		       socklen_t *len);

#endif
