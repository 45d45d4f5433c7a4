/* SPDX-License-Identifier: MIT */
/*
 * ringvisor-bench: shared pieces of the subcommands (timers.c, restart.c,
 * flap.c, scale.c, storm.c).
 *
 *   series.c   samples, percentiles, the table, JSON, CSV histogram, plot
 *   target.c   supervisors under test: ringvisor, the C loop, peer dirs
 *   util.c     clock, durations, /proc readers, process hygiene
 *
 * Conventions as in the rest of ringvisor: commands return 0 or -errno,
 * durations are int64 ns of CLOCK_MONOTONIC.  Progress goes to stderr, the
 * results to stdout (a table, or JSON with --json).
 */
#ifndef RV_BENCH_H
#define RV_BENCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NS_PER_US	((int64_t)1000)
#define NS_PER_MS	((int64_t)1000000)
#define NS_PER_S	((int64_t)1000000000)

/* ---- options shared by every subcommand ---- */

#define BENCH_MAX_PEERS 16
/* scale's realistic config: each service's own intensity limit */
#define BENCH_REALISTIC_MAX_RESTARTS 100

struct bench_peer_arg {
	char *label;
	char *dir;		/* may contain %n (scale: the service count) */
};

struct bench_opts {
	const char *cmd;		/* "timers", "restart", ... */
	bool json;
	const char *histogram;		/* CSV path or NULL */
	const char *plot;		/* PNG path or NULL */
	const char *ringvisor;		/* path of the binary under test */
	const char *helpers;		/* directory of rvb-stamp, rvb-cloop */
	const char *service;		/* "libc" (default) or "bare" */
	const char *workdir;		/* scratch; created and removed */
	bool keep;			/* keep workdir */
	bool no_ringvisor;
	bool no_baseline;
	bool with_floor;	/* restart: also the floor (TARGET_FLOOR) */
	const char *backends;		/* "io_uring,epoll" */
	struct bench_peer_arg peers[BENCH_MAX_PEERS];
	int n_peers;
	/* per subcommand; 0/NULL = that subcommand's default */
	int64_t samples;		/* timers --count, restart --samples */
	int64_t period_ns;		/* timers */
	int64_t duration_ns;		/* timers, flap */
	const char *clock;		/* timers */
	int fifo;			/* timers: SCHED_FIFO priority */
	int cpu;			/* timers: pin to this CPU (-1: no) */
	int64_t spin_ns;		/* timers: precision mode spin */
	int64_t spin_auto_ns;		/* timers: spin:auto cap; 0 = default */
	bool spin_fixed_off;		/* timers: --spin auto: no fixed row */
	int load;			/* timers: busy loops we start */
	bool cyclictest;		/* timers: a cyclictest row */
	const char *only;		/* timers: mechanism filter */
	int64_t block;			/* timers: interleave block */
	int64_t uptime_ns;		/* restart: min run before the kill */
	int64_t timeout_ns;		/* restart, storm */
	int warmup;			/* restart: rounds not counted */
	const char *counts;		/* scale: "100,1000,10000" */
	int64_t idle_ns;		/* scale: idle window */
	const char *idle_counts;	/* scale: N at which idle is measured */
	int repeat;			/* scale: bring-ups of ours (median) */
	long n;				/* storm: services */
	int argc;			/* the command line, for the report */
	char **argv;
};

extern struct bench_opts g_opt;

/* ---- util.c ---- */

int64_t now_ns(void);
void sleep_until(int64_t t);
void sleep_ns(int64_t d);
/* "1.5s", "20us", "3" (seconds); -1 on error */
int64_t parse_duration(const char *s);
void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn, format(printf, 1, 2)))
void die(const char *fmt, ...);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *xcalloc(size_t n, size_t size);
int write_file(const char *path, const char *text);
int mkdir_p(const char *path);
void rm_rf(const char *path);
/* absolute path of a helper program next to us (or in its build dir) */
char *find_helper(const char *name);
/* ringvisor-bench http: execs rvb-http (bench/rvb_http.py) */
/* http, reexec: exec the script helper (script.c) with the arguments. */
int cmd_script_exec(int argc, char **argv, const char *helper);
/* stdout of `argv` (first line), or NULL */
char *run_capture(char *const argv[]);

/* /proc readers; -errno on failure */
struct proc_mem {
	long rss_kib;
	long pss_kib;
};
int proc_mem(pid_t pid, struct proc_mem *m);
/* voluntary + involuntary switches over all threads, and utime+stime */
int proc_ctx(pid_t pid, uint64_t *switches, uint64_t *cpu_ticks);
/*
 * Descendants of root (transitively, not root itself), excluding those
 * running the executable `exclude` (NULL: none).  Returns the count and
 * a malloc'd array in *out.
 */
size_t proc_descendants(pid_t root, const char *exclude, pid_t **out);
/* Sends SIGKILL to every descendant of this process and reaps them. */
void kill_our_descendants(void);
void reap_children(void);
int pidfd_open_(pid_t pid);
int pidfd_kill(int pidfd, int sig);
void raise_nofile(void);

/* ---- machine.c ---- */

/* What the machine did, from /proc: take one before and one after. */
struct machine_snap {
	int64_t at_ns;
	double load1;			/* 1-minute load average; -1: ? */
	unsigned long long jiffies;	/* all CPU time so far */
	unsigned long long steal, idle;
};

void machine_snap(struct machine_snap *m);
long machine_ncpu(void);
/* % of CPU time stolen by the hypervisor between a and b */
double machine_steal_pct(const struct machine_snap *a,
			 const struct machine_snap *b);
/* A warning on stderr when the machine is busy before we start. */
void machine_warn_busy(const struct machine_snap *m, int own_load);
/*
 * Why the run between a and b was disturbed (load rose beyond what the run
 * makes itself, steal time), malloc'd; NULL when it looks clean.
 */
char *machine_disturbed(const struct machine_snap *a,
			const struct machine_snap *b, int own_load);
/*
 * Kernel and hypervisor limits on a real-time tail (preemption model, RT
 * throttling, steal time), printed to out.
 */
void machine_rt_notes(int fifo, const struct machine_snap *a,
		      const struct machine_snap *b, FILE *out);
/* --load N: N busy loops (SCHED_OTHER children); stopped by their pids. */
int load_start(int n);
void load_stop(void);
/* "what: 35% (done/total), 12 s, ~22 s left" on a tty; quiet otherwise. */
void progress(const char *what, int64_t done, int64_t total, int64_t t0_ns);

struct series;

/* ---- cyclictest.c ---- */

bool cyclictest_available(void);
/*
 * Runs cyclictest for loops wake-ups of period_ns (fifo: SCHED_FIFO
 * priority, 0 = SCHED_OTHER; cpu >= 0: pinned) and adds its histogram's
 * samples to s.  0 or -errno (said on stderr).
 */
int cyclictest_block(struct series *s, int64_t period_ns, int64_t loops,
		     int fifo, int cpu);

/* ---- series.c ---- */

struct series {
	char *label;
	int64_t *v;		/* samples, ns */
	size_t n, cap;
	bool sorted;
	json_t *extra;		/* more fields for the JSON row (owned) */
	char *note;		/* shown under the table */
	double spin_us;		/* CPU spun per sample (us); < 0: n/a */
	char *untrusted;	/* why its tail is not to be trusted, or NULL */
};

struct series *series_new(const char *label);
void series_add(struct series *s, int64_t ns);
void series_free(struct series *s);
/* nearest-rank percentile (p in 0..100) of the samples, ns */
int64_t series_pct(struct series *s, double p);
double series_mean(const struct series *s);
/* Samples from which p99.99 is shown (fewer: it would be the max). */
#define SERIES_P9999_MIN 10000
/*
 * JSON object: label, n, min/p50/p90/p99/p99.9/max/mean in us (p99.99
 * from SERIES_P9999_MIN samples), spin_us_per_sample, untrusted, extra.
 */
json_t *series_json(struct series *s);

/*
 * Prints the latency table (us) of ss[0..n-1] to stdout, or to stderr when
 * --json; ratio_to >= 0 adds a column "p50 / p50 of ss[ratio_to]".  A
 * p99.99 column when a series has SERIES_P9999_MIN samples, a spin column
 * when one has spin_us; the tail of an untrusted series is marked "!".
 */
void print_latency_table(const char *title, struct series **ss, size_t n,
			 int ratio_to);
/* --histogram: log-spaced bins, 20 per decade, of every series. */
int write_histogram(const char *path, struct series **ss, size_t n);
/*
 * --plot: CDF (log x) and tail (CCDF, log-log) of every series side by
 * side, the caption saying samples, host, kernel, date and load; skipped
 * (0) without gnuplot.
 */
int plot_cdf(const char *path, const char *title, struct series **ss,
	     size_t n);
/* "host, kernel, date, load average" for captions; static buffer. */
const char *run_caption(void);
/* Writes the common top of a JSON report: bench, env, command. */
json_t *report_new(void);
/* Dumps report to stdout (when --json) and frees it. */
void report_emit(json_t *report);
/* --histogram and --plot for the subcommands that have samples. */
void emit_extras(const char *title, struct series **ss, size_t n);

/* ---- target.c ---- */

enum target_kind {
	TARGET_RINGVISOR,
	TARGET_CLOOP,		/* the minimal posix_spawn+epoll C loop */
	TARGET_FLOOR,		/* rvb-cloop --floor: waitid + vfork + exec */
	TARGET_PEER,		/* a supervisor set up by someone else */
};

struct stamp {
	int64_t ns;
	pid_t pid;
	long id;		/* service index, -1 if not known */
};

struct target {
	char *label;
	enum target_kind kind;
	char *backend;		/* ringvisor: io_uring or epoll */
	char *dir;		/* its scratch directory */
	char *stamps;		/* the services' stamp file */
	char *log;		/* supervisor stdout+stderr */
	char *report;		/* ringvisor --report */
	long n;			/* services */
	bool flap;		/* the service exits at once */
	/* ringvisor: the realistic config (scale) instead of the fastest
	 * restart; see write_ringvisor_config() */
	bool realistic;
	pid_t pid;		/* supervisor, 0 when not running */
	int64_t started_ns;	/* just before fork */
	int exit_status;	/* after stop: wait status */
	bool sigkilled;		/* needed SIGKILL to stop */
	bool dead;		/* failed: skipped from then on */
	char *error;
	/* incremental stamp reader */
	int stamp_fd;
	off_t stamp_off;
	char partial[128];
	size_t npartial;
};

/* stamp-program path, its executable for exclusion */
extern char *g_stamp_bin, *g_flap_bin, *g_cloop_bin;

void targets_init(void);
/*
 * A new target (not started) with a fresh directory under workdir/tag.
 * Peers: dir_template is the prepared directory (%n = n).  Returns NULL
 * (with a message) when a peer has no directory for this n.
 */
struct target *target_new(enum target_kind kind, const char *label,
			  const char *tag, const char *backend,
			  const char *dir_template, long n, bool flap);
int target_start(struct target *t);
/* Graceful stop through the supervisor's own interface, then SIGKILL. */
void target_stop(struct target *t, int64_t grace_ns);
void target_free(struct target *t);
/*
 * Reads the stamp lines appended since the last call into *out (grown as
 * needed; *n is its length, *cap its capacity).  Returns how many were
 * added.
 */
size_t target_read_stamps(struct target *t, struct stamp **out, size_t *n,
			  size_t *cap);
/* Waits until count stamps exist (all read into the arrays), or timeout. */
int target_wait_stamps(struct target *t, size_t count, int64_t timeout_ns,
		       struct stamp **out, size_t *n, size_t *cap);
/* pids of the supervisor's own processes (root + non-service descendants) */
size_t target_sup_pids(const struct target *t, pid_t **out);
/* Makes the list of targets for this run: ringvisor per backend, the C
 * loop, the peers.  flap: the service exits at once.  realistic: ringvisor
 * once more per backend with the realistic config (scale). */
size_t targets_make(struct target **out, size_t max, const char *tag, long n,
		    bool flap, bool realistic);
/* The last lines of the supervisor's log, for error messages. */
char *target_log_tail(const struct target *t, int lines);

/* ---- subcommands ---- */

int cmd_timers(void);
int cmd_restart(void);
int cmd_flap(void);
int cmd_scale(void);
int cmd_storm(void);

#endif
