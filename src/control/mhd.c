// SPDX-License-Identifier: MIT
/* libmicrohttpd's table (mhd.h says why it is loaded, not linked). */
#include "control/mhd.h"

#include "util/dl.h"

struct rv_mhd rv_mhd;

#define RV_MHD_NAME(f) "MHD_" #f,
static const char *const names[] = { RV_MHD_FUNCTIONS(RV_MHD_NAME) };
#undef RV_MHD_NAME

static struct rv_dl lib = RV_DL(RV_MHD_SONAME, names);

int rv_mhd_load(char *why, size_t len)
{
	void *syms[sizeof(names) / sizeof(*names)];
	size_t i = 0;
	int ret;

	if (lib.handle)
		return 0;
	ret = rv_dl_load(&lib, syms, why, len);
	if (ret)
		return ret;
	/* POSIX: dlsym's void * converts to the function's pointer type */
#define RV_MHD_SET(f) rv_mhd.f = (__typeof__(rv_mhd.f))syms[i++];
	RV_MHD_FUNCTIONS(RV_MHD_SET)
#undef RV_MHD_SET
	return 0;
}
