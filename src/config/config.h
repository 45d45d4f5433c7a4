/* SPDX-License-Identifier: MIT */
/*
 * Config: INI text (via inih) -> validated struct rv_specs.  Every problem is
 * reported as "FILE:LINE: error: MESSAGE" (or "warning:") to diag->out and
 * counted; parsing continues so `ringvisor check` shows all of them.
 */
/* not RV_CONFIG_H: the generated build config.h uses that guard */
#ifndef RV_SRC_CONFIG_H
#define RV_SRC_CONFIG_H

#include <stdio.h>

#include "config/spec.h"

struct rv_diag {
	FILE *out;		/* where messages go; NULL: count only */
	int errors;
	int warnings;
};

/*
 * One line each: "FILE:LINE: error: MESSAGE\n"; with line <= 0 as
 * "FILE: error: MESSAGE", with file NULL as "error: MESSAGE".
 */
void rv_diag_error(struct rv_diag *d, const char *file, int line,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void rv_diag_warning(struct rv_diag *d, const char *file, int line,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Parses and validates path into *out (zeroed first).  Returns 0 when there
 * were no errors, -EINVAL when diag->errors > 0, -errno when the file cannot
 * be read (also reported through diag, as "FILE: error: ...").  On any
 * non-zero return *out has been freed.  The caller frees with rv_specs_free().
 */
int rv_config_load_file(const char *path, struct rv_specs *out,
			struct rv_diag *diag);
/* Same, from a string; name is used in messages in place of a file. */
int rv_config_load_string(const char *text, const char *name,
			  struct rv_specs *out, struct rv_diag *diag);

/*
 * Same, from the files of a config as a hand-over carries them
 * (docs/reexec.md): v[0] is the main file, the others what its
 * [include]s read.  Nothing is read from disk: an [include] matches its
 * patterns against the paths of v (fnmatch, as glob(3) did when they
 * were read), so the specs are exactly those of the config v was read
 * as, whatever the files say now.  The specs keep a copy of the bytes.
 */
int rv_config_load_sources(const struct rv_config_source *v, size_t n,
			   struct rv_specs *out, struct rv_diag *diag);
/*
 * Whether the files on disk differ from those running was read from
 * (running->sources; a config loaded from a file, not a string): the
 * main file is loaded again from its path and the bytes of every file
 * compared.  0: the same; 1: different, with
 * what says which ("conf.d/web.conf changed", "... added", "... does not
 * load now"); -ENOMEM.  The hand-over logs event=config_changed.
 */
int rv_config_sources_changed(const struct rv_specs *running, char *what,
			      size_t whatlen);

/* Fill defaults into a fresh spec (the table above rv_specs_init() in
 * spec.c, copied to README.md); nothing is allocated. */
void rv_specs_init(struct rv_specs *s);
void rv_service_spec_init(struct rv_service_spec *s);
void rv_group_spec_init(struct rv_group_spec *g);

/*
 * Applies one service key.  Used by the INI parser and by `exec` long
 * options (--restart-delay=1s -> "restart_delay").  Returns 0, or -EINVAL
 * after reporting the error at file:line.  Unknown keys are errors.
 * -ENOMEM (also reported) when out of memory.  Setting a key twice
 * replaces the value: only the config file treats repeats as errors.
 */
int rv_service_spec_set(struct rv_service_spec *s, const char *key,
			const char *value, const char *file, int line,
			struct rv_diag *diag);
/*
 * Checks one service's keys against each other (restart_delay_max >=
 * restart_delay, watchdog only with type=notify, ...), reporting at
 * s->file and the lines in s->lines.  rv_specs_validate() calls it for
 * every service; `exec` calls it after its last rv_service_spec_set().
 * Returns 0 or -EINVAL.
 */
int rv_service_spec_check(const struct rv_service_spec *s,
			  struct rv_diag *diag);

/*
 * Cross-checks after all sections are read: names unique and valid,
 * `after` and `supervisor` references exist, no cycles (in `after` or in the
 * supervisor tree), instances expand without name clashes, required keys
 * present (command).  Returns 0 or -EINVAL.
 */
int rv_specs_validate(struct rv_specs *s, struct rv_diag *diag);
/*
 * The [socket:NAME] sections (socket.c): names, addresses unique, the
 * services they name exist; fills each service's `sockets` (and folds
 * them into its fingerprint).  Errors go to diag; returns 0 or -ENOMEM.
 */
int rv_sockets_validate(struct rv_specs *s, struct rv_diag *diag);

#endif
