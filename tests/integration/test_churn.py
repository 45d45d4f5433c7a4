#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Churn: "an exit is never missed or counted twice, whatever the load".
Every run of the svc fixture leaves one stamp; every exit must give exactly
one `event=exit` line, one restart (or the final state) and the right
counts in the report."""

import collections
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import service  # noqa: E402

FAST = """
restart = on-failure
backoff = fixed
restart_delay = 0
backoff_jitter = 0
max_restarts = 10000
restart_window = 60s
"""


class Churn(rvtest.Case):

    def _check_runs(self, rv, name, tag, runs):
        """runs stamps, starts, exits of service name: all the same pids,
        each exactly once; the last exit 0, all others 1."""
        st = self.stamps(tag)
        starts = rv.find("start", service=name)
        exits = rv.find("exit", service=name)
        self.assertEqual(len(st), runs, f"{name}: stamps")
        self.assertEqual(len(starts), runs, f"{name}: start lines")
        self.assertEqual(len(exits), runs, f"{name}: exit lines")
        pids = [s.pid for s in st]
        self.assertEqual(len(set(pids)), runs, f"{name}: a pid ran twice?")
        self.assertEqual([e.int("pid") for e in starts], pids, name)
        self.assertEqual(sorted(e.int("pid") for e in exits), sorted(pids))
        codes = collections.Counter(e.get("code") for e in exits)
        self.assertEqual(codes, {"1": runs - 1, "0": 1}, f"{name}: codes")
        self.assertEqual(len(rv.find("restart_scheduled", service=name)),
                         runs - 1, name)

    def test_1000_rapid_exits_of_one_service(self):
        cnt = os.path.join(self.tmp, "count")
        cfg = self.config(
            "[service:churn]\n"
            f"command = {self.svc('seq', cnt, '0:1*999,0:0', tag='churn')}\n"
            + FAST)
        rv = self.start(cfg)
        self.assertEqual(rv.wait(60), 0)
        self._check_runs(rv, "churn", "churn", 1000)
        rep = self.report(rv)
        s = service(rep, "churn")
        self.assertEqual((s["state"], s["restarts"]), ("completed", 999))
        self.assertEqual(s["last_exit"], {"code": 0})

    def test_20_services_churning_together(self):
        body = ""
        for i in range(20):
            cnt = os.path.join(self.tmp, f"count{i}")
            body += (f"[service:c{i}]\n"
                     f"command = {self.svc('seq', cnt, '0:1*49,0:0', tag=i)}\n"
                     + FAST + "\n")
        rv = self.start(self.config(body))
        self.assertEqual(rv.wait(60), 0)
        rep = self.report(rv)
        for i in range(20):
            self._check_runs(rv, f"c{i}", str(i), 50)
            s = service(rep, f"c{i}")
            self.assertEqual((s["state"], s["restarts"]), ("completed", 49))
        self.assertEqual(len(rv.find("exit")), 1000)

    def test_200_services_exit_once(self):
        body = ""
        for i in range(200):
            body += (f"[service:s{i:03d}]\n"
                     f"command = {self.svc('exit', i % 2 * 3, tag=i)}\n"
                     "restart = never\n\n")
        rv = self.start(self.config(body))
        self.assertEqual(rv.wait(60), 1, "the odd ones failed")
        exits = rv.find("exit")
        self.assertEqual(len(exits), 200)
        per = collections.Counter(e["service"] for e in exits)
        self.assertEqual(set(per.values()), {1}, "an exit counted twice")
        self.assertEqual(len(per), 200)
        self.assertEqual(len(self.stamps()), 200)
        rep = self.report(rv)
        self.assertEqual(len(rep["services"]), 200)
        for i in range(200):
            s = service(rep, f"s{i:03d}")
            code = i % 2 * 3
            self.assertEqual(s["last_exit"], {"code": code})
            self.assertEqual(s["state"], "failed" if code else "completed")
            self.assertEqual(s["restarts"], 0)
            ev, = [e for e in exits if e["service"] == f"s{i:03d}"]
            self.assertEqual(ev.get("code"), str(code))

    def test_instances(self):
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("exit", 0, tag="%i")}
            instances = 50
            restart = never
            """)
        rv = self.start(cfg)
        self.assertEqual(rv.wait(30), 0)
        names = {f"web@{i}" for i in range(50)}
        self.assertEqual({e["service"] for e in rv.find("exit")}, names)
        self.assertEqual(len(rv.find("exit")), 50)
        self.assertEqual(sorted(s.tag for s in self.stamps()),
                         sorted(str(i) for i in range(50)), "%i expansion")
        rep = self.report(rv)
        self.assertEqual({s["name"] for s in rep["services"]}, names)
        for s in rep["services"]:
            self.assertEqual(s["state"], "completed")


if __name__ == "__main__":
    rvtest.main()
