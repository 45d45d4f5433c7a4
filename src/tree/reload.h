/* SPDX-License-Identifier: MIT */
/*
 * `reload` and SIGHUP: re-read the config and apply the difference to the
 * live tree, in place (reload.c).  The caller (the control plane, or the
 * SIGHUP handler) turns the result into a reply or a log line.
 */
#ifndef RV_RELOAD_H
#define RV_RELOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rv_supervisor;

enum rv_reload_outcome {
	RV_RELOAD_APPLIED,	/* the diff is applied; jobs may be pending */
	RV_RELOAD_QUEUED,	/* one is being applied: this one follows */
	RV_RELOAD_REFUSED,	/* the config has errors: nothing changed */
	RV_RELOAD_NO_CONFIG,	/* started without a config file */
	RV_RELOAD_SHUTTING_DOWN,
	RV_RELOAD_NOMEM,	/* nothing changed */
};

/* Names are copies; rv_reload_result_free() frees them. */
struct rv_reload_result {
	enum rv_reload_outcome outcome;
	char *errors;		/* REFUSED: the diagnostics, one per line */
	int n_errors;
	char **restarted, **started, **stopped;
	size_t n_restarted, n_started, n_stopped;
	size_t n_unchanged;	/* services left as they are */
	bool needs_restart;	/* backend, control socket, ...: changed,
				 * take effect only when ringvisor restarts */
};

/* Reads the config and applies it, or queues or refuses it.  Logs what
 * happened.  *res is filled in every case. */
void rv_reload_request(struct rv_supervisor *sv, int64_t now,
		       struct rv_reload_result *res);
void rv_reload_result_free(struct rv_reload_result *res);
/* One job of the reload being applied is done (a service rebuilt or
 * removed); the last one lets a queued reload run. */
void rv_reload_job_done(struct rv_supervisor *sv, int64_t now);
/* Setup: the timer that runs a queued reload on a fresh loop turn. */
void rv_reload_init(struct rv_supervisor *sv);

#endif
