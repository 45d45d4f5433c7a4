/* SPDX-License-Identifier: MIT */
/*
 * ringvisor-bench: timer precision, restart latency, churn and scale of
 * ringvisor, measured against the real binary, a minimal C supervisor and
 * (with --peer) other supervisors, in the same run.  See bench/README.md.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "bench.h"

#define TMPFS_MAGIC 0x01021994

struct bench_opts g_opt;

static const char usage[] =
"usage: ringvisor-bench COMMAND [OPTIONS]\n"
"\n"
"commands:\n"
"  timers   lateness of periodic absolute deadlines, every mechanism side by\n"
"           side: ringvisor's loop (io_uring, epoll, precision mode), raw\n"
"           IORING_OP_TIMEOUT|ABS, timerfd+epoll, clock_nanosleep (default\n"
"           and 1 ns slack)\n"
"  restart  failover latency: a service that has run --uptime is SIGKILLed;\n"
"           latency = the replacement's CLOCK_MONOTONIC stamp - kill time\n"
"  flap     restarts/s of a service that exits at once, against the raw\n"
"           spawn/reap ceiling measured in the same run\n"
"  scale    N services: time until all started, supervisor RSS/PSS, and\n"
"           its wake-ups/s while they sit idle\n"
"  storm    N services killed at once: time until all are back, and every\n"
"           exit counted exactly once\n"
"  http     lost requests: gunicorn (4 instances) under wrk while instances\n"
"           are SIGKILLed, rolled and reloaded; ringvisor with a held socket\n"
"           and with gunicorn's own bind, runit and supervisord (if installed)\n"
"  reexec   the live hand-over to a new binary: its time with 1,000 and\n"
"           10,000 services, and 50 in a row under 100 mixed services and\n"
"           20 clients (pids kept, each exit reported once, no fd leak,\n"
"           backoffs at their deadlines)\n"
"\n"
"common options:\n"
"  --json               JSON on stdout (the table goes to stderr)\n"
"  --histogram FILE     CSV histogram (log bins, 20 per decade, us)\n"
"  --plot FILE.png      latency CDF drawn by gnuplot (skipped without it)\n"
"  --ringvisor PATH     binary under test (default: next to this program,\n"
"                       or one directory up)\n"
"  --backend LIST       ringvisor backends to run, e.g. io_uring,epoll\n"
"                       (default: restart io_uring,epoll; others io_uring)\n"
"  --peer LABEL=DIR     also measure the supervisor prepared in DIR (argv,\n"
"                       env, stop files; %n = service count); repeatable\n"
"  --no-ringvisor, --no-baseline   leave out ringvisor / the C loop (and\n"
"                       the restart floor: waitid + vfork + execve)\n"
"  --workdir DIR        scratch (default: a new dir in /dev/shm or $TMPDIR)\n"
"  --keep               keep the scratch directory\n"
"  --helpers DIR        where rvb-stamp, rvb-flap, rvb-cloop are\n"
"  --service libc|bare  the supervised program: static glibc (default), or\n"
"                       no libc, stamping at its first instruction (x86_64)\n"
"\n"
"timers:  --period 1ms --count 20000 | --duration D, --clock monotonic|\n"
"         boottime|realtime, --spin 50us|auto|auto:MAX (precision mode rows;\n"
"         default spin:50us and spin:auto), --block 1000, --only SUBSTRING[,...],\n"
"         --fifo PRIO, --cpu N, --load N (N busy loops for the run),\n"
"         --cyclictest (rt-tests cyclictest as one more row)\n"
"restart: --samples 50 --uptime 1.5s --timeout 5s --warmup 1\n"
"flap:    --duration 10s\n"
"scale:   --counts 100,1000,10000 --idle 10s --idle-counts LIST (default all)\n"
"         --repeat K (bring-ups of ringvisor and the C loop, median; 1)\n"
"storm:   -n 1000 --timeout 60s\n"
"http:    --duration 6 (seconds per scenario) --kill-interval 1\n"
"         --connections 50 --threads 2 (wrk) --wrk-timeout 2s --instances 4\n"
"         --workers 1 (gunicorn's per instance) --scenarios kill-one,\n"
"         kill-all,rolling,reload --supervisors ringvisor-held,\n"
"         ringvisor-bind,runit,supervisord (also --json --plot --ringvisor\n"
"         --no-ringvisor --workdir --keep --helpers)\n"
"reexec:  --counts 1000,10000 --repeat 5 --output capture|null (time);\n"
"         --rounds 50 --clients 20\n"
"         --slack 0.25 (stress); --only time|stress --backend io_uring|\n"
"         epoll|both (both) --json --workdir --ringvisor\n";

enum {
	OPT_JSON = 256, OPT_HIST, OPT_PLOT, OPT_RV, OPT_BACKEND, OPT_PEER,
	OPT_NORV, OPT_NOBASE, OPT_WORKDIR, OPT_KEEP, OPT_HELPERS, OPT_PERIOD,
	OPT_COUNT, OPT_DURATION, OPT_CLOCK, OPT_SPIN, OPT_BLOCK, OPT_ONLY,
	OPT_FIFO, OPT_CPU, OPT_UPTIME, OPT_TIMEOUT, OPT_WARMUP, OPT_COUNTS,
	OPT_IDLE, OPT_IDLE_COUNTS, OPT_SERVICE, OPT_REPEAT, OPT_HELP,
	OPT_LOAD, OPT_CYCLICTEST,
};

static const struct option longopts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "histogram", required_argument, NULL, OPT_HIST },
	{ "plot", required_argument, NULL, OPT_PLOT },
	{ "ringvisor", required_argument, NULL, OPT_RV },
	{ "backend", required_argument, NULL, OPT_BACKEND },
	{ "peer", required_argument, NULL, OPT_PEER },
	{ "no-ringvisor", no_argument, NULL, OPT_NORV },
	{ "no-baseline", no_argument, NULL, OPT_NOBASE },
	{ "workdir", required_argument, NULL, OPT_WORKDIR },
	{ "keep", no_argument, NULL, OPT_KEEP },
	{ "helpers", required_argument, NULL, OPT_HELPERS },
	{ "period", required_argument, NULL, OPT_PERIOD },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "samples", required_argument, NULL, OPT_COUNT },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "clock", required_argument, NULL, OPT_CLOCK },
	{ "spin", required_argument, NULL, OPT_SPIN },
	{ "block", required_argument, NULL, OPT_BLOCK },
	{ "only", required_argument, NULL, OPT_ONLY },
	{ "fifo", required_argument, NULL, OPT_FIFO },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "uptime", required_argument, NULL, OPT_UPTIME },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "warmup", required_argument, NULL, OPT_WARMUP },
	{ "counts", required_argument, NULL, OPT_COUNTS },
	{ "idle", required_argument, NULL, OPT_IDLE },
	{ "idle-counts", required_argument, NULL, OPT_IDLE_COUNTS },
	{ "service", required_argument, NULL, OPT_SERVICE },
	{ "repeat", required_argument, NULL, OPT_REPEAT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "load", required_argument, NULL, OPT_LOAD },
	{ "cyclictest", no_argument, NULL, OPT_CYCLICTEST },
	{ NULL, 0, NULL, 0 },
};

static int64_t duration_arg(const char *opt, const char *v)
{
	int64_t d = parse_duration(v);

	if (d < 0) {
		fprintf(stderr, "ringvisor-bench: --%s: bad duration \"%s\" "
			"(e.g. 1ms, 1.5s, 20us)\n", opt, v);
		exit(2);
	}
	return d;
}

static long long num_arg(const char *opt, const char *v, long long lo,
			 long long hi)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end || end == v || n < lo || n > hi) {
		fprintf(stderr, "ringvisor-bench: --%s: expected a number in "
			"%lld..%lld, got \"%s\"\n", opt, lo, hi, v);
		exit(2);
	}
	return n;
}

/* --spin DURATION | auto | auto:MAX (the cap of spin:auto) */
static void spin_arg(const char *v)
{
	if (strncmp(v, "auto", 4)) {
		g_opt.spin_ns = duration_arg("spin", v);
		return;
	}
	if (v[4] && v[4] != ':') {
		fprintf(stderr, "ringvisor-bench: --spin: expected DURATION, auto "
			"or auto:MAX, got \"%s\"\n", v);
		exit(2);
	}
	g_opt.spin_fixed_off = true;
	g_opt.spin_auto_ns = v[4] ? duration_arg("spin", v + 5) : 0;
}

static void add_peer(const char *v)
{
	const char *eq = strchr(v, '=');
	struct bench_peer_arg *p;

	if (!eq || eq == v || !eq[1]) {
		fprintf(stderr, "ringvisor-bench: --peer: expected LABEL=DIR, "
			"got \"%s\"\n", v);
		exit(2);
	}
	if (g_opt.n_peers == BENCH_MAX_PEERS) {
		fprintf(stderr, "ringvisor-bench: at most %d --peer\n",
			BENCH_MAX_PEERS);
		exit(2);
	}
	p = &g_opt.peers[g_opt.n_peers++];
	p->label = strndup(v, (size_t)(eq - v));
	p->dir = xstrdup(eq + 1);
}

static void parse_args(int argc, char **argv)
{
	int c;

	g_opt.cpu = -1;
	g_opt.warmup = -1;
	while ((c = getopt_long(argc, argv, "n:h", longopts, NULL)) != -1) {
		const char *name = "";

		for (const struct option *o = longopts; o->name; o++)
			if (o->val == c)
				name = o->name;
		switch (c) {
		case OPT_JSON: g_opt.json = true; break;
		case OPT_HIST: g_opt.histogram = optarg; break;
		case OPT_PLOT: g_opt.plot = optarg; break;
		case OPT_RV: g_opt.ringvisor = optarg; break;
		case OPT_BACKEND: g_opt.backends = optarg; break;
		case OPT_PEER: add_peer(optarg); break;
		case OPT_NORV: g_opt.no_ringvisor = true; break;
		case OPT_NOBASE: g_opt.no_baseline = true; break;
		case OPT_WORKDIR: g_opt.workdir = optarg; break;
		case OPT_KEEP: g_opt.keep = true; break;
		case OPT_HELPERS: g_opt.helpers = optarg; break;
		case OPT_PERIOD:
			g_opt.period_ns = duration_arg(name, optarg);
			if (g_opt.period_ns < 10 * NS_PER_US)
				g_opt.period_ns = 10 * NS_PER_US;
			break;
		case OPT_COUNT:
			g_opt.samples = num_arg(name, optarg, 1, 100000000);
			break;
		case OPT_DURATION:
			g_opt.duration_ns = duration_arg(name, optarg);
			break;
		case OPT_CLOCK: g_opt.clock = optarg; break;
		case OPT_SPIN:
			spin_arg(optarg);
			break;
		case OPT_LOAD:
			g_opt.load = (int)num_arg(name, optarg, 0, 1024);
			break;
		case OPT_CYCLICTEST: g_opt.cyclictest = true; break;
		case OPT_BLOCK:
			g_opt.block = num_arg(name, optarg, 1, 100000000);
			break;
		case OPT_ONLY: g_opt.only = optarg; break;
		case OPT_FIFO:
			g_opt.fifo = (int)num_arg(name, optarg, 1, 99);
			break;
		case OPT_CPU:
			g_opt.cpu = (int)num_arg(name, optarg, 0, 4095);
			break;
		case OPT_UPTIME:
			g_opt.uptime_ns = duration_arg(name, optarg);
			break;
		case OPT_TIMEOUT:
			g_opt.timeout_ns = duration_arg(name, optarg);
			break;
		case OPT_WARMUP:
			g_opt.warmup = (int)num_arg(name, optarg, 0, 1000);
			break;
		case OPT_COUNTS: g_opt.counts = optarg; break;
		case OPT_IDLE:
			g_opt.idle_ns = duration_arg(name, optarg);
			if (!g_opt.idle_ns)
				g_opt.idle_ns = -1;	/* explicitly off */
			break;
		case OPT_IDLE_COUNTS: g_opt.idle_counts = optarg; break;
		case OPT_SERVICE: g_opt.service = optarg; break;
		case OPT_REPEAT:
			g_opt.repeat = (int)num_arg(name, optarg, 1, 8);
			break;
		case 'n': g_opt.n = (long)num_arg("n", optarg, 1, 100000); break;
		case 'h':
		case OPT_HELP:
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			exit(2);
		}
	}
}

static char *g_made_workdir;

static void make_workdir(void)
{
	struct statfs sf;
	const char *base;
	char *tmpl;

	if (g_opt.workdir) {
		if (mkdir_p(g_opt.workdir))
			die("--workdir %s: %s", g_opt.workdir, strerror(errno));
		return;
	}
	/* stamps and service dirs on tmpfs, like /run on a real system */
	base = !statfs("/dev/shm", &sf) && sf.f_type == TMPFS_MAGIC ?
	       "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	tmpl = xasprintf("%s/ringvisor-bench.XXXXXX", base);
	if (!mkdtemp(tmpl))
		die("mkdtemp %s: %s", tmpl, strerror(errno));
	g_opt.workdir = g_made_workdir = tmpl;
}

static void on_signal(int sig)
{
	/*
	 * Interrupted: leave nothing behind.  Not async-signal-safe, but the
	 * process ends here and the main thread is never inside malloc for
	 * long: it is mostly asleep.
	 */
	signal(sig, SIG_DFL);
	kill_our_descendants();
	raise(sig);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} cmds[] = {
		{ "timers", cmd_timers }, { "restart", cmd_restart },
		{ "flap", cmd_flap }, { "scale", cmd_scale },
		{ "storm", cmd_storm },
	};
	int (*fn)(void) = NULL;
	int ret;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++)
		if (!strcmp(argv[1], cmds[i].name))
			fn = cmds[i].fn;
	if (!fn && !strcmp(argv[1], "http"))
		return cmd_script_exec(argc, argv, "rvb-http");
	if (!fn && !strcmp(argv[1], "reexec"))
		return cmd_script_exec(argc, argv, "rvb-reexec");
	if (!fn) {
		fprintf(stderr, "ringvisor-bench: unknown command \"%s\"\n%s",
			argv[1], usage);
		return 2;
	}
	g_opt.cmd = argv[1];
	g_opt.argc = argc;
	g_opt.argv = argv;
	parse_args(argc - 1, argv + 1);
	if (optind + 1 < argc) {
		fprintf(stderr, "ringvisor-bench: unexpected argument \"%s\"\n",
			argv[optind + 1]);
		return 2;
	}
	/* everything we start stays below us, orphans included */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		msg("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	make_workdir();
	if (fn == cmd_timers) {
		ret = fn();	/* says itself, per row, what disturbed it */
	} else {
		struct machine_snap a, b;
		char *why;

		machine_snap(&a);
		machine_warn_busy(&a, 0);
		ret = fn();
		machine_snap(&b);
		why = machine_disturbed(&a, &b, 0);
		if (why)
			msg("WARNING: this run was disturbed (%s): its tails are "
			    "not to be trusted", why);
		else
			msg("run: load average %.2f -> %.2f, VM steal %.2f%%",
			    a.load1, b.load1, machine_steal_pct(&a, &b));
		free(why);
	}
	kill_our_descendants();
	if (g_made_workdir && !g_opt.keep)
		rm_rf(g_made_workdir);
	else
		msg("scratch kept in %s", g_opt.workdir);
	return ret;
}
