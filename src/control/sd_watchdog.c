/* SPDX-License-Identifier: MIT */
#include "control/sd_watchdog.h"

#include <errno.h>

#include "control/sd_notify_self.h"
#include "loop.h"
#include "util/log.h"

static struct {
	struct rv_timer timer;
	int64_t period_ns;
	int last_err;		/* logged once per change, not per ping */
} wd = { .timer = { .heap_index = RV_TIMER_UNARMED } };

static void ping(struct rv_loop *loop, struct rv_timer *t, int64_t now_ns,
		 void *ctx)
{
	int err = rv_sd_notify_self("WATCHDOG=1");

	/* a full socket buffer or a restarting manager: try next period */
	if (err != wd.last_err && err)
		rv_log_sup(RV_LOG_WARN, "main", "sd_watchdog_failed",
			   " errno=%d", -err);
	wd.last_err = err;
	rv_loop_timer_arm(loop, t, now_ns + wd.period_ns);
}

int rv_sd_watchdog_start(struct rv_loop *loop)
{
	uint64_t usec = rv_sd_notify_self_watchdog_usec();
	int ret;

	if (!usec || !rv_sd_notify_self_enabled())
		return 0;
	ret = rv_loop_timer_reserve(loop, 1);
	if (ret)
		return ret;
	/* half the interval; at least 1 ms so a tiny value cannot spin */
	wd.period_ns = usec > 2000 ? (int64_t)(usec / 2 * 1000) : 1000000;
	if (usec / 2 > (uint64_t)INT64_MAX / 1000)
		wd.period_ns = INT64_MAX / 2;
	rv_timer_init(&wd.timer, ping, NULL);
	rv_log_sup(RV_LOG_INFO, "main", "sd_watchdog",
		   " interval_us=%llu ping_every_us=%lld",
		   (unsigned long long)usec,
		   (long long)(wd.period_ns / 1000));
	ping(loop, &wd.timer, rv_clock_now(), NULL);
	return 0;
}

void rv_sd_watchdog_stop(struct rv_loop *loop)
{
	if (rv_timer_is_armed(&wd.timer))
		rv_loop_timer_cancel(loop, &wd.timer);
}
