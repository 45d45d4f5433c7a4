// SPDX-License-Identifier: MIT
/*
 * rv_seccomp: runs a command under a Docker-like seccomp filter.
 *
 *   rv_seccomp [--allow-io-uring] [--allow-clone3] [--] CMD [ARG...]
 *
 * Installs a filter that allows every system call except io_uring_setup,
 * io_uring_enter and io_uring_register (EPERM, as Docker 25+ and
 * containerd 2.0's default profiles do) and clone3 (ENOSYS, as Docker's
 * profile does so that glibc falls back to clone), then execs CMD (looked
 * up in PATH).  The filter is inherited by everything CMD starts.  The
 * --allow-* options leave one of the two alone.
 *
 * As root, no_new_privs is left off (a root container runtime installs
 * its filter with CAP_SYS_ADMIN, and services switching users or running
 * setuid programs must keep working); otherwise it is set, as the kernel
 * requires for an unprivileged filter.
 *
 * Exit status: CMD's (this process becomes CMD), 64 for bad usage, 70 when
 * the filter cannot be built or loaded, 126/127 when CMD cannot be run.
 * Used by tests/integration/test_seccomp.py and, through RV_WRAPPER, by any
 * integration test file (see tests/integration/rvtest.py).
 */
#include <errno.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int refuse(scmp_filter_ctx ctx, const char *name, int err)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr == __NR_SCMP_ERROR) {
		fprintf(stderr, "rv_seccomp: unknown system call %s\n", name);
		return -EINVAL;
	}
	return seccomp_rule_add(ctx, SCMP_ACT_ERRNO((unsigned)err), nr, 0);
}

int main(int argc, char **argv)
{
	bool allow_uring = false, allow_clone3 = false;
	scmp_filter_ctx ctx;
	int i, ret;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (!strcmp(argv[i], "--allow-io-uring")) {
			allow_uring = true;
		} else if (!strcmp(argv[i], "--allow-clone3")) {
			allow_clone3 = true;
		} else {
			fprintf(stderr, "rv_seccomp: unknown option %s\n",
				argv[i]);
			return 64;
		}
	}
	if (i >= argc) {
		fprintf(stderr, "usage: rv_seccomp [--allow-io-uring] "
			"[--allow-clone3] [--] CMD [ARG...]\n");
		return 64;
	}
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		fprintf(stderr, "rv_seccomp: seccomp_init failed\n");
		return 70;
	}
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, geteuid() != 0);
	if (!ret && !allow_uring)
		ret = refuse(ctx, "io_uring_setup", EPERM);
	if (!ret && !allow_uring)
		ret = refuse(ctx, "io_uring_enter", EPERM);
	if (!ret && !allow_uring)
		ret = refuse(ctx, "io_uring_register", EPERM);
	if (!ret && !allow_clone3)
		ret = refuse(ctx, "clone3", ENOSYS);
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	if (ret) {
		fprintf(stderr, "rv_seccomp: cannot install the filter: %s\n",
			strerror(-ret));
		return 70;
	}
	execvp(argv[i], argv + i);
	ret = errno;
	fprintf(stderr, "rv_seccomp: %s: %s\n", argv[i], strerror(ret));
	return ret == ENOENT ? 127 : 126;
}
