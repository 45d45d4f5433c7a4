/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "child/cgroup.h"
#include "child/kill.h"

static const struct {
	unsigned bit;
	const char *name;
} controllers[] = {
	{ RV_CG_MEMORY, "memory" },
	{ RV_CG_PIDS, "pids" },
	{ RV_CG_CPU, "cpu" },
};

#define N_CONTROLLERS (sizeof(controllers) / sizeof(controllers[0]))

/*
 * Service cgroup directories this process holds, by path.  Across a
 * reload two rv_cgroup objects name the same directory (the old tree's and
 * the new one's); only the last to let go may kill what is in it and
 * remove it, and processes in a directory we already hold are ours, not
 * strangers'.  Only the loop thread builds and frees trees.
 */
struct held_dir {
	char *path;
	unsigned refs;
	struct held_dir *next;
};

static struct held_dir *held_dirs;

static struct held_dir *held_find(const char *path)
{
	for (struct held_dir *h = held_dirs; h; h = h->next)
		if (!strcmp(h->path, path))
			return h;
	return NULL;
}

/* Takes a reference; 1 when we already held it, 0 new, -ENOMEM. */
static int held_get(const char *path)
{
	struct held_dir *h = held_find(path);

	if (h) {
		h->refs++;
		return 1;
	}
	h = calloc(1, sizeof(*h));
	if (!h || !(h->path = strdup(path))) {
		free(h);
		return -ENOMEM;
	}
	h->refs = 1;
	h->next = held_dirs;
	held_dirs = h;
	return 0;
}

/* Drops a reference; true when it was the last one. */
static bool held_put(const char *path)
{
	for (struct held_dir **pp = &held_dirs; *pp; pp = &(*pp)->next) {
		struct held_dir *h = *pp;

		if (strcmp(h->path, path))
			continue;
		if (--h->refs)
			return false;
		*pp = h->next;
		free(h->path);
		free(h);
		return true;
	}
	return true;
}

unsigned rv_cgroup_controllers(const struct rv_service_spec *sp)
{
	const struct rv_iso_spec *keys = sp->iso;
	unsigned need = 0;

	if (keys->memory_max)
		need |= RV_CG_MEMORY;
	if (keys->pids_max)
		need |= RV_CG_PIDS;
	if (keys->cpu_max_period_us || keys->cpu_weight)
		need |= RV_CG_CPU;
	return need;
}

bool rv_cgroup_required(const struct rv_service_spec *sp)
{
	return sp->kill_mode == RV_KILL_CGROUP || rv_cgroup_controllers(sp);
}

/* The first key of sp that needs controller bit (for messages). */
static const char *key_for(const struct rv_service_spec *sp, unsigned bit)
{
	switch (bit) {
	case RV_CG_MEMORY:
		return "memory_max";
	case RV_CG_PIDS:
		return "pids_max";
	default:
		return sp->iso->cpu_max_period_us ? "cpu_max" : "cpu_weight";
	}
}

/* The first key that makes sp need a cgroup at all. */
static const char *first_key(const struct rv_service_spec *sp)
{
	unsigned need = rv_cgroup_controllers(sp);

	for (size_t i = 0; i < N_CONTROLLERS; i++)
		if (need & controllers[i].bit)
			return key_for(sp, controllers[i].bit);
	return "kill_mode = cgroup";
}

/* Reads a small file into buf (NUL-terminated, trailing newline cut). */
static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

static int write_at(int dirfd, const char *file, const char *s)
{
	int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	return (size_t)n == len ? 0 : -EIO;
}

static bool word_in(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *p = list; (p = strstr(p, word)); p += wl)
		if ((p == list || p[-1] == ' ') && (!p[wl] || p[wl] == ' '))
			return true;
	return false;
}

/* mountinfo escapes blanks and backslashes as \ooo */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
				      (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* The first cgroup2 mount: its mount point and root. */
static int find_mount(char **mnt, char **root)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int ret = 0;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char *f4, *f5, *dash, *save = NULL;
		int i = 0;

		dash = strstr(line, " - cgroup2 ");
		if (!dash)
			continue;
		*dash = '\0';
		f4 = f5 = NULL;
		for (char *t = strtok_r(line, " ", &save); t;
		     t = strtok_r(NULL, " ", &save), i++) {
			if (i == 3)
				f4 = t;
			else if (i == 4)
				f5 = t;
		}
		if (!f4 || !f5)
			continue;
		unescape(f4);
		unescape(f5);
		*root = strdup(f4);
		*mnt = strdup(f5);
		ret = *root && *mnt ? 1 : -ENOMEM;
		break;
	}
	free(line);
	fclose(f);
	return ret;
}

/* Our cgroup v2 path ("0::/a/b" in /proc/self/cgroup). */
static int own_path(char **out)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int ret = 0;

	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (strncmp(line, "0::", 3))
			continue;
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		*out = strdup(line + 3);
		ret = *out ? 1 : -ENOMEM;
		break;
	}
	free(line);
	fclose(f);
	return ret;
}

/* We are the only process of dir (so it is ours to subdivide). */
static bool alone_in(const char *dir)
{
	char path[4096], buf[64];
	char self[24];

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	if (read_small(path, buf, sizeof(buf)))
		return false;
	snprintf(self, sizeof(self), "%d", (int)getpid());
	return !strcmp(buf, self);
}

static int host_probe(struct rv_cgroup_host *h)
{
	char *root = NULL, *self = NULL, path[4096];
	const char *rel;
	int ret;

	h->refs = 1;
	ret = find_mount(&h->mount, &root);
	if (ret <= 0) {
		snprintf(h->why, sizeof(h->why),
			 "no cgroup2 file system is mounted (/proc/self/mountinfo)");
		goto none;
	}
	ret = own_path(&self);
	if (ret <= 0) {
		snprintf(h->why, sizeof(h->why),
			 "no cgroup v2 entry in /proc/self/cgroup");
		goto none;
	}
	rel = self;
	/* find_mount() sets root whenever it returns > 0 */
	// NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
	if (strcmp(root, "/")) {
		size_t rl = strlen(root);

		if (strncmp(self, root, rl) || (self[rl] && self[rl] != '/')) {
			snprintf(h->why, sizeof(h->why),
				 "our cgroup %s is outside the cgroup2 mount at %s",
				 self, h->mount);
			goto none;
		}
		rel = self + rl;
	}
	if (!strcmp(rel, "/"))
		rel = "";
	/* how /proc/PID/cgroup names what is under own (kill.c checks
	 * membership with it) */
	h->view = strdup(strcmp(self, "/") ? self : "");
	if (!h->view) {
		ret = -ENOMEM;
		goto out;
	}
	if (asprintf(&h->own, "%s%s", h->mount, rel) < 0) {
		h->own = NULL;
		ret = -ENOMEM;
		goto out;
	}
	if (access(h->own, W_OK) < 0) {
		snprintf(h->why, sizeof(h->why), "%s is not writable: %s",
			 h->own, strerror(errno));
		goto none;
	}
	snprintf(path, sizeof(path), "%s/cgroup.controllers", h->own);
	if (read_small(path, h->controllers, sizeof(h->controllers)))
		h->controllers[0] = '\0';
	/* the root cgroup is everybody's, even when we are its only user */
	h->delegated = *rel && alone_in(h->own);
	if (h->delegated)
		h->group_dir = strdup(h->own);
	else if (asprintf(&h->group_dir, "%s/ringvisor.%d", h->own,
			  (int)getpid()) < 0)
		h->group_dir = NULL;
	ret = h->group_dir ? 0 : -ENOMEM;
	goto out;
none:
	free(h->mount);
	free(h->own);
	free(h->view);
	h->mount = h->own = h->view = NULL;
	if (ret != -ENOMEM)
		ret = 0;
out:
	free(root);
	free(self);
	return ret;
}

int rv_cgroup_host_new(struct rv_cgroup_host **out)
{
	struct rv_cgroup_host *h = calloc(1, sizeof(*h));
	int ret;

	if (!h)
		return -ENOMEM;
	ret = host_probe(h);
	if (ret) {
		rv_cgroup_host_put(h);
		return ret;
	}
	*out = h;
	return 0;
}

void rv_cgroup_host_put(struct rv_cgroup_host *h)
{
	if (!h || --h->refs)
		return;
	if (h->group_made)
		/* group_made is set only once group_dir is */
		// NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
		rmdir(h->group_dir);
	free(h->mount);
	free(h->own);
	free(h->view);
	free(h->group_dir);
	free(h);
}

int rv_cgroup_host_check(const struct rv_cgroup_host *h,
			 const struct rv_service_spec *sp, char *why,
			 size_t whylen)
{
	unsigned need = rv_cgroup_controllers(sp);

	if (!rv_cgroup_required(sp))
		return 0;
	if (!h->mount) {
		snprintf(why, whylen, "%s needs cgroup v2, which is not usable here: %s",
			 first_key(sp), h->why);
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < N_CONTROLLERS; i++) {
		if (!(need & controllers[i].bit) ||
		    word_in(h->controllers, controllers[i].name))
			continue;
		snprintf(why, whylen,
			 "%s needs the cgroup v2 %s controller, which %s does not offer (cgroup.controllers: \"%s\")",
			 key_for(sp, controllers[i].bit), controllers[i].name,
			 h->own, h->controllers);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* Moves the supervisor into own/ringvisor.scope, so own (delegated to us)
 * has no processes and may enable controllers for its children. */
static int leave_own(struct rv_cgroup_host *h)
{
	char path[4096], pid[24];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/ringvisor.scope", h->own);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	ret = write_at(fd, "cgroup.procs", pid);
	close(fd);
	return ret;
}

/* "+memory" into dir's subtree_control, unless it is there already. */
static int enable_in(const char *dir, const char *name)
{
	char path[4096], cur[256], op[32];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
	if (!read_small(path, cur, sizeof(cur)) && word_in(cur, name))
		return 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(op, sizeof(op), "+%s", name);
	ret = write_at(fd, "cgroup.subtree_control", op);
	close(fd);
	return ret;
}

static int enable_controllers(struct rv_cgroup_host *h,
			      const struct rv_service_spec *sp, char *why,
			      size_t whylen)
{
	unsigned need = rv_cgroup_controllers(sp);

	for (size_t i = 0; i < N_CONTROLLERS; i++) {
		const char *name = controllers[i].name;
		int ret;

		if (!(need & controllers[i].bit))
			continue;
		ret = enable_in(h->own, name);
		if (ret == -EBUSY && h->delegated && !leave_own(h))
			ret = enable_in(h->own, name);
		if (!ret && strcmp(h->group_dir, h->own))
			ret = enable_in(h->group_dir, name);
		if (ret) {
			snprintf(why, whylen,
				 "%s: cannot enable the cgroup v2 %s controller in %s: %s%s",
				 key_for(sp, controllers[i].bit), name, h->own,
				 strerror(-ret),
				 ret == -EBUSY ? " (other processes live in that cgroup: delegate one to ringvisor alone)" : "");
			return ret;
		}
	}
	return 0;
}

static int write_limits(struct rv_cgroup *cg, const struct rv_service_spec *sp,
			char *why, size_t whylen)
{
	const struct rv_iso_spec *keys = sp->iso;
	char val[64];
	const char *file = NULL;
	int ret = 0;

	if (keys->memory_max) {
		file = "memory.max";
		ret = write_at(cg->dirfd, file, keys->memory_max);
	}
	if (!ret && keys->pids_max) {
		file = "pids.max";
		ret = write_at(cg->dirfd, file, keys->pids_max);
	}
	if (!ret && keys->cpu_max_period_us) {
		file = "cpu.max";
		if (keys->cpu_max_quota_us < 0)
			snprintf(val, sizeof(val), "max %" PRIu32,
				 keys->cpu_max_period_us);
		else
			snprintf(val, sizeof(val), "%" PRId64 " %" PRIu32,
				 keys->cpu_max_quota_us,
				 keys->cpu_max_period_us);
		ret = write_at(cg->dirfd, file, val);
	}
	if (!ret && keys->cpu_weight) {
		file = "cpu.weight";
		snprintf(val, sizeof(val), "%" PRIu32, keys->cpu_weight);
		ret = write_at(cg->dirfd, file, val);
	}
	if (ret)
		snprintf(why, whylen, "writing %s/%s: %s", cg->path, file,
			 strerror(-ret));
	return ret;
}

int rv_cgroup_create(struct rv_cgroup_host *h, const char *name,
		     const struct rv_service_spec *sp, struct rv_cgroup *cg,
		     char *why, size_t whylen)
{
	bool required = rv_cgroup_required(sp);
	int ret, n;

	cg->dirfd = -1;
	if (!required && !(h->mount && h->delegated))
		return 0;
	ret = rv_cgroup_host_check(h, sp, why, whylen);
	if (ret)
		return ret;
	if (!h->group_made && strcmp(h->group_dir, h->own)) {
		if (mkdir(h->group_dir, 0755) < 0 && errno != EEXIST) {
			ret = -errno;
			snprintf(why, whylen, "creating %s: %s", h->group_dir,
				 strerror(-ret));
			return ret;
		}
		h->group_made = true;
	}
	ret = enable_controllers(h, sp, why, whylen);
	if (ret)
		return ret;
	if (asprintf(&cg->path, "%s/%s.service", h->group_dir, name) < 0) {
		cg->path = NULL;
		return -ENOMEM;
	}
	if (mkdir(cg->path, 0755) < 0 && errno != EEXIST) {
		ret = -errno;
		snprintf(why, whylen, "creating %s: %s", cg->path,
			 strerror(-ret));
		goto err;
	}
	if (asprintf(&cg->view, "%s%s", h->view,
		     cg->path + strlen(h->own)) < 0) {
		cg->view = NULL;
		ret = -ENOMEM;
		goto err;
	}
	ret = held_get(cg->path);
	if (ret < 0)
		goto err;
	cg->host = h;
	h->refs++;
	cg->dirfd = open(cg->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg->dirfd < 0) {
		ret = -errno;
		snprintf(why, whylen, "opening %s: %s", cg->path,
			 strerror(-ret));
		goto err;
	}
	n = ret ? 0 : rv_cgroup_count(cg);	/* ours already: not strangers */
	if (n > 0) {
		snprintf(why, whylen,
			 "cgroup %s is in use by %d process%s not started by this supervisor",
			 cg->path, n, n == 1 ? "" : "es");
		ret = -EBUSY;
		goto err;
	}
	ret = write_limits(cg, sp, why, whylen);
	if (ret)
		goto err;
	return 0;
err:
	if (!cg->host) {
		free(cg->path);
		free(cg->view);
	} else {
		rv_cgroup_destroy(cg, false);
	}
	cg->path = cg->view = NULL;
	return ret;
}

void rv_cgroup_destroy(struct rv_cgroup *cg, bool kill)
{
	bool last = cg->path && cg->host && held_put(cg->path);

	if (last && rmdir(cg->path) < 0 && errno == EBUSY && kill &&
	    rv_cgroup_kill(cg) == 0) {
		/* the killed still have to leave: a short wait, bounded */
		for (int i = 0; i < 40; i++) {
			struct timespec ts = { 0, 5 * 1000 * 1000 };

			if (!rmdir(cg->path) || errno != EBUSY)
				break;
			nanosleep(&ts, NULL);
		}
	}
	if (cg->dirfd >= 0)
		close(cg->dirfd);
	free(cg->path);
	free(cg->view);
	rv_cgroup_host_put(cg->host);
	cg->path = cg->view = NULL;
	cg->host = NULL;
	cg->dirfd = -1;
}

/* Lines of cgroup.procs, read through a stack buffer.  Count or -errno. */
int rv_cgroup_count(const struct rv_cgroup *cg)
{
	char buf[4096];
	int fd, count = 0;
	ssize_t n;

	if (!cg->host || cg->dirfd < 0)
		return -ENOENT;
	fd = openat(cg->dirfd, "cgroup.procs", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			count = -errno;
			break;
		}
		for (ssize_t i = 0; i < n; i++)
			count += buf[i] == '\n';
	}
	close(fd);
	return count;
}

int rv_cgroup_kill(const struct rv_cgroup *cg)
{
	struct rv_kill_target t = {
		.pid = 0,
		.pidfd = -1,
		.cgroup_fd = cg->dirfd,
		.cgroup = cg->view,
		.mode = RV_KILL_CGROUP,
	};
	int ret;

	if (!cg->host || cg->dirfd < 0)
		return -ENOENT;
	ret = rv_kill(&t, SIGKILL);
	return ret == -ESRCH ? 0 : ret;	/* nobody left: done too */
}
