/* SPDX-License-Identifier: MIT */
/*
 * `ringvisor top`: the tree live, full screen.  One status document at
 * the start, then the event stream: each event updates its row at once,
 * and the document is read again at most once a second, and only when
 * events came (a quiet supervisor costs one wake-up a second, for the
 * uptimes).  Actions send the requests `stop`, `start`, `restart` and
 * `kill` send.  Whatever ends it (q, a signal, the supervisor going
 * away), the terminal is given back as it was.
 */
#include <errno.h>
#include <getopt.h>
#include <curses.h>
#include <jansson.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_top.h"
#include "ringvisor.h"

#define REQUEST_TIMEOUT_MS 10000
#define REFRESH_MS 1000		/* at most one status document a second */

static volatile sig_atomic_t got_signal, got_winch;

static void on_signal(int sig)
{
	if (sig == SIGWINCH)
		got_winch = 1;
	else
		got_signal = sig;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct top {
	struct top_ui ui;
	char *path;		/* the control socket */
	struct rv_client *events;
	bool curses;
	bool dirty;		/* events came since the last document */
	int64_t fetched_ms;
	char why[512];		/* why it ended, printed after endwin */
};

/*
 * One request on its own connection.  0 with *doc (the caller frees),
 * 1 when the supervisor refused it (why in err), -1 when it could not be
 * asked (err says why).
 */
static int ask(const char *path, json_t *req, json_t **doc, char *err,
	       size_t len)
{
	struct rv_client *c = NULL;
	char *text = json_dumps(req, JSON_COMPACT), *reply = NULL;
	int ret = text ? rv_client_open(&c, path) : -ENOMEM;

	json_decref(req);
	if (!ret)
		ret = rv_client_request(c, text, &reply, REQUEST_TIMEOUT_MS);
	rv_client_close(c);
	free(text);
	if (ret) {
		snprintf(err, len, "cannot reach the supervisor at %s: %s",
			 path, strerror(-ret));
		return -1;
	}
	*doc = json_loads(reply, 0, NULL);
	free(reply);
	if (!json_is_object(*doc)) {
		json_decref(*doc);
		snprintf(err, len, "malformed reply from %s", path);
		return -1;
	}
	if (!json_is_true(json_object_get(*doc, "ok"))) {
		snprintf(err, len, "%s", json_string_value(json_object_get(
			 *doc, "error")) ?: "refused");
		json_decref(*doc);
		return 1;
	}
	return 0;
}

static const struct top_row *selected(const struct top_ui *ui)
{
	return ui->sel < ui->m.n_view ? ui->m.view[ui->sel] : NULL;
}

/* After the view changed: the same row stays selected if it is there. */
static void reselect(struct top_ui *ui, const char *name)
{
	for (size_t i = 0; name && i < ui->m.n_view; i++)
		if (!strcmp(ui->m.view[i]->name, name)) {
			ui->sel = i;
			return;
		}
	if (ui->sel >= ui->m.n_view)
		ui->sel = ui->m.n_view ? ui->m.n_view - 1 : 0;
}

/* The selected row's name, kept across a new view (the caller frees). */
static char *selected_name(const struct top_ui *ui)
{
	const struct top_row *r = selected(ui);

	return r ? strdup(r->name) : NULL;
}

static void refresh_view(struct top_ui *ui)
{
	char *name = selected_name(ui);

	top_model_view(&ui->m);
	reselect(ui, name);
	free(name);
}

static int fetch_status(struct top *t)
{
	char *name;
	json_t *doc;
	int ret = ask(t->path, json_pack("{s:s}", "cmd", "status"), &doc,
		      t->why, sizeof(t->why));

	if (ret)
		return -1;
	t->fetched_ms = now_ms();
	t->dirty = false;
	name = selected_name(&t->ui);
	ret = top_model_load(&t->ui.m, json_object_get(doc, "status"),
			     t->fetched_ms);
	reselect(&t->ui, name);
	free(name);
	json_decref(doc);
	if (ret)
		snprintf(t->why, sizeof(t->why), "out of memory");
	return ret;
}

static int subscribe(struct top *t)
{
	char *reply = NULL;
	int ret = rv_client_open(&t->events, t->path);

	if (!ret)
		ret = rv_client_request(t->events, "{\"cmd\":\"events\"}",
					&reply, REQUEST_TIMEOUT_MS);
	if (!ret && !strstr(reply, "\"following\""))
		ret = -EPROTO;
	free(reply);
	if (ret) {
		snprintf(t->why, sizeof(t->why),
			 "cannot connect to %s: %s%s", t->path,
			 strerror(-ret), ret == -ENOENT ||
			 ret == -ECONNREFUSED ? " (is the supervisor "
			 "running? -s PATH or -c FILE names its socket)" : "");
		return -1;
	}
	return 0;
}

/* Every event line there is; -1 when the stream ended. */
static int read_events(struct top *t)
{
	char *line;
	int ret;

	while ((ret = rv_client_next_line(t->events, &line, 0)) == 0) {
		json_t *ev = json_loads(line, 0, NULL);

		free(line);
		if (ev)
			top_model_event(&t->ui.m, ev, now_ms());
		json_decref(ev);
		t->dirty = true;
	}
	if (ret == -ETIMEDOUT) {
		refresh_view(&t->ui);
		return 0;
	}
	snprintf(t->why, sizeof(t->why), "lost the connection to the "
		 "supervisor at %s: %s", t->path, ret == -EPIPE ?
		 "it closed the connection (exited or shut down?)" :
		 strerror(-ret));
	return -1;
}

static void run_action(struct top *t)
{
	struct top_ui *ui = &t->ui;
	json_t *req = json_pack("{s:s, s:[s]}", "cmd", ui->action,
				"services", ui->target), *doc;
	char err[256];
	int ret;

	if (!strcmp(ui->action, "kill"))
		json_object_set_new(req, "signal", json_string(ui->signal));
	ret = ask(t->path, req, &doc, err, sizeof(err));
	if (ret) {
		snprintf(ui->msg, sizeof(ui->msg), "%s %s: %s", ui->action,
			 ui->target, err);
		return;
	}
	if (json_array_size(json_object_get(doc, "refused")))
		snprintf(ui->msg, sizeof(ui->msg), "%s %s: refused",
			 ui->action, ui->target);
	else
		snprintf(ui->msg, sizeof(ui->msg), "%s %s: requested",
			 ui->action, ui->target);
	json_decref(doc);
	t->dirty = true;	/* read the outcome even if no event says it */
}

/* s S r k on the selected row: ask first. */
static void start_action(struct top_ui *ui, const char *action)
{
	const struct top_row *r = selected(ui);

	if (!r || !r->parent) {
		snprintf(ui->msg, sizeof(ui->msg), "%s: select a service or "
			 "a nested supervisor", action);
		return;
	}
	snprintf(ui->action, sizeof(ui->action), "%s", action);
	snprintf(ui->target, sizeof(ui->target), "%s", r->name);
	ui->msg[0] = '\0';
	if (!strcmp(action, "kill")) {
		snprintf(ui->input, sizeof(ui->input), "TERM");
		ui->mode = TOP_SIGNAL;
	} else {
		ui->mode = TOP_CONFIRM;
	}
}

/* A prompt's line editing; true when the key was Enter. */
static bool edit(struct top_ui *ui, int ch)
{
	size_t n = strlen(ui->input);

	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER)
		return true;
	if ((ch == KEY_BACKSPACE || ch == 127 || ch == 8) && n)
		ui->input[n - 1] = '\0';
	else if (ch == 21)	/* ^U */
		ui->input[0] = '\0';
	else if (ch >= 32 && ch < 127 && n + 1 < sizeof(ui->input))
		ui->input[n] = (char)ch, ui->input[n + 1] = '\0';
	return false;
}

static void fold(struct top_ui *ui, bool folded)
{
	const struct top_row *r = selected(ui);

	if (r && r->is_sup) {
		top_model_fold(&ui->m, r->name, folded);
		refresh_view(ui);
	} else if (r && folded) {
		/* on a service, left goes up to its supervisor */
		for (size_t i = ui->sel; i-- > 0;)
			if (ui->m.view[i]->depth < r->depth) {
				ui->sel = i;
				break;
			}
	}
}

static void move_sel(struct top_ui *ui, long by)
{
	long n = (long)ui->m.n_view, to = (long)ui->sel + by;

	to = to >= n ? n - 1 : to;
	ui->sel = to < 0 ? 0 : (size_t)to;
}

/* A key in browse mode; false when it quits. */
static bool browse_key(struct top *t, int ch)
{
	struct top_ui *ui = &t->ui;
	const struct top_row *r = selected(ui);
	long page = top_page_rows() > 1 ? top_page_rows() - 1 : 1;

	if (ch != ERR && ch != KEY_RESIZE)
		ui->msg[0] = '\0';
	switch (ch) {
	case 'q':
	case 'Q':
		return false;
	case KEY_UP:
		move_sel(ui, -1);
		break;
	case KEY_DOWN:
		move_sel(ui, 1);
		break;
	case KEY_PPAGE:
		move_sel(ui, -page);
		break;
	case KEY_NPAGE:
		move_sel(ui, page);
		break;
	case KEY_HOME:
		ui->sel = 0;
		break;
	case KEY_END:
		move_sel(ui, (long)ui->m.n_view);
		break;
	case KEY_LEFT:
	case '-':
		fold(ui, true);
		break;
	case KEY_RIGHT:
	case '+':
		fold(ui, false);
		break;
	case ' ':
	case '\n':
	case '\r':
	case KEY_ENTER:
		fold(ui, r && !r->folded);
		break;
	case 'o':
		ui->m.sort = (ui->m.sort + 1) % TOP_SORT_COUNT;
		refresh_view(ui);
		break;
	case '/':
		snprintf(ui->input, sizeof(ui->input), "%s", ui->m.filter);
		ui->mode = TOP_FILTER;
		break;
	case 27:	/* Esc: the filter goes */
		ui->m.filter[0] = '\0';
		refresh_view(ui);
		break;
	case 's':
		start_action(ui, "stop");
		break;
	case 'S':
		start_action(ui, "start");
		break;
	case 'r':
		start_action(ui, "restart");
		break;
	case 'k':
		start_action(ui, "kill");
		break;
	case 12:	/* ^L */
		clearok(curscr, TRUE);
		break;
	}
	return true;
}

/* One key; false when it quits. */
static bool on_key(struct top *t, int ch)
{
	struct top_ui *ui = &t->ui;

	/* nothing to see an action or a prompt on: only q works */
	if (COLS < TOP_MIN_COLS || LINES < TOP_MIN_LINES)
		return ch != 'q' && ch != 'Q';
	switch (ui->mode) {
	case TOP_FILTER:
		/* the filter applies as it is typed; Esc takes it away */
		if (ch == 27)
			ui->input[0] = '\0';
		if (ch == 27 || edit(ui, ch))
			ui->mode = TOP_BROWSE;
		snprintf(ui->m.filter, sizeof(ui->m.filter), "%s", ui->input);
		refresh_view(ui);
		break;
	case TOP_SIGNAL:
		if (ch == 27) {
			ui->mode = TOP_BROWSE;
			snprintf(ui->msg, sizeof(ui->msg), "kill cancelled");
		} else if (edit(ui, ch)) {
			snprintf(ui->signal, sizeof(ui->signal), "%s",
				 ui->input[0] ? ui->input : "TERM");
			ui->mode = TOP_CONFIRM;
		}
		break;
	case TOP_CONFIRM:
		if (ch == 'y' || ch == 'Y') {
			ui->mode = TOP_BROWSE;
			run_action(t);
		} else if (ch == 'n' || ch == 'N' || ch == 27 || ch == 'q') {
			ui->mode = TOP_BROWSE;
			snprintf(ui->msg, sizeof(ui->msg), "%s cancelled",
				 ui->action);
		}
		break;
	default:
		return browse_key(t, ch);
	}
	return true;
}

static void resize(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row &&
	    ws.ws_col)
		resizeterm(ws.ws_row, ws.ws_col);
	clearok(curscr, TRUE);
}

static bool start_curses(struct top *t)
{
	const char *term = getenv("TERM"), *nc = getenv("NO_COLOR");
	SCREEN *scr;

	if (!term || !*term || !strcmp(term, "dumb"))
		return false;
	scr = newterm(NULL, stdout, stdin);
	if (!scr)
		return false;
	t->curses = true;
	if (COLS < TOP_MIN_COLS || LINES < TOP_MIN_LINES)
		return false;	/* too small from the start: the table */
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	t->ui.colour = has_colors() && !(nc && *nc);
	if (t->ui.colour) {
		start_color();
		use_default_colors();
		init_pair(1, COLOR_GREEN, -1);
		init_pair(2, COLOR_RED, -1);
		init_pair(3, COLOR_YELLOW, -1);
	}
	return true;
}

static void stop_curses(struct top *t)
{
	if (!t->curses)
		return;
	endwin();
	delscreen(set_term(NULL));
	t->curses = false;
}

/* Until the next whole second (uptimes), or a document that is due. */
static int wait_ms(const struct top *t, int64_t now)
{
	int64_t until = (now / 1000 + 1) * 1000;

	if (t->dirty && t->fetched_ms + REFRESH_MS < until)
		until = t->fetched_ms + REFRESH_MS;
	return until > now ? (int)(until - now) : 0;
}

/* The loop: returns the exit status. */
static int loop(struct top *t, const sigset_t *unblocked)
{
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = STDIN_FILENO, .events = POLLIN },
			{ .fd = rv_client_fd(t->events), .events = POLLIN },
		};
		int64_t now = now_ms();
		struct timespec ts;
		int n, ms, ch;

		if (t->dirty && now >= t->fetched_ms + REFRESH_MS) {
			if (fetch_status(t))
				return 1;
		}
		top_model_tick(&t->ui.m, now);
		top_draw(&t->ui, now);
		ms = wait_ms(t, now_ms());
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (long)(ms % 1000) * 1000000;
		n = ppoll(p, 2, &ts, unblocked);
		if (got_signal) {
			snprintf(t->why, sizeof(t->why), "%s",
				 strsignal(got_signal));
			return 128 + got_signal;
		}
		if (got_winch) {
			got_winch = 0;
			resize();
		}
		if (n < 0 && errno != EINTR) {
			snprintf(t->why, sizeof(t->why), "poll: %s",
				 strerror(errno));
			return 1;
		}
		if (n > 0 && p[1].revents && read_events(t))
			return 1;
		if (n > 0 && (p[0].revents & (POLLHUP | POLLERR))) {
			snprintf(t->why, sizeof(t->why), "the terminal went "
				 "away");
			return 1;
		}
		while ((ch = getch()) != ERR)
			if (!on_key(t, ch))
				return 0;
	}
}

/* The keys, as README and ringvisor(1) list them (test_manpages
 * compares). */
static const char top_help[] =
	"usage: ringvisor top [-s PATH] [-c FILE]\n"
	"\n"
	"The supervision tree live, full screen; the status table when stdout\n"
	"is not a terminal, TERM is dumb or the terminal is too small.\n"
	"\n"
	"keys:\n"
	"  Up Down PgUp PgDn Home End   select a row\n"
	"  Left Right Enter             fold or unfold a supervisor\n"
	"  /                            filter by name (Enter keeps it, Esc "
	"clears it)\n"
	"  o                            sort by name, state, restarts\n"
	"  s S r                        stop, start, restart the selected row\n"
	"  k                            send it a signal (asks which)\n"
	"  y n                          confirm or cancel an action\n"
	"  q                            quit\n";

/*
 * Our handlers before curses starts, so it installs none of its own; the
 * signals stay blocked but inside ppoll(), which gets *unblocked.  0, or
 * -1 with errno.
 */
static int catch_signals(sigset_t *unblocked)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				    SIGWINCH };
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block;

	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++) {
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -1;
		sigaddset(&block, sigs[i]);
	}
	if (sigprocmask(SIG_BLOCK, &block, unblocked) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(sigs) / sizeof(*sigs); i++)
		sigdelset(unblocked, sigs[i]);
	return 0;
}

/* The status table: the view of a pipe, a dumb or a tiny terminal. */
static int plain(const char *socket, const char *config)
{
	char *argv[6] = { "status" };
	int argc = 1;

	if (socket) {
		argv[argc++] = "-s";
		argv[argc++] = (char *)socket;
	}
	if (config) {
		argv[argc++] = "-c";
		argv[argc++] = (char *)config;
	}
	return rv_cli_client(argc, argv);
}

int rv_cli_top(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *socket = NULL, *config = NULL;
	struct top t = { .ui.mode = TOP_BROWSE };
	sigset_t unblocked;
	int c, ret;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:s:c:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			socket = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'h':
			fputs(top_help, stdout);
			return 0;
		case ':':
			return rv_cli_usage_error("top: %s needs a value",
						  argv[optind - 1]);
		default:
			return rv_cli_usage_error("top: unknown option %s",
						  argv[optind - 1]);
		}
	}
	if (optind < argc)
		return rv_cli_usage_error("top: unexpected argument %s",
					  argv[optind]);
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return plain(socket, config);
	t.path = rv_cli_socket_path(socket, config);
	if (!t.path)
		return 1;
	setlocale(LC_ALL, "");
	t.ui.utf8 = !strcmp(nl_langinfo(CODESET), "UTF-8");
	/* subscribe before the first document, so no change falls between */
	if (subscribe(&t) || fetch_status(&t)) {
		fprintf(stderr, "ringvisor: top: %s\n", t.why);
		ret = 1;
		goto out;
	}
	if (catch_signals(&unblocked)) {
		fprintf(stderr, "ringvisor: top: signal setup: %s\n",
			strerror(errno));
		ret = 1;
		goto out;
	}
	if (!start_curses(&t)) {
		stop_curses(&t);
		ret = plain(socket, config);
		goto out;
	}
	ret = loop(&t, &unblocked);
	stop_curses(&t);
	if (ret)
		fprintf(stderr, "ringvisor: top: %s\n", t.why);
out:
	rv_client_close(t.events);
	top_model_free(&t.ui.m);
	free(t.path);
	return ret;
}
