/* SPDX-License-Identifier: MIT */
/*
 * systemd's watchdog for ringvisor itself (WatchdogSec= in its unit):
 * "WATCHDOG=1" to the manager's NOTIFY_SOCKET at half of WATCHDOG_USEC,
 * from a loop timer, as sd_watchdog_enabled(3) advises.  The ping proves
 * the loop turns: a stalled loop misses it and systemd restarts us.
 * Needs rv_sd_notify_self_init() first (it takes WATCHDOG_USEC and
 * WATCHDOG_PID, and only when the watchdog is ours).
 */
#ifndef RV_SD_WATCHDOG_H
#define RV_SD_WATCHDOG_H

struct rv_loop;

/*
 * Starts the pings when systemd asked for them (a NOTIFY_SOCKET and a
 * WATCHDOG_USEC for our pid), sending the first one at once.  Does nothing
 * otherwise.  0, or -ENOMEM (the timer's heap room).
 */
int rv_sd_watchdog_start(struct rv_loop *loop);
void rv_sd_watchdog_stop(struct rv_loop *loop);

#endif
