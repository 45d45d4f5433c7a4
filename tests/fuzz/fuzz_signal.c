/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: signal names and numbers (rv_parse_signal,
 * rv_signal_name).
 *
 * Properties: a parsed signal is 1..SIGRTMAX, and its name parses back to
 * the same number (a name that is only "SIG<n>", as for glibc's reserved
 * 32 and 33, by its number: "SIG15" is not a name, by design); the name of
 * any int (the first 4 bytes) is a NUL-terminated "SIG..." string.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void name_parse(int signo)
{
	const char *name = rv_signal_name(signo);
	int back = 0;

	if (!name || strncmp(name, "SIG", 3) || strlen(name) > 31)
		__builtin_trap();
	if (name[3] >= '0' && name[3] <= '9')
		name += 3;
	if (signo >= 1 && signo <= SIGRTMAX &&
	    (rv_parse_signal(name, &back) || back != signo))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int signo = 0, v;
	char *s;
	int ret;

	if (size >= sizeof(v)) {
		memcpy(&v, data, sizeof(v));
		name_parse(v);
	}
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	ret = rv_parse_signal(s, &signo);
	if (ret == 0) {
		if (signo < 1 || signo > SIGRTMAX)
			__builtin_trap();
		name_parse(signo);
	} else if ((ret != -EINVAL && ret != -ERANGE) || signo != 0) {
		__builtin_trap();
	}
	free(s);
	return 0;
}
