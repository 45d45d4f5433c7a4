/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the config parser (inih reader, every key's value
 * parser, the cross-checks) through rv_config_load_string().  A config
 * that loads must be self-consistent: every service has a name and a
 * non-empty argv, every list is NULL-terminated at its count, and the
 * control socket is set.  A config that does not load reported at least
 * one error.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_list(char **v, size_t n)
{
	if (n && !v)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if (!v[i])
			__builtin_trap();
	if (v && v[n])
		__builtin_trap();
}

static void check_specs(const struct rv_specs *s)
{
	if (!s->control_socket)
		__builtin_trap();
	for (size_t i = 0; i < s->n_services; i++) {
		const struct rv_service_spec *sp = &s->services[i];

		if (!sp->name || !rv_is_valid_name(sp->name))
			__builtin_trap();
		if (sp->argc < 1 || !sp->argv)
			__builtin_trap();
		check_list(sp->argv, (size_t)sp->argc);
		check_list(sp->after, sp->n_after);
		check_list(sp->environment, sp->n_environment);
		check_list(sp->iso->limits, sp->iso->n_limits);
		if (sp->instances < 1)
			__builtin_trap();
		if (sp->backoff.delay_max_ns < sp->backoff.delay_ns)
			__builtin_trap();
		if (sp->stop_signal < 1 || sp->stop_signal > 64)
			__builtin_trap();
	}
	for (size_t i = 0; i < s->n_groups; i++) {
		const struct rv_group_spec *g = &s->groups[i];

		if (!g->name || !rv_is_valid_name(g->name))
			__builtin_trap();
		check_list(g->after, g->n_after);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* the messages are formatted too: their code paths count */
	static FILE *devnull;
	struct rv_diag d = { 0 };
	struct rv_specs specs;
	char *text;
	int ret;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	d.out = devnull;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';	/* inih stops at the first NUL, as a file would */
	ret = rv_config_load_string(text, "fuzz.conf", &specs, &d);
	if (ret == 0) {
		if (d.errors)
			__builtin_trap();
		check_specs(&specs);
		rv_specs_free(&specs);
		rv_specs_free(&specs);	/* documented as safe twice */
	} else if (ret == -EINVAL && d.errors == 0) {
		__builtin_trap();	/* a refusal always says why */
	}
	free(text);
	return 0;
}
