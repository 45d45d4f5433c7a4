// SPDX-License-Identifier: MIT
/*
 * Allocation failure, supervisor-wide: every allocation libringvisor makes
 * while loading a config and building a supervisor (config, specs, tree,
 * loop, spawner, control and notify sockets, isolation, output) fails once
 * in turn, through the public API (rv_supervisor_load_string(),
 * rv_supervisor_new_exec(), rv_supervisor_free()), for every n until a load
 * needs no more.  Each failure must come back as -ENOMEM with nothing left
 * behind: no memory (every block a wrapped call handed out is freed again,
 * and LeakSanitizer watches the sanitizer build), no descriptor, no socket
 * file.  RV_ALLOC_FAIL_BACKTRACE=N prints where the call that fails as
 * allocation N was made (-1: every one).
 *
 * The allocator is wrapped at link time (tests/CMakeLists.txt links this
 * program with -Wl,--wrap=malloc,...): every call from libringvisor's and
 * the loop's objects goes through __wrap_NAME below, which counts and
 * fails the chosen one, then calls the real function -- which is
 * AddressSanitizer's under ASan, so its leak checker sees everything --
 * and records the block until __wrap_free.
 * Calls made inside shared libraries (libc's getline, inih, libcap,
 * liburing) are not wrapped: their own failure handling is theirs.
 */
#include <dirent.h>
#include <errno.h>
#include <execinfo.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ringvisor.h"

/* ---- the wrapped allocator ------------------------------------------- */

static long countdown = -1;	/* -1: never fail; 0: fail the next call */
static long calls;		/* wrapped calls while armed */
static long injected;		/* failures injected while armed */
static long trace = -2;	/* RV_ALLOC_FAIL_BACKTRACE: N, -1 all */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_vasprintf(char **out, const char *fmt, va_list ap);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_vasprintf(char **out, const char *fmt, va_list ap);
int __wrap_asprintf(char **out, const char *fmt, ...);

/*
 * The blocks the wrapped calls handed out and that were not freed yet, with
 * the number of the call that made each: a leak names its allocation.  An
 * open-addressing table (linear probing, deletion by backward shift).
 * Blocks that libc allocates for us (getline) and we free are simply not
 * in it.
 */
#define LIVE_SIZE (1 << 17)

static struct live {
	void *p;
	long call;		/* calls at allocation time; -1 unarmed */
} live[LIVE_SIZE];
static size_t n_live;

static size_t live_slot(const void *p)
{
	return ((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ULL >> 47;
}

static void live_add(void *p)
{
	size_t i = live_slot(p);

	if (!p)
		return;
	if (n_live + 1 >= LIVE_SIZE / 2)
		abort();	/* the test's own limit: make LIVE_SIZE bigger */
	while (live[i].p)
		i = (i + 1) & (LIVE_SIZE - 1);
	live[i].p = p;
	live[i].call = countdown >= 0 ? calls - 1 : -1;
	n_live++;
}

static void live_del(void *p)
{
	size_t i = live_slot(p), j, k;

	if (!p)
		return;
	while (live[i].p != p) {
		if (!live[i].p)
			return;		/* not one of ours */
		i = (i + 1) & (LIVE_SIZE - 1);
	}
	live[i].p = NULL;
	n_live--;
	for (j = (i + 1) & (LIVE_SIZE - 1); live[j].p;
	     j = (j + 1) & (LIVE_SIZE - 1)) {
		k = live_slot(live[j].p);
		/* move j back to i unless its home lies in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		live[i] = live[j];
		live[j].p = NULL;
		i = j;
	}
}

static bool fail_now(void)
{
	if (countdown < 0)
		return false;
	calls++;
	if (countdown-- > 0)
		return false;
	injected++;
	if (trace == -1 || trace == calls - 1) {
		void *bt[32];
		int n = backtrace(bt, 32);

		fprintf(stderr, "-- allocation %ld fails here:\n", calls - 1);
		backtrace_symbols_fd(bt, n, STDERR_FILENO);
	}
	errno = ENOMEM;
	return true;
}

static void *track(void *p)
{
	live_add(p);
	return p;
}

void *__wrap_malloc(size_t n)
{
	return fail_now() ? NULL : track(__real_malloc(n));
}

void *__wrap_calloc(size_t n, size_t m)
{
	return fail_now() ? NULL : track(__real_calloc(n, m));
}

void *__wrap_realloc(void *p, size_t n)
{
	void *q;

	if (fail_now())
		return NULL;
	q = __real_realloc(p, n);
	if (q || !n) {
		live_del(p);
		live_add(q);
	}
	return q;
}

void __wrap_free(void *p)
{
	live_del(p);
	__real_free(p);
}

char *__wrap_strdup(const char *s)
{
	return fail_now() ? NULL : track(__real_strdup(s));
}

char *__wrap_strndup(const char *s, size_t n)
{
	return fail_now() ? NULL : track(__real_strndup(s, n));
}

int __wrap_vasprintf(char **out, const char *fmt, va_list ap)
{
	int ret;

	if (fail_now())
		return -1;
	ret = __real_vasprintf(out, fmt, ap);
	if (ret >= 0)
		live_add(*out);
	return ret;
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = __wrap_vasprintf(out, fmt, ap);
	va_end(ap);
	return ret;
}

/* Names the allocations still live that were made by an armed load. */
static long report_leaks(long n)
{
	long leaked = 0;

	for (size_t i = 0; i < LIVE_SIZE; i++) {
		if (!live[i].p || live[i].call < 0)
			continue;
		if (leaked++ < 10)
			print_error("failing allocation %ld leaked the block "
				    "of allocation %ld\n", n, live[i].call);
	}
	return leaked;
}

/* Forgets which load made the live blocks (the warm-up's stay live:
 * libc's one-time allocations are not ours, but ours are all freed). */
static void live_unmark(void)
{
	for (size_t i = 0; i < LIVE_SIZE; i++)
		live[i].call = -1;
}

/* ---- what must come back to where it was ----------------------------- */

static char tmpdir[] = "/tmp/rv-allocfail-XXXXXX";
static char sock_path[256], envfile_path[256], out_path[256];

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* the directory's own descriptor */
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* ---- the loads ------------------------------------------------------- */

enum kind { LOAD_CONFIG, NEW_EXEC };

static char *config_text;

/* A config that reaches most allocation sites of a load: nested
 * supervisors, instances with %i, dependencies, notify (its socket),
 * probes, environment and environment_file, limits, affinity, identity,
 * output to a prefix pipe and to a file. */
static void make_config(void)
{
	FILE *f;
	int n;

	snprintf(sock_path, sizeof(sock_path), "%s/control.sock", tmpdir);
	snprintf(envfile_path, sizeof(envfile_path), "%s/env", tmpdir);
	snprintf(out_path, sizeof(out_path), "%s/out.log", tmpdir);
	f = fopen(envfile_path, "w");
	assert_non_null(f);
	fputs("# comment\nFOO=bar\nexport BAZ=\"qu ux\"\n", f);
	fclose(f);
	n = asprintf(&config_text,
		"[supervisor]\n"
		"control_socket = %s\n"
		"strategy = one_for_all\n"
		"max_restarts = 100\n"
		"shutdown_timeout = 5s\n"
		"\n"
		"[supervisor:pool]\n"
		"strategy = rest_for_one\n"
		"after = db\n"
		"\n"
		"[supervisor:inner]\n"
		"supervisor = pool\n"
		"\n"
		"[service:db]\n"
		"command = /bin/sleep \"10 0\" 'x y' a\\ b\n"
		"type = notify\n"
		"ready_timeout = 5s\n"
		"watchdog = 2s\n"
		"environment = A=1 B=2 C=%%i\n"
		"environment_file = %s\n"
		"limit_nofile = 1024:2048\n"
		"limit_core = 0\n"
		"cpu_affinity = 0\n"
		"stdout = prefix\n"
		"stderr = stdout\n"
		"success_exit_status = 3 SIGUSR1\n"
		"\n"
		"[service:web]\n"
		"supervisor = pool\n"
		"command = /bin/sleep 1%%i\n"
		"instances = 3\n"
		"ready_check = /bin/true --probe %%i\n"
		"health_check = /bin/true\n"
		"health_interval = 1s\n"
		"user = root\n"
		"working_directory = /\n"
		"umask = 022\n"
		"stdout = file:%s\n"
		"stderr = null\n"
		"\n"
		"[service:job]\n"
		"supervisor = inner\n"
		"command = /bin/true\n"
		"after = web\n"
		"ready_fd = 3\n"
		"restart = never\n"
		"\n"
		"[service:once]\n"
		"supervisor = inner\n"
		"command = /bin/true\n"
		"type = oneshot\n",
		sock_path, envfile_path, out_path);
	assert_true(n > 0);
}

static int load(enum kind kind, struct rv_supervisor **sv, FILE *errors)
{
	static char *const argv[] = { "/bin/sleep", "10", NULL };
	static const char *const keys[] = {
		"restart=on-failure", "backoff=fibonacci", "restart_delay=1s",
		"environment=A=1 B=2", "stop_timeout=2s", NULL
	};
	struct rv_options opts = { .control_socket = NULL };

	if (kind == LOAD_CONFIG)
		return rv_supervisor_load_string(sv, config_text, "t.conf",
						 &opts, errors);
	opts.control_socket = sock_path;	/* exec has one only if asked */
	return rv_supervisor_new_exec(sv, argv, keys, &opts, errors);
}

/* Prints what the load wrote to errors. */
static void print_said(FILE *errors)
{
	char buf[1024];
	size_t n;

	fflush(errors);
	rewind(errors);
	while ((n = fread(buf, 1, sizeof(buf), errors)) > 0)
		print_error("%.*s", (int)n, buf);
}

/*
 * Fails allocation n, for n = 0, 1, ... until a load makes fewer than n+1
 * allocations (then it must succeed).  Checks after each one.
 */
static void every_allocation(enum kind kind)
{
	struct rv_supervisor *sv = NULL;
	FILE *errors = tmpfile();	/* what a load says, kept for a failure */
	size_t live0;
	int fds0, ret;
	long n, enomem = 0;

	assert_non_null(errors);
	/* warm-up: one-time allocations of libc (NSS, stdio) happen here */
	ret = load(kind, &sv, stderr);
	assert_int_equal(ret, 0);
	rv_supervisor_free(sv);
	assert_false(exists(sock_path));
	fputs("stdio allocates its buffer on the first write\n", errors);
	fflush(errors);
	fds0 = count_fds();
	live0 = n_live;
	live_unmark();

	for (n = 0; n < 1000000; n++) {
		sv = NULL;
		rewind(errors);
		if (ftruncate(fileno(errors), 0) < 0)
			fail_msg("ftruncate: %s", strerror(errno));
		calls = injected = 0;
		countdown = n;
		ret = load(kind, &sv, errors);
		countdown = -1;
		if (!injected) {
			/* every allocation has failed once */
			assert_int_equal(ret, 0);
			assert_non_null(sv);
			rv_supervisor_free(sv);
			assert_int_equal(n_live, live0);
			print_message("%s: %ld allocations, each failed once: "
				      "%ld -ENOMEM\n", kind == LOAD_CONFIG ?
				      "load" : "exec", n, enomem);
			break;
		}
		if (ret != -ENOMEM) {
			print_said(errors);
			fail_msg("allocation %ld of %ld failed: the load "
				 "returned %d (%s), not -ENOMEM", n, calls,
				 ret, strerror(-ret));
		}
		enomem++;
		if (exists(sock_path))
			fail_msg("allocation %ld failed: the control socket "
				 "%s was left behind", n, sock_path);
		if (count_fds() != fds0)
			fail_msg("allocation %ld failed: %d descriptors open, "
				 "%d before", n, count_fds(), fds0);
		if (n_live != live0 && report_leaks(n))
			fail_msg("allocation %ld failed: %zu blocks leaked", n,
				 n_live - live0);
	}
	assert_true(n < 1000000);
	assert_int_equal(count_fds(), fds0);
	assert_false(exists(sock_path));
	fclose(errors);
}

static void test_load_config(void **state)
{
	(void)state;
	every_allocation(LOAD_CONFIG);
}

static void test_new_exec(void **state)
{
	(void)state;
	every_allocation(NEW_EXEC);
}

/* The wrapping is in place: a wrapped call can be made to fail. */
static void test_wrapped(void **state)
{
	static void *(*volatile alloc)(size_t) = malloc;
	void *p;

	(void)state;
	countdown = 0;
	p = alloc(16);
	countdown = -1;
	assert_null(p);
	assert_int_equal(injected, 1);
	injected = 0;
}

static int setup(void **state)
{
	(void)state;
	if (getenv("RV_ALLOC_FAIL_BACKTRACE"))
		trace = strtol(getenv("RV_ALLOC_FAIL_BACKTRACE"), NULL, 10);
	if (!mkdtemp(tmpdir))
		return -1;
	make_config();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(envfile_path);
	unlink(out_path);
	unlink(sock_path);
	rmdir(tmpdir);
	free(config_text);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrapped),
		cmocka_unit_test(test_load_config),
		cmocka_unit_test(test_new_exec),
	};

	/* the loop is created and freed hundreds of times: keep its log
	 * quiet (a load logs nothing on success; failures go to errors) */
	return cmocka_run_group_tests(tests, setup, teardown);
}
