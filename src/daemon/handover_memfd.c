/* SPDX-License-Identifier: MIT */
/*
 * The hand-over state in a sealed memfd (handover_memfd.h).
 */
#include <errno.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/handover_bin.h"
#include "daemon/handover_json.h"
#include "daemon/handover_memfd.h"
#include "util/fdkeep.h"

#define SEALS (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)

/* All of buf at fd's offset off; 0 or -errno. */
static int write_all(int fd, const char *buf, size_t len, size_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pwrite(fd, buf + done, len - done,
				   (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (size_t)n;
	}
	return 0;
}

/*
 * The JSON goes straight into the memfd through one fixed buffer: no
 * text of the whole state in memory (a few MB for 10,000 services, grown
 * by doubling, then copied once more by write).
 */
struct memfd_out {
	int fd, err;
	size_t len, off;
	char buf[64 * 1024];
};

static int flush_out(struct memfd_out *o)
{
	int ret = o->err ? o->err : write_all(o->fd, o->buf, o->len, o->off);

	o->err = ret;
	o->off += o->len;
	o->len = 0;
	return ret;
}

static int dump_to_memfd(const char *text, size_t n, void *data)
{
	struct memfd_out *o = data;

	if (o->len + n > sizeof(o->buf) && flush_out(o))
		return -1;
	if (n > sizeof(o->buf)) {
		o->err = write_all(o->fd, text, n, o->off);
		o->off += n;
		return o->err ? -1 : 0;
	}
	memcpy(o->buf + o->len, text, n);
	o->len += n;
	return 0;
}

static int write_doc(const json_t *doc, int *fd, char *err, size_t errlen)
{
	struct memfd_out *o = doc ? malloc(sizeof(*o)) : NULL;
	int ret = -ENOMEM;

	if (!o) {
		snprintf(err, errlen, "hand-over state: out of memory");
		return ret;
	}
	o->fd = memfd_create("ringvisor-handover",
			     MFD_CLOEXEC | MFD_ALLOW_SEALING);
	o->err = 0;
	o->len = o->off = 0;
	if (o->fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "hand-over state: memfd_create: %s",
			 strerror(-ret));
		goto out;
	}
	ret = json_dump_callback(doc, dump_to_memfd, o, JSON_COMPACT);
	if (!ret)
		ret = flush_out(o);
	else
		ret = o->err ? o->err : -ENOMEM;
	if (!ret && fcntl(o->fd, F_ADD_SEALS, SEALS) < 0)
		ret = -errno;
	if (ret) {
		snprintf(err, errlen, "hand-over state: writing the memfd: %s",
			 strerror(-ret));
		close(o->fd);
		goto out;
	}
	*fd = o->fd;
out:
	free(o);
	return ret;
}

/* The state's bytes from fd (a sealed memfd, adopted): *buf (malloc'd,
 * NUL-terminated past *len).  0 or -errno with one line in err. */
static int read_bytes(int fd, char **buf, size_t *len, char *err,
		      size_t errlen)
{
	struct stat st;
	ssize_t n;
	int ret;

	*buf = NULL;
	ret = rv_fd_adopt(fd, RV_FD_MEMFD, 0, "the hand-over state", err,
			  errlen);
	if (ret)
		return ret;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, errlen, "hand-over state: fstat: %s",
			 strerror(-ret));
		return ret;
	}
	*buf = malloc((size_t)st.st_size + 1);
	if (!*buf) {
		snprintf(err, errlen, "hand-over state: out of memory "
			 "(%lld bytes)", (long long)st.st_size);
		return -ENOMEM;
	}
	/* sealed: the size cannot change under us, so one short read is
	 * an error, not a partial state */
	n = pread(fd, *buf, (size_t)st.st_size, 0);
	if (n != st.st_size) {
		ret = n < 0 ? -errno : -EIO;
		snprintf(err, errlen, "hand-over state: read %zd of %lld "
			 "bytes: %s", n, (long long)st.st_size,
			 strerror(-ret));
		free(*buf);
		*buf = NULL;
		return ret;
	}
	(*buf)[n] = '\0';
	*len = (size_t)n;
	return 0;
}

/* A JSON state (formats 1 and 2): the control section, then the tree's. */
static int parse_json(const char *buf, size_t len,
		      struct rv_handover_ctl *ctl, struct rv_snapshot *out,
		      char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	int ret = 0;

	if (!doc) {
		snprintf(err, errlen, "hand-over state: not JSON at line %d "
			 "column %d (%s)%s", je.line, je.column, je.text,
			 len ? "" : ": empty");
		return -EINVAL;
	}
	if (ctl)
		ret = rv_handover_ctl_from_json(doc, ctl, err, errlen);
	if (!ret)
		ret = rv_handover_from_json(doc, out, err, errlen);
	json_decref(doc);
	return ret;
}

int rv_handover_parse_state(const char *buf, size_t len,
			    struct rv_handover_ctl *ctl,
			    struct rv_snapshot *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (rv_handover_bin_is(buf, len))
		return rv_handover_bin_decode(buf, len, ctl, out, err, errlen);
	if (ctl) {
		memset(ctl, 0, sizeof(*ctl));
		memset(ctl->fd, -1, sizeof(ctl->fd));
	}
	return parse_json(buf, len, ctl, out, err, errlen);
}

int rv_handover_read_state(int fd, struct rv_handover_ctl *ctl,
			   struct rv_snapshot *out, char *err, size_t errlen)
{
	size_t len = 0;
	char *buf;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = read_bytes(fd, &buf, &len, err, errlen);
	if (!ret)
		ret = rv_handover_parse_state(buf, len, ctl, out, err, errlen);
	free(buf);
	return ret;
}

int rv_handover_read(int fd, struct rv_snapshot *out, char *err,
		     size_t errlen)
{
	return rv_handover_read_state(fd, NULL, out, err, errlen);
}

/* A new memfd holding buf, sealed: *fd.  0 or -errno with err. */
static int sealed_memfd(const char *buf, size_t len, int *fd, char *err,
			size_t errlen)
{
	int mfd = memfd_create("ringvisor-handover",
			       MFD_CLOEXEC | MFD_ALLOW_SEALING), ret;

	if (mfd < 0) {
		ret = -errno;
		snprintf(err, errlen, "hand-over state: memfd_create: %s",
			 strerror(-ret));
		return ret;
	}
	ret = write_all(mfd, buf, len, 0);
	if (!ret && fcntl(mfd, F_ADD_SEALS, SEALS) < 0)
		ret = -errno;
	if (ret) {
		snprintf(err, errlen, "hand-over state: writing the memfd: %s",
			 strerror(-ret));
		close(mfd);
		return ret;
	}
	*fd = mfd;
	return 0;
}

int rv_handover_write_state(const struct rv_snapshot *snap,
			    const struct rv_handover_ctl *ctl, int format,
			    int *fd, char *err, size_t errlen)
{
	json_t *doc;
	size_t len;
	char *buf;
	int ret;

	if (format >= RV_HANDOVER_FORMAT_BIN) {
		ret = rv_handover_bin_encode(snap, ctl, &buf, &len);
		if (ret) {
			snprintf(err, errlen, "hand-over state: out of memory");
			return ret;
		}
		ret = sealed_memfd(buf, len, fd, err, errlen);
		free(buf);
		return ret;
	}
	/* one version back's JSON */
	doc = rv_handover_to_json(snap, format);
	ret = doc && ctl ? rv_handover_ctl_to_json(doc, ctl) : 0;
	if (!doc || ret) {
		json_decref(doc);
		snprintf(err, errlen, "hand-over state: out of memory");
		return -ENOMEM;
	}
	ret = write_doc(doc, fd, err, errlen);
	json_decref(doc);
	return ret;
}

int rv_handover_write(const struct rv_snapshot *snap, int *fd, char *err,
		      size_t errlen)
{
	return rv_handover_write_state(snap, NULL, RV_HANDOVER_FORMAT, fd,
				       err, errlen);
}

int rv_handover_env_fd(const char *value, int *fd, char *err, size_t errlen)
{
	char *end;
	long v;

	errno = 0;
	/* digits only: strtol would take " 7" and "+7" too */
	v = value && isdigit((unsigned char)*value) ?
	    strtol(value, &end, 10) : -1;
	if (v < 0 || *end || errno || v < 3 || v > INT32_MAX) {
		snprintf(err, errlen, "%s=\"%s\": not a descriptor number "
			 "(3 or more)", RV_HANDOVER_ENV, value ? value : "");
		return -EINVAL;
	}
	*fd = (int)v;
	return 0;
}
