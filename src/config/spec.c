// SPDX-License-Identifier: MIT
/*
 * Specs: defaults and freeing.  Parsing lives in config*.c.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/parse.h"
#include "config/spec.h"

#define MS(n) ((int64_t)(n) * 1000000)
#define SEC(n) ((int64_t)(n) * 1000000000)

/*
 * Defaults (README.md copies this table):
 *
 * [supervisor]                      [supervisor:NAME]
 *   strategy          one_for_one     supervisor   (the top level)
 *   max_restarts      10              strategy     one_for_one
 *   restart_window    60s             max_restarts 10
 *   shutdown_timeout  30s             restart_window 60s
 *   control_socket    /run/ringvisor/control.sock
 *   control_group     (none: 0600)    critical     false
 *   backend           auto            after        (none)
 *   http_listen       off
 *
 * [service:NAME]
 *   supervisor (the top level)      stop_signal         SIGTERM
 *   command    (required)           stop_timeout        10s
 *   type       simple               kill_mode           group
 *   instances  1                    ready_fd            (none)
 *   restart    on-failure           ready_check         (none)
 *   success_exit_status (only 0)    ready_timeout       0 (none)
 *   backoff    exponential          health_check        (none)
 *   restart_delay        100ms      health_interval     10s
 *   restart_delay_max    30s        health_retries      3
 *   backoff_multiplier   2.0        watchdog            0 (off)
 *   backoff_jitter       0.1        user, group         (unchanged)
 *   backoff_reset_after  10s        capabilities        (unchanged)
 *   max_restarts         5          no_new_privileges   false
 *   restart_window       60s        working_directory   (unchanged)
 *   critical             false      environment         (inherited only)
 *   after                (none)     environment_file    (none)
 *   stdout, stderr       inherit    umask               (inherited)
 *   limit_<name>  (inherited)       cpu_affinity        (inherited)
 *   memory_max, pids_max (no limit) nice                (inherited)
 *
 * max_restarts = 0 allows no restart at all; infinity (or unlimited) turns
 * the intensity limit off.  backoff_reset_after = 0 never resets.
 */
void rv_group_spec_init(struct rv_group_spec *g)
{
	memset(g, 0, sizeof(*g));
	g->strategy = RV_ONE_FOR_ONE;
	g->intensity.max_restarts = 10;
	g->intensity.window_ns = SEC(60);
	g->critical = false;
}

void rv_specs_init(struct rv_specs *s)
{
	memset(s, 0, sizeof(*s));
	rv_group_spec_init(&s->top);
	s->shutdown_timeout_ns = SEC(30);
	/* control_socket: NULL here, RV_DEFAULT_CONTROL_SOCKET after a load
	 * (init cannot fail, so it cannot allocate) */
	s->backend = RV_BACKEND_AUTO;
	s->log_buffer = RV_LOG_BUFFER_DEFAULT;
}

const struct rv_iso_spec rv_iso_spec_default = {
	.umask = -1,
	.stdout_kind = RV_OUTPUT_INHERIT,
	.stderr_kind = RV_OUTPUT_INHERIT,
};

const struct rv_ready_spec rv_ready_spec_default = {
	.ready_fd = -1,
	.ready_timeout_ns = 0,
	.health_interval_ns = SEC(10),
	.health_retries = 3,
	.watchdog_ns = 0,
};

void rv_service_spec_init(struct rv_service_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->iso = &rv_iso_spec_default;
	s->ready = &rv_ready_spec_default;
	s->type = RV_TYPE_SIMPLE;
	s->instances = 1;
	s->log_buffer = -1;
	s->max_unavailable = 1;
	s->restart = RV_RESTART_ON_FAILURE;
	s->backoff.kind = RV_BACKOFF_EXPONENTIAL;
	s->backoff.delay_ns = MS(100);
	s->backoff.delay_max_ns = SEC(30);
	s->backoff.multiplier = 2.0;
	s->backoff.jitter = 0.1;
	s->backoff.reset_after_ns = SEC(10);
	s->intensity.max_restarts = 5;
	s->intensity.window_ns = SEC(60);
	s->critical = false;
	s->stop_signal = SIGTERM;
	s->stop_timeout_ns = SEC(10);
	s->kill_mode = RV_KILL_GROUP;
}

struct rv_iso_spec *rv_service_spec_iso(struct rv_service_spec *s)
{
	struct rv_iso_spec *own;

	if (s->iso && s->iso != &rv_iso_spec_default)
		return (struct rv_iso_spec *)s->iso;	/* ours: malloc'd */
	own = malloc(sizeof(*own));
	if (!own)
		return NULL;
	*own = rv_iso_spec_default;
	s->iso = own;
	return own;
}

struct rv_ready_spec *rv_service_spec_ready(struct rv_service_spec *s)
{
	struct rv_ready_spec *own;

	if (s->ready && s->ready != &rv_ready_spec_default)
		return (struct rv_ready_spec *)s->ready;	/* ours */
	own = malloc(sizeof(*own));
	if (!own)
		return NULL;
	*own = rv_ready_spec_default;
	s->ready = own;
	return own;
}

static void ready_spec_free(const struct rv_ready_spec *r)
{
	if (!r || r == &rv_ready_spec_default)
		return;
	rv_argv_free(r->ready_check);
	rv_argv_free(r->health_check);
	free((void *)r);
}

static void iso_spec_free(const struct rv_iso_spec *iso)
{
	if (!iso || iso == &rv_iso_spec_default)
		return;
	free(iso->user);
	free(iso->group);
	free(iso->capabilities);
	free(iso->working_directory);
	free(iso->environment_file);
	free(iso->cpu_affinity);
	free(iso->memory_max);
	free(iso->pids_max);
	free(iso->stdout_mode);
	free(iso->stderr_mode);
	free(iso->stdout_path);
	free(iso->stderr_path);
	rv_argv_free(iso->limits);
	free((void *)iso);
}

void rv_service_spec_free(struct rv_service_spec *s)
{
	free(s->name);
	free(s->supervisor);
	rv_argv_free(s->argv);
	rv_argv_free(s->after);
	rv_argv_free(s->environment);
	free(s->sockets);
	iso_spec_free(s->iso);
	ready_spec_free(s->ready);
	memset(s, 0, sizeof(*s));
}

void rv_group_spec_free(struct rv_group_spec *g)
{
	free(g->name);
	free(g->supervisor);
	rv_argv_free(g->after);
	memset(g, 0, sizeof(*g));
}

void rv_config_sources_free(struct rv_config_source *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].path);
		free(v[i].bytes);
	}
	free(v);
}

void rv_specs_free(struct rv_specs *s)
{
	size_t i;

	rv_group_spec_free(&s->top);
	free(s->file);
	for (i = 0; i < s->n_included; i++)
		free(s->included[i]);
	free(s->included);
	rv_config_sources_free(s->sources, s->n_sources);
	free(s->control_socket);
	free(s->control_group);
	free(s->http_listen);
	for (i = 0; i < s->n_groups; i++)
		rv_group_spec_free(&s->groups[i]);
	free(s->groups);
	for (i = 0; i < s->n_services; i++)
		rv_service_spec_free(&s->services[i]);
	free(s->services);
	for (i = 0; i < s->n_sockets; i++)
		rv_socket_spec_free(&s->sockets[i]);
	free(s->sockets);
	memset(s, 0, sizeof(*s));
}
