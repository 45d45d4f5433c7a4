#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Supervisor strategies (Erlang/OTP): one_for_one restarts only the dead
service, one_for_all all its siblings, rest_for_one the dead one and those
after it in config order.  A restarted sibling has a new pid and a new
stamp; one left alone keeps both."""

import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import service  # noqa: E402

NAMES = ("a", "b", "c")


class Strategy(rvtest.Case):

    def _start_abc(self, strategy):
        body = ""
        for n in NAMES:
            body += f"""
                [service:{n}]
                command = {self.svc("pause", tag=n)}
                restart = always
                backoff = fixed
                restart_delay = 100ms
                backoff_jitter = 0
                stop_timeout = 2s
                """
        rv = self.rv_ = self.start(self.config(body, strategy=strategy))
        rv.strategy = strategy
        pids = {}
        for n in NAMES:
            ev, = rv.wait_for("start", service=n)
            s, = self.wait_stamps(1, tag=n)
            self.assertEqual(ev.int("pid"), s.pid)
            pids[n] = s.pid
        return rv, pids

    def _counts(self):
        return {n: len(self.stamps(n)) for n in NAMES}

    def _settle(self, want):
        """Waits for the stamp counts `want`, then checks that nothing else
        restarts for a while (well past restart_delay)."""
        rvtest.wait_until(lambda: self._counts() == want, 10,
                          f"stamp counts {want} (have {self._counts()})")
        for n, count in want.items():
            self.rv_.wait_for("start", service=n, count=count)
        time.sleep(0.5)
        self.assertEqual(self._counts(), want, "restarts went on")
        for n, count in want.items():
            self.assertEqual(len(self.rv_.find("start", service=n)), count)

    def _finish(self, rv, restarts):
        self.assertEqual(rv.shutdown(), 0)
        rep = self.report(rv)
        self.assertEqual(rep["supervisor"]["strategy"], rv.strategy)
        for n in NAMES:
            s = service(rep, n)
            self.assertEqual((s["state"], s["restarts"]),
                             ("stopped", restarts[n]), n)

    def test_one_for_one(self):
        rv, pids = self._start_abc("one_for_one")
        os.kill(pids["b"], signal.SIGKILL)
        self._settle({"a": 1, "b": 2, "c": 1})
        self.assertTrue(rvtest.alive(pids["a"]))
        self.assertTrue(rvtest.alive(pids["c"]))
        self.assertEqual(rv.find("stop"), [], "a sibling was stopped")
        self._finish(rv, {"a": 0, "b": 1, "c": 0})

    def test_one_for_all(self):
        rv, pids = self._start_abc("one_for_all")
        os.kill(pids["b"], signal.SIGKILL)
        self._settle({"a": 2, "b": 2, "c": 2})
        gr = rv.find("group_restart", strategy="one_for_all")
        self.assertEqual(len(gr), 1, "one group_restart line")
        for n in NAMES:
            new = self.stamps(n)[1].pid
            self.assertNotEqual(new, pids[n], n)
            self.assertFalse(rvtest.alive(pids[n]), f"old {n} still alive")
            self.assertTrue(rvtest.alive(new))
            self.assertEqual(rv.service_pids(n), [pids[n], new])
        # the living siblings were stopped, the dead one was not
        stopped = {e["service"] for e in rv.find("stop")}
        self.assertEqual(stopped, {"a", "c"})
        self._finish(rv, {"a": 1, "b": 1, "c": 1})

    def test_rest_for_one(self):
        rv, pids = self._start_abc("rest_for_one")
        os.kill(pids["b"], signal.SIGKILL)
        self._settle({"a": 1, "b": 2, "c": 2})
        self.assertTrue(rvtest.alive(pids["a"]), "a (before b) was touched")
        self.assertFalse(rvtest.alive(pids["c"]), "c (after b) kept running")
        self.assertEqual({e["service"] for e in rv.find("stop")}, {"c"})
        self.assertTrue(rv.find("group_restart", strategy="rest_for_one"))

        # the last one dies: nothing comes after it
        mark = rv.mark()
        os.kill(self.stamps("c")[1].pid, signal.SIGKILL)
        self._settle({"a": 1, "b": 2, "c": 3})
        self.assertEqual(rv.find("stop", since=mark), [])
        self.assertTrue(rvtest.alive(self.stamps("b")[1].pid))
        self._finish(rv, {"a": 0, "b": 1, "c": 2})


if __name__ == "__main__":
    rvtest.main()
