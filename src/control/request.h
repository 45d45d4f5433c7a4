/* SPDX-License-Identifier: MIT */
/*
 * Control protocol requests: one JSON object per line, e.g.
 *   {"cmd": "status", "services": ["web"]}
 *   {"cmd": "kill", "services": ["web"], "signal": "HUP"}
 *   {"cmd": "stop", "services": ["web"], "wait": true, "timeout_s": 10}
 *   {"cmd": "logs", "services": ["web@0"], "lines": 20, "follow": true}
 * Pure: no I/O, no supervisor state.  See README "Control protocol".
 */
#ifndef RV_REQUEST_H
#define RV_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest request line accepted, newline excluded. */
#define RV_REQUEST_MAX (64 * 1024)
#define RV_REQUEST_MAX_NAMES 4096

enum rv_cmd {
	RV_CMD_STATUS,
	RV_CMD_START,
	RV_CMD_STOP,
	RV_CMD_RESTART,
	RV_CMD_KILL,
	RV_CMD_RELOAD,
	RV_CMD_SHUTDOWN,
	RV_CMD_METRICS,
	RV_CMD_EVENTS,
	RV_CMD_LOGS,
	RV_CMD_REEXEC,
};

struct rv_request {
	enum rv_cmd cmd;
	const char **names;	/* point into the parsed document */
	size_t n_names;
	int signal;		/* kill */
	/* start stop restart shutdown: "wait": true holds the reply until
	 * they are done, "timeout_s" (> 0) at most that long */
	bool wait;
	int64_t timeout_ns;
	size_t lines;		/* logs: the last N lines (0: all kept) */
	bool follow;		/* logs: then the new lines as they come */
	bool rolling;		/* restart: one instance at a time */
	const char *binary;	/* reexec: the new image (NULL: ours) */
	void *doc;		/* the parsed JSON (json_t *), owned */
};

/*
 * Parses buf[0..len) (no newline; need not be NUL-terminated).  On error
 * returns -EINVAL (or -ENOMEM, -E2BIG) and writes a one-line reason into
 * err.  The caller frees a successful parse with rv_request_free().
 */
int rv_request_parse(const char *buf, size_t len, struct rv_request *out,
		     char *err, size_t errlen);
void rv_request_free(struct rv_request *r);
const char *rv_cmd_name(enum rv_cmd cmd);

#endif
