#!/usr/bin/env python3
"""The supervisor's own timer-lateness histogram agrees with the benchmark.

`ringvisor_timer_lateness_seconds` is what an operator sees of timer
precision; `ringvisor-bench timers` is what the README quotes.  Both run at
once on the same machine (so the same load, whatever it is) and with the
same backend and timer_precision; their medians must agree within a
generous factor.  A histogram in the wrong unit, fed the wrong instant
(arming time instead of deadline) or bucketed off by a power of 1024 is
off by orders of magnitude; load, which both see alike, is not.

Timers in the supervisor: a health check every 20 ms (the interval timer
fires, then the probe is spawned), a few seconds at most; the bench's
deadlines come at the same period, so that both wake alike (a loop woken
every millisecond and one woken every 20 ms are not treated alike by a
loaded scheduler, and spin:auto learns from what it sees).
"""
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import rvtest  # noqa: E402
from rvtest import wait_until  # noqa: E402
from test_control import parse_prometheus, values  # noqa: E402

BENCH = os.path.join(os.path.dirname(rvtest.RV_BIN), "bench",
                     "ringvisor-bench")
FAM = "ringvisor_timer_lateness_seconds"
FACTOR = 8          # generous: the machine is shared and noisy
MIN_FIRED = 40


def histogram(samples):
    """{le: cumulative count} and the count of the lateness histogram."""
    buckets = {float(lb["le"]): v for n, lb, v in samples
               if n == FAM + "_bucket"}
    count, = values(samples, FAM + "_count")
    return buckets, count


def histogram_median(before, after):
    """(lower, upper) bound in seconds of the bucket holding the median of
    the timers fired between two snapshots (histogram() of each)."""
    (b0, c0), (b1, c1) = before, after
    count = c1 - c0
    lower = 0.0
    for le in sorted(b1):
        if b1[le] - b0.get(le, 0) >= count / 2:
            return lower, le
        lower = le
    raise AssertionError("no bucket holds the median")


class TimerLatenessAgrees(rvtest.Case):
    def setUp(self):
        super().setUp()
        if not os.access(BENCH, os.X_OK):
            self.skipTest(f"{BENCH} not built")

    def metrics(self):
        r = self.ctl("metrics")
        self.assertEqual(r.returncode, 0, r.stderr)
        return parse_prometheus(self, r.stdout)[1]

    def start_probed(self, precision):
        """A supervisor whose timers fire every 20 ms (a health check)."""
        cfg = self.config(f"""
            [service:probed]
            command = {self.svc("pause", tag="probed")}
            health_check = /bin/true
            health_interval = 20ms
            """, timer_precision=precision)
        rv = self.start(cfg)
        self.wait_control(rv)
        return rv

    def agree(self, precision, row):
        rv = self.start_probed(precision)
        backend = os.environ.get("RINGVISOR_BACKEND", "io_uring")
        if backend not in ("io_uring", "epoll"):
            backend = "io_uring"
        spin = precision.split(":", 1)[1] if ":" in precision else "50us"
        # the supervisor's median is taken over the timers that fire
        # while the bench runs: spin:auto learns its window from its first
        # wake-ups, and on a loaded machine those would weigh on a median
        # over everything since the start
        def fired(n):
            return lambda: histogram(self.metrics())[1] >= n
        wait_until(fired(MIN_FIRED), rvtest.T(20),
                   f"{MIN_FIRED} timers fired")
        before = histogram(self.metrics())
        bench = subprocess.run(
            [BENCH, "timers", "--period", "20ms", "--count", "100",
             "--block", "100",
             "--spin", spin, "--only", f"{row} ({backend})", "--json"],
            capture_output=True, text=True, timeout=120,
            env=rvtest.rv_env(drop=("RINGVISOR_BACKEND",)))
        self.assertEqual(bench.returncode, 0, bench.stderr[-2000:])
        res, = json.loads(bench.stdout)["results"]
        p50 = res["p50_us"] / 1e6
        wait_until(fired(before[1] + MIN_FIRED), rvtest.T(20),
                   f"{MIN_FIRED} more timers fired")
        lo, hi = histogram_median(before, histogram(self.metrics()))
        # the bench's median (1 us resolution under 1 us: treat as 1 us)
        # lies within FACTOR of the supervisor's median bucket
        p50 = max(p50, 1e-6)
        self.assertLessEqual(p50, hi * FACTOR,
                             f"{precision}: bench p50 {p50 * 1e6:.1f} us, "
                             f"supervisor median in ({lo * 1e6:.1f}, "
                             f"{hi * 1e6:.1f}] us")
        self.assertGreaterEqual(p50 * FACTOR, lo,
                                f"{precision}: bench p50 {p50 * 1e6:.1f} us, "
                                f"supervisor median in ({lo * 1e6:.1f}, "
                                f"{hi * 1e6:.1f}] us")
        rv.shutdown()

    def test_normal(self):
        self.agree("normal", "ringvisor loop")

    def test_spin_auto(self):
        """spin:auto in the supervisor's own histogram: a good share of its
        timers on time to the microsecond, where `normal` has none (the
        kernel wakes a loop tens of microseconds late).  Not a comparison
        of medians with the bench: each loop learns its own window, and
        on a loaded machine whether the window covers most wake-ups is a
        coin toss per process (medians of 1 us and 300 us in the same
        run), which says nothing of the histogram.  The cap is far above
        a loaded machine's usual lateness so that the window can cover
        it."""
        rv = self.start_probed("spin:auto:2ms")
        wait_until(lambda: histogram(self.metrics())[1] >= 4 * MIN_FIRED,
                   rvtest.T(30), f"{4 * MIN_FIRED} timers fired")
        buckets, count = histogram(self.metrics())
        on_time = buckets[min(le for le in buckets if le >= 8e-6)]
        self.assertGreaterEqual(on_time, count / 5,
                                f"spin:auto: {on_time} of {count} timers "
                                f"within 8 us: {sorted(buckets.items())}")
        rv.shutdown()

if __name__ == "__main__":
    unittest.main()
