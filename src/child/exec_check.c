// SPDX-License-Identifier: MIT
/* Executables and working directories a service names, looked for on this
 * machine (exec_check.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "child/exec_check.h"

/* Found and executable: what execvpe() would run.  Else errno says why. */
static bool is_executable(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return false;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return false;
	}
	return access(path, X_OK) == 0;
}

/*
 * execvpe() searches the supervisor's own PATH (glibc reads it from
 * environ, not from the child's environment), "/bin:/usr/bin" when unset.
 */
static bool in_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path)
		path = "/bin:/usr/bin";
	for (const char *p = path; ; ) {
		size_t len = strcspn(p, ":");

		if (snprintf(buf, sizeof(buf), "%.*s%s%s", (int)len, p,
			     len ? "/" : "", name) < (int)sizeof(buf) &&
		    is_executable(buf))
			return true;
		if (!p[len])
			return false;
		p += len + 1;
	}
}

static void check_program(const struct rv_service_spec *sp, const char *key,
			  char *const *argv, struct rv_diag *d)
{
	const char *prog = argv ? argv[0] : NULL;

	/* %i: each instance's own name, known at start only */
	if (!prog || strchr(prog, '%'))
		return;
	if (strchr(prog, '/')) {
		if (prog[0] != '/')
			return;	/* relative to working_directory: at start */
		if (!is_executable(prog))
			rv_diag_warning(d, sp->file, sp->line,
					"[service:%s] %s: %s: %s; it will fail to start here",
					sp->name, key, prog, strerror(errno));
	} else if (!in_path(prog)) {
		rv_diag_warning(d, sp->file, sp->line,
				"[service:%s] %s: %s not found in PATH; it will fail to start here",
				sp->name, key, prog);
	}
}

void rv_exec_check_specs(const struct rv_specs *specs, struct rv_diag *d)
{
	for (size_t i = 0; i < specs->n_services; i++) {
		const struct rv_service_spec *sp = &specs->services[i];
		const char *wd = sp->iso->working_directory;
		struct stat st;

		check_program(sp, "command", sp->argv, d);
		check_program(sp, "ready_check", sp->ready->ready_check, d);
		check_program(sp, "health_check", sp->ready->health_check, d);
		if (!wd || strchr(wd, '%'))
			continue;
		if (stat(wd, &st) < 0)
			rv_diag_warning(d, sp->file, sp->line,
					"[service:%s] working_directory %s: %s; it will fail to start here",
					sp->name, wd, strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			rv_diag_warning(d, sp->file, sp->line,
					"[service:%s] working_directory %s is not a directory; it will fail to start here",
					sp->name, wd);
	}
}
