#!/usr/bin/env python3
"""Smoke runs of every ringvisor-bench command with tiny parameters.

Benchmarks are not tests: nothing here asserts a speed.  It asserts that
each command runs against the real binary, measures what it says it
measures (samples taken, exits counted exactly once, the raw ceiling
present) and writes well-formed JSON, so the tool users run cannot rot.
"""
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


def bench(*args, timeout=60):
    r = subprocess.run([BENCH, *args, "--json",
                        "--ringvisor", rvtest.RV_BIN],
                       capture_output=True, text=True, timeout=timeout,
                       env=rvtest.rv_env(drop=("RINGVISOR_BACKEND",)))
    if r.returncode != 0:
        raise AssertionError(f"ringvisor-bench {' '.join(args)}: "
                             f"rc={r.returncode}\n{r.stderr[-2000:]}")
    doc = json.loads(r.stdout)
    for key in ("bench", "command", "env", "params", "results"):
        if key not in doc:
            raise AssertionError(f"{args[0]}: no {key!r} in the JSON")
    return doc


def by_label(doc, prefix):
    rows = [r for r in doc["results"] if r["label"].startswith(prefix)]
    if not rows:
        raise AssertionError(f"no result labelled {prefix!r}: "
                             f"{[r['label'] for r in doc['results']]}")
    return rows[0]


class BenchSmoke(unittest.TestCase):
    def setUp(self):
        if not os.access(BENCH, os.X_OK):
            self.skipTest(f"{BENCH} not built")

    def test_timers(self):
        doc = bench("timers", "--count", "300")
        loop = by_label(doc, "ringvisor loop (io_uring)")
        self.assertEqual(loop["n"], 300)
        self.assertLessEqual(loop["min_us"], loop["p50_us"])
        self.assertLessEqual(loop["p50_us"], loop["max_us"])
        by_label(doc, "ringvisor precision")
        auto = by_label(doc, "ringvisor precision spin:auto (io_uring)")
        self.assertIn("spin_us_per_sample", auto)
        self.assertIn("spin_window_us", auto["loop_histogram"])
        for key in ("loadavg_before", "loadavg_after", "steal_pct",
                    "disturbed"):
            self.assertIn(key, doc["machine"])
        self.assertIn("trustworthy", loop)

    def test_timers_load_cyclictest(self):
        if not shutil.which("cyclictest"):
            self.skipTest("cyclictest (rt-tests) not installed")
        doc = bench("timers", "--count", "200", "--block", "100",
                    "--load", "1", "--cyclictest",
                    "--only", "loop (io_uring),cyclictest")
        self.assertEqual(doc["params"]["load"], 1)
        ct = by_label(doc, "cyclictest (rt-tests)")
        self.assertEqual(ct["n"], 200, "histogram parsed, every sample")
        self.assertLessEqual(ct["min_us"], ct["max_us"])
        self.assertEqual(by_label(doc, "ringvisor loop (io_uring)")["n"],
                         200)

    def test_restart(self):
        doc = bench("restart", "--samples", "3", "--uptime", "0.2s",
                    "--backend", "io_uring,epoll")
        for label in ("ringvisor (io_uring)", "ringvisor (epoll)",
                      "C loop (posix_spawn+epoll)",
                      "floor (waitid+vfork+execve)"):
            row = by_label(doc, label)
            self.assertEqual(row["n"], 3, label)
            self.assertGreater(row["p50_us"], 0, label)
        self.assertEqual(by_label(doc, "floor (waitid+vfork+execve)")
                         ["kind"], "floor")

    def test_flap(self):
        doc = bench("flap", "--duration", "1s")
        self.assertIn("ceiling", doc)
        row = by_label(doc, "ringvisor (io_uring)")
        self.assertGreater(row["starts"], 10)

    def test_scale(self):
        doc = bench("scale", "--counts", "20", "--idle", "1s")
        row = by_label(doc, "ringvisor (io_uring)")
        self.assertEqual(row["n"], 20)
        self.assertGreater(row["rss_kib"], 0)

    def test_storm(self):
        doc = bench("storm", "-n", "30")
        row = by_label(doc, "ringvisor (io_uring)")
        self.assertEqual(row["exits_once"], 30)
        self.assertEqual(row["exits_duplicate"], 0)
        self.assertEqual(row["exits_missing"], 0)


if __name__ == "__main__":
    rvtest.main()
