#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Status shows the truth at a glance (issue 15): the table is the tree
(nested supervisors as rows above their members, indented), with a
REASON column (why failed, when it restarts) and the notify STATUS= text;
JSON seconds are plain numbers with millisecond precision; a service in
backoff counts the restart it waits for in the table, the JSON and the
log line alike."""

import json
import os
import re
import shlex
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402

SDNOTIFY = rvtest.fixture("sdnotify")
HAVE_SDNOTIFY = os.access(SDNOTIFY, os.X_OK)


class StatusTable(rvtest.Case):

    def test_tree_reason_status_counts(self):
        notify = ""
        if HAVE_SDNOTIFY:
            notify = f"""
            [service:db]
            type = notify
            command = {shlex.join([SDNOTIFY, "--status", "accepting"])}
            """
        cfg = self.config(notify + f"""
            [supervisor:pool]
            strategy = one_for_all
            [supervisor:inner]
            supervisor = pool
            [service:web]
            supervisor = pool
            command = {self.svc("pause")}
            [service:flaky]
            supervisor = inner
            command = {self.svc("exit", 1)}
            restart_delay = 30s
            backoff_jitter = 0
            [service:bad]
            command = {self.svc("exit", 1)}
            restart_delay = 0
            max_restarts = 1
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        ev, = rv.wait_for("restart_scheduled", service="flaky")
        self.wait_state("bad", "failed")
        if HAVE_SDNOTIFY:
            self.wait_state("db", "running")
        r = self.ctl("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = {ln.split()[0]: ln for ln in r.stdout.splitlines()[2:]}
        lines = r.stdout.splitlines()
        self.assertRegex(lines[1], r"^NAME +STATE +PID +RESTARTS +UPTIME "
                         r"+LAST EXIT +REASON +STATUS$")
        order = [ln.strip().split()[0] for ln in lines[2:]]
        # each supervisor is a row above its members, indented by depth
        self.assertLess(order.index("pool"), order.index("web"))
        self.assertLess(order.index("inner"), order.index("flaky"))
        self.assertTrue(rows["pool"].startswith("pool "), r.stdout)
        self.assertTrue(re.search(r"^  web ", r.stdout, re.M), r.stdout)
        self.assertTrue(re.search(r"^    flaky ", r.stdout, re.M),
                        r.stdout)
        self.assertRegex(rows["bad"], r"\bfailed\b.*\bmax_restarts$")
        self.assertRegex(rows["flaky"], r"\bbackoff\b.*restart in "
                         r"(\d+m\d\ds|[0-9.]+s)$")
        if HAVE_SDNOTIFY:
            self.assertRegex(rows["db"], r"\brunning\b.* accepting$")
        # one restart scheduled: log, table and JSON say the same
        n = ev.int("restarts")
        self.assertEqual(n, 1)
        self.assertEqual(int(rows["flaky"].split()[3]), n, r.stdout)
        self.assertEqual(self.status_of("flaky")["restarts"], n)

    def test_json_numbers_are_plain(self):
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("pause")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        self.wait_state("web", "running")
        for raw in (self.ctl("status", "--json").stdout,
                    json.dumps(self.ctl_status())):
            secs = re.findall(r'"uptime_s": ([0-9.e+-]+)', raw)
            self.assertTrue(secs, raw)
            for v in secs:
                self.assertRegex(v, r"^\d+(\.\d{1,3})?$", raw)


if __name__ == "__main__":
    rvtest.main()
