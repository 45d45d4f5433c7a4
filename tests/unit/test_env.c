/* SPDX-License-Identifier: MIT */
/*
 * Shared environments (env.h): the base without the replaced variables,
 * shared between services that replace the same ones, the join at spawn,
 * and through a whole supervisor load: what each service's child gets
 * (plain, `environment`, instances with %i, notify, clear_environment),
 * checked as arrays and once as what /usr/bin/env really prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child/env.h"
#include "child/spawn.h"
#include "tree/supervisor.h"
#include "tree/tree.h"

extern char **environ;

/* What every test runs under: no variable of the real environment. */
static char *test_environ[] = {
	"PATH=/usr/bin:/bin", "HOME=/nonexistent", "A=from-environ",
	"B=keep", NULL
};

#define V(...) ((char *const[]){ __VA_ARGS__, NULL })

static void vec_equal(char *const *got, char *const *want)
{
	size_t i;

	assert_non_null(got);
	for (i = 0; want[i]; i++) {
		assert_non_null(got[i]);
		assert_string_equal(got[i], want[i]);
	}
	assert_null(got[i]);
}

/* ---- the join ---- */

static void join_uses_a_part_alone_without_copying(void **state)
{
	char *scratch[8];
	char *const *base = V("A=1", "B=2"), *const *own = V("C=3");

	(void)state;
	assert_ptr_equal(rv_env_join(base, NULL, scratch), base);
	assert_ptr_equal(rv_env_join(base, V(NULL), scratch), base);
	assert_ptr_equal(rv_env_join(NULL, own, scratch), own);
	assert_ptr_equal(rv_env_join(V(NULL), own, scratch), own);
	assert_null(rv_env_join(NULL, NULL, scratch));
}

static void join_puts_base_then_own(void **state)
{
	char *scratch[8];
	char *const *env;

	(void)state;
	env = rv_env_join(V("A=1", "B=2"), V("C=3", "D=4"), scratch);
	assert_ptr_equal(env, scratch);
	vec_equal(env, V("A=1", "B=2", "C=3", "D=4"));
}

/* ---- bases ---- */

struct got {
	char *const *base;
	bool shared;
};

static struct got base_for(struct rv_env_builder *b, char *const *own)
{
	struct got g;

	assert_int_equal(rv_env_base_get(b, own, &g.base, &g.shared), 0);
	return g;
}

static void base_drops_what_own_replaces(void **state)
{
	struct rv_env_builder b;
	struct got none, a, a2, ab, c;

	(void)state;
	environ = test_environ;
	rv_env_builder_init(&b);
	none = base_for(&b, NULL);
	assert_ptr_equal(none.base, test_environ);	/* nothing to join */
	assert_false(none.shared);
	a = base_for(&b, V("A=1", "X=2"));
	assert_true(a.shared);
	vec_equal(a.base, V("PATH=/usr/bin:/bin", "HOME=/nonexistent",
			    "B=keep"));
	/* same variables replaced, other values: the same base */
	a2 = base_for(&b, V("X=other", "A=2"));
	assert_ptr_equal(a2.base, a.base);
	ab = base_for(&b, V("B=1", "A=1"));
	assert_ptr_not_equal(ab.base, a.base);
	vec_equal(ab.base, V("PATH=/usr/bin:/bin", "HOME=/nonexistent"));
	/* replacing nothing: a copy of environ, shared too */
	c = base_for(&b, V("C=1"));
	assert_true(c.shared);
	assert_ptr_not_equal(c.base, test_environ);
	vec_equal(c.base, test_environ);
	/* "AB=" is not "A=": names compare up to '=' */
	assert_ptr_equal(base_for(&b, V("AB=1")).base, c.base);
	/* the largest join: 4 of environ + C = 5, and the NULL */
	assert_int_equal(b.max_join, 6);
	rv_env_builder_fini(&b);
	/* the services' references outlive the builder */
	vec_equal(a.base, V("PATH=/usr/bin:/bin", "HOME=/nonexistent",
			    "B=keep"));
	rv_env_base_put(a.base);
	rv_env_base_put(a2.base);
	rv_env_base_put(ab.base);
	rv_env_base_put(c.base);
	rv_env_base_put(c.base);	/* AB=1 */
}

/* More distinct sets than the builder remembers: each still right. */
static void base_past_the_cache_is_still_right(void **state)
{
	static char *env7[] = { "K0=0", "K1=1", "K2=2", "K3=3", "K4=4",
				"K5=5", "K6=6", NULL };
	struct got bases[128];
	struct rv_env_builder b;

	(void)state;
	environ = env7;
	rv_env_builder_init(&b);
	for (unsigned int set = 0; set < 128; set++) {
		char *own[8], names[7][8];
		size_t n = 0, o = 0;
		struct got g;

		for (unsigned int k = 0; k < 7; k++) {
			if (!(set >> k & 1))
				continue;
			snprintf(names[n], sizeof(names[n]), "K%u=x", k);
			own[n] = names[n];
			n++;
		}
		own[n] = NULL;
		g = base_for(&b, own);
		bases[set] = g;
		assert_true(g.shared == (set != 0));	/* 0: environ itself */
		for (unsigned int k = 0; k < 7; k++)
			if (!(set >> k & 1))
				assert_string_equal(g.base[o++], env7[k]);
		assert_null(g.base[o]);
	}
	rv_env_builder_fini(&b);
	for (unsigned int set = 0; set < 128; set++)
		if (bases[set].shared)
			rv_env_base_put(bases[set].base);
	environ = test_environ;
}

/* ---- through a supervisor load ---- */

static char tmpdir[] = "/tmp/rv-test-env-XXXXXX";
/* RINGVISOR_BACKEND of the real environment, which the tests replace */
static char *backend;

static struct rv_supervisor *load(void)
{
	struct rv_options opts = { .backend = backend };
	struct rv_supervisor *sv = NULL;
	char *text;
	int ret;

	ret = asprintf(&text,
		"[supervisor]\n"
		"control_socket = %s/control.sock\n"
		"\n[service:plain]\ncommand = /usr/bin/env\n"
		"\n[service:over]\ncommand = /usr/bin/env\n"
		"environment = A=mine C=new\n"
		"\n[service:over2]\ncommand = /usr/bin/env\n"
		"environment = C=x A=other\n"
		"\n[service:inst]\ncommand = /usr/bin/env\ninstances = 2\n"
		"environment = ID=%%i B=b%%i LIT=%%%%\n"
		"\n[service:notif]\ncommand = /usr/bin/env\ntype = notify\n"
		"environment = A=n\n"
		"\n[service:clear]\ncommand = /usr/bin/env\n"
		"clear_environment = true\nenvironment = ONLY=1\n", tmpdir);
	assert_true(ret > 0);
	environ = test_environ;
	ret = rv_supervisor_load_string(&sv, text, "t.conf", &opts, stderr);
	free(text);
	assert_int_equal(ret, 0);
	return sv;
}

static struct rv_service *find(struct rv_supervisor *sv, const char *name)
{
	for (size_t i = 0; i < sv->n_svcs; i++)
		if (!strcmp(sv->svcs[i]->name, name))
			return sv->svcs[i];
	fail_msg("no service %s", name);
	return NULL;
}

static void envp_equal(struct rv_supervisor *sv, const char *name,
		       char *const *want)
{
	vec_equal(rv_service_envp(find(sv, name)), want);
}

static void services_get_their_environment(void **state)
{
	struct rv_supervisor *sv = load();
	char *const *notif;
	size_t i;

	(void)state;
	assert_ptr_equal(rv_service_envp(find(sv, "plain")), test_environ);
	envp_equal(sv, "over", V("PATH=/usr/bin:/bin", "HOME=/nonexistent",
				 "B=keep", "A=mine", "C=new"));
	envp_equal(sv, "over2", V("PATH=/usr/bin:/bin", "HOME=/nonexistent",
				  "B=keep", "C=x", "A=other"));
	/* one base for both: they replace the same variables */
	assert_ptr_equal(find(sv, "over")->env_base,
			 find(sv, "over2")->env_base);
	/* the spec's own array: nothing per service */
	assert_ptr_equal(find(sv, "over")->env_own,
			 find(sv, "over")->spec->environment);
	envp_equal(sv, "inst@0", V("PATH=/usr/bin:/bin", "HOME=/nonexistent",
				   "A=from-environ", "ID=0", "B=b0", "LIT=%"));
	envp_equal(sv, "inst@1", V("PATH=/usr/bin:/bin", "HOME=/nonexistent",
				   "A=from-environ", "ID=1", "B=b1", "LIT=%"));
	assert_ptr_equal(find(sv, "inst@0")->env_base,
			 find(sv, "inst@1")->env_base);
	assert_ptr_not_equal(find(sv, "inst@0")->env_own,
			     find(sv, "inst@1")->env_own);
	/* notify: its own complete array, NOTIFY_SOCKET last */
	notif = rv_service_envp(find(sv, "notif"));
	for (i = 0; i < 4; i++)
		assert_string_equal(notif[i], V("PATH=/usr/bin:/bin",
						"HOME=/nonexistent", "B=keep",
						"A=n")[i]);
	assert_non_null(notif[4]);
	assert_true(!strncmp(notif[4], "NOTIFY_SOCKET=", 14));
	assert_null(notif[5]);
	envp_equal(sv, "clear", V("ONLY=1"));
	rv_supervisor_free(sv);
	environ = test_environ;
}

/* What the child of inst@1 really gets: /usr/bin/env prints it. */
static void child_sees_exactly_that(void **state)
{
	struct rv_supervisor *sv = load();
	struct rv_service *s = find(sv, "inst@1");
	char path[64], buf[512];
	struct rv_spawn_fd fd;
	struct rv_spawn_plan plan = { .new_session = true };
	struct rv_spawn_result res;
	siginfo_t si;
	ssize_t n;
	int out;

	(void)state;
	snprintf(path, sizeof(path), "%s/env.out", tmpdir);
	out = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(out >= 0);
	fd = (struct rv_spawn_fd){ .from = out, .to = 1 };
	plan.argv = s->argv;
	plan.envp = rv_service_envp(s);
	plan.fds = &fd;
	plan.n_fds = 1;
	assert_int_equal(rv_spawn(sv->spawner, &plan, &res), 0);
	assert_int_equal(waitid(P_PIDFD, (id_t)res.pidfd, &si, WEXITED), 0);
	close(res.pidfd);
	assert_int_equal(si.si_code, CLD_EXITED);
	assert_int_equal(si.si_status, 0);
	n = pread(out, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "PATH=/usr/bin:/bin\nHOME=/nonexistent\n"
			    "A=from-environ\nID=1\nB=b1\nLIT=%\n");
	close(out);
	unlink(path);
	rv_supervisor_free(sv);
	environ = test_environ;
}

static int setup(void **state)
{
	const char *b = getenv("RINGVISOR_BACKEND");

	(void)state;
	backend = b ? strdup(b) : NULL;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char path[64];

	(void)state;
	snprintf(path, sizeof(path), "%s/control.sock", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/control.sock.notify", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	free(backend);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(join_uses_a_part_alone_without_copying),
		cmocka_unit_test(join_puts_base_then_own),
		cmocka_unit_test(base_drops_what_own_replaces),
		cmocka_unit_test(base_past_the_cache_is_still_right),
		cmocka_unit_test(services_get_their_environment),
		cmocka_unit_test(child_sees_exactly_that),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
