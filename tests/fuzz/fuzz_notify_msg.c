/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the notify-message parser (src/notify_msg.c): any
 * datagram a local process can send to our notify socket.  Besides the
 * sanitizers' checks it asserts the parser's contract: status, when set,
 * points inside the buffer, is NUL-terminated there and is valid UTF-8;
 * a refused message leaves every field zero; the line counts add up.
 *
 * Build and run: tests/fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/notify_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct rv_notify_msg zero;
	struct rv_notify_msg m;
	char *buf;
	int ret;

	if (size > RV_NOTIFY_MSG_MAX)
		return -1;	/* the socket never hands over more */
	/* exactly size + 1 bytes, so ASan sees any access past the end */
	buf = malloc(size + 1);
	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);
	ret = rv_notify_msg_parse(&m, buf, size, size + 1);
	if (ret) {
		if (ret != -EINVAL || memcmp(&m, &zero, sizeof(m)))
			abort();
	} else {
		if (m.n_ignored > m.n_lines || !m.n_lines)
			abort();
		if (m.status) {
			size_t off = (size_t)(m.status - buf);
			size_t len = strlen(m.status);

			if (m.status < buf || off + len > size)
				abort();
			if (!rv_utf8_valid(m.status, len))
				abort();
			if (memchr(m.status, '\n', len) ||
			    memchr(m.status, '\r', len))
				abort();
		}
		if (m.mainpid < 0 || (m.has_errno && m.errno_val > 4095))
			abort();
		if (m.watchdog && m.watchdog_trigger)
			abort();
	}
	free(buf);
	return 0;
}
