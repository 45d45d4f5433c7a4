#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Restart intensity (CONTRACT.md, "Intensity"): `max_restarts = N` in
`restart_window` allows N restarts inside any window of that length; the
failure that would need restart N+1 makes the service `failed`, or, for the
[supervisor] keys, the supervisor (exit 1)."""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import service  # noqa: E402


class Intensity(rvtest.Case):

    def test_flapping_service_fails_after_exactly_max_restarts(self):
        cfg = self.config(f"""
            [service:flap]
            command = {self.svc("exit", 1, tag="flap")}
            restart = always
            backoff = fixed
            restart_delay = 50ms
            backoff_jitter = 0
            max_restarts = 3
            restart_window = 60s

            [service:steady]
            command = {self.svc("pause", tag="steady")}
            restart = always
            """)
        rv = self.start(cfg)
        steady, = self.wait_stamps(1, tag="steady")
        failed, = rv.wait_for("failed", service="flap")
        self.assertTrue(failed.get("reason"), failed.raw)
        self.assertEqual(len(rv.find("restart_scheduled", service="flap")), 3)
        self.assertEqual(len(rv.find("start", service="flap")), 4)

        # the supervisor and the other service carry on, and flap stays down
        time.sleep(0.5)
        self.assertTrue(rv.running(), "supervisor ended with a service up")
        self.assertTrue(rvtest.alive(steady.pid))
        self.assertEqual(len(self.stamps("flap")), 4)
        self.assertEqual(rv.find("stop", service="steady"), [])

        self.assertEqual(rv.shutdown(), 0, "a requested shutdown is success")
        rep = self.report(rv)
        flap = service(rep, "flap")
        self.assertEqual((flap["state"], flap["restarts"]), ("failed", 3))
        self.assertEqual(flap["last_exit"], {"code": 1})
        st = service(rep, "steady")
        self.assertEqual((st["state"], st["restarts"]), ("stopped", 0))

    def test_restarts_outside_the_window_are_allowed(self):
        # restarts are >= 300 ms apart, so a 250 ms window never holds more
        # than the one being decided and, at most, the one before it
        # (whether a restart is dated when decided or when performed);
        # 5 restarts in all would exceed max_restarts = 2 without the window
        cfg = self.config(f"""
            [service:slow]
            command = {self.svc("exit", 1, tag="slow")}
            restart = always
            backoff = fixed
            restart_delay = 300ms
            backoff_jitter = 0
            max_restarts = 2
            restart_window = 250ms
            """)
        rv = self.start(cfg)
        self.wait_stamps(6, tag="slow", timeout=15)
        self.assertEqual(rv.find("failed", service="slow"), [])
        self.assertEqual(rv.shutdown(), 0)
        rep = self.report(rv)
        self.assertGreaterEqual(service(rep, "slow")["restarts"], 5)
        self.assertNotEqual(service(rep, "slow")["state"], "failed")

    def test_top_level_intensity_exceeded(self):
        cfg = self.config(f"""
            [service:flap]
            command = {self.svc("exit", 1, tag="flap")}
            restart = always
            backoff = fixed
            restart_delay = 50ms
            backoff_jitter = 0
            max_restarts = 100
            restart_window = 60s

            [service:steady]
            command = {self.svc("pause", tag="steady")}
            restart = always
            """, max_restarts=2, restart_window="60s")
        rv = self.start(cfg)
        steady, = self.wait_stamps(1, tag="steady")
        self.assertEqual(rv.wait(15), 1)
        ie = rv.find("intensity_exceeded", supervisor="main")
        self.assertEqual(len(ie), 1, "no intensity_exceeded supervisor=main")
        self.assertEqual(ie[0].get("max_restarts"), "2", ie[0].raw)
        self.assertTrue(rv.find("supervisor_state", supervisor="main",
                                to="failed"))
        self.assertEqual(len(self.stamps("flap")), 3, "2 restarts, no more")
        self.assertFalse(rvtest.alive(steady.pid), "steady left running")
        rep = self.report(rv)
        self.assertEqual(rep["supervisor"]["state"], "failed")
        self.assertEqual(service(rep, "flap")["restarts"], 2)
        self.assertEqual(service(rep, "steady")["state"], "stopped")


if __name__ == "__main__":
    rvtest.main()
