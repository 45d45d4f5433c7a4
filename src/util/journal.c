// SPDX-License-Identifier: MIT
/* libsystemd's journal functions, loaded at first use (journal.h). */
#include "util/journal.h"

#include <systemd/sd-journal.h>

#include "util/dl.h"

/* sd-journal.h makes sd_journal_sendv() a macro adding CODE_FILE, LINE
 * and FUNC of its caller, which were log.c's journal_send(), the same in
 * every entry: the plain function is resolved */
static const char *const names[] = { "sd_journal_sendv",
				     "sd_journal_stream_fd" };

static struct {
	__typeof__(&sd_journal_sendv) sendv;
	__typeof__(&sd_journal_stream_fd) stream_fd;
} fn;

static struct rv_dl lib = RV_DL(RV_JOURNAL_SONAME, names);

int rv_journal_load(char *why, size_t len)
{
	void *syms[sizeof(names) / sizeof(*names)];
	int ret;

	if (lib.handle)
		return 0;
	ret = rv_dl_load(&lib, syms, why, len);
	if (ret)
		return ret;
	fn.sendv = (__typeof__(fn.sendv))syms[0];
	fn.stream_fd = (__typeof__(fn.stream_fd))syms[1];
	return 0;
}

int rv_journal_sendv(const struct iovec *iov, int n)
{
	char why[8];

	return rv_journal_load(why, sizeof(why)) ?: fn.sendv(iov, n);
}

int rv_journal_stream_fd(const char *identifier, int priority,
			 int level_prefix)
{
	char why[8];

	return rv_journal_load(why, sizeof(why)) ?:
	       fn.stream_fd(identifier, priority, level_prefix);
}
