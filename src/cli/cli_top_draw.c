/* SPDX-License-Identifier: MIT */
/*
 * `ringvisor top`'s screen: a header line, the column titles, the rows
 * of the tree, and a bottom line for prompts and outcomes.  Columns that
 * do not fit go, least useful first, so a narrow terminal still shows
 * name and state.
 */
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli_top.h"

enum col { C_NAME, C_STATE, C_PID, C_UPTIME, C_RESTARTS, C_EXIT, C_READY,
	   C_SPARK, C_REASON, C_COUNT };

static const struct {
	const char *title;
	int width;	/* 0: computed (name, state, reason) */
	int drop;	/* dropped in this order when too narrow (0: never) */
} cols[C_COUNT] = {
	[C_NAME] = { "NAME", 0, 0 },
	[C_STATE] = { "STATE", 0, 0 },
	[C_PID] = { "PID", 8, 6 },
	[C_UPTIME] = { "UPTIME", 8, 4 },
	[C_RESTARTS] = { "RESTARTS", 9, 7 },
	[C_EXIT] = { "LAST EXIT", 13, 3 },
	[C_READY] = { "READY", 6, 2 },
	[C_SPARK] = { "RESTARTS/MIN", 17, 1 },
	[C_REASON] = { "REASON", 0, 5 },
};

#define REASON_MIN 12

int top_page_rows(void)
{
	return LINES - 3;	/* header, titles, bottom line */
}

/* 12.3s 5m02s 3h04m 2d03h */
static void dur(double s, char *buf, size_t len)
{
	long n = (long)s;

	if (s < 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%.1fs", s);
	else if (n < 3600)
		snprintf(buf, len, "%ldm%02lds", n / 60, n % 60);
	else if (n < 86400)
		snprintf(buf, len, "%ldh%02ldm", n / 3600, n % 3600 / 60);
	else
		snprintf(buf, len, "%ldd%02ldh", n / 86400, n % 86400 / 3600);
}

static int state_attr(const struct top_ui *ui, const char *st)
{
	if (!strcmp(st, "stopped") || !strcmp(st, "completed"))
		return A_DIM;
	if (!ui->colour)
		return !strcmp(st, "failed") ? A_BOLD : A_NORMAL;
	if (!strcmp(st, "running") || !strcmp(st, "alive"))
		return COLOR_PAIR(1);
	if (!strcmp(st, "failed"))
		return COLOR_PAIR(2) | A_BOLD;
	return COLOR_PAIR(3);	/* on its way somewhere */
}

/* The widths of this terminal: -1 for a column that does not fit. */
static void layout(const struct top_ui *ui, int w[C_COUNT])
{
	int name = 12, state = 7, total = 0;

	for (size_t i = 0; i < ui->m.n_view; i++) {
		const struct top_row *r = ui->m.view[i];
		int n = 2 * r->depth + 2 + (int)strlen(r->name) + 1;
		int st = (int)strlen(r->state) + 2;

		name = n > name ? n : name;
		state = st > state ? st : state;
	}
	name = name > 32 ? 32 : name;
	for (int c = 0; c < C_COUNT; c++) {
		w[c] = c == C_NAME ? name : c == C_STATE ? state :
		       c == C_REASON ? REASON_MIN : cols[c].width;
		total += w[c];
	}
	/* drop the least useful until the rest fits */
	for (int d = 1; total > COLS && d < C_COUNT; d++)
		for (int c = 0; c < C_COUNT; c++)
			if (cols[c].drop == d && w[c] > 0) {
				total -= w[c];
				w[c] = -1;
			}
	if (w[C_REASON] > 0)
		w[C_REASON] += COLS - total;	/* the rest of the line */
}

/* s clipped to width cells at (y, x) (padded with spaces). */
static void cell(int y, int x, int width, const char *s)
{
	if (width <= 0)
		return;
	mvprintw(y, x, "%-*.*s", width - 1, width - 1, s);
	addch(' ');
}

static void spark(const struct top_ui *ui, const struct top_row *r,
		  char *buf, size_t len)
{
	static const char *const bars[] = { "\u2581", "\u2582", "\u2583",
		"\u2584", "\u2585", "\u2586", "\u2587", "\u2588" };
	static const char ascii[] = "_.-:=+*#";
	const unsigned *s = top_model_spark(&ui->m, r);
	unsigned max = 0;
	size_t o = 0;

	for (int i = 0; i < TOP_SPARK_SLOTS; i++)
		max = s[i] > max ? s[i] : max;
	for (int i = 0; i < TOP_SPARK_SLOTS && o + 4 < len; i++) {
		unsigned lvl = s[i] && max ? 1 + (s[i] * 6) / max : 0;

		if (ui->utf8)
			o += (size_t)snprintf(buf + o, len - o, "%s",
					      bars[lvl]);
		else
			buf[o++] = ascii[lvl];
	}
	snprintf(buf + o, len - o, " %u", top_model_per_min(&ui->m, r));
}

/*
 * The tree column: a supervisor's fold marker (one cell, however many
 * bytes) at its depth and its name after it; a service's name under its
 * supervisor's.
 */
static void draw_name(const struct top_ui *ui, const struct top_row *r,
		      int y, int x, int width)
{
	const char *mark = !r->is_sup ? "" : !r->has_children ? "  " :
			   r->folded ? (ui->utf8 ? "\u25b8 " : "+ ") :
			   (ui->utf8 ? "\u25be " : "- ");
	int at = x + 2 * r->depth, room;

	mvprintw(y, x, "%*s", width, "");
	if (r->is_sup) {
		mvaddstr(y, at, mark);
		at += 2;
	}
	room = x + width - 1 - at;
	if (room > 0)
		mvprintw(y, at, "%.*s", room, r->name);
}

static void draw_row(const struct top_ui *ui, const struct top_row *r,
		     int y, const int w[C_COUNT], bool selected,
		     double since_s)
{
	char buf[256];
	int x = 0;
	bool up = r->uptime_s >= 0;

	if (selected)
		attron(A_REVERSE);
	for (int c = 0; c < C_COUNT; c++) {
		if (w[c] <= 0)
			continue;
		buf[0] = '\0';
		switch (c) {
		case C_NAME:
			draw_name(ui, r, y, x, w[c]);
			x += w[c];
			continue;
		case C_STATE:
			attron(state_attr(ui, r->state));
			cell(y, x, w[c], r->state);
			attroff(state_attr(ui, r->state));
			x += w[c];
			continue;
		case C_PID:
			if (r->pid > 0)
				snprintf(buf, sizeof(buf), "%ld", r->pid);
			else
				snprintf(buf, sizeof(buf), "-");
			break;
		case C_UPTIME:
			dur(up ? r->uptime_s + since_s : -1, buf, sizeof(buf));
			break;
		case C_RESTARTS:
			snprintf(buf, sizeof(buf), "%ld", r->restarts);
			break;
		case C_EXIT:
			snprintf(buf, sizeof(buf), "%s", r->last_exit);
			break;
		case C_READY:
			snprintf(buf, sizeof(buf), "%s", r->ready < 0 ? "" :
				 r->ready ? "yes" : "no");
			break;
		case C_SPARK:
			/* bars of several bytes each: not for cell()'s %.*s */
			spark(ui, r, buf, sizeof(buf));
			mvprintw(y, x, "%*s", w[c], "");
			mvaddstr(y, x, buf);
			x += w[c];
			continue;
		case C_REASON:
			if (!r->reason[0] && r->next_s >= 0)
				snprintf(buf, sizeof(buf), "restart in %.1fs",
					 r->next_s - since_s > 0 ?
					 r->next_s - since_s : 0);
			else
				snprintf(buf, sizeof(buf), "%s", r->reason);
			break;
		}
		cell(y, x, w[c], buf);
		x += w[c];
	}
	if (selected)
		attroff(A_REVERSE);
}

static void draw_header(const struct top_ui *ui, double since_s)
{
	char up[32], line[512];

	dur(ui->m.sup_uptime_s >= 0 ? ui->m.sup_uptime_s + since_s : -1, up,
	    sizeof(up));
	snprintf(line, sizeof(line),
		 "ringvisor top  supervisor %s  pid %ld  up %s  %s  %s  "
		 "sort: %s%s%s", ui->m.sup_state, ui->m.sup_pid, up,
		 ui->m.backend, ui->m.strategy, top_sort_name(ui->m.sort),
		 ui->m.filter[0] ? "  filter: " : "", ui->m.filter);
	attron(A_BOLD);
	mvaddnstr(0, 0, line, COLS);
	attroff(A_BOLD);
}

static void draw_bottom(const struct top_ui *ui)
{
	static const char keys[] = "q quit  \u2191\u2193 move  \u2190\u2192 "
		"fold  / filter  o sort  s stop  S start  r restart  k kill";
	static const char keys_ascii[] = "q quit  arrows move/fold  / filter"
		"  o sort  s stop  S start  r restart  k kill";
	char line[1024];

	move(LINES - 1, 0);
	clrtoeol();
	switch (ui->mode) {
	case TOP_FILTER:
		snprintf(line, sizeof(line), "filter: %s", ui->input);
		break;
	case TOP_SIGNAL:
		snprintf(line, sizeof(line), "kill %s with signal: %s",
			 ui->target, ui->input);
		break;
	case TOP_CONFIRM:
		if (!strcmp(ui->action, "kill"))
			snprintf(line, sizeof(line),
				 "kill %s with %s? (y/n)", ui->target,
				 ui->signal);
		else
			snprintf(line, sizeof(line), "%s %s? (y/n)",
				 ui->action, ui->target);
		break;
	default:
		snprintf(line, sizeof(line), "%s", ui->msg[0] ? ui->msg :
			 ui->utf8 ? keys : keys_ascii);
		break;
	}
	if (ui->mode != TOP_BROWSE)
		attron(A_BOLD);
	mvaddnstr(LINES - 1, 0, line, -1);
	if (ui->mode != TOP_BROWSE)
		attroff(A_BOLD);
}

void top_draw(struct top_ui *ui, int64_t now_ms)
{
	double since_s = (double)(now_ms - ui->m.loaded_ms) / 1e3;
	int w[C_COUNT], x = 0, rows = top_page_rows();

	erase();
	if (COLS < TOP_MIN_COLS || LINES < TOP_MIN_LINES) {
		mvprintw(0, 0, "terminal too small: %dx%d, top needs %dx%d",
			 COLS, LINES, TOP_MIN_COLS, TOP_MIN_LINES);
		refresh();
		return;
	}
	layout(ui, w);
	draw_header(ui, since_s);
	attron(A_UNDERLINE);
	for (int c = 0; c < C_COUNT; c++)
		if (w[c] > 0) {
			cell(1, x, w[c], cols[c].title);
			x += w[c];
		}
	attroff(A_UNDERLINE);
	/* keep the selection on screen */
	if (ui->sel < ui->scroll)
		ui->scroll = ui->sel;
	if (ui->sel >= ui->scroll + (size_t)rows)
		ui->scroll = ui->sel - (size_t)rows + 1;
	for (int i = 0; i < rows && ui->scroll + (size_t)i < ui->m.n_view;
	     i++) {
		size_t k = ui->scroll + (size_t)i;

		draw_row(ui, ui->m.view[k], 2 + i, w, k == ui->sel, since_s);
	}
	draw_bottom(ui);
	refresh();
}
