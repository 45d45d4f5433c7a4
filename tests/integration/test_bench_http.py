#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Smoke run of `ringvisor-bench http` (issue 16, item 4) with tiny
durations, against ringvisor with a held socket only.

Nothing here asserts a speed, nor a count of lost requests where a kill
can cost one: it asserts that the command runs gunicorn under the real
binary, drives wrk through every scenario (the kills, the rolling restart
and the reload all completed: the roll is waited for through the status
JSON) and writes the JSON the report is rendered from, so the tool cannot
rot; and that with the socket held a rolling restart and a reload refuse
no connection and answer only 2xx.  Skips, with the reason, without
gunicorn or wrk."""

import json
import os
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rvtest  # noqa: E402

BENCH = os.path.join(os.path.dirname(rvtest.RV_BIN), "bench",
                     "ringvisor-bench")
SCENARIOS = ["kill-one", "kill-all", "rolling", "reload"]


class BenchHttpSmoke(unittest.TestCase):
    def setUp(self):
        if not os.access(BENCH, os.X_OK):
            self.skipTest(f"{BENCH} not built")
        for prog in ("gunicorn", "wrk"):
            if not shutil.which(prog):
                self.skipTest(f"{prog} is not installed "
                              f"(apt-get install {prog})")

    def test_http_held_socket(self):
        r = subprocess.run(
            [BENCH, "http", "--json", "--ringvisor", rvtest.RV_BIN,
             "--supervisors", "ringvisor-held", "--duration", "0.4",
             "--kill-interval", "0.1", "--instances", "2",
             "--connections", "4", "--threads", "1"],
            capture_output=True, text=True, timeout=rvtest.T(120),
            env=rvtest.rv_env())
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        doc = json.loads(r.stdout)
        for key in ("bench", "command", "env", "params", "machine",
                    "results"):
            self.assertIn(key, doc)
        self.assertEqual(doc["command"], "http")
        self.assertIn("disturbed", doc["machine"])
        rows = doc["results"]
        self.assertEqual([x["scenario"] for x in rows], SCENARIOS)
        for x in rows:
            self.assertEqual(x["supervisor"], "ringvisor-held")
            for key in ("connect", "read", "timeout", "non2xx", "p50_us",
                        "p99_us", "series", "action_s"):
                self.assertIn(key, x, x["scenario"])
            self.assertGreater(x["requests"], 0, x["scenario"])
            self.assertTrue(x["series"], f"{x['scenario']}: no req/s series")
        # no timing in these: a held socket is never closed, so nothing
        # is refused while instances stop gracefully one at a time (the
        # kills may catch a connection a worker just accepted: not here)
        for x in rows:
            if x["scenario"] in ("rolling", "reload"):
                self.assertEqual((x["connect"], x["non2xx"]), (0, 0),
                                 f"{x['scenario']}: refused or non-2xx "
                                 f"with a held socket: {x['wrk_errors']}")
        # the table names every scenario (it goes to stderr with --json)
        for s in SCENARIOS:
            self.assertIn(s, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
