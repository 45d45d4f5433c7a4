#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Restart policies and backoff of `ringvisor run` (CONTRACT.md, "Restart
policy" and "Backoff"): delays come from `restart_scheduled delay_ms=` and
are checked against the svc fixture's CLOCK_MONOTONIC stamps."""

import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import delays_ms, service  # noqa: E402


class Restart(rvtest.Case):

    def test_sigkill_restarted_after_fixed_delay(self):
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("pause", tag="web")}
            restart = always
            backoff = fixed
            restart_delay = 300ms
            backoff_jitter = 0
            """)
        rv = self.start(cfg)
        first, = rv.wait_for("start", service="web")
        pid = first.int("pid")
        self.assertEqual(first.int("restarts"), 0)
        s1, = self.wait_stamps(1, tag="web")
        self.assertEqual(s1.pid, pid, "start pid= is not the exec'd process")

        t_kill = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        s2 = self.wait_stamps(2, tag="web")[1]
        self.assertNotEqual(s2.pid, pid)
        self.assertBetween(s2.t - t_kill, 0.3 * 0.9, 0.3 + 1.0,
                           "kill -> new stamp with restart_delay=300ms")

        second = rv.wait_for("start", service="web", count=2)[1]
        ex, = rv.find("exit", service="web", pid=pid)
        self.assertEqual(ex.get("signal"), "SIGKILL", ex.raw)
        self.assertEqual(delays_ms(rv, "web"), [300])
        self.assertEqual(second.int("pid"), s2.pid)
        self.assertEqual(second.int("restarts"), 1)

        self.assertEqual(rv.shutdown(), 0)
        rep = self.report(rv)
        web = service(rep, "web")
        self.assertEqual(web["restarts"], 1)
        self.assertEqual(web["state"], "stopped")
        self.assertFalse(rvtest.alive(s2.pid))

    def test_exponential_delays_then_failed(self):
        cfg = self.config(f"""
            [service:flap]
            command = {self.svc("exit", 1, tag="flap")}
            restart = on-failure
            backoff = exponential
            restart_delay = 100ms
            backoff_multiplier = 2
            backoff_jitter = 0
            restart_delay_max = 10s
            max_restarts = 3
            restart_window = 60s
            """)
        rv = self.start(cfg)
        # the only service fails for good: the supervisor ends by itself
        self.assertEqual(rv.wait(15), 1)
        self.assertEqual(delays_ms(rv, "flap"), [100, 200, 400])
        st = self.stamps("flap")
        self.assertEqual(len(st), 4)
        for a, b, d in zip(st, st[1:], (0.1, 0.2, 0.4)):
            self.assertBetween(b.t - a.t, d * 0.9, d + 1.0,
                               f"gap before the restart after {d}s")
        exits = rv.find("exit", service="flap")
        self.assertEqual([e.get("code") for e in exits], ["1"] * 4)
        self.assertEqual(len(rv.find("failed", service="flap")), 1)
        rep = self.report(rv)
        flap = service(rep, "flap")
        self.assertEqual(flap["state"], "failed")
        self.assertEqual(flap["restarts"], 3)
        self.assertEqual(flap["last_exit"], {"code": 1})

    def test_linear_fibonacci_and_cap(self):
        common = """
            restart = always
            restart_delay = 100ms
            backoff_jitter = 0
            max_restarts = 4
            restart_window = 60s
            """
        cfg = self.config(f"""
            [service:lin]
            command = {self.svc("exit", 1, tag="lin")}
            backoff = linear
            {common}
            [service:fib]
            command = {self.svc("exit", 1, tag="fib")}
            backoff = fibonacci
            {common}
            [service:cap]
            command = {self.svc("exit", 1, tag="cap")}
            backoff = exponential
            backoff_multiplier = 2
            restart_delay_max = 300ms
            {common}
            """)
        rv = self.start(cfg)
        self.assertEqual(rv.wait(15), 1)
        self.assertEqual(delays_ms(rv, "lin"), [100, 200, 300, 400])
        self.assertEqual(delays_ms(rv, "fib"), [100, 100, 200, 300])
        self.assertEqual(delays_ms(rv, "cap"), [100, 200, 300, 300])
        rep = self.report(rv)
        for name in ("lin", "fib", "cap"):
            self.assertEqual(len(self.stamps(name)), 5, name)
            s = service(rep, name)
            self.assertEqual((s["state"], s["restarts"]), ("failed", 4), name)

    def test_restart_never(self):
        cfg = self.config(f"""
            [service:ok]
            command = {self.svc("exit", 0, tag="ok")}
            restart = never

            [service:bad]
            command = {self.svc("ms", 100, "exit", 1, tag="bad")}
            restart = never

            [service:sig]
            command = {self.svc("die", "USR1", tag="sig")}
            restart = never
            """)
        rv = self.start(cfg)
        self.assertEqual(rv.wait(10), 1, "a service failed: exit 1")
        self.assertEqual(rv.find("restart_scheduled"), [])
        self.assertEqual(len(rv.find("completed", service="ok")), 1)
        self.assertEqual(len(rv.find("failed", service="bad")), 1)
        self.assertEqual(len(rv.find("failed", service="sig")), 1)
        rep = self.report(rv)
        ok, bad, sig = (service(rep, n) for n in ("ok", "bad", "sig"))
        self.assertEqual((ok["state"], ok["restarts"], ok["last_exit"]),
                         ("completed", 0, {"code": 0}))
        self.assertEqual((bad["state"], bad["restarts"], bad["last_exit"]),
                         ("failed", 0, {"code": 1}))
        self.assertEqual((sig["state"], sig["restarts"]), ("failed", 0))
        self.assertEqual(sig["last_exit"],
                         {"signal": "SIGUSR1", "core_dumped": False})
        for n in ("ok", "bad", "sig"):
            self.assertEqual(len(self.stamps(n)), 1, n)

    def test_restart_never_all_completed_exits_0(self):
        cfg = self.config(f"""
            [service:one]
            command = {self.svc("exit", 0, tag="one")}
            restart = never
            [service:two]
            command = {self.svc("ms", 200, tag="two")}
            restart = never
            """)
        rv = self.start(cfg)
        self.assertEqual(rv.wait(10), 0)
        rep = self.report(rv)
        self.assertEqual(rep["supervisor"]["state"], "completed")
        for n in ("one", "two"):
            self.assertEqual(service(rep, n)["state"], "completed")

    def test_on_failure(self):
        cnt_b = os.path.join(self.tmp, "b.count")
        cnt_c = os.path.join(self.tmp, "c.count")
        cfg = self.config(f"""
            [service:a]
            command = {self.svc("exit", 0, tag="a")}
            restart = on-failure
            backoff = fixed
            restart_delay = 50ms
            backoff_jitter = 0

            [service:b]
            command = {self.svc("seq", cnt_b, "0:1,0:0", tag="b")}
            restart = on-failure
            backoff = fixed
            restart_delay = 50ms
            backoff_jitter = 0

            [service:c]
            command = {self.svc("seq", cnt_c, "die:USR1,0:0", tag="c")}
            restart = on-failure
            backoff = fixed
            restart_delay = 50ms
            backoff_jitter = 0
            """)
        rv = self.start(cfg)
        self.assertEqual(rv.wait(10), 0)
        self.assertEqual(len(self.stamps("a")), 1, "exit 0 was restarted")
        self.assertEqual(len(self.stamps("b")), 2, "exit 1 not restarted")
        self.assertEqual(len(self.stamps("c")), 2, "SIGUSR1 not restarted")
        rep = self.report(rv)
        for name, restarts in (("a", 0), ("b", 1), ("c", 1)):
            s = service(rep, name)
            self.assertEqual((s["state"], s["restarts"]),
                             ("completed", restarts), name)
            self.assertEqual(s["last_exit"], {"code": 0}, name)

    def test_on_failure_clean_stop_signal_is_not_a_failure(self):
        # death by TERM, INT, HUP or PIPE is a clean stop (systemd's rule)
        body = ""
        for sig in ("TERM", "INT", "HUP", "PIPE"):
            body += f"""
                [service:{sig.lower()}]
                command = {self.svc("die", sig, tag=sig)}
                restart = on-failure
                restart_delay = 50ms
                """
        rv = self.start(self.config(body))
        self.assertEqual(rv.wait(10), 0)
        self.assertEqual(rv.find("restart_scheduled"), [])
        rep = self.report(rv)
        for sig in ("TERM", "INT", "HUP", "PIPE"):
            self.assertEqual(len(self.stamps(sig)), 1, sig)
            s = service(rep, sig.lower())
            self.assertEqual((s["state"], s["restarts"]), ("completed", 0))
            self.assertEqual(s["last_exit"],
                             {"signal": "SIG" + sig, "core_dumped": False})

    def test_on_abnormal(self):
        cnt = os.path.join(self.tmp, "sig.count")
        cfg = self.config(f"""
            [service:code]
            command = {self.svc("exit", 1, tag="code")}
            restart = on-abnormal
            restart_delay = 50ms

            [service:sig]
            command = {self.svc("seq", cnt, "die:USR1,0:0", tag="sig")}
            restart = on-abnormal
            backoff = fixed
            restart_delay = 50ms
            backoff_jitter = 0
            """)
        rv = self.start(cfg)
        self.assertEqual(rv.wait(10), 1, "code failed for good")
        rep = self.report(rv)
        self.assertEqual(len(self.stamps("code")), 1)
        self.assertEqual(len(self.stamps("sig")), 2)
        self.assertEqual(service(rep, "code")["state"], "failed")
        self.assertEqual(service(rep, "code")["restarts"], 0)
        self.assertEqual(service(rep, "sig")["state"], "completed")
        self.assertEqual(service(rep, "sig")["restarts"], 1)

    def test_always_restarts_after_success(self):
        cnt = os.path.join(self.tmp, "count")
        cfg = self.config(f"""
            [service:again]
            command = {self.svc("seq", cnt, "0:0,0:0,pause", tag="again")}
            restart = always
            backoff = fixed
            restart_delay = 50ms
            backoff_jitter = 0
            """)
        rv = self.start(cfg)
        st = self.wait_stamps(3, tag="again")
        rv.wait_for("start", service="again", count=3)
        self.assertEqual(rv.shutdown(), 0)
        self.assertEqual(len(self.stamps("again")), 3)
        rep = self.report(rv)
        s = service(rep, "again")
        self.assertEqual((s["state"], s["restarts"]), ("stopped", 2))
        self.assertFalse(rvtest.alive(st[2].pid))

    def test_success_exit_status(self):
        cfg = self.config(f"""
            [service:three]
            command = {self.svc("exit", 3, tag="three")}
            restart = on-failure
            success_exit_status = 3 SIGUSR1
            restart_delay = 50ms

            [service:usr1]
            command = {self.svc("die", "USR1", tag="usr1")}
            restart = on-failure
            success_exit_status = 3 SIGUSR1
            restart_delay = 50ms

            [service:four]
            command = {self.svc("exit", 4, tag="four")}
            restart = on-failure
            success_exit_status = 3 SIGUSR1
            backoff = fixed
            restart_delay = 50ms
            backoff_jitter = 0
            max_restarts = 1
            restart_window = 60s
            """)
        rv = self.start(cfg)
        self.assertEqual(rv.wait(10), 1, "four failed for good")
        rep = self.report(rv)
        self.assertEqual(len(self.stamps("three")), 1)
        self.assertEqual(len(self.stamps("usr1")), 1)
        self.assertEqual(len(self.stamps("four")), 2)
        for name, state, restarts in (("three", "completed", 0),
                                      ("usr1", "completed", 0),
                                      ("four", "failed", 1)):
            s = service(rep, name)
            self.assertEqual((s["state"], s["restarts"]), (state, restarts),
                             name)
        self.assertEqual(service(rep, "three")["last_exit"], {"code": 3})

    def test_backoff_reset_after(self):
        # runs: fail at once, fail at once, run 600 ms then fail (longer than
        # backoff_reset_after: n starts again at 1), fail at once, succeed
        runs = "0:1,0:1,600:1,0:1,0:0"
        c1 = os.path.join(self.tmp, "reset.count")
        c2 = os.path.join(self.tmp, "noreset.count")
        common = """
            restart = on-failure
            backoff = exponential
            restart_delay = 100ms
            backoff_multiplier = 2
            backoff_jitter = 0
            restart_delay_max = 10s
            max_restarts = 100
            restart_window = 60s
            """
        cfg = self.config(f"""
            [service:reset]
            command = {self.svc("seq", c1, runs, tag="reset")}
            backoff_reset_after = 300ms
            {common}
            [service:noreset]
            command = {self.svc("seq", c2, runs, tag="noreset")}
            backoff_reset_after = 60s
            {common}
            """)
        rv = self.start(cfg)
        self.assertEqual(rv.wait(20), 0)
        self.assertEqual(delays_ms(rv, "reset"), [100, 200, 100, 200])
        self.assertEqual(delays_ms(rv, "noreset"), [100, 200, 400, 800])
        st = self.stamps("reset")
        self.assertEqual(len(st), 5)
        self.assertBetween(st[3].t - st[2].t, 0.6 + 0.1 * 0.9, 0.7 + 1.0,
                           "600 ms run + 100 ms delay")
        rep = self.report(rv)
        for name in ("reset", "noreset"):
            s = service(rep, name)
            self.assertEqual((s["state"], s["restarts"]), ("completed", 4))


if __name__ == "__main__":
    rvtest.main()
