/* SPDX-License-Identifier: MIT */
/*
 * $VAR expansion of config values from the supervisor's environment
 * (12-factor images pass their settings that way; systemd expands ${VAR}
 * in ExecStart=, supervisord has %(ENV_X)s):
 *	${NAME}		NAME's value; an undefined NAME is an error
 *	${NAME:-WORD}	NAME's value if set and not empty, else WORD (as is)
 *	$NAME		the same as ${NAME}; NAME is [A-Za-z_][A-Za-z0-9_]*
 *	$$		a literal '$'
 * A '$' followed by anything else ("$1", "$ ", "$(" , a final '$') stays
 * as it is.  With words (a command, an environment list), the quoting of
 * rv_split_command() is honoured as a shell would: nothing inside '...'
 * and nothing after a backslash is expanded, so `sh -c 'echo $HOME'`
 * leaves $HOME to the child's shell.  The result is text, split into
 * words afterwards, so a value with blanks becomes several words unless
 * the config quotes it ("${OPTS}").
 */
#ifndef RV_EXPAND_H
#define RV_EXPAND_H

#include <stdbool.h>
#include <stddef.h>

/* NAME's value, or NULL when it is not set. */
typedef const char *rv_env_lookup(const char *name, void *ctx);

/* getenv() as an rv_env_lookup. */
const char *rv_env_getenv(const char *name, void *ctx);

/*
 * Expands s into *out (the caller frees it).  Returns 0, -ENOMEM, or
 * -EINVAL with a reason in why ("undefined variable FOO",
 * "unterminated ${").
 */
int rv_expand_vars(const char *s, bool words, rv_env_lookup *lookup,
		   void *ctx, char **out, char *why, size_t whylen);

#endif
