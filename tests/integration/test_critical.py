#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""critical = true: a critical service (or subtree) that fails for good
shuts the whole supervisor down, exit 1, and the report says so; one that
completes successfully does not."""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import service  # noqa: E402


class Critical(rvtest.Case):

    def test_critical_service_failing_for_good(self):
        cfg = self.config(f"""
            [service:other]
            command = {self.svc("pause", tag="other")}
            restart = always

            [service:stubborn]
            command = {self.svc("ignore", "TERM", "pause", tag="stubborn")}
            restart = always
            stop_timeout = 300ms

            [service:crit]
            command = {self.svc("ms", 200, "exit", 1, tag="crit")}
            critical = true
            restart = on-failure
            backoff = fixed
            restart_delay = 100ms
            backoff_jitter = 0
            max_restarts = 1
            restart_window = 60s
            """)
        rv = self.start(cfg)
        other, = self.wait_stamps(1, tag="other")
        stubborn, = self.wait_stamps(1, tag="stubborn")
        self.assertEqual(rv.wait(15), 1)
        cf = rv.find("critical_failed")
        self.assertEqual(len(cf), 1, "one critical_failed line")
        self.assertTrue(cf[0].mentions("crit"), cf[0].raw)
        self.assertEqual(len(self.stamps("crit")), 2, "1 restart, then failed")
        for name in ("other", "stubborn"):
            self.assertTrue(rv.find("stop", service=name), name)
        self.assertTrue(rv.find("kill", service="stubborn"))
        self.assertFalse(rvtest.alive(other.pid))
        self.assertFalse(rvtest.alive(stubborn.pid))

        rep = self.report(rv)
        self.assertEqual(rep["supervisor"]["state"], "failed")
        self.assertEqual(rep["supervisor"]["exit_code"], 1)
        crit = service(rep, "crit")
        self.assertEqual((crit["state"], crit["restarts"]), ("failed", 1))
        self.assertEqual(crit["last_exit"], {"code": 1})
        for name in ("other", "stubborn"):
            self.assertEqual(service(rep, name)["state"], "stopped", name)
        self.assertEqual(service(rep, "stubborn")["last_exit"],
                         {"signal": "SIGKILL", "core_dumped": False})

    def test_critical_restart_never(self):
        cfg = self.config(f"""
            [service:other]
            command = {self.svc("pause", tag="other")}

            [service:crit]
            command = {self.svc("ms", 100, "exit", 3, tag="crit")}
            critical = true
            restart = never
            """)
        rv = self.start(cfg)
        other, = self.wait_stamps(1, tag="other")
        self.assertEqual(rv.wait(10), 1)
        self.assertFalse(rvtest.alive(other.pid))
        rep = self.report(rv)
        crit = service(rep, "crit")
        self.assertEqual((crit["state"], crit["last_exit"]),
                         ("failed", {"code": 3}))
        self.assertEqual(service(rep, "other")["state"], "stopped")

    def test_critical_service_completing_is_fine(self):
        cfg = self.config(f"""
            [service:other]
            command = {self.svc("pause", tag="other")}

            [service:crit]
            command = {self.svc("exit", 0, tag="crit")}
            critical = true
            restart = on-failure
            """)
        rv = self.start(cfg)
        other, = self.wait_stamps(1, tag="other")
        rv.wait_for("completed", service="crit")
        time.sleep(0.3)
        self.assertTrue(rv.running(), "a critical success stopped everything")
        self.assertTrue(rvtest.alive(other.pid))
        self.assertEqual(rv.find("critical_failed"), [])
        self.assertEqual(rv.shutdown(), 0)
        rep = self.report(rv)
        self.assertEqual(service(rep, "crit")["state"], "completed")

    def test_critical_subtree(self):
        cfg = self.config(f"""
            [supervisor:sub]
            max_restarts = 1
            restart_window = 60s
            critical = true

            [service:other]
            command = {self.svc("pause", tag="other")}

            [service:flap]
            supervisor = sub
            command = {self.svc("ms", 20, "exit", 1, tag="flap")}
            restart = always
            backoff = fixed
            restart_delay = 50ms
            backoff_jitter = 0
            max_restarts = 100
            restart_window = 60s
            """)
        rv = self.start(cfg)
        other, = self.wait_stamps(1, tag="other")
        self.assertEqual(rv.wait(15), 1)
        self.assertTrue(rv.find("intensity_exceeded", supervisor="sub"))
        cf = rv.find("critical_failed")
        self.assertEqual(len(cf), 1)
        self.assertTrue(cf[0].mentions("sub"), cf[0].raw)
        # critical: the parent does not restart the subtree
        self.assertEqual(len(self.stamps("flap")), 2)
        self.assertFalse(rvtest.alive(other.pid))
        rep = self.report(rv)
        self.assertEqual(rep["supervisor"]["state"], "failed")
        self.assertEqual(service(rep, "other")["state"], "stopped")


if __name__ == "__main__":
    rvtest.main()
