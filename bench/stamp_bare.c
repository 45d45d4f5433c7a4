/* SPDX-License-Identifier: MIT */
/*
 * rvb-stamp-bare / rvb-flap-bare: rvb-stamp without a C library, for
 * `ringvisor-bench --service bare` (x86_64 only).
 *
 * Same behaviour and stamp line as stamp.c, but the stamp is taken at the
 * process's first instruction, with raw system calls: no dynamic loader,
 * no libc start-up.  glibc's static start-up alone runs CPUID a few dozen
 * times (cache and feature detection), and under virtualisation each one
 * is a VM exit: hundreds of microseconds that belong to the service, not to
 * the supervisor, and that dilute every difference between supervisors.
 * The default (libc) service stays what users run; this one isolates the
 * supervisor.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

__asm__(".text\n"
	".globl _start\n"
	"_start:\n"
	"	xor %rbp, %rbp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call stamp_main\n"
	"	hlt\n");

static long sys(long n, long a, long b, long c)
{
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

static const char *env(char **envp, const char *key)
{
	for (; *envp; envp++) {
		const char *e = *envp, *k = key;

		while (*k && *e == *k) {
			e++;
			k++;
		}
		if (!*k && *e == '=')
			return e + 1;
	}
	return 0;
}

static unsigned long put_num(char *p, long long v)
{
	char tmp[24];
	unsigned long n = 0, i = 0;
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

static long long atoll_(const char *s)
{
	long long v = 0;
	int neg = *s == '-';

	for (s += neg; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (*s - '0');
	return neg ? -v : v;
}

void stamp_main(long *sp);
__attribute__((noreturn, used))
void stamp_main(long *sp)
{
	struct timespec ts;
	struct stat st;
	char line[80], **envp = (char **)(sp + 1 + sp[0] + 1);
	const char *path, *id;
	unsigned long o;
	long fd;

	sys(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0);
	if (sys(SYS_fstat, 3, (long)&st, 0) == 0 && S_ISFIFO(st.st_mode)) {
		sys(SYS_write, 3, (long)"\n", 1);
		sys(SYS_close, 3, 0, 0);
	}
	o = put_num(line, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	line[o++] = ' ';
	o += put_num(line + o, sys(SYS_getpid, 0, 0, 0));
	line[o++] = ' ';
	id = env(envp, "STAMP_ID");
	o += put_num(line + o, id ? atoll_(id) : -1);
	line[o++] = '\n';
	path = env(envp, "STAMP_FILE");
	fd = sys(SYS_open, (long)(path ? path : "stamps"),
		 O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		sys(SYS_write, fd, (long)line, (long)o);
		sys(SYS_close, fd, 0, 0);
	}
	if (STAMP_FLAP)
		sys(SYS_exit_group, 1, 0, 0);
	for (;;)
		sys(SYS_pause, 0, 0, 0);
}
