/* SPDX-License-Identifier: MIT */
/*
 * Unix listening sockets (the control socket, an http_listen path): the
 * directory is made, and a socket file left by a dead supervisor is
 * removed, but never one somebody still listens on.
 */
#ifndef RV_UNIX_SOCKET_H
#define RV_UNIX_SOCKET_H

#include <stdio.h>

/*
 * Before bind(path): makes its parent directory (0755) and clears a stale
 * socket.  0 or -errno; -EEXIST (not a socket) and -EADDRINUSE (someone
 * listens) are explained on errors, naming the socket as what.
 */
int rv_unix_socket_prepare(const char *path, const char *what, FILE *errors);

#endif
