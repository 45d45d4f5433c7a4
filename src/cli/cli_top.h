/* SPDX-License-Identifier: MIT */
/* `ringvisor top`: what its loop (cli_top.c) and its drawing
 * (cli_top_draw.c) share. */
#ifndef RV_CLI_TOP_H
#define RV_CLI_TOP_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/cli_top_model.h"

/* Below this the screen says so instead of drawing a table. */
#define TOP_MIN_COLS 40
#define TOP_MIN_LINES 6

enum top_mode {
	TOP_BROWSE,	/* keys move, fold, sort, act */
	TOP_FILTER,	/* the `/` prompt */
	TOP_SIGNAL,	/* `k`: which signal */
	TOP_CONFIRM,	/* y/n before an action */
};

struct top_ui {
	struct top_model m;
	size_t sel;		/* index into m.view */
	size_t scroll;		/* first m.view row on screen */
	enum top_mode mode;
	char input[64];		/* the prompt's text */
	char action[16];	/* the pending command: stop start ... */
	char target[256];	/* the member it acts on */
	char signal[64];	/* kill's signal */
	char msg[640];		/* the last outcome, on the bottom line */
	bool colour, utf8;
};

/* Draws the whole screen at now_ms (uptimes move on from the document's
 * time).  The caller has initialised curses. */
void top_draw(struct top_ui *ui, int64_t now_ms);
/* Visible table rows of the current terminal size. */
int top_page_rows(void);

#endif
