/* SPDX-License-Identifier: MIT */
/*
 * The hand-over state (docs/reexec.md): a tree's state taken, written as
 * JSON, read back and applied to a second supervisor loaded from the same
 * config comes back whole -- services running, in backoff with their
 * deadline, starting, completed, failed; intensity windows; jobs; the
 * supervisor's counters.  A state of a newer format, not JSON, truncated,
 * of the wrong type, or not matching the config is refused with a line
 * saying what was wrong, and a refused apply leaves the tree untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/handover_bin.h"
#include "daemon/handover_json.h"
#include "daemon/handover_memfd.h"
#include "tree/isolation.h"
#include "tree/readiness.h"
#include "tree/snapshot.h"
#include "tree/supervisor.h"
#include "tree/window.h"
#include "util/fdkeep.h"

static const char config[] =
	"[supervisor:grp]\nmax_restarts = 4\nrestart_window = 60s\n"
	"[service:run]\ncommand = /bin/true\nrestart = always\n"
	"max_restarts = 5\nrestart_window = 30s\n"
	"[service:back]\ncommand = /bin/true\nrestart = always\n"
	"max_restarts = 5\nrestart_window = 30s\n"
	"[service:boot]\ncommand = /bin/true\ntype = notify\n"
	"ready_timeout = 5s\nhealth_check = /bin/true\n"
	"[service:once]\ncommand = /bin/true\ntype = oneshot\n"
	"[service:bad]\ncommand = /bin/true\nsupervisor = grp\n"
	"instances = 2\n";

struct fixture {
	char dir[64];
	struct rv_supervisor *a, *b;	/* the writer's tree, the reader's */
};

static struct rv_supervisor *load(const char *dir, const char *sock)
{
	struct rv_supervisor *sv;
	char *text;

	assert_true(asprintf(&text, "[supervisor]\ncontrol_socket = %s/%s\n"
			     "%s", dir, sock, config) > 0);
	assert_int_equal(rv_supervisor_load_string(&sv, text, "t.conf", NULL,
						   stderr), 0);
	free(text);
	return sv;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/rv-test-handover-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->a = load(f->dir, "a.sock");
	f->b = load(f->dir, "b.sock");
	*state = f;
	return 0;
}

/* The fake processes have no pidfd to close. */
static void forget_children(struct rv_supervisor *sv)
{
	for (size_t i = 0; i < sv->n_svcs; i++)
		sv->svcs[i]->child.pid = 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[96];

	forget_children(f->a);
	forget_children(f->b);
	rv_supervisor_free(f->a);
	rv_supervisor_free(f->b);
	snprintf(path, sizeof(path), "%s/a.sock", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/b.sock", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct rv_service *svc(struct rv_supervisor *sv, const char *name)
{
	for (size_t i = 0; i < sv->n_svcs; i++)
		if (!strcmp(sv->svcs[i]->name, name))
			return sv->svcs[i];
	fail_msg("no service %s", name);
	return NULL;
}

#define T0 ((int64_t)5000000000000)	/* "now": 5000 s of uptime */

/* A tree in the middle of things, as no fresh load has it. */
static void busy_tree(struct rv_supervisor *sv)
{
	struct rv_service *s;

	sv->state = RV_SUP_ALIVE;
	sv->seq = 41;
	sv->rng = 0xfedcba9876543210ULL;	/* above INT64_MAX */
	sv->started_ns = T0 - 1000;
	sv->initial_start_done = true;
	rv_histogram_add(&sv->restart_latency, 250000);

	s = svc(sv, "run");
	s->state = RV_SVC_RUNNING;
	s->child.pid = 4242;
	s->child.pidfd = 77;
	s->started_ns = T0 - 500;
	s->restarts = 3;
	s->m.start_seq = 40;
	s->m.was_up = true;
	s->ends[RV_END_SIGNAL] = 3;
	assert_true(rv_window_admit(&s->window, T0 - 300));
	assert_true(rv_window_admit(&s->window, T0 - 200));

	s = svc(sv, "back");
	s->state = RV_SVC_BACKOFF;
	s->backoff_n = 2;
	s->next_start_ns = T0 + 1600000000;
	s->due_ns = s->next_start_ns;
	s->last_exit = (struct rv_exit_info){ .valid = true, .code = 3 };
	rv_loop_timer_arm(sv->loop, &s->timer, s->next_start_ns);
	/* a ring that wrapped: 7 restarts into a ring of 5 */
	for (int i = 0; i < 7; i++)
		assert_true(rv_window_admit(&s->window,
					    T0 - 7000000000LL * (7 - i)));

	s = svc(sv, "boot");
	s->state = RV_SVC_STARTING;
	s->child.pid = 4343;
	s->child.pidfd = 78;
	s->m.job = RV_JOB_START;
	/* readiness in progress: ready_timeout armed, and a STATUS= that
	 * the 255 bytes kept cut inside its last character ("✓" is 0xe2
	 * 0x9c 0x93): the state keeps the 254 bytes before it */
	{
		char status[258];
		struct rv_ready_msg msg = { .status = status,
					    .mainpid = 4344 };

		memset(status, 'a', 254);
		memcpy(status + 254, "\xe2\x9c\x93", 4);
		assert_false(rv_ready_after_spawn(s, T0));
		rv_ready_report(s, &msg, T0);
	}

	s = svc(sv, "once");
	s->state = RV_SVC_COMPLETED;
	s->last_exit = (struct rv_exit_info){ .valid = true };

	s = svc(sv, "bad@1");
	s->state = RV_SVC_FAILED;
	s->fail_reason = "max_restarts";
	s->m.held = true;
	s->last_exit = (struct rv_exit_info){ .valid = true, .signal = 9,
					      .core_dumped = true };

	sv->nodes[1]->restarts = 2;
	sv->nodes[1]->n_terminal = 1;
	assert_true(rv_window_admit(&sv->nodes[1]->window, T0 - 100));
}

/* The state a as the JSON text a new binary would read, in format. */
static char *dump_state_as(struct rv_supervisor *sv, int format)
{
	struct rv_snapshot snap;
	json_t *doc;
	char *text;

	assert_int_equal(rv_snapshot_take(sv, &snap), 0);
	doc = rv_handover_to_json(&snap, format);
	assert_non_null(doc);
	text = json_dumps(doc, JSON_COMPACT);
	assert_non_null(text);
	json_decref(doc);
	rv_snapshot_free(&snap);
	return text;
}

/* Format 1, every field written: what the edits below change. */
static char *dump_state(struct rv_supervisor *sv)
{
	return dump_state_as(sv, 1);
}

static void same_window(const struct rv_window *x, const struct rv_window *y)
{
	int64_t a[16], b[16];
	uint32_t n = rv_window_stamps(x, a, 16);

	assert_int_equal(rv_window_stamps(y, b, 16), n);
	assert_memory_equal(a, b, n * sizeof(*a));
}

static void same_service(const struct rv_service *x,
			 const struct rv_service *y)
{
	assert_int_equal(x->state, y->state);
	assert_int_equal(x->m.job, y->m.job);
	assert_int_equal(x->m.held, y->m.held);
	assert_int_equal(x->m.was_up, y->m.was_up);
	assert_int_equal(x->m.start_seq, y->m.start_seq);
	assert_int_equal(x->child.pid, y->child.pid);
	if (x->child.pid)
		assert_int_equal(x->child.pidfd, y->child.pidfd);
	assert_true(x->started_ns == y->started_ns);
	assert_true(x->next_start_ns == y->next_start_ns);
	assert_int_equal(x->backoff_n, y->backoff_n);
	assert_int_equal(x->restarts, y->restarts);
	assert_memory_equal(&x->last_exit, &y->last_exit,
			    sizeof(x->last_exit));
	assert_memory_equal(x->ends, y->ends, sizeof(x->ends));
	if (x->fail_reason)
		/* the tree's literal itself: it never frees it (x's is the
		 * test's own literal, merged with it only when optimised) */
		assert_ptr_equal(rv_snapshot_reason(x->fail_reason),
				 y->fail_reason);
	else
		assert_null(y->fail_reason);
	same_window(&x->window, &y->window);
	assert_int_equal(rv_timer_is_armed(&x->timer),
			 rv_timer_is_armed(&y->timer));
	if (rv_timer_is_armed(&x->timer))
		assert_true(x->timer.deadline_ns == y->timer.deadline_ns);
}

/* text with its "config" array taken out (a new static string). */
static const char *without_config(const char *text)
{
	static char *out[2];
	static int k;
	json_t *doc = json_loads(text, 0, NULL);

	assert_non_null(doc);
	assert_int_equal(json_object_del(doc, "config"), 0);
	k ^= 1;
	free(out[k]);
	out[k] = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return out[k];
}

/* The state of sv in format: JSON text, or format 3's bytes (*len). */
static char *encode_as(struct rv_supervisor *sv, int format, size_t *len)
{
	struct rv_snapshot snap;
	char *buf;

	if (format < RV_HANDOVER_FORMAT_BIN) {
		buf = dump_state_as(sv, format);
		*len = strlen(buf);
		return buf;
	}
	assert_int_equal(rv_snapshot_take(sv, &snap), 0);
	assert_int_equal(rv_handover_bin_encode(&snap, NULL, &buf, len), 0);
	rv_snapshot_free(&snap);
	return buf;
}

static void round_trip_in(struct fixture *f, int format)
{
	struct rv_snapshot snap;
	char err[256] = "", *text, *bytes;
	size_t len;

	busy_tree(f->a);
	bytes = encode_as(f->a, format, &len);
	assert_int_equal(rv_handover_parse_state(bytes, len, NULL, &snap, err,
						 sizeof(err)), 0);
	free(bytes);
	/* format 1 spells every field: what the two trees are compared by */
	text = dump_state(f->a);
	/* ready_timeout's deadline, absolute */
	assert_non_null(strstr(text, "\"timer_ns\":5005000000000,"));
	assert_int_equal(rv_snapshot_apply(f->b, &snap, err, sizeof(err)), 0);
	rv_snapshot_arm(f->b, &snap);
	for (size_t i = 0; i < f->a->n_svcs; i++)
		same_service(f->a->svcs[i], svc(f->b, f->a->svcs[i]->name));
	for (size_t i = 0; i < f->a->n_nodes; i++) {
		assert_int_equal(f->a->nodes[i]->state, f->b->nodes[i]->state);
		assert_int_equal(f->a->nodes[i]->restarts,
				 f->b->nodes[i]->restarts);
		assert_int_equal(f->a->nodes[i]->n_terminal,
				 f->b->nodes[i]->n_terminal);
		same_window(&f->a->nodes[i]->window, &f->b->nodes[i]->window);
	}
	/* JSON holds UTF-8 only: the split character is left out; format
	 * 3 carries the bytes as they were */
	assert_int_equal(strlen(rv_ready_status_text(svc(f->b, "boot"))),
			 format < RV_HANDOVER_FORMAT_BIN ? 254 : 255);
	assert_int_equal(f->b->state, RV_SUP_ALIVE);
	assert_true(f->b->rng == 0xfedcba9876543210ULL);
	assert_int_equal(f->b->seq, 41);
	assert_true(f->b->initial_start_done);
	assert_memory_equal(&f->a->restart_latency, &f->b->restart_latency,
			    sizeof(f->a->restart_latency));
	/* the config the tree was built from, byte for byte */
	assert_int_equal(snap.n_config, 1);
	assert_string_equal(snap.config[0].path, "t.conf");
	assert_int_equal(snap.config[0].len, f->a->specs->sources[0].len);
	assert_memory_equal(snap.config[0].bytes,
			    f->a->specs->sources[0].bytes, snap.config[0].len);
	/* the output pipes keep their numbers; the spawn plan of the new
	 * tree hands the crossed write end to the next run */
	assert_non_null(snap.svcs[0].out);
	{
		struct rv_spawn_fd fds[2];

		assert_int_equal(rv_iso_fds(svc(f->b, "run"), fds), 2);
		assert_int_equal(fds[0].to, 1);
		assert_int_equal(fds[0].from, snap.svcs[0].out->wfd);
		assert_int_equal(fds[1].from, snap.svcs[0].err->wfd);
	}
	/* and the reader's tree writes the very same state again (but for
	 * the config's text: the two trees name their own control socket) */
	{
		char *again = dump_state(f->b);

		assert_string_equal(without_config(text),
				    without_config(again));
		free(again);
	}
	rv_snapshot_free(&snap);
	free(text);
}

/* Format 1 (what a binary one version back reads) and format 2. */
static void round_trip(void **state)
{
	round_trip_in(*state, 1);
}

static void round_trip_sparse(void **state)
{
	round_trip_in(*state, 2);
}

static void round_trip_binary(void **state)
{
	round_trip_in(*state, 3);
}

/* What rv_handover_parse_state says about a binary state; 0 or -EINVAL,
 * and err set on -EINVAL. */
static int parse_bin(const char *buf, size_t len, char *err, size_t errlen)
{
	struct rv_handover_ctl ctl;
	struct rv_snapshot snap;
	int ret;

	err[0] = '\0';
	ret = rv_handover_parse_state(buf, len, &ctl, &snap, err, errlen);
	free(ctl.binary);
	if (!ret)
		rv_snapshot_free(&snap);
	else
		assert_true(ret == -EINVAL && err[0]);
	return ret;
}

static void binary_refused(const char *buf, size_t len, const char *expect)
{
	char err[256];

	assert_int_equal(parse_bin(buf, len, err, sizeof(err)), -EINVAL);
	if (!strstr(err, expect))
		fail_msg("\"%s\" does not say \"%s\"", err, expect);
}

/* buf with the first n bytes of from (at its first match) replaced. */
static char *patch(const char *buf, size_t len, const char *from,
		   const char *to, size_t n)
{
	char *out = malloc(len);
	const char *at = memmem(buf, len, from, n);

	assert_non_null(out);
	assert_non_null(at);
	memcpy(out, buf, len);
	memcpy(out + (at - buf), to, n);
	return out;
}

/*
 * Format 3 from another binary is untrusted bytes: every cut of it, and
 * every byte of it changed, is either a state that reads or one clear
 * refusal (never a crash, a leak or a read past the end: the ASan run
 * of this test says so), and the refusals name the field.
 */
static void binary_checked(void **state)
{
	struct fixture *f = *state;
	char err[256], *buf, *bad;
	size_t len;
	uint32_t big = 0x00ffffff;

	busy_tree(f->a);
	buf = encode_as(f->a, 3, &len);
	assert_int_equal(parse_bin(buf, len, err, sizeof(err)), 0);
	for (size_t cut = 0; cut < len; cut++)
		assert_int_equal(parse_bin(buf, cut, err, sizeof(err)),
				 -EINVAL);
	binary_refused(buf, 25, "\"writer\": the state ends at byte 25");
	binary_refused(buf, len - 1, "daemon: \"counters\": 12 items, more "
		       "than the state holds");
	bad = malloc(len + 1);
	assert_non_null(bad);
	for (size_t i = 0; i < len; i++) {
		memcpy(bad, buf, len);
		bad[i] ^= 0x5a;
		(void)parse_bin(bad, len, err, sizeof(err));
	}
	memcpy(bad, buf, len);
	bad[len] = 'x';
	binary_refused(bad, len + 1, "1 bytes after its end");
	free(bad);
	bad = patch(buf, len, "\x03\0\0\0", "\x04\0\0\0", 4);
	binary_refused(bad, len, "format 4 is newer than this binary reads "
		       "(1..3): written by ringvisor " RINGVISOR_VERSION);
	free(bad);
	bad = patch(buf, len, "backoff", "backofx", 7);
	binary_refused(bad, len, "services[1] (back): \"state\": "
		       "\"backofx\" unknown");
	free(bad);
	/* the services' count (just before the first one's name), far
	 * beyond the bytes */
	bad = malloc(len);
	assert_non_null(bad);
	memcpy(bad, buf, len);
	{
		const char *at = memmem(buf, len, "\x03\0\0\0run", 7);

		assert_non_null(at);
		memcpy(bad + (at - buf) - 4, &big, 4);
	}
	binary_refused(bad, len, "\"services\": 16777215 items, more than "
		       "the state holds");
	free(bad);
	free(buf);
}

/* What rv_handover_parse says about text; asserts it refused. */
static void refused(const char *text, const char *expect)
{
	struct rv_snapshot snap;
	char err[256] = "";

	assert_int_equal(rv_handover_parse(text, strlen(text), &snap, err,
					   sizeof(err)), -EINVAL);
	assert_null(snap.svcs);
	if (!strstr(err, expect))
		fail_msg("\"%s\" does not say \"%s\"", err, expect);
}

/* text with the first `from` replaced by `to` (one edit of a state). */
static char *edit(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out;

	assert_non_null(at);
	assert_true(asprintf(&out, "%.*s%s%s", (int)(at - text), text, to,
			     at + strlen(from)) > 0);
	return out;
}

/* One edit of a good state each, and what the refusal must say. */
static const struct {
	const char *from, *to, *expect;
} bad_edits[] = {
	{ "\"format\":1", "\"format\":4", "format 4 is newer than this "
	  "binary reads (3): written by ringvisor " RINGVISOR_VERSION },
	{ "\"format\":1", "\"format\":3", "format 3 is not JSON" },
	{ "\"format\":1", "\"format\":0", "format 0 is older" },
	{ "\"format\":1", "\"format\":\"1\"", "no integer \"format\"" },
	{ "ringvisor-handover", "ringvisor-report",
	  "not a ringvisor hand-over state" },
	{ "\"pid\":4242", "\"pid\":\"4242\"",
	  "services[0] (run): \"pid\": not an integer" },
	{ "\"state\":\"backoff\"", "\"state\":\"dozing\"",
	  "services[1] (back): \"state\": \"dozing\" unknown" },
	{ "\"backoff_n\":2,", "",
	  "services[1] (back): \"backoff_n\" is missing" },
	{ "\"exit_code\":0", "\"exit_code\":300",
	  "supervisor: \"exit_code\": 300 out of range" },
	{ "\"window\":[4", "\"window\":[9999999999999999,4",
	  "\"window\": not oldest first" },
	/* what a service owns (output, logs, fd store) */
	{ "\"exit_pending\":false", "\"exit_pending\":0",
	  "services[0] (run): \"exit_pending\": not true or false" },
	{ "\"line\":\"\"", "\"line\":\"0g\"",
	  "services[0] (run): \"line\": not hex" },
	{ "\"line\":\"\"", "\"line\":\"abc\"", "\"line\": not hex" },
	{ "\"rfd\":", "\"rfd\":-1,\"x\":", "\"rfd\": -1 out of range" },
	{ "\"text\":\"\"", "\"text\":\"YWJj=\"",
	  "services[0] (run): \"text\": not base64" },
	{ "\"lines\":[]", "\"lines\":[[1,\"stdout\",5]]",
	  "services[0] (run): \"logs\": the lines are 5 bytes, the text 0" },
	{ "\"lines\":[]", "\"lines\":[[1,\"stdin\",0]]",
	  "\"logs\": line 0: stream \"stdin\" unknown" },
	{ "\"lines\":[]", "\"lines\":[[1,0]]",
	  "\"logs\": line 0: not [time, stream, length]" },
	{ "\"pieces\":[\"\",\"\"]", "\"pieces\":[\"\"]",
	  "\"pieces\": not one for stdout and one for stderr" },
	{ "\"fd_store\":[]", "\"fd_store\":[{\"fd\":3}]",
	  "services[0] (run): \"name\" is missing" },
	/* the supervisor's extras, the sockets, the config, the daemon's */
	{ "\"reload_queued\":false,", "",
	  "supervisor: \"reload_queued\" is missing" },
	{ "\"child_mask\":[]", "\"child_mask\":[99]",
	  "supervisor: \"child_mask\"[0]: not a signal number" },
	{ "\"stdout_pending\":\"\"", "\"stdout_pending\":7",
	  "supervisor: \"stdout_pending\": not a string" },
	{ "\"sockets\":[]", "\"sockets\":[{\"name\":\"web\"}]",
	  "sockets[0]: \"listen\" is missing" },
	{ "\"bytes\":\"", "\"bytes\":\"*",
	  "config[0]: \"bytes\": not base64" },
	{ "\"watchdog_usec\":0", "\"watchdog_usec\":-1",
	  "daemon: \"watchdog_usec\": -1 out of range" },
	{ "\"orphans_reaped\":0,", "",
	  "daemon: \"orphans_reaped\" is missing" },
};

/* Format 2 leaves zero fields out, and a reader takes them as zero. */
static void sparse_leaves_zeros_out(void **state)
{
	struct fixture *f = *state;
	struct rv_snapshot snap;
	char err[256] = "", *full, *sparse, *bad;

	busy_tree(f->a);
	full = dump_state_as(f->a, 1);
	sparse = dump_state_as(f->a, 2);
	assert_non_null(strstr(sparse, "\"format\":2"));
	assert_non_null(strstr(full, "\"kill_sent\":false"));
	assert_null(strstr(sparse, "\"kill_sent\""));
	assert_null(strstr(sparse, "\"fd_store\""));
	assert_null(strstr(sparse, ":false"));
	assert_null(strstr(sparse, "\"child_mask\""));
	assert_non_null(strstr(full, "\"child_mask\":[]"));
	/* what is not zero stays: a readiness object, a pid */
	assert_non_null(strstr(sparse, "\"pid\":4242"));
	assert_non_null(strstr(sparse, "\"ready\":{"));
	assert_true(strlen(sparse) * 3 < strlen(full) * 2);
	/* a missing count is 0 in format 2... */
	bad = edit(sparse, "\"backoff_n\":2,", "");
	assert_int_equal(rv_handover_parse(bad, strlen(bad), &snap, err,
					   sizeof(err)), 0);
	assert_int_equal(snap.svcs[1].backoff_n, 0);
	rv_snapshot_free(&snap);
	free(bad);
	/* ...but a member without its name is no member */
	bad = edit(sparse, "\"member\":{", "\"x\":{");
	refused(bad, "nodes[0]: \"member\" is missing");
	free(bad);
	bad = edit(sparse, "\"format\":2", "\"format\":3");
	refused(bad, "format 3 is not JSON");
	free(bad);
	free(full);
	free(sparse);
}

static void bad_states_refused(void **state)
{
	struct fixture *f = *state;
	char *text, *bad;

	busy_tree(f->a);
	text = dump_state(f->a);
	for (size_t i = 0; i < sizeof(bad_edits) / sizeof(*bad_edits); i++) {
		bad = edit(text, bad_edits[i].from, bad_edits[i].to);
		refused(bad, bad_edits[i].expect);
		free(bad);
	}
	/* cut in half: what a short read of the memfd would give */
	bad = strndup(text, strlen(text) / 2);
	refused(bad, "not JSON at line 1");
	free(bad);
	refused("", "not JSON");
	refused("\x7f" "ELF\x02\x01\x01", "not JSON");
	refused("[1,2,3]", "not a ringvisor hand-over state");
	free(text);
}

/* A state that reads fine but is not this tree's: nothing is applied. */
static void apply_refused(struct fixture *f, const char *text,
			  const char *from, const char *to, const char *expect)
{
	struct rv_snapshot snap;
	char err[256] = "", *bad = edit(text, from, to);

	assert_int_equal(rv_handover_parse(bad, strlen(bad), &snap, err,
					   sizeof(err)), 0);
	assert_int_equal(rv_snapshot_apply(f->b, &snap, err, sizeof(err)),
			 -EINVAL);
	if (!strstr(err, expect))
		fail_msg("\"%s\" does not say \"%s\"", err, expect);
	/* untouched: as loaded */
	for (size_t i = 0; i < f->b->n_svcs; i++) {
		assert_int_equal(f->b->svcs[i]->state, RV_SVC_STOPPED);
		assert_int_equal(f->b->svcs[i]->child.pid, 0);
	}
	assert_int_equal(f->b->state, RV_SUP_STARTING);
	rv_snapshot_free(&snap);
	free(bad);
}

static void foreign_states_refused(void **state)
{
	struct fixture *f = *state;
	uint32_t unsettled = f->b->n_unsettled;
	char *text;

	busy_tree(f->a);
	text = dump_state(f->a);
	apply_refused(f, text, "\"name\":\"once\"", "\"name\":\"twice\"",
		      "service twice: in the state, not in the config");
	apply_refused(f, text, "\"name\":\"once\"", "\"name\":\"run\"",
		      "service run: twice in the state");
	apply_refused(f, text, "\"pid\":4242", "\"pid\":0",
		      "service run: running without a process");
	apply_refused(f, text, "\"pidfd\":77", "\"pidfd\":-1",
		      "service run: pid 4242 without a pidfd");
	apply_refused(f, text, "\"n_terminal\":1", "\"n_terminal\":9",
		      "supervisor grp: 9 members ended of 2");
	/* what a service owns must be what its config makes */
	apply_refused(f, text, "\"stdout\":{", "\"stdout\":null,\"x\":{",
		      "service run: stdout pipe missing, the config says one");
	apply_refused(f, text, "\"logs\":{", "\"logs\":null,\"x\":{",
		      "service run: log_buffer lines missing, the config keeps "
		      "them");
	apply_refused(f, text, "\"fd_store\":[]",
		      "\"fd_store\":[{\"fd\":3,\"name\":\"db\"}]",
		      "service run: 1 stored fds, fd_store_max is 0");
	apply_refused(f, text, "\"mode\":false", "\"mode\":true",
		      "the state is of ringvisor exec, this tree of run");
	apply_refused(f, text, "\"ready\":null", "\"ready\":{\"ready\":false,"
		      "\"status\":null,\"mainpid\":0,\"health_failures\":0,"
		      "\"timer_ns\":null,\"check_ns\":null,\"ready_fd\":-1}",
		      "service run: readiness state given, the config says "
		      "none");
	assert_int_equal(f->b->n_unsettled, unsettled);
	free(text);
}

/* A spawn between clone and its exec report is not a state to write. */
static void busy_spawn_refused(void **state)
{
	struct fixture *f = *state;
	struct rv_snapshot snap;

	svc(f->a, "run")->spawn_report_fd = 2;	/* any open fd */
	assert_int_equal(rv_snapshot_take(f->a, &snap), -EBUSY);
	assert_null(snap.svcs);
	svc(f->a, "run")->spawn_report_fd = -1;
	assert_int_equal(rv_snapshot_take(f->a, &snap), 0);
	rv_snapshot_free(&snap);
}

static void window_keeps_the_newest(void **state)
{
	struct rv_window w;
	int64_t in[7] = { 1, 2, 3, 4, 5, 6, 7 }, out[8];

	(void)state;
	assert_int_equal(rv_window_init(&w, 3, 100, NULL), 0);
	rv_window_restore(&w, in, 7);
	assert_int_equal(rv_window_stamps(&w, out, 8), 3);
	assert_true(out[0] == 5 && out[1] == 6 && out[2] == 7);
	/* the ring goes on from there: 8 replaces 5 */
	assert_true(rv_window_admit(&w, 105));
	assert_int_equal(rv_window_stamps(&w, out, 8), 3);
	assert_true(out[0] == 6 && out[1] == 7 && out[2] == 105);
	rv_window_restore(&w, in, 0);
	assert_int_equal(rv_window_stamps(&w, out, 8), 0);
	rv_window_free(&w);
}

/* Through a sealed memfd, as the new image gets it; nothing else. */
static void memfd_carries_the_state(void **state)
{
	struct fixture *f = *state;
	struct rv_snapshot snap, back;
	char err[256] = "", *text = NULL;
	int fd = -1, raw;

	busy_tree(f->a);
	assert_int_equal(rv_snapshot_take(f->a, &snap), 0);
	assert_int_equal(rv_handover_write(&snap, &fd, err, sizeof(err)), 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* sealed: nobody appends to a state once written */
	assert_true(write(fd, "x", 1) < 0 && errno == EPERM);
	assert_int_equal(rv_handover_read(fd, &back, err, sizeof(err)), 0);
	assert_int_equal(back.n_svcs, snap.n_svcs);
	assert_int_equal(back.svcs[0].pid, 4242);
	rv_snapshot_free(&back);
	rv_snapshot_free(&snap);
	close(fd);

	/* a writer that died before sealing */
	text = dump_state(f->a);
	raw = memfd_create("unsealed", MFD_ALLOW_SEALING);
	assert_true(raw >= 0);
	assert_int_equal(write(raw, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(rv_handover_read(raw, &back, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "not a sealed memfd"));
	close(raw);
	free(text);
	assert_int_equal(rv_handover_read(raw, &back, err, sizeof(err)),
			 -EBADF);
	assert_non_null(strstr(err, "not open"));
}

static void env_names_a_descriptor(void **state)
{
	static const char *const bad[] = { "", "x", "2", "-5", " 7", "+7",
					   "7x", "99999999999", NULL };
	char err[128];
	int fd = -1;

	(void)state;
	assert_int_equal(rv_handover_env_fd("17", &fd, err, sizeof(err)), 0);
	assert_int_equal(fd, 17);
	for (int i = 0; bad[i]; i++) {
		assert_int_equal(rv_handover_env_fd(bad[i], &fd, err,
						    sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, RV_HANDOVER_ENV));
	}
	assert_int_equal(rv_handover_env_fd(NULL, &fd, err, sizeof(err)),
			 -EINVAL);
}

/* A real child's pidfd: kept across, then checked against its pid. */
static void descriptors_cross(void **state)
{
	struct fixture *f = *state;
	struct rv_service *s = svc(f->a, "run");
	struct rv_fdkeep keep = { 0 };
	struct rv_snapshot snap;
	char err[256] = "";
	pid_t child = fork();
	int pidfd;

	assert_true(child >= 0);
	if (!child) {
		pause();
		_exit(0);
	}
	pidfd = (int)syscall(SYS_pidfd_open, child, 0);
	if (pidfd < 0) {
		print_message("no pidfd_open here (valgrind?): skipped\n");
		goto out;
	}
	s->state = RV_SVC_RUNNING;
	s->child.pid = child;
	s->child.pidfd = pidfd;
	assert_int_equal(rv_snapshot_take(f->a, &snap), 0);
	assert_int_equal(rv_snapshot_keep_fds(&snap, &keep), 0);
	/* the pidfd, then each service's output pipes (both ends) */
	assert_int_equal(keep.v[0].fd, pidfd);
	assert_string_equal(keep.v[0].role, "pidfd");
	assert_string_equal(keep.v[0].owner, "run");
	assert_string_equal(keep.v[1].role, "stdout");
	assert_int_equal(keep.v[1].fd, snap.svcs[0].out->rfd);
	assert_int_equal(keep.v[2].fd, snap.svcs[0].out->wfd);
	assert_string_equal(keep.v[3].role, "stderr");
	assert_int_equal(rv_fdkeep_clear_cloexec(&keep), 0);
	assert_false(fcntl(pidfd, F_GETFD) & FD_CLOEXEC);
	/* the new image's side */
	assert_int_equal(rv_snapshot_adopt_fds(&snap, err, sizeof(err)), 0);
	assert_true(fcntl(pidfd, F_GETFD) & FD_CLOEXEC);
	snap.svcs[0].pid = getpid();
	assert_int_equal(rv_snapshot_adopt_fds(&snap, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "(pidfd of run): refers to pid"));
	close(pidfd);
	assert_int_equal(rv_snapshot_adopt_fds(&snap, err, sizeof(err)),
			 -EBADF);
	assert_non_null(strstr(err, "(pidfd of run): not open"));
	rv_fdkeep_free(&keep);
	rv_snapshot_free(&snap);
out:
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, NULL, 0), child);
}

/*
 * The restored state drives the tables: the backoff the old image armed
 * fires in the new one at its deadline, and the restart it makes counts
 * on from the old counters (restarts, start order).  Only real
 * processes here: no loop ever runs over busy_tree()'s fake pids.
 */
static void restored_backoff_fires(void **state)
{
	struct fixture *f = *state;
	struct rv_service *a = svc(f->a, "back"), *b;
	struct rv_snapshot snap;
	char err[256] = "", *text;
	int64_t due = rv_clock_now() + 20000000;

	f->a->state = RV_SUP_ALIVE;
	f->a->initial_start_done = true;
	f->a->seq = 41;
	for (size_t i = 0; i < f->a->n_nodes; i++)
		f->a->nodes[i]->state = RV_NODE_RUNNING;
	a->state = RV_SVC_BACKOFF;
	a->backoff_n = 2;
	a->restarts = 2;
	a->m.start_seq = 40;
	a->next_start_ns = a->due_ns = due;
	rv_loop_timer_arm(f->a->loop, &a->timer, due);
	text = dump_state(f->a);
	assert_int_equal(rv_handover_parse(text, strlen(text), &snap, err,
					   sizeof(err)), 0);
	assert_int_equal(rv_snapshot_apply(f->b, &snap, err, sizeof(err)), 0);
	rv_snapshot_arm(f->b, &snap);
	b = svc(f->b, "back");
	assert_true(b->timer.deadline_ns == due);
	/* poll for the state: 20 s at most on a loaded machine */
	for (int i = 0; i < 2000 && b->restarts == 2; i++)
		assert_int_equal(rv_loop_run_once(f->b->loop, 10000000), 0);
	assert_int_equal(b->restarts, 3);
	assert_int_equal(b->m.start_seq, 42);
	assert_true(rv_loop_now(f->b->loop) >= due);
	/* let /bin/true's exit be reaped before the teardown */
	for (int i = 0; i < 2000 && b->child.pid > 0; i++)
		assert_int_equal(rv_loop_run_once(f->b->loop, 10000000), 0);
	assert_int_equal(b->child.pid, 0);
	/* /bin/true exited 0 under restart = always: the next backoff step
	 * goes on from the old image's */
	assert_int_equal(b->state, RV_SVC_BACKOFF);
	assert_int_equal(b->backoff_n, 3);
	rv_snapshot_free(&snap);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(round_trip_sparse, setup,
						teardown),
		cmocka_unit_test_setup_teardown(sparse_leaves_zeros_out,
						setup, teardown),
		cmocka_unit_test_setup_teardown(round_trip_binary, setup,
						teardown),
		cmocka_unit_test_setup_teardown(binary_checked, setup,
						teardown),
		cmocka_unit_test_setup_teardown(bad_states_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(foreign_states_refused, setup,
						teardown),
		cmocka_unit_test(window_keeps_the_newest),
		cmocka_unit_test_setup_teardown(busy_spawn_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(memfd_carries_the_state, setup,
						teardown),
		cmocka_unit_test(env_names_a_descriptor),
		cmocka_unit_test_setup_teardown(descriptors_cross, setup,
						teardown),
		cmocka_unit_test_setup_teardown(restored_backoff_fires, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
