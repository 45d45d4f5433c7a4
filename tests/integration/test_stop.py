#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Graceful stop: SIGTERM/SIGINT to `ringvisor run` stops the services in
reverse start order with their stop_signal sent to the process group,
SIGKILL after stop_timeout, and exits 0 with every service `stopped`."""

import os
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import service  # noqa: E402


class Stop(rvtest.Case):

    def test_ignoring_term_is_killed_after_stop_timeout(self):
        cfg = self.config(f"""
            [service:stubborn]
            command = {self.svc("ignore", "TERM", "pause", tag="stubborn")}
            restart = always
            stop_timeout = 300ms
            """)
        rv = self.start(cfg)
        ev, = rv.wait_for("start", service="stubborn")
        pid = ev.int("pid")
        self.wait_stamps(1, tag="stubborn")
        t0 = time.monotonic()
        self.assertEqual(rv.shutdown(signal.SIGTERM), 0)
        took = time.monotonic() - t0

        stop, = rv.find("stop", service="stubborn")
        self.assertEqual((stop.get("signal"), stop.get("pid")),
                         ("SIGTERM", str(pid)), stop.raw)
        kill, = rv.find("kill", service="stubborn")
        self.assertEqual(kill.get("signal"), "SIGKILL", kill.raw)
        self.assertEqual(kill.get("pid"), str(pid), kill.raw)
        self.assertEqual(kill.get("reason"), "stop_timeout", kill.raw)
        self.assertLess(stop.index, kill.index)
        self.assertBetween(kill.t - stop.t, 0.3 * 0.9, 0.3 + 1.0,
                           "stop -> kill (log ts) with stop_timeout=300ms")
        self.assertGreaterEqual(took, 0.27)
        self.assertFalse(rvtest.alive(pid))
        self.assertEqual(rv.find("restart_scheduled"), [],
                         "a stopped service was restarted")
        rep = self.report(rv)
        s = service(rep, "stubborn")
        self.assertEqual(s["state"], "stopped")
        self.assertEqual(s["last_exit"],
                         {"signal": "SIGKILL", "core_dumped": False})

    def test_shutdown_in_reverse_start_order(self):
        names = ("d", "b", "a", "c")
        body = ""
        for n in names:
            body += f"""
                [service:{n}]
                command = {self.svc("pause", tag=n)}
                restart = always
                """
        rv = self.start(self.config(body))
        for n in names:
            self.wait_stamps(1, tag=n)
        started = [e["service"] for e in rv.wait_for("start", count=4)]
        pids = {n: self.stamps(n)[0].pid for n in names}
        self.assertEqual(rv.shutdown(signal.SIGTERM), 0)
        stops = rv.find("stop")
        self.assertEqual([e["service"] for e in stops],
                         list(reversed(started)), "stop order")
        for e in stops:
            self.assertEqual(e.get("signal"), "SIGTERM", e.raw)
            self.assertEqual(e.get("pid"), str(pids[e["service"]]), e.raw)
        self.assertTrue(rv.find("signal", signal="SIGTERM"))
        rep = self.report(rv)
        self.assertEqual(rep["supervisor"]["state"], "completed")
        self.assertEqual(rep["supervisor"]["exit_code"], 0)
        for n in names:
            self.assertEqual(service(rep, n)["state"], "stopped", n)
            self.assertFalse(rvtest.alive(pids[n]), n)

    def test_sigint_is_a_graceful_shutdown_too(self):
        cfg = self.config(f"""
            [service:one]
            command = {self.svc("pause", tag="one")}
            """)
        rv = self.start(cfg)
        one, = self.wait_stamps(1, tag="one")
        rv.wait_for("start", service="one")
        self.assertEqual(rv.shutdown(signal.SIGINT), 0)
        self.assertTrue(rv.find("stop", service="one"))
        self.assertFalse(rvtest.alive(one.pid))
        self.assertEqual(service(self.report(rv), "one")["state"], "stopped")

    def test_stop_signal(self):
        cfg = self.config(f"""
            [service:usr1]
            command = {self.svc("pause", tag="usr1")}
            stop_signal = SIGUSR1
            stop_timeout = 5s
            """)
        rv = self.start(cfg)
        rv.wait_for("start", service="usr1")
        self.wait_stamps(1, tag="usr1")
        t0 = time.monotonic()
        self.assertEqual(rv.shutdown(signal.SIGTERM), 0)
        self.assertLess(time.monotonic() - t0, 4, "waited for stop_timeout")
        stop, = rv.find("stop", service="usr1")
        self.assertEqual(stop.get("signal"), "SIGUSR1", stop.raw)
        self.assertEqual(rv.find("kill"), [])
        s = service(self.report(rv), "usr1")
        self.assertEqual(s["last_exit"],
                         {"signal": "SIGUSR1", "core_dumped": False})

    def test_process_group_is_stopped(self):
        # tree: TERM (default action) reaches the grandchild only through
        # the group; deaf: both ignore TERM, so the group's SIGKILL ends them
        cfg = self.config(f"""
            [service:tree]
            command = {self.svc("spawn", "pause", tag="tree")}
            kill_mode = group
            stop_timeout = 5s

            [service:deaf]
            command = {self.svc("ignore", "TERM", "spawn", "pause",
                                tag="deaf")}
            kill_mode = group
            stop_timeout = 300ms
            """)
        rv = self.start(cfg)
        gcs = {}
        for tag in ("tree", "deaf"):
            main, = self.wait_stamps(1, tag=tag)
            gc, = self.wait_stamps(1, tag=tag, kind="gc")
            self.assertEqual(gc.ppid, main.pid)
            st = rvtest.proc_stat(gc.pid)
            self.assertEqual(st[2], main.pid, "grandchild not in the group")
            self.assertTrue(rvtest.alive(gc.pid))
            gcs[tag] = gc.pid
        t0 = time.monotonic()
        self.assertEqual(rv.shutdown(signal.SIGTERM), 0)
        self.assertLess(time.monotonic() - t0, 4, "tree waited for timeout")
        self.assertTrue(rv.find("kill", service="deaf"))
        self.assertEqual(rv.find("kill", service="tree"), [])
        for tag, pid in gcs.items():
            rvtest.wait_until(lambda p=pid: not rvtest.alive(p), 2,
                              f"grandchild of {tag} gone")
        rep = self.report(rv)
        for tag in ("tree", "deaf"):
            self.assertEqual(service(rep, tag)["state"], "stopped")


if __name__ == "__main__":
    rvtest.main()
