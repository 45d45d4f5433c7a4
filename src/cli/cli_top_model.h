/* SPDX-License-Identifier: MIT */
/*
 * `ringvisor top`'s model: the tree of the status document as rows, the
 * restart history behind each sparkline, and the visible order (folded
 * supervisors, filter, sort).  No terminal here: cli_top_draw.c draws it.
 */
#ifndef RV_CLI_TOP_MODEL_H
#define RV_CLI_TOP_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOP_ROOT_NAME "main"	/* the top level's name in the document */
#define TOP_SPARK_SLOTS 12	/* sparkline: 12 slots ... */
#define TOP_SPARK_SLOT_S 10	/* ... of 10 s: the last two minutes */

enum top_sort { TOP_SORT_NAME, TOP_SORT_STATE, TOP_SORT_RESTARTS,
		TOP_SORT_COUNT };

struct top_row {
	char *name;
	char *parent;		/* its supervisor; NULL for the top level */
	bool is_sup;
	char state[24];
	long pid;		/* -1: none */
	double uptime_s;	/* -1: not running */
	long restarts;
	char last_exit[40];
	int ready;		/* -1: not a service */
	char reason[128];	/* failed reason, what it waits for, ... */
	double next_s;		/* backoff: restart due in (-1: none) */
	/* view */
	int depth;
	bool folded;		/* a supervisor whose members are hidden */
	bool has_children;
	size_t hist;		/* its entry of top_model.hist */
};

/* Per name, across reloads of the document: restart counts seen and the
 * restarts of each sparkline slot. */
struct top_hist {
	char *name;
	long restarts;
	unsigned slot[TOP_SPARK_SLOTS];
	bool folded;
};

struct top_model {
	/* the supervisor line */
	char sup_state[24], backend[16], strategy[16];
	long sup_pid;
	double sup_uptime_s;
	int64_t loaded_ms;	/* monotonic time of the document */

	struct top_row *rows;	/* document order */
	size_t n_rows;
	struct top_hist *hist;
	size_t n_hist, cap_hist;
	int64_t slot_epoch;	/* index of the newest slot (time / slot) */

	/* the visible rows, in drawing order (pointers into rows) */
	struct top_row **view;
	size_t n_view;
	enum top_sort sort;
	char filter[64];
};

/* Replaces the rows with those of the status document st (the "status"
 * object of the reply) read at now_ms; restart increases since the last
 * document go into the current sparkline slot.  0 or -ENOMEM. */
int top_model_load(struct top_model *m, json_t *st, int64_t now_ms);
/* Applies one event line of the `events` stream to its row at once (the
 * next document confirms it).  True when a row changed. */
bool top_model_event(struct top_model *m, json_t *ev, int64_t now_ms);
/* Moves the sparkline slots on to now_ms (older slots scroll out). */
void top_model_tick(struct top_model *m, int64_t now_ms);
/* Rebuilds m->view from rows, fold state, filter and sort. */
int top_model_view(struct top_model *m);
/* Folds or unfolds a supervisor row (by name: it survives reloads). */
void top_model_fold(struct top_model *m, const char *name, bool folded);
/* Row r's sparkline: TOP_SPARK_SLOTS restart counts, oldest first. */
const unsigned *top_model_spark(const struct top_model *m,
				const struct top_row *r);
/* Restarts over the last minute of row r's history. */
unsigned top_model_per_min(const struct top_model *m,
			   const struct top_row *r);
void top_model_free(struct top_model *m);

const char *top_sort_name(enum top_sort s);

#endif
