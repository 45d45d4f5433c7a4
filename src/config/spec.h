/* SPDX-License-Identifier: MIT */
/*
 * Specs: what the config says, validated, in plain data.  The config parser
 * (config.c) fills these; the supervisor (tree.c, service.c) reads them and
 * never parses text.  All strings and arrays are owned by the spec and freed
 * by rv_specs_free(), except `file`: one string for every section, owned
 * by struct rv_specs (a spec built by hand points it at a literal).
 * Durations are nanoseconds.
 *
 * Every char ** below is NULL-terminated, and its strings and the array are
 * malloc'd separately (free with rv_argv_free()); a spec built by hand, as
 * `exec` does, must follow that so rv_service_spec_free() can free it.
 * The lines.* fields say where a key was set (0: default or not from a
 * file), so later cross-checks can point at the offending key.
 */
#ifndef RV_SPEC_H
#define RV_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "loop.h"	/* enum rv_backend */

#define RV_NAME_MAX 128
#define RV_DEFAULT_CONTROL_SOCKET "/run/ringvisor/control.sock"
/* log_buffer: bytes of recent output kept per instance for `logs` */
#define RV_LOG_BUFFER_DEFAULT (64 * 1024)
#define RV_LOG_BUFFER_MAX (64LL * 1024 * 1024)
/* max_restarts = infinity: the intensity limit is off. */
#define RV_RESTARTS_INFINITY UINT32_MAX
/*
 * Longest duration the config accepts: 100 years.  Deadlines are computed
 * as now + duration in int64 ns, and this keeps that sum far from overflow.
 */
#define RV_DURATION_MAX (876600LL * 3600 * 1000000000)

enum rv_strategy { RV_ONE_FOR_ONE, RV_ONE_FOR_ALL, RV_REST_FOR_ONE };
enum rv_restart { RV_RESTART_ALWAYS, RV_RESTART_ON_FAILURE,
		  RV_RESTART_ON_ABNORMAL, RV_RESTART_NEVER };
enum rv_backoff_kind { RV_BACKOFF_FIXED, RV_BACKOFF_LINEAR,
		       RV_BACKOFF_EXPONENTIAL, RV_BACKOFF_FIBONACCI };
enum rv_service_type { RV_TYPE_SIMPLE, RV_TYPE_NOTIFY, RV_TYPE_ONESHOT };
enum rv_kill_mode { RV_KILL_GROUP, RV_KILL_PROCESS, RV_KILL_CGROUP };
/* How a reload replaces a changed service's instances (tree/roll.h). */
enum rv_restart_mode { RV_RESTART_MODE_RESTART, RV_RESTART_MODE_ROLLING };
/* stdout/stderr: stderr may also be RV_OUTPUT_STDOUT (2>&1). */
enum rv_output { RV_OUTPUT_INHERIT, RV_OUTPUT_NULL, RV_OUTPUT_PREFIX,
		 RV_OUTPUT_FILE, RV_OUTPUT_STDOUT, RV_OUTPUT_JOURNAL };

/* Config spellings of the enums ("one_for_one", "on-failure", ...). */
const char *rv_strategy_name(enum rv_strategy v);
const char *rv_restart_name(enum rv_restart v);
const char *rv_backoff_name(enum rv_backoff_kind v);
const char *rv_service_type_name(enum rv_service_type v);
const char *rv_kill_mode_name(enum rv_kill_mode v);
const char *rv_restart_mode_name(enum rv_restart_mode v);

/* Backoff parameters, shared by services and `exec`. */
struct rv_backoff_spec {
	enum rv_backoff_kind kind;
	int64_t delay_ns;	/* restart_delay, d */
	int64_t delay_max_ns;	/* restart_delay_max */
	double multiplier;	/* exponential only */
	double jitter;		/* 0..1, +- fraction */
	int64_t reset_after_ns;	/* 0: never reset */
};

/* Restart intensity: at most max_restarts restarts inside any window. */
struct rv_intensity_spec {
	/* 0: no restart allowed; RV_RESTARTS_INFINITY: no limit */
	uint32_t max_restarts;
	int64_t window_ns;	/* > 0 */
};

/* A list of extra success statuses: exit codes and signal numbers. */
struct rv_success_spec {
	uint64_t codes[4];	/* bitmap of exit codes 0..255 */
	uint64_t signals;	/* bitmap of signal numbers 1..63 (bit n) */
};

static inline bool rv_success_has_code(const struct rv_success_spec *s,
				       int code)
{
	return code >= 0 && code <= 255 &&
	       (s->codes[code / 64] >> (code % 64) & 1);
}

static inline bool rv_success_has_signal(const struct rv_success_spec *s,
					 int signo)
{
	return signo > 0 && signo < 64 && (s->signals >> signo & 1);
}

/* Lines of the keys that cross-checks report at; 0 = not set. */
struct rv_service_lines {
	int supervisor, after, type, instances, restart, max_unavailable;
	int restart_delay, restart_delay_max, backoff_multiplier;
};

struct rv_ready_lines {
	int watchdog, ready_fd, ready_check, ready_timeout, fd_store_max;
};

struct rv_group_lines {
	int supervisor, after;
};

/*
 * Isolation, resources and output of a service: keys most sections never
 * set, so they live out of line.  A spec without any of them points at
 * rv_iso_spec_default (shared, never written); the first such key gives
 * the spec a copy of its own (rv_service_spec_iso()).
 */
struct rv_iso_spec {
	char *user, *group;
	char *capabilities;	/* raw list, NULL = unchanged */
	uint64_t cap_mask;	/* the same, parsed: bit n = capability n;
				 * 0 with capabilities set = "none" */
	char *working_directory;
	char *environment_file;
	char *cpu_affinity;	/* validated; rv_parse_cpu_list() it */
	/* normalized for cgroup v2: decimal ("536870912") or "max"; NULL: unset */
	char *memory_max, *pids_max;
	/* cgroup v2 cpu.max "QUOTA PERIOD" in us (quota -1: max; period 0:
	 * unset) and cpu.weight (0: unset) */
	int64_t cpu_max_quota_us;
	uint32_t cpu_max_period_us;
	uint32_t cpu_weight;
	/* as written in the config (NULL: default); use the fields below */
	char *stdout_mode, *stderr_mode;
	char *stdout_path, *stderr_path;	/* RV_OUTPUT_FILE: absolute */
	enum rv_output stdout_kind, stderr_kind;	/* default INHERIT */
	/*
	 * limit_<name> = soft[:hard], normalized to "name=soft:hard" (both
	 * always present, each a number or "infinity"); parse the part after
	 * '=' with rv_parse_rlimit(), the name with rv_rlimit_from_name().
	 */
	char **limits;		/* "nofile=65536:65536" */
	size_t n_limits;
	int umask;		/* -1: inherit */
	int nice;
	int oom_score_adjust;		/* -1000..1000 */
	bool nice_set;
	bool oom_score_adjust_set;
	bool no_new_privileges;
	bool clear_environment;		/* start from an empty environment */
};

/* Every isolation key at its default. */
extern const struct rv_iso_spec rv_iso_spec_default;

/* Readiness and health keys: out of line like struct rv_iso_spec. */
struct rv_ready_spec {
	char **ready_check;	/* argv or NULL */
	char **health_check;
	int64_t ready_timeout_ns;
	int64_t health_interval_ns;
	int64_t watchdog_ns;
	uint32_t health_retries;
	int ready_fd;		/* -1: none */
	/* fd_store_max: fds a notify service may hand us (FDSTORE=1); 0 off */
	uint32_t fd_store_max;
	struct rv_ready_lines lines;	/* never first (config_keys.c) */
};

extern const struct rv_ready_spec rv_ready_spec_default;

/* Fields ordered to leave little padding: there is one per section. */
struct rv_service_spec {
	char *name;		/* section name, e.g. "web" */
	const char *file;	/* config file (rv_specs.file) and line of
				 * its section */
	char *supervisor;	/* parent [supervisor:NAME] or NULL = top */

	char **argv;		/* split command, NULL-terminated */
	char **after;		/* names, NULL-terminated (may be empty) */
	size_t n_after;
	char **environment;	/* KEY=VALUE, NULL-terminated */
	size_t n_environment;
	/* never NULL after rv_service_spec_init(): the shared default or
	 * the spec's own copy */
	const struct rv_iso_spec *iso;
	const struct rv_ready_spec *ready;

	struct rv_success_spec success;
	struct rv_backoff_spec backoff;
	struct rv_intensity_spec intensity;
	int64_t stop_timeout_ns;
	/* `logs`: bytes of recent output kept per instance; -1: the
	 * [supervisor] log_buffer; 0: none */
	int64_t log_buffer;

	int line;
	int argc;
	int command_line;	/* line of the command key, for messages (set
				 * even when its value was rejected) */
	enum rv_service_type type;
	uint32_t instances;	/* >= 1; %i is expanded per instance */
	enum rv_restart restart;
	int stop_signal;
	enum rv_kill_mode kill_mode;
	bool critical;
	enum rv_restart_mode restart_mode;
	/* rolling restarts: instances down at once, 1..instances */
	uint32_t max_unavailable;

	struct rv_service_lines lines;
	/* the [socket:NAME] sections that name it, as indices into
	 * rv_specs.sockets in config order (the child's fds 3, 4, ...);
	 * filled by rv_specs_validate() */
	uint32_t *sockets;
	uint32_t n_sockets;
	/* order-independent hash of the section's key = value pairs: reload
	 * restarts what changed by comparing it (config.c); the sockets it
	 * receives are part of it */
	uint64_t fingerprint;
};

/* listen = tcp://, tcp6://, udp://, unix: (socket.c) */
#define RV_SOCKET_BACKLOG_DEFAULT 4096

/* [socket:NAME]: a listening socket the supervisor holds for services. */
struct rv_socket_spec {
	char *name;
	const char *file;	/* rv_specs.file */
	int line;
	char *listen;		/* as written */
	char **services;	/* names, NULL-terminated */
	size_t n_services;
	char *socket_user, *socket_group;	/* unix only; NULL: ours */
	int socket_mode;	/* unix only; -1: umask's */
	uint32_t backlog;	/* capped by net.core.somaxconn at bind */
	bool reuse_port;
	/* the parsed address: the socket's identity across reloads */
	int family;		/* AF_INET, AF_INET6, AF_UNIX */
	int type;		/* SOCK_STREAM or SOCK_DGRAM */
	socklen_t addrlen;
	struct sockaddr_storage addr;
	struct {
		int listen, service, socket_user, socket_group, socket_mode;
	} lines;
};

struct rv_group_spec {		/* [supervisor] and [supervisor:NAME] */
	char *name;		/* NULL for the top level */
	const char *file;	/* rv_specs.file */
	int line;
	char *supervisor;	/* parent, NULL = top level */
	enum rv_strategy strategy;
	struct rv_intensity_spec intensity;
	bool critical;
	char **after;
	size_t n_after;

	struct rv_group_lines lines;
	/* order-independent hash of the section's key = value pairs: reload
	 * restarts what changed by comparing it (config.c) */
	uint64_t fingerprint;
};

/* One file of a config as it was read: the hand-over carries these, so
 * a new binary builds the very config the running tree was built from
 * (docs/reexec.md). */
struct rv_config_source {
	char *path;		/* as the config names it (main: its ->file) */
	char *bytes;		/* NUL-terminated past len */
	size_t len;
};

struct rv_specs {
	char *file;		/* the config file: the ->file of its sections */
	char **included;	/* files read through [include], in the order
				 * read: the ->file of their sections */
	size_t n_included;
	/* the bytes read: [0] the main file, then included[] in order */
	struct rv_config_source *sources;
	size_t n_sources;
	/* top-level [supervisor] */
	struct rv_group_spec top;
	int64_t shutdown_timeout_ns;
	char *control_socket;	/* NULL after rv_specs_init(); always set
				 * (default RV_DEFAULT_CONTROL_SOCKET) after
				 * a successful rv_config_load_*() */
	char *control_group;
	char *http_listen;	/* NULL: no HTTP endpoint (the default) */
	enum rv_backend backend;

	struct rv_group_spec *groups;	/* nested supervisors, config order */
	size_t n_groups;
	struct rv_service_spec *services;	/* config order */
	size_t n_services;
	struct rv_socket_spec *sockets;		/* config order */
	size_t n_sockets;

	/* [supervisor] timer_precision = spin:DURATION (0: normal), or
	 * spin:auto[:MAX] (timer_spin_auto; timer_spin_ns is MAX), and
	 * realtime_priority (0: off; 1..99: SCHED_FIFO for the loop) */
	int64_t timer_spin_ns;
	bool timer_spin_auto;
	int realtime_priority;
	/* [supervisor] log_buffer: services' default (64 KiB; exec: 0) */
	int64_t log_buffer;
	/* [supervisor] log_target: enum rv_log_target (auto stderr journal) */
	int log_target;
};

/* Free what the specs own and zero them; safe on zeroed or half-built
 * specs, and twice. */
void rv_specs_free(struct rv_specs *s);
/* Frees n sources and the array; NULL is fine. */
void rv_config_sources_free(struct rv_config_source *v, size_t n);
void rv_service_spec_free(struct rv_service_spec *s);
/* The spec's own, writable isolation (readiness) keys, copied from the
 * default on first use; NULL when out of memory. */
struct rv_iso_spec *rv_service_spec_iso(struct rv_service_spec *s);
struct rv_ready_spec *rv_service_spec_ready(struct rv_service_spec *s);
void rv_group_spec_free(struct rv_group_spec *g);
void rv_socket_spec_init(struct rv_socket_spec *s);
void rv_socket_spec_free(struct rv_socket_spec *s);
/* Parses `listen` into family, type, addr and addrlen: 0, or -EINVAL
 * with why filled (socket.c). */
int rv_socket_parse_listen(struct rv_socket_spec *s, const char *v,
			   char *why, size_t whylen);
/* Same address (the socket's identity across reloads). */
bool rv_socket_same_addr(const struct rv_socket_spec *a,
			 const struct rv_socket_spec *b);

#endif
