/* SPDX-License-Identifier: MIT */
/*
 * Isolation pieces without the supervisor: environment files and
 * composition, user/group/capability resolution, cgroup needs, and the
 * child's setup applied by rv_spawn() (root-only cases check geteuid()).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "child/cgroup.h"
#include "child/envfile.h"
#include "child/identity.h"
#include "child/spawn.h"
#include "config/config.h"
#include "config/parse.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static const char *find(char **env, const char *key)
{
	size_t kl = strlen(key);

	for (; env && *env; env++)
		if (!strncmp(*env, key, kl) && (*env)[kl] == '=')
			return *env + kl + 1;
	return NULL;
}

static size_t count(char **env)
{
	size_t n = 0;

	while (env && env[n])
		n++;
	return n;
}

/* ---- environment files ---- */

static void envfile_syntax(void **state)
{
	const char *text =
		"# a comment\n"
		"; another\n"
		"\n"
		"PLAIN=value with spaces   \n"
		"  export EXPORTED=1\n"
		"DQ=\"a \\\"quoted\\\" \\\\ $x\\nline\"  # trailing comment\n"
		"SQ='single $HOME \\n'\n"
		"MULTI=\"one\n"
		"two\"\n"
		"EMPTY=\n"
		"HASH=a#b\n"
		"PLAIN=again\n";
	char **env = NULL, why[128];
	size_t n = 0;

	assert_int_equal(rv_envfile_parse(text, &env, &n, why, sizeof(why)),
			 0);
	assert_int_equal(n, 7);
	assert_string_equal(find(env, "PLAIN"), "again");
	assert_string_equal(env[0], "PLAIN=again");	/* kept its place */
	assert_string_equal(find(env, "EXPORTED"), "1");
	assert_string_equal(find(env, "DQ"), "a \"quoted\" \\ $x\nline");
	assert_string_equal(find(env, "SQ"), "single $HOME \\n");
	assert_string_equal(find(env, "MULTI"), "one\ntwo");
	assert_string_equal(find(env, "EMPTY"), "");
	assert_string_equal(find(env, "HASH"), "a#b");
	rv_argv_free(env);
}

static void envfile_errors(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "A=1\nnot a line\n", "line 2: expected KEY=VALUE" },
		{ "A=1\n\n1X=2\n", "line 3: invalid variable name" },
		{ "A=\"open\n", "line 1: unterminated double quote" },
		{ "A='x' y\n", "line 1: unexpected text after the closing quote" },
		{ "=x\n", "line 1: invalid variable name" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char **env = NULL, why[128] = "";
		size_t n;

		assert_int_equal(rv_envfile_parse(bad[i].text, &env, &n, why,
						  sizeof(why)), -EINVAL);
		assert_null(env);
		if (strncmp(why, bad[i].why, strlen(bad[i].why)))
			fail_msg("\"%s\": got \"%s\"", bad[i].text, why);
	}
}

static void envfile_read_errors_name_the_file(void **state)
{
	char **env = NULL, why[256];
	size_t n;

	assert_int_equal(rv_envfile_read("/nonexistent/rv.env", &env, &n, why,
					 sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "/nonexistent/rv.env"));
	assert_int_equal(rv_envfile_read("/", &env, &n, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "not a regular file"));
}

/* A FIFO in place of the file (its owner may be the service's user) is
 * refused at once: opening it for reading would wait for a writer, and
 * the loop with it.  The alarm turns a hang into a failure. */
static void envfile_fifo_does_not_block(void **state)
{
	char dir[] = "/tmp/rv-envfifo-XXXXXX", path[64], **env = NULL;
	char why[256];
	size_t n;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/env", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);
	assert_int_equal(rv_envfile_read(path, &env, &n, why, sizeof(why)),
			 -EINVAL);
	alarm(0);
	assert_non_null(strstr(why, "not a regular file"));
	unlink(path);
	rmdir(dir);
}

static void env_compose_later_layers_win(void **state)
{
	char *base[] = { "A=base", "B=base", "PATH=/bin", NULL };
	char *user[] = { "HOME=/home/u", "B=user", NULL };
	char *own[] = { "A=own", "C=own", NULL };
	char *const *layers[] = { base, user, NULL, own };
	char **env = NULL;

	assert_int_equal(rv_env_compose(layers, 4, &env), 0);
	assert_int_equal(count(env), 5);
	assert_string_equal(env[0], "A=own");
	assert_string_equal(env[1], "B=user");
	assert_string_equal(env[2], "PATH=/bin");
	assert_string_equal(env[3], "HOME=/home/u");
	assert_string_equal(env[4], "C=own");
	rv_argv_free(env);

	/* clear_environment and nothing else: an empty environment */
	layers[0] = layers[1] = layers[3] = NULL;
	assert_int_equal(rv_env_compose(layers, 4, &env), 0);
	assert_int_equal(count(env), 0);
	rv_argv_free(env);
}

/* ---- identity ---- */

static void identity_root_and_numbers(void **state)
{
	struct rv_identity id = { 0 };
	char why[128];

	assert_int_equal(rv_identity_resolve(&id, "root", NULL, why,
					     sizeof(why)), 0);
	assert_true(id.set_uid && id.set_gid && id.set_groups);
	assert_int_equal(id.uid, 0);
	assert_int_equal(id.gid, 0);
	assert_string_equal(id.name, "root");
	assert_non_null(id.home);
	assert_true(id.n_groups >= 1);
	rv_identity_free(&id);

	/* a number without a passwd entry: gid = the same number */
	assert_int_equal(rv_identity_resolve(&id, "4000000", NULL, why,
					     sizeof(why)), 0);
	assert_int_equal(id.uid, 4000000);
	assert_int_equal(id.gid, 4000000);
	assert_null(id.name);
	assert_int_equal(id.n_groups, 1);
	rv_identity_free(&id);

	/* only a group: that gid, no supplementary groups */
	assert_int_equal(rv_identity_resolve(&id, NULL, "0", why,
					     sizeof(why)), 0);
	assert_false(id.set_uid);
	assert_true(id.set_gid && id.set_groups);
	assert_int_equal(id.n_groups, 1);
	rv_identity_free(&id);
}

static void identity_unknown_names(void **state)
{
	struct rv_identity id = { 0 };
	char why[128];

	assert_int_equal(rv_identity_resolve(&id, "rv-no-such-user", NULL, why,
					     sizeof(why)), -ENOENT);
	assert_string_equal(why, "user rv-no-such-user not found");
	rv_identity_free(&id);
	assert_int_equal(rv_identity_resolve(&id, "root", "rv-no-such-group",
					     why, sizeof(why)), -ENOENT);
	assert_string_equal(why, "group rv-no-such-group not found");
	rv_identity_free(&id);
}

static void identity_caps_via_libcap(void **state)
{
	struct rv_identity id = { 0 };
	char why[192];

	assert_int_equal(rv_identity_caps(&id, "cap_net_bind_service, CAP_CHOWN",
					  why, sizeof(why)), 0);
	assert_true(id.set_caps);
	assert_int_equal(id.caps, (1ULL << 10) | (1ULL << 0));
	assert_true(id.last_cap >= 37);
	assert_int_equal(rv_identity_caps(&id, "none", why, sizeof(why)), 0);
	assert_true(id.set_caps);
	assert_int_equal(id.caps, 0);
	assert_int_equal(rv_identity_caps(&id, "cap_bogus", why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "cap_bogus"));
	rv_identity_free(&id);
}

/* ---- cgroup needs ---- */

static void cgroup_needs(void **state)
{
	struct rv_iso_spec iso = rv_iso_spec_default;
	struct rv_service_spec sp;

	rv_service_spec_init(&sp);
	sp.iso = &iso;
	assert_false(rv_cgroup_required(&sp));
	assert_int_equal(rv_cgroup_controllers(&sp), 0);
	sp.kill_mode = RV_KILL_CGROUP;
	assert_true(rv_cgroup_required(&sp));
	assert_int_equal(rv_cgroup_controllers(&sp), 0);
	sp.kill_mode = RV_KILL_GROUP;
	iso.memory_max = "536870912";
	iso.cpu_weight = 100;
	assert_true(rv_cgroup_required(&sp));
	assert_int_equal(rv_cgroup_controllers(&sp), RV_CG_MEMORY | RV_CG_CPU);
	iso.memory_max = NULL;
}

static void cgroup_check_names_what_is_missing(void **state)
{
	struct rv_cgroup_host h = { .mount = NULL, .why = "no cgroup2 here" };
	struct rv_iso_spec iso = rv_iso_spec_default;
	struct rv_service_spec sp;
	char why[384];

	rv_service_spec_init(&sp);
	sp.iso = &iso;
	iso.pids_max = "10";
	assert_int_equal(rv_cgroup_host_check(&h, &sp, why, sizeof(why)),
			 -EOPNOTSUPP);
	assert_non_null(strstr(why, "pids_max needs cgroup v2"));
	assert_non_null(strstr(why, "no cgroup2 here"));

	h.mount = "/sys/fs/cgroup";
	h.own = "/sys/fs/cgroup/x";
	strcpy(h.controllers, "cpu io");
	assert_int_equal(rv_cgroup_host_check(&h, &sp, why, sizeof(why)),
			 -EOPNOTSUPP);
	assert_non_null(strstr(why, "pids_max needs the cgroup v2 pids controller"));
	assert_non_null(strstr(why, "/sys/fs/cgroup/x"));
	strcpy(h.controllers, "cpu io pids");
	assert_int_equal(rv_cgroup_host_check(&h, &sp, why, sizeof(why)), 0);
	iso.pids_max = NULL;
}

/* ---- the child's setup, through rv_spawn() ---- */

struct status {
	char line[64][128];
	int n;
};

static const char *status_field(const struct status *st, const char *key)
{
	size_t kl = strlen(key);

	for (int i = 0; i < st->n; i++)
		if (!strncmp(st->line[i], key, kl) && st->line[i][kl] == ':') {
			const char *v = st->line[i] + kl + 1;

			while (*v == '\t' || *v == ' ')
				v++;
			return v;
		}
	return "";
}

static void read_status(pid_t pid, struct status *st)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	st->n = 0;
	while (st->n < 64 && fgets(st->line[st->n], sizeof(st->line[0]), f)) {
		st->line[st->n][strcspn(st->line[st->n], "\n")] = '\0';
		st->n++;
	}
	fclose(f);
}

/* Waits until the child has exec'd sleep (its comm changes). */
static void wait_exec(pid_t pid)
{
	char path[64], comm[32] = "";

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	for (int i = 0; i < 500; i++) {
		FILE *f = fopen(path, "r");

		if (f) {
			if (!fgets(comm, sizeof(comm), f))
				comm[0] = '\0';
			fclose(f);
		}
		if (!strncmp(comm, "sleep", 5))
			return;
		usleep(2000);
	}
	fail_msg("child %d never exec'd sleep", (int)pid);
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	int n = 40;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 40;
		fclose(f);
	}
	return n;
}

static void reap(struct rv_spawn_result *res)
{
	siginfo_t si;

	if (res->pid <= 0)
		return;
	kill(res->pid, SIGKILL);
	waitid(P_PIDFD, (id_t)res->pidfd, &si, WEXITED);
	close(res->pidfd);
	res->pid = 0;
}

static void spawn_applies_identity_and_resources(void **state)
{
	struct rv_spawner *sp;
	struct rv_spawn_rlimit rl = {
		.resource = RLIMIT_NOFILE, .limit = { 100, 200 },
		.step = "setrlimit(nofile)",
	};
	gid_t groups[] = { 65534, 4 };
	cpu_set_t cpus;
	struct rv_spawn_iso iso = RV_SPAWN_ISO_INIT;
	char *argv[] = { "sleep", "30", NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct rv_spawn_plan plan = { .argv = argv, .envp = envp,
				      .new_session = true, .iso = &iso };
	struct rv_spawn_result res;
	struct status st;
	char path[64], buf[256];
	FILE *f;

	if (geteuid() != 0)
		skip();
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	iso.rlimits = &rl;
	iso.n_rlimits = 1;
	iso.set_nice = true;
	iso.nice = 7;
	iso.cpus = &cpus;
	iso.cpus_size = sizeof(cpus);
	iso.oom_score_adj = "321";
	iso.set_gid = iso.set_groups = iso.set_uid = true;
	iso.uid = 65534;
	iso.gid = 65534;
	iso.groups = groups;
	iso.n_groups = 2;
	iso.set_caps = true;
	iso.caps = 1ULL << 10;		/* cap_net_bind_service */
	iso.last_cap = last_cap();
	iso.umask = 027;
	iso.cwd = "/tmp";
	iso.no_new_privs = true;

	assert_int_equal(rv_spawner_new(&sp), 0);
	assert_int_equal(rv_spawn(sp, &plan, &res), 0);
	wait_exec(res.pid);
	read_status(res.pid, &st);
	assert_string_equal(status_field(&st, "Uid"),
			    "65534\t65534\t65534\t65534");
	assert_string_equal(status_field(&st, "Gid"),
			    "65534\t65534\t65534\t65534");
	assert_string_equal(status_field(&st, "Groups"), "4 65534 ");
	assert_string_equal(status_field(&st, "CapPrm"), "0000000000000400");
	assert_string_equal(status_field(&st, "CapEff"), "0000000000000400");
	assert_string_equal(status_field(&st, "CapInh"), "0000000000000400");
	assert_string_equal(status_field(&st, "CapAmb"), "0000000000000400");
	assert_string_equal(status_field(&st, "CapBnd"), "0000000000000400");
	assert_string_equal(status_field(&st, "NoNewPrivs"), "1");
	assert_string_equal(status_field(&st, "Umask"), "0027");
	assert_string_equal(status_field(&st, "Cpus_allowed_list"), "0");

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int)res.pid);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "321\n");
	snprintf(path, sizeof(path), "/proc/%d/cwd", (int)res.pid);
	memset(buf, 0, sizeof(buf));
	assert_true(readlink(path, buf, sizeof(buf) - 1) > 0);
	assert_string_equal(buf, "/tmp");
	assert_int_equal(getpriority(PRIO_PROCESS, (id_t)res.pid), 7);
	/* prlimit(2) on another user's process needs CAP_SYS_RESOURCE */
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)res.pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f))
		if (!strncmp(buf, "Max open files", 14))
			break;
	fclose(f);
	assert_non_null(strstr(buf, " 100 "));
	assert_non_null(strstr(buf, " 200 "));
	reap(&res);
	rv_spawner_free(sp);
}

static void spawn_reports_the_failing_step(void **state)
{
	struct rv_spawner *sp;
	struct rv_spawn_rlimit rl = {
		/* above fs.nr_open: EPERM, whoever we are */
		.resource = RLIMIT_NOFILE, .limit = { 1U << 30, 1U << 30 },
		.step = "setrlimit(nofile)",
	};
	struct rv_spawn_iso iso = RV_SPAWN_ISO_INIT;
	char *argv[] = { "true", NULL };
	char *envp[] = { NULL };
	struct rv_spawn_plan plan = { .argv = argv, .envp = envp,
				      .new_session = true, .iso = &iso };
	struct rv_spawn_result res;
	siginfo_t si;

	assert_int_equal(rv_spawner_new(&sp), 0);
	iso.rlimits = &rl;
	iso.n_rlimits = 1;
	assert_true(rv_spawn(sp, &plan, &res) < 0);
	assert_true(res.pid > 0);
	assert_string_equal(res.step, "setrlimit(nofile)");
	assert_int_equal(res.err, EPERM);
	assert_int_equal(waitid(P_PIDFD, (id_t)res.pidfd, &si, WEXITED), 0);
	assert_int_equal(si.si_status, 126);
	close(res.pidfd);

	/* a working directory that does not exist: chdir */
	iso.n_rlimits = 0;
	iso.cwd = "/nonexistent/rv-dir";
	assert_int_equal(rv_spawn(sp, &plan, &res), -ENOENT);
	assert_string_equal(res.step, "chdir");
	assert_int_equal(waitid(P_PIDFD, (id_t)res.pidfd, &si, WEXITED), 0);
	assert_int_equal(si.si_status, 127);
	close(res.pidfd);

	/* a bad cgroup directory fd: cgroup, before anything else */
	iso.cwd = NULL;
	iso.cgroup_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(rv_spawn(sp, &plan, &res) < 0);
	assert_string_equal(res.step, "cgroup");
	waitid(P_PIDFD, (id_t)res.pidfd, &si, WEXITED);
	close(res.pidfd);
	close(iso.cgroup_fd);
	rv_spawner_free(sp);
}

static void spawn_root_keeps_only_listed_caps(void **state)
{
	struct rv_spawner *sp;
	struct rv_spawn_iso iso = RV_SPAWN_ISO_INIT;
	char *argv[] = { "sleep", "30", NULL };
	char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	struct rv_spawn_plan plan = { .argv = argv, .envp = envp,
				      .new_session = true, .iso = &iso };
	struct rv_spawn_result res;
	struct status st;

	if (geteuid() != 0)
		skip();
	iso.set_caps = true;
	iso.caps = (1ULL << 0) | (1ULL << 10);	/* chown, bind_service */
	iso.last_cap = last_cap();
	assert_int_equal(rv_spawner_new(&sp), 0);
	assert_int_equal(rv_spawn(sp, &plan, &res), 0);
	wait_exec(res.pid);
	read_status(res.pid, &st);
	assert_string_equal(status_field(&st, "Uid"), "0\t0\t0\t0");
	assert_string_equal(status_field(&st, "CapPrm"), "0000000000000401");
	assert_string_equal(status_field(&st, "CapEff"), "0000000000000401");
	assert_string_equal(status_field(&st, "CapBnd"), "0000000000000401");
	assert_string_equal(status_field(&st, "CapAmb"), "0000000000000401");
	reap(&res);

	/* none: nothing at all, even for root */
	iso.caps = 0;
	assert_int_equal(rv_spawn(sp, &plan, &res), 0);
	wait_exec(res.pid);
	read_status(res.pid, &st);
	assert_string_equal(status_field(&st, "CapPrm"), "0000000000000000");
	assert_string_equal(status_field(&st, "CapEff"), "0000000000000000");
	assert_string_equal(status_field(&st, "CapBnd"), "0000000000000000");
	reap(&res);
	rv_spawner_free(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(envfile_syntax),
		cmocka_unit_test(envfile_errors),
		cmocka_unit_test(envfile_read_errors_name_the_file),
		cmocka_unit_test(envfile_fifo_does_not_block),
		cmocka_unit_test(env_compose_later_layers_win),
		cmocka_unit_test(identity_root_and_numbers),
		cmocka_unit_test(identity_unknown_names),
		cmocka_unit_test(identity_caps_via_libcap),
		cmocka_unit_test(cgroup_needs),
		cmocka_unit_test(cgroup_check_names_what_is_missing),
		cmocka_unit_test(spawn_applies_identity_and_resources),
		cmocka_unit_test(spawn_reports_the_failing_step),
		cmocka_unit_test(spawn_root_keeps_only_listed_caps),
	};

	/* spawned children are reaped in each case; leaked ones show here */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
