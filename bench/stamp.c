/* SPDX-License-Identifier: MIT */
/*
 * rvb-stamp / rvb-flap: the supervised service of every benchmark.
 *
 * The first thing it does is read CLOCK_MONOTONIC.  Then it appends one
 * line "<ns> <pid> <id>\n" to $STAMP_FILE (default ./stamps; id is
 * $STAMP_ID or -1) with a single write(2) on an O_APPEND descriptor, so
 * lines of concurrent instances never interleave.  If fd 3 is a pipe (s6's
 * notification-fd), it writes "\n" there: the service is ready.  Then
 * rvb-stamp (STAMP_FLAP=0) sleeps forever and rvb-flap (STAMP_FLAP=1)
 * exits 1.
 *
 * Built static, so exec pays no dynamic loader: what the benchmarks time is
 * the supervisor, not ld.so.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static size_t put_num(char *p, long long v)
{
	char tmp[24];
	size_t n = 0, i = 0;
	unsigned long long u = v < 0 ? 0 - (unsigned long long)v :
				       (unsigned long long)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		p[i++] = '-';
	while (n)
		p[i++] = tmp[--n];
	return i;
}

int main(void)
{
	struct timespec ts;
	const char *path, *id;
	struct stat st;
	char line[80];
	size_t o;
	int fd;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (fstat(3, &st) == 0 && S_ISFIFO(st.st_mode)) {
		(void)!write(3, "\n", 1);
		close(3);
	}
	o = put_num(line, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	line[o++] = ' ';
	o += put_num(line + o, getpid());
	line[o++] = ' ';
	id = getenv("STAMP_ID");
	o += put_num(line + o, id ? atoll(id) : -1);
	line[o++] = '\n';
	path = getenv("STAMP_FILE");
	fd = open(path ? path : "stamps",
		  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		(void)!write(fd, line, o);
		close(fd);
	}
	if (STAMP_FLAP)
		return 1;
	for (;;)
		pause();
}
