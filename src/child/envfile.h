/* SPDX-License-Identifier: MIT */
/*
 * Environment files and the composition of a service's environment, at
 * load time.
 *
 * File format (`environment_file`), one variable per line, as systemd's
 * EnvironmentFile= and docker's --env-file read it:
 *   - blank lines, and lines whose first non-blank is '#' or ';', are
 *     ignored;
 *   - an optional leading "export " is ignored;
 *   - KEY=VALUE, KEY a shell name ([A-Za-z_][A-Za-z0-9_]*), blanks around
 *     KEY and around an unquoted VALUE are trimmed;
 *   - VALUE in double quotes takes \" \\ \$ \` and \n escapes and may span
 *     lines; in single quotes it is literal and may span lines; after the
 *     closing quote only blanks or a '#' comment may follow;
 *   - an unquoted VALUE is literal to the end of the line ('#' inside it
 *     is part of the value, as in systemd).
 * Anything else is an error naming the line.
 */
#ifndef RV_ENVFILE_H
#define RV_ENVFILE_H

#include <stddef.h>

/*
 * Parses text into a NULL-terminated "KEY=VALUE" array (later lines win
 * over earlier ones with the same KEY).  The caller frees *out with
 * rv_argv_free().  0, -ENOMEM, or -EINVAL with why = "line N: reason".
 */
int rv_envfile_parse(const char *text, char ***out, size_t *n, char *why,
		     size_t whylen);

/* Reads and parses path; -errno (why filled) when it cannot be read. */
int rv_envfile_read(const char *path, char ***out, size_t *n, char *why,
		    size_t whylen);

/*
 * The environment of a child: the variables of each layer in order, a
 * later layer replacing a variable of the same name (its position stays
 * that of the first).  layers[i] may be NULL.  Every string of *out is a
 * copy (rv_argv_free()).  0 or -ENOMEM.
 */
int rv_env_compose(char *const *const *layers, size_t n_layers, char ***out);

#endif
