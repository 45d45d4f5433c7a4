#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Nested supervisors (CONTRACT.md, "Supervisors nest"): a [supervisor:sub]
that exceeds its intensity fails as a unit; its parent's strategy restarts
the subtree (its children get new pids) until the parent's own intensity is
exceeded, which at the top level stops everything with exit 1."""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import service, subsupervisor  # noqa: E402


class Nested(rvtest.Case):

    def _config(self, top_max, flap_ms):
        return self.config(f"""
            [supervisor:sub]
            strategy = one_for_one
            max_restarts = 1
            restart_window = 60s

            [service:outside]
            command = {self.svc("pause", tag="outside")}
            restart = always

            [service:steady]
            supervisor = sub
            command = {self.svc("pause", tag="steady")}
            restart = always
            backoff = fixed
            restart_delay = 50ms
            backoff_jitter = 0

            [service:flap]
            supervisor = sub
            command = {self.svc("ms", flap_ms, "exit", 1, tag="flap")}
            restart = always
            backoff = fixed
            restart_delay = 50ms
            backoff_jitter = 0
            max_restarts = 100
            restart_window = 60s
            """, strategy="one_for_one", max_restarts=top_max,
            restart_window="60s")

    def test_subtree_restarted_as_a_unit(self):
        rv = self.start(self._config(top_max=100, flap_ms=150))
        outside, = self.wait_stamps(1, tag="outside")
        steady, = self.wait_stamps(1, tag="steady")
        # flap dies twice: restart 1 is allowed, restart 2 exceeds sub's 1
        ie, = rv.wait_for("intensity_exceeded", supervisor="sub")
        self.assertEqual(ie.get("max_restarts"), "1", ie.raw)
        st = self.wait_stamps(2, tag="steady")
        # the lines before steady's new start (stop, group_restart) are
        # read once that start is
        rv.wait_for("start", service="steady", count=2)
        self.assertNotEqual(st[1].pid, steady.pid, "steady not restarted")
        self.assertFalse(rvtest.alive(steady.pid), "old steady still alive")
        self.assertTrue(rv.find("stop", service="steady"))
        gr = [e for e in rv.find("group_restart") if e.mentions("sub")]
        self.assertTrue(gr, "no group_restart line for the subtree sub")
        # the sibling of the subtree is untouched
        self.assertTrue(rvtest.alive(outside.pid))
        self.assertEqual(len(self.stamps("outside")), 1)

        self.assertEqual(rv.shutdown(), 0)
        rep = self.report(rv)
        sub = subsupervisor(rep, "sub")
        self.assertGreaterEqual(sub["restarts"], 1)
        self.assertEqual(service(rep, "outside")["restarts"], 0)
        self.assertEqual(service(rep, "outside")["state"], "stopped")
        self.assertGreaterEqual(service(rep, "steady")["restarts"], 1)

    def test_parent_intensity_exceeded_fails_upward(self):
        rv = self.start(self._config(top_max=1, flap_ms=20))
        outside, = self.wait_stamps(1, tag="outside")
        self.assertEqual(rv.wait(20), 1)
        self.assertTrue(rv.find("intensity_exceeded", supervisor="sub"))
        self.assertEqual(len(rv.find("intensity_exceeded", supervisor="main")),
                         1)
        self.assertFalse(rvtest.alive(outside.pid), "outside left running")
        for s in self.stamps(None):
            self.assertFalse(rvtest.alive(s.pid), f"{s.tag} left running")
        rep = self.report(rv)
        self.assertEqual(rep["supervisor"]["state"], "failed")
        self.assertEqual(subsupervisor(rep, "sub")["state"], "failed")
        self.assertEqual(service(rep, "outside")["state"], "stopped")


if __name__ == "__main__":
    rvtest.main()
