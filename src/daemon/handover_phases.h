/* SPDX-License-Identifier: MIT */
/*
 * Where a hand-over's time goes (docs/reexec.md, "Hand-over time"): a
 * clock stamp at the end of each step, in both images.  The old image's
 * stamps cross in RINGVISOR_HANDOVER_STAMPS (the state is written before
 * its last stamps are taken); the new image adds its own and logs the
 * phases with event=reexec_done.  CLOCK_MONOTONIC does not move across
 * exec, so the differences are true durations.
 */
#ifndef RV_HANDOVER_PHASES_H
#define RV_HANDOVER_PHASES_H

#include <stddef.h>
#include <stdint.h>

#define RV_HANDOVER_STAMPS_ENV "RINGVISOR_HANDOVER_STAMPS"

enum rv_handover_stamp {
	RV_ST_CHECK_BEGIN,	/* the probe starts (the loop still runs) */
	RV_ST_CHECKED,		/* probe and dry run passed */
	RV_ST_BEGIN,		/* quiesce starts: the pause begins (t0) */
	RV_ST_QUIESCED,
	RV_ST_FLUSHED,		/* outputs' whole lines written */
	RV_ST_TAKEN,		/* the tree's state taken */
	RV_ST_WRITTEN,		/* JSON in the sealed memfd */
	RV_ST_EXEC,		/* right before execve */
	/* the old image's stamps end here: they cross */
	RV_ST_MAIN,		/* the new image's first hand-over code */
	RV_ST_READ,		/* the state read and parsed, fds listed */
	RV_ST_LOADED,		/* config loaded, tree built, loop made */
	RV_ST_APPLIED,		/* fds adopted, state applied */
	RV_ST_ARMED,		/* children watched, timers armed: ack */
	RV_ST_N
};
#define RV_ST_CROSS	RV_ST_MAIN

/* "RINGVISOR_HANDOVER_STAMPS=a,b,..." of the old image's stamps, into
 * buf (at least RV_HANDOVER_STAMPS_LEN bytes). */
#define RV_HANDOVER_STAMPS_LEN	(32 + RV_ST_CROSS * 21)
void rv_handover_stamps_env(const int64_t st[RV_ST_N], char *buf,
			    size_t len);
/* The old image's stamps from the variable's value (NULL: none; a value
 * that does not parse leaves them 0: they are only measured, not used). */
void rv_handover_stamps_parse(const char *value, int64_t st[RV_ST_N]);
/* " quiesce_ms=.. flush_ms=.. take_ms=.. write_ms=.. prepare_ms=.. exec_ms=..
 * read_ms=.. load_ms=.. apply_ms=.. arm_ms=.. check_ms=..": the log
 * line's phases (docs/log-events.md, reexec_done). */
void rv_handover_phases_format(const int64_t st[RV_ST_N], char *buf,
			       size_t len);

#endif
