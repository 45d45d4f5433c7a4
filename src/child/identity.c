/* SPDX-License-Identifier: MIT */
/*
 * user/group/capabilities at load time.  Everything here may allocate and
 * talk to NSS or libcap; nothing here runs in the child.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <unistd.h>

#include "child/identity.h"
#include "config/parse.h"

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* getpwnam_r/getpwuid_r with a buffer grown on ERANGE.  1 found, 0 not,
 * -errno. *buf is the caller's to free. */
static int lookup_user(const char *name, uid_t uid, struct passwd *pw,
		       char **buf)
{
	size_t len = 1024;
	struct passwd *res = NULL;
	int err;

	for (;;) {
		char *nb = realloc(*buf, len);

		if (!nb)
			return -ENOMEM;
		*buf = nb;
		err = name ? getpwnam_r(name, pw, nb, len, &res) :
			     getpwuid_r(uid, pw, nb, len, &res);
		if (err != ERANGE)
			break;
		if (len > (1 << 20))
			return -ERANGE;
		len *= 2;
	}
	if (err && err != ENOENT && err != ESRCH)
		return -err;
	return res != NULL;
}

static int lookup_group(const char *name, gid_t *gid)
{
	size_t len = 1024;
	struct group gr, *res = NULL;
	char *buf = NULL;
	int err;

	for (;;) {
		char *nb = realloc(buf, len);

		if (!nb) {
			free(buf);
			return -ENOMEM;
		}
		buf = nb;
		err = getgrnam_r(name, &gr, buf, len, &res);
		if (err != ERANGE || len > (1 << 20))
			break;
		len *= 2;
	}
	if (res)
		*gid = res->gr_gid;
	free(buf);
	if (err && err != ENOENT && err != ESRCH)
		return -err;
	return res != NULL;
}

/* The user's groups with gid first: getgrouplist, grown until it fits. */
static int user_groups(struct rv_identity *id, const char *user)
{
	int n = 16;

	for (;;) {
		gid_t *g = realloc(id->groups, (size_t)n * sizeof(*g));
		int want = n;

		if (!g)
			return -ENOMEM;
		id->groups = g;
		if (getgrouplist(user, id->gid, g, &want) >= 0) {
			id->n_groups = (size_t)want;
			return 0;
		}
		if (want <= n)
			want = n * 2;
		if (want > 65536)
			return -E2BIG;
		n = want;
	}
}

int rv_identity_resolve(struct rv_identity *id, const char *user,
			const char *group, char *why, size_t whylen)
{
	struct passwd pw;
	char *buf = NULL;
	uint32_t num;
	int ret = 0;

	if (group) {
		id->set_gid = true;
		if (is_number(group) &&
		    !rv_parse_u32(group, 0, UINT32_MAX - 1, &num)) {
			id->gid = (gid_t)num;
		} else {
			ret = lookup_group(group, &id->gid);
			if (ret == 0) {
				snprintf(why, whylen, "group %s not found",
					 group);
				return -ENOENT;
			}
			if (ret < 0) {
				snprintf(why, whylen, "looking up group %s: %s",
					 group, strerror(-ret));
				return ret;
			}
		}
	}
	if (!user) {
		if (group) {
			/* no user: that group and no supplementary ones */
			id->groups = malloc(sizeof(*id->groups));
			if (!id->groups)
				return -ENOMEM;
			id->groups[0] = id->gid;
			id->n_groups = 1;
			id->set_groups = true;
		}
		return 0;
	}
	id->set_uid = id->set_gid = id->set_groups = true;
	if (is_number(user) && !rv_parse_u32(user, 0, UINT32_MAX - 1, &num)) {
		id->uid = (uid_t)num;
		ret = lookup_user(NULL, id->uid, &pw, &buf);
	} else {
		ret = lookup_user(user, 0, &pw, &buf);
		if (ret == 0) {
			free(buf);
			snprintf(why, whylen, "user %s not found", user);
			return -ENOENT;
		}
	}
	if (ret < 0) {
		free(buf);
		snprintf(why, whylen, "looking up user %s: %s", user,
			 strerror(-ret));
		return ret;
	}
	if (ret == 0) {
		/* a bare number: no passwd entry, no supplementary groups */
		if (!group)
			id->gid = (gid_t)id->uid;
		free(buf);
		id->groups = malloc(sizeof(*id->groups));
		if (!id->groups)
			return -ENOMEM;
		id->groups[0] = id->gid;
		id->n_groups = 1;
		return 0;
	}
	id->uid = pw.pw_uid;
	if (!group)
		id->gid = pw.pw_gid;
	id->name = strdup(pw.pw_name);
	id->home = strdup(pw.pw_dir && *pw.pw_dir ? pw.pw_dir : "/");
	id->shell = strdup(pw.pw_shell && *pw.pw_shell ? pw.pw_shell :
			   "/bin/sh");
	ret = id->name && id->home && id->shell ? 0 : -ENOMEM;
	if (!ret)
		ret = user_groups(id, pw.pw_name);
	free(buf);
	if (ret)
		snprintf(why, whylen, "supplementary groups of %s: %s", user,
			 strerror(-ret));
	return ret;
}

int rv_identity_caps(struct rv_identity *id, const char *text, char *why,
		     size_t whylen)
{
	char spec[1024];
	size_t o = 0;
	cap_t caps;
	int max = (int)cap_max_bits();

	id->set_caps = true;
	id->caps = 0;
	id->last_cap = max - 1;
	while (*text == ' ' || *text == '\t' || *text == ',')
		text++;
	if (!strcmp(text, "none"))
		return 0;
	/* our list separators (blanks, commas) -> libcap's "a,b,c=eip" */
	for (const char *p = text; *p && o < sizeof(spec) - 5; p++) {
		bool sep = *p == ' ' || *p == '\t' || *p == ',';

		if (sep && (o == 0 || spec[o - 1] == ','))
			continue;
		spec[o++] = sep ? ',' : *p;
	}
	while (o && spec[o - 1] == ',')
		o--;
	memcpy(spec + o, "=eip", 5);
	caps = cap_from_text(spec);
	if (!caps) {
		snprintf(why, whylen, "libcap cannot parse capabilities \"%s\"",
			 text);
		return -EINVAL;
	}
	for (int cap = 0; cap < 64; cap++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (cap_get_flag(caps, (cap_value_t)cap, CAP_PERMITTED, &v) ||
		    v != CAP_SET)
			continue;
		if (cap >= max) {
			char *name = cap_to_name((cap_value_t)cap);

			snprintf(why, whylen,
				 "capability %s is not known to the running kernel (cap_last_cap %d)",
				 name ? name : "?", max - 1);
			cap_free(name);
			cap_free(caps);
			return -EINVAL;
		}
		id->caps |= 1ULL << cap;
	}
	cap_free(caps);
	return 0;
}

void rv_identity_free(struct rv_identity *id)
{
	free(id->groups);
	free(id->name);
	free(id->home);
	free(id->shell);
	memset(id, 0, sizeof(*id));
}
