#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ringvisor reexec` 50 times in a row under load (issue 17's test): 100
services (60 running, 10 in a 4 s backoff, 10 starting with readiness
pending, 10 oneshots completed, 10 flapping with restart_delay = 0) and 20
connected clients (followers and status pollers), on the backend of this
test run (RINGVISOR_BACKEND, as every integration test).

It runs `ringvisor-bench reexec --only stress` against the binary built
here, which checks afterwards: every running service kept its pid; every
process a flapping service started is reported by exactly one `exit`
event (an exit during a hand-over is neither lost nor doubled); the
supervisor holds no more descriptors than before the clients came; every
backoff started within the slack of its deadline, or of the end of the
hand-over its deadline fell in (a timer re-armed by the new image from
its own start would fire up to 4 s late; the slack is wide because on a
loaded machine the log's stamps are taken late, and the exact deadline is
test_handover's).  The timing part runs once with 200 services, for its "ms"."""

import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rvtest  # noqa: E402

BENCH = os.path.join(os.path.dirname(rvtest.RV_BIN), "bench",
                     "ringvisor-bench")


class ReexecStress(unittest.TestCase):
    def setUp(self):
        if not os.access(BENCH, os.X_OK):
            self.skipTest(f"{BENCH} not built")
        self.backend = os.environ.get("RINGVISOR_BACKEND", "io_uring")
        if self.backend == "auto":
            self.backend = ("io_uring" if rvtest.io_uring_available()
                            else "epoll")

    def bench(self, *args, timeout=300):
        r = subprocess.run(
            [BENCH, "reexec", "--json", "--ringvisor", rvtest.RV_BIN,
             "--backend", self.backend, *args],
            capture_output=True, text=True, timeout=rvtest.T(timeout),
            env=rvtest.rv_env())
        self.assertIn(r.returncode, (0, 1), r.stderr[-3000:])
        return json.loads(r.stdout), r

    def test_fifty_handovers_under_load(self):
        doc, r = self.bench("--only", "stress", "--rounds", "50",
                            "--clients", "20",
                            "--slack", str(rvtest.T(1.0)))
        [row] = doc["stress"]
        self.assertEqual(row["failures"], [], r.stderr[-3000:])
        self.assertEqual(r.returncode, 0)
        self.assertEqual(row["rounds"], 50)
        # the checks had something to check
        self.assertGreater(row["flap_runs"], 50)
        self.assertGreater(row["backoffs"], 0)
        self.assertIsNotNone(row["fds_after"])

    def test_handover_time_is_reported(self):
        doc, r = self.bench("--only", "time", "--counts", "200",
                            "--repeat", "3")
        self.assertEqual(r.returncode, 0, r.stderr[-3000:])
        [row] = doc["time"]
        self.assertEqual((row["services"], row["reexecs"]), (200, 3))
        self.assertIsNotNone(row["handover_ms_p50"],
                             "the reply carries no \"ms\"")
        self.assertGreater(row["handover_ms_p50"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
