/* SPDX-License-Identifier: MIT */
/*
 * What the files of the hand-over share (daemon/handover*.c only):
 * handover.c is the old image's side, handover_resume.c the new image's,
 * handover_child.c what runs the new binary before the exec (the probe,
 * the dry run) and the environment every exec gets.
 */
#ifndef RV_HANDOVER_INTERNAL_H
#define RV_HANDOVER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/handover_json.h"
#include "daemon/handover_phases.h"
#include "tree/snapshot.h"
#include "util/fdkeep.h"

#define NS_PER_MS		1000000LL

struct rv_handover {
	int exe_fd;		/* O_PATH of the image running now */
	char *exe_path;		/* resolved at start: the default binary */
	char **argv;		/* our command line, for the next image */
	/* resuming from a previous image's state (until the first turn) */
	bool resuming;
	bool took_over;		/* this image started from a state */
	int state_fd;
	struct rv_snapshot snap;
	struct rv_handover_ctl ctl;
	char *error;		/* we are the image rolled back to: why */
	struct rv_fdkeep fds;	/* every descriptor of the state */
	bool check_config;	/* resumed: compare the config with disk */
	/* where the time of the hand-over in progress goes */
	int64_t stamp[RV_ST_N];
	/* the library's between-turns hook (handover_api.c) */
	void (*turn_fn)(struct rv_supervisor *sv, void *ctx);
	void *turn_ctx;
	bool in_turn_hook;
};

/* Steps 1 to 6 (the probe, the dry run, quiesce, state, exec) to binary.
 * Returns only on failure, -errno with err, the tree running on. */
int rv_handover_run(struct rv_supervisor *sv, const char *binary,
		    int64_t timeout_ns, char *err, size_t errlen);
/* Calls the library's turn hook, if one is set (between two turns). */
void rv_handover_turn_hook(struct rv_supervisor *sv);
/* The environment the next images start from (NULL: environ). */
void rv_handover_env_base(char *const envp[]);

/*
 * environ without our hand-over variables, plus extra[0..n): for a probe
 * or a dry run; image: for the next image, with systemd's variables too.
 * One allocation (the caller frees it); the strings are not copied.
 */
char **rv_handover_env(char *const extra[], size_t n, bool image);
/* Step 1: which state formats does binary read?  The newest of them this
 * binary writes, or -errno with err. */
int rv_handover_probe(const char *binary, int64_t timeout_ns, char *err,
		      size_t errlen);
/* Step 4: binary reads the state in state_fd, builds and applies it
 * (`--handover-check` with our own options).  0, or -errno with err. */
int rv_handover_dry_run(const struct rv_handover *h, const char *binary,
			int state_fd, int64_t timeout_ns, char *err,
			size_t errlen);

/* The supervisor's own part of the state (handover_daemon.c): filled by
 * the old image (0 or -ENOMEM), read back by the new one. */
struct rv_supervisor;
int rv_handover_daemon_take(const struct rv_supervisor *sv,
			    struct rv_snap_daemon *d);
void rv_handover_daemon_restore(struct rv_supervisor *sv,
				const struct rv_snap_daemon *d);
/* Once after a resume, between two turns: logs event=config_changed
 * when the files on disk differ from the running config's bytes. */
void rv_handover_config_changed(struct rv_supervisor *sv);

#endif
