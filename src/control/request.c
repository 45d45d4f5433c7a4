/* SPDX-License-Identifier: MIT */
#include "control/request.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"

static const struct {
	const char *name;
	enum rv_cmd cmd;
	int names;		/* 0 none, 1 optional, 2 required */
} cmds[] = {
	{ "status", RV_CMD_STATUS, 1 },	  { "start", RV_CMD_START, 2 },
	{ "stop", RV_CMD_STOP, 2 },	  { "restart", RV_CMD_RESTART, 2 },
	{ "kill", RV_CMD_KILL, 2 },	  { "reload", RV_CMD_RELOAD, 0 },
	{ "shutdown", RV_CMD_SHUTDOWN, 0 }, { "metrics", RV_CMD_METRICS, 0 },
	{ "events", RV_CMD_EVENTS, 0 },	  { "logs", RV_CMD_LOGS, 2 },
	{ "reexec", RV_CMD_REEXEC, 0 },
};

const char *rv_cmd_name(enum rv_cmd cmd)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++)
		if (cmds[i].cmd == cmd)
			return cmds[i].name;
	return "?";
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_names(json_t *arr, struct rv_request *r, char *err,
		       size_t errlen)
{
	size_t n = json_array_size(arr);

	if (!json_is_array(arr))
		return fail(err, errlen, "\"services\" must be an array of "
			    "names");
	if (n > RV_REQUEST_MAX_NAMES)
		return fail(err, errlen, "too many services (max %d)",
			    RV_REQUEST_MAX_NAMES);
	r->names = calloc(n ? n : 1, sizeof(*r->names));
	if (!r->names)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);

		if (!json_is_string(v) || !json_string_length(v) ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return fail(err, errlen, "services[%zu] must be a "
				    "non-empty string", i);
		r->names[i] = json_string_value(v);
	}
	r->n_names = n;
	return 0;
}

static bool may_wait(enum rv_cmd cmd)
{
	return cmd == RV_CMD_START || cmd == RV_CMD_STOP ||
	       cmd == RV_CMD_RESTART || cmd == RV_CMD_SHUTDOWN;
}

/* "wait" (a boolean) and "timeout_s" (seconds, > 0; only with wait) */
static int parse_wait(json_t *doc, struct rv_request *r, char *err,
		      size_t errlen)
{
	json_t *w = json_object_get(doc, "wait");
	json_t *t = json_object_get(doc, "timeout_s");
	double secs;

	if (w && !json_is_boolean(w))
		return fail(err, errlen, "\"wait\" must be true or false");
	r->wait = json_is_true(w);
	if (r->wait && !may_wait(r->cmd))
		return fail(err, errlen, "%s cannot wait", rv_cmd_name(r->cmd));
	if (!t)
		return 0;
	secs = json_number_value(t);
	/* reexec: how long the new binary may take to answer the probe and
	 * the dry run (it always waits) */
	if (!json_is_number(t) || !(r->wait || r->cmd == RV_CMD_REEXEC) ||
	    !(secs > 0) || secs > 1e9)
		return fail(err, errlen, "\"timeout_s\" must be a positive "
			    "number of seconds, with \"wait\": true");
	r->timeout_ns = (int64_t)(secs * 1e9);
	return 0;
}

int rv_request_parse(const char *buf, size_t len, struct rv_request *out,
		     char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc, *v;
	const char *name;
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len > RV_REQUEST_MAX) {
		snprintf(err, errlen, "request too large (max %d bytes)",
			 RV_REQUEST_MAX);
		return -E2BIG;
	}
	doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		return fail(err, errlen, "invalid JSON at column %d: %s",
			    jerr.column, jerr.text);
	out->doc = doc;
	if (!json_is_object(doc)) {
		ret = fail(err, errlen, "a request is a JSON object");
		goto bad;
	}
	v = json_object_get(doc, "cmd");
	if (!json_is_string(v)) {
		ret = fail(err, errlen, "missing \"cmd\" (a string)");
		goto bad;
	}
	name = json_string_value(v);
	for (i = 0; i < sizeof(cmds) / sizeof(*cmds); i++)
		if (!strcmp(name, cmds[i].name))
			break;
	if (i == sizeof(cmds) / sizeof(*cmds)) {
		char q[64];

		snprintf(q, sizeof(q), "%.40s", name);
		ret = fail(err, errlen, "unknown command \"%s\"", q);
		goto bad;
	}
	out->cmd = cmds[i].cmd;
	v = json_object_get(doc, "services");
	if (v) {
		if (cmds[i].names == 0) {
			ret = fail(err, errlen, "%s takes no services",
				   cmds[i].name);
			goto bad;
		}
		ret = parse_names(v, out, err, errlen);
		if (ret)
			goto bad;
	}
	if (cmds[i].names == 2 && out->n_names == 0) {
		ret = fail(err, errlen, "%s needs at least one service",
			   cmds[i].name);
		goto bad;
	}
	ret = parse_wait(doc, out, err, errlen);
	if (ret)
		goto bad;
	v = json_object_get(doc, "rolling");
	if (v && (!json_is_boolean(v) || out->cmd != RV_CMD_RESTART)) {
		ret = fail(err, errlen, "\"rolling\" is a boolean of restart");
		goto bad;
	}
	out->rolling = json_is_true(v);
	if (out->cmd == RV_CMD_KILL) {
		v = json_object_get(doc, "signal");
		if (json_is_integer(v) && json_integer_value(v) > 0 &&
		    json_integer_value(v) < 65) {
			out->signal = (int)json_integer_value(v);
		} else if (!json_is_string(v) ||
			   rv_parse_signal(json_string_value(v),
					   &out->signal)) {
			ret = fail(err, errlen, "kill needs a valid \"signal\" "
				   "(a name such as HUP or a number)");
			goto bad;
		}
	}
	v = json_object_get(doc, "binary");
	if (v && (!json_is_string(v) || out->cmd != RV_CMD_REEXEC ||
		  !json_string_length(v) ||
		  strlen(json_string_value(v)) != json_string_length(v))) {
		ret = fail(err, errlen, "\"binary\" is a path, of reexec");
		goto bad;
	}
	out->binary = v ? json_string_value(v) : NULL;
	if (out->cmd == RV_CMD_LOGS) {
		v = json_object_get(doc, "lines");
		if (v && (!json_is_integer(v) || json_integer_value(v) < 0)) {
			ret = fail(err, errlen, "\"lines\" is a number >= 0");
			goto bad;
		}
		out->lines = v ? (size_t)json_integer_value(v) : 0;
		out->follow = json_is_true(json_object_get(doc, "follow"));
	}
	return 0;
bad:
	rv_request_free(out);
	return ret;
}

void rv_request_free(struct rv_request *r)
{
	free(r->names);
	if (r->doc)
		json_decref(r->doc);
	memset(r, 0, sizeof(*r));
}
