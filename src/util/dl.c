// SPDX-License-Identifier: MIT
#include "util/dl.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

int rv_dl_load(struct rv_dl *lib, void **syms, char *why, size_t len)
{
	void *h;
	const char *err;

	if (lib->handle)
		return 0;
	/* RTLD_NOW: every relocation now, so a broken library fails here;
	 * RTLD_LOCAL: its symbols stay out of the global namespace */
	h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		err = dlerror();
		snprintf(why, len, "cannot load %s: %s", lib->soname,
			 err ? err : "unknown error");
		return -ENOENT;
	}
	for (size_t i = 0; i < lib->n; i++) {
		dlerror();
		syms[i] = dlsym(h, lib->names[i]);
		if (!syms[i]) {
			err = dlerror();
			snprintf(why, len, "%s has no %s: %s", lib->soname,
				 lib->names[i], err ? err : "null symbol");
			dlclose(h);
			return -ENOENT;
		}
	}
	lib->handle = h;
	return 0;
}
