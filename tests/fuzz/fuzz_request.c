/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the control protocol's request parser. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "control/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_request r;
	char err[256];

	if (rv_request_parse((const char *)data, size, &r, err,
			     sizeof(err)) == 0) {
		/* a parsed request is self-consistent */
		for (size_t i = 0; i < r.n_names; i++)
			if (!r.names[i] || !*r.names[i])
				__builtin_trap();
		if (r.cmd == RV_CMD_KILL && (r.signal <= 0 || r.signal >= 65))
			__builtin_trap();
		rv_request_free(&r);
	} else if (!memchr(err, '\0', sizeof(err))) {
		__builtin_trap();	/* the reason is always a string */
	}
	return 0;
}
