// SPDX-License-Identifier: MIT
/*
 * The default control socket by effective uid, and the directory it goes
 * in (runtime_dir.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/runtime_dir.h"
#include "config/spec.h"

char *rv_default_control_socket(void)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char *path;
	int n;

	if (geteuid() == 0)
		return strdup(RV_DEFAULT_CONTROL_SOCKET);
	if (xdg && *xdg)
		n = asprintf(&path, "%s/ringvisor/control.sock", xdg);
	else
		n = asprintf(&path, "/tmp/ringvisor-%u/control.sock",
			     (unsigned int)geteuid());
	return n < 0 ? NULL : path;
}

/* dir is the directory of the non-root default socket. */
static bool is_default_dir(const char *dir)
{
	char *def = rv_default_control_socket();
	char *slash = def ? strrchr(def, '/') : NULL;
	bool same = false;

	if (slash) {
		*slash = '\0';
		same = !strcmp(def, dir);
	}
	free(def);
	return same;
}

static int check_private(const char *dir, FILE *errors)
{
	struct stat st;

	if (lstat(dir, &st) < 0) {
		int e = errno;

		fprintf(errors, "ringvisor: %s: %s\n", dir, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(errors, "ringvisor: %s is not a directory (a symlink?): "
			"refusing to put the control socket there\n", dir);
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid()) {
		fprintf(errors, "ringvisor: %s belongs to uid %u, not to us "
			"(uid %u): refusing to put the control socket there "
			"(remove it, or set control_socket)\n", dir,
			(unsigned int)st.st_uid, (unsigned int)geteuid());
		return -EPERM;
	}
	return 0;
}

int rv_make_socket_dir(const char *path, FILE *errors)
{
	bool root = geteuid() == 0;
	char *dir = strdup(path), *slash;
	int ret = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, root ? 0755 : 0700) < 0 && errno != EEXIST) {
			ret = -errno;
			fprintf(errors, "ringvisor: cannot create %s: %s\n",
				dir, strerror(-ret));
		} else if (!root && is_default_dir(dir)) {
			ret = check_private(dir, errors);
		}
	}
	free(dir);
	return ret;
}

char *rv_path_from_config(const char *config, const char *value)
{
	const char *slash = strrchr(config, '/');
	char *dir, *real, *path;
	int n;

	if (value[0] == '/')
		return strdup(value);
	if (!slash)
		dir = strdup(".");
	else if (slash == config)
		dir = strdup("/");
	else
		dir = strndup(config, (size_t)(slash - config));
	if (!dir)
		return NULL;
	/* a directory that cannot be resolved is taken as written */
	real = realpath(dir, NULL);
	n = asprintf(&path, "%s%s%s", real ? real : dir,
		     (real ? real : dir)[strlen(real ? real : dir) - 1] == '/' ?
		     "" : "/", value);
	free(real);
	free(dir);
	return n < 0 ? NULL : path;
}
