/* SPDX-License-Identifier: MIT */
/*
 * Who a service runs as: `user`, `group` and `capabilities` resolved at load
 * time into plain numbers and masks, so the child (which may only make
 * system calls) applies them without NSS or libcap.  See spawn.h
 * (struct rv_spawn_iso) and the order of the steps in spawn.c.
 */
#ifndef RV_IDENTITY_H
#define RV_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rv_identity {
	bool set_uid, set_gid, set_groups;
	uid_t uid;
	gid_t gid;
	gid_t *groups;		/* supplementary groups, incl. gid */
	size_t n_groups;
	/* from the passwd entry of `user` (NULL: no user, or no entry):
	 * USER/LOGNAME, HOME and SHELL of the service's environment */
	char *name, *home, *shell;

	bool set_caps;		/* `capabilities` given (none: 0) */
	uint64_t caps;		/* bit n: capability n is kept */
	int last_cap;		/* highest capability the kernel knows */
};

/*
 * Resolves user and group (names through NSS, or numbers; either may be
 * NULL) into id.  With a user: its primary group unless group is given,
 * and its supplementary groups (getgrouplist); a numeric user without a
 * passwd entry gets gid = group or the same number, and no supplementary
 * groups.  With only a group: that gid, and no supplementary groups.
 * Returns 0, or -errno with why (a sentence naming the user or group)
 * filled: -ENOENT for an unknown name, -ENOMEM.  Frees nothing on error
 * that the caller must not free: rv_identity_free() is always safe.
 */
int rv_identity_resolve(struct rv_identity *id, const char *user,
			const char *group, char *why, size_t whylen);

/*
 * Parses a `capabilities` value ("cap_net_bind_service cap_chown", commas
 * or blanks, or "none") with libcap's cap_from_text() into id->caps, the
 * permitted set of "LIST=eip".  -EINVAL with why filled when libcap does
 * not know a name or the running kernel does not know a capability.
 */
int rv_identity_caps(struct rv_identity *id, const char *text, char *why,
		     size_t whylen);

void rv_identity_free(struct rv_identity *id);

#endif
