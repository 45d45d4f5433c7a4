/* SPDX-License-Identifier: MIT */
/*
 * The control socket: a Unix stream socket served by the loop (accept,
 * recv and send are ring operations on io_uring).  One JSON request per
 * line, one JSON reply per line; `events` turns a connection into a
 * follower that receives one JSON event per line.  Peers are checked with
 * SO_PEERCRED: root, our own uid, or a member of control_group.
 */
#ifndef RV_CONTROL_H
#define RV_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct rv_supervisor;
struct rv_control;

/*
 * Creates the socket at path (mode 0600, or 0660 and owned by group when
 * group is not NULL), removing a stale socket only if nobody listens on it.
 * 0 or -errno, with the reason printed to errors.
 */
int rv_control_open(struct rv_control **out, struct rv_supervisor *sv,
		    const char *path, const char *group, FILE *errors);
/* The same with the listening socket fd a previous image handed over
 * (`reexec`): nothing is bound, the socket never closed. */
int rv_control_adopt(struct rv_control **out, struct rv_supervisor *sv,
		     const char *path, const char *group, int fd, FILE *errors);
/* The listening socket, or -1. */
int rv_control_fd(const struct rv_control *c);
/* The connection of the `reexec` request being handed over, or -1. */
int rv_control_requester_fd(const struct rv_control *c);
/*
 * Right before the exec of a hand-over (the loop quiesced): every
 * connection but the requester's is closed; `events` followers get their
 * pending events and the line event, requests that wait get retry (each
 * line with its newline, sent without blocking, best effort).
 */
void rv_control_handover(struct rv_control *c, const char *event,
			 const char *retry);
/* The new image: the requester's connection fd, answered with reply
 * (malloc'd, taken), then served as any connection.  0 or -ENOMEM. */
int rv_control_adopt_conn(struct rv_control *c, int fd, char *reply);
/* Stops serving: closes every connection and removes the socket file
 * (if it is still ours).  Idempotent. */
void rv_control_close(struct rv_control *c);
/* Frees everything; call after rv_loop_free() (the kernel may use the
 * buffers of in-flight operations until the ring is gone). */
void rv_control_free(struct rv_control *c);
/* True when at least one `events` follower is connected (cheap). */
bool rv_control_has_followers(const struct rv_control *c);
/* Queues line (with its '\n') to every follower; a follower whose buffer
 * is full is told so and dropped.  Never allocates, never blocks. */
void rv_control_broadcast(struct rv_control *c, const char *line, size_t len);
/*
 * `logs -f` followers (not counted above): is anyone following the
 * output of instance name, and queue line to those who are.
 */
bool rv_control_follows_logs_of(const struct rv_control *c, const char *name);
void rv_control_broadcast_logs(struct rv_control *c, const char *name,
			       const char *line, size_t len);
size_t rv_control_connections(const struct rv_control *c);
/* The requests waiting for the tree (waiters.h); NULL without a socket. */
struct rv_waiters *rv_control_waiters(struct rv_control *c);
/* True while a reply is still being sent (e.g. the answer to the
 * `shutdown` that ended the supervisor). */
bool rv_control_flushing(const struct rv_control *c);

#endif
