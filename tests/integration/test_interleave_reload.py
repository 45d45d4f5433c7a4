#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reload interleaved with other operations (issue 12, cases 1, 2, 5, 7):
a shutdown while a reload waits for a replaced service to stop, an admin
start/restart of a service the reload is replacing, a second reload while
one is being applied, reload during shutdown, and `instances` scaled down
and up.  Each test encodes what the contract requires after the fix; on
the one-flag-per-operation state machine they hang, leak or restart.

Replaced services ignore SIGTERM and have a long stop_timeout, and the
test itself ends them (SIGKILL to the recorded pid) at the moment the
interleaving needs, so no outcome depends on the machine's speed."""

import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import T, wait_until  # noqa: E402


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class ShutdownDuringReload(rvtest.Case):
    """Case 1: SIGTERM while a reload waits for a replaced service."""

    def test_shutdown_while_reload_waits_ends_in_time(self):
        # slow is replaced by the reload and ignores its stop signal;
        # other ignores it too (with a grandchild in its group), so only
        # shutdown_timeout ends it
        cfg = self.config(f"""
            [service:slow]
            command = {self.svc("ignore", "TERM", "pause", tag="slow1")}
            stop_timeout = 60s
            [service:other]
            command = {self.svc("ignore", "TERM", "spawn", "pause",
                                tag="other")}
            stop_timeout = 60s
            """, shutdown_timeout="1500ms")
        rv = self.start(cfg)
        self.wait_control(rv)
        slow1, = self.wait_stamps(1, tag="slow1")
        other, = self.wait_stamps(1, tag="other")
        gc, = self.wait_stamps(1, tag="other", kind="gc")
        self.config(f"""
            [service:slow]
            command = {self.svc("pause", tag="slow2")}
            stop_timeout = 60s
            [service:other]
            command = {self.svc("ignore", "TERM", "spawn", "pause",
                                tag="other")}
            stop_timeout = 60s
            """, shutdown_timeout="1500ms")
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r)
        rv.wait_for("stop", service="slow")
        mark = rv.mark()
        t_sig = time.monotonic()
        rv.send_signal(signal.SIGTERM)
        rv.wait_for("supervisor_state", to="shutting_down", since=mark)
        # the replaced service goes down now: the reload could complete,
        # but the shutdown must win
        kill(slow1.pid)
        try:
            rc = rv.wait(7.5)
        except AssertionError:
            rc = None	# killed by wait(); fail below, not in a handler
        self.assertIsNotNone(rc, "ringvisor still ran 7.5 s after SIGTERM "
                             "(shutdown_timeout = 1.5 s): the shutdown "
                             "was lost to the reload")
        took = time.monotonic() - t_sig
        self.assertLessEqual(took, 1.5 + T(1.0),
                             "exit later than shutdown_timeout + 1 s")
        self.assertEqual(rc, 0, "a requested shutdown exits 0")
        self.assertEqual(len(rv.find("start", service="slow")), 1,
                         "the replacement was spawned during shutdown")
        self.assertEqual(self.stamps("slow2"), [])
        for pid in (slow1.pid, other.pid, gc.pid):
            wait_until(lambda p=pid: not rvtest.alive(p), 2,
                       f"pid {pid} gone")
        self.wait_no_strays()

    def test_reload_waiting_on_last_service_spawns_nothing_after_end(self):
        cfg = self.config(f"""
            [service:slow]
            command = {self.svc("ignore", "TERM", "pause", tag="slow1")}
            stop_timeout = 60s
            """, shutdown_timeout="10s")
        rv = self.start(cfg)
        self.wait_control(rv)
        slow1, = self.wait_stamps(1, tag="slow1")
        self.config(f"""
            [service:slow]
            command = {self.svc("pause", tag="slow2")}
            stop_timeout = 60s
            """, shutdown_timeout="10s")
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r)
        rv.wait_for("stop", service="slow")
        mark = rv.mark()
        rv.send_signal(signal.SIGTERM)
        rv.wait_for("supervisor_state", to="shutting_down", since=mark)
        kill(slow1.pid)
        self.assertEqual(rv.wait(10), 0, "a requested shutdown exits 0")
        done, = rv.find("supervisor_state", to="completed")
        late = [e.raw for e in rv.find("start", since=done.index)]
        self.assertEqual(late, [], "spawned after the supervisor completed")
        self.assertEqual(len(rv.find("start", service="slow")), 1,
                         "the replacement was spawned during shutdown")
        self.wait_no_strays()
        self.assertEqual(self.stamps("slow2"), [])


class AdminDuringReload(rvtest.Case):
    """Case 2: start/restart of a service the reload is replacing, once
    its old process is down but the reload still waits for another."""

    def _run(self, verb):
        cfg = self.config(f"""
            [service:a]
            command = {self.svc("pause", tag="a1")}
            [service:b]
            command = {self.svc("ignore", "TERM", "pause", tag="b1")}
            stop_timeout = 60s
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        a1, = self.wait_stamps(1, tag="a1")
        b1, = self.wait_stamps(1, tag="b1")
        new = f"""
            [service:a]
            command = {self.svc("pause", tag="a2")}
            [service:b]
            command = {self.svc("pause", tag="b2")}
            stop_timeout = 60s
            """
        self.config(new)
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r)
        wait_until(lambda: not rvtest.alive(a1.pid), 10, "old a stopped")
        # b1 ignores SIGTERM: the reload is still being applied
        self.assertTrue(rvtest.alive(b1.pid))
        r = self.ctl(verb, "a")	# accepted or refused: either is fine
        kill(b1.pid)
        # the reload completes: both run their new command (a restarted
        # once more by the `restart`, if it came after its replacement)
        self.wait_stamps(1, tag="a2")
        if verb == "restart":
            # the admin restart came after the replacement: once more
            # (the first replacement may die before it writes its stamp)
            wait_until(lambda: len(rv.find("start", service="a")) >= 3,
                       10, "a restarted by the admin")
        last = int(rv.find("start", service="a")[-1].get("pid"))
        a2, = wait_until(lambda: [s for s in self.stamps("a2")
                                  if s.pid == last], 10,
                         "the last a started with the new command")
        b2, = self.wait_stamps(1, tag="b2")
        wait_until(lambda: (self.status_of("a") or {}).get("pid") == a2.pid
                   and (self.status_of("b") or {}).get("pid") == b2.pid, 10,
                   "a and b running their new commands")
        self.assertEqual(self.status_of("a")["state"], "running")
        for s in self.stamps("a1"):
            self.assertFalse(rvtest.alive(s.pid),
                             f"a's old command still runs (pid {s.pid})")
        # and reloading works again
        mark = rv.mark()
        self.config(new + f"""
            [service:c]
            command = {self.svc("pause", tag="c")}
            """)
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0,
                         f"a later reload was refused: {r.stderr.strip()}")
        self.wait_stamps(1, tag="c")
        self.assertEqual(rv.find("stop", service="a", since=mark), [],
                         "the last reload touched a")
        self.assertEqual(rv.shutdown(), 0)

    def test_start_during_reload(self):
        self._run("start")

    def test_restart_during_reload(self):
        self._run("restart")


class ReloadDuringReload(rvtest.Case):
    """Case 5: a reload requested while one is applied is queued (the
    latest file wins) and logged; reload during shutdown is refused."""

    def _run(self, second):
        body = f"""
            [service:keep]
            command = {self.svc("pause", tag="keep")}
            """
        cfg = self.config(body + f"""
            [service:a]
            command = {self.svc("ignore", "TERM", "pause", tag="a1")}
            stop_timeout = 60s
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        keep, = self.wait_stamps(1, tag="keep")
        a1, = self.wait_stamps(1, tag="a1")
        a2 = f"""
            [service:a]
            command = {self.svc("pause", tag="a2")}
            stop_timeout = 60s
            """
        self.config(body + a2)
        mark = rv.mark()
        rv.send_signal(signal.SIGHUP)
        rv.wait_for("reload", since=mark)
        rv.wait_for("stop", service="a", since=mark)
        # a1 ignores SIGTERM: the first reload is being applied
        self.config(body + a2 + f"""
            [service:b]
            command = {self.svc("pause", tag="b")}
            """)
        mark = rv.mark()
        if second == "sighup":
            rv.send_signal(signal.SIGHUP)
            rv.wait_for("signal", signal="SIGHUP", since=mark)
        else:
            self.ctl("reload")	# its reply is not the point here
        kill(a1.pid)
        self.wait_stamps(1, tag="a2")
        self.wait_stamps(1, tag="b", timeout=10)
        self.wait_state("b", "running")
        queued = re.compile(r"queue", re.I)
        wait_until(lambda: [e for e in rv.find(since=mark)
                            if queued.search(e.raw)], 5,
                   "a log line saying the second reload was queued")
        self.assertTrue(rvtest.alive(keep.pid))
        self.assertEqual(len(self.stamps("keep")), 1, "keep was restarted")
        self.assertEqual(rv.shutdown(), 0)

    def test_second_sighup_is_queued(self):
        self._run("sighup")

    def test_reload_command_during_reload_is_queued(self):
        self._run("command")

    def test_reload_during_shutdown_is_refused(self):
        cfg = self.config(f"""
            [service:a]
            command = {self.svc("ignore", "TERM", "pause", tag="a")}
            stop_timeout = 60s
            """, shutdown_timeout="60s")
        rv = self.start(cfg)
        self.wait_control(rv)
        a, = self.wait_stamps(1, tag="a")
        mark = rv.mark()
        rv.send_signal(signal.SIGTERM)
        rv.wait_for("supervisor_state", to="shutting_down", since=mark)
        r = self.ctl("reload")
        self.assertNotEqual(r.returncode, 0, r)
        self.assertRegex(r.stderr, r"(?i)shut", r)
        with self.connect() as c:
            rep = c.request({"cmd": "reload"})
        self.assertIs(rep.get("ok"), False, rep)
        self.assertRegex(rep.get("error", ""), r"(?i)shutting down", rep)
        self.assertEqual(rv.find("reload"), [])
        kill(a.pid)
        self.assertEqual(rv.wait(10), 0)
        self.assertEqual(self.stamps("a")[1:], [], "a restarted")


class ScaleInstances(rvtest.Case):
    """Case 7: `instances` down stops only the highest-numbered instances;
    up starts only the new ones; the others keep their process."""

    def _cfg(self, n):
        return self.config(f"""
            [service:web]
            command = {self.svc("pause", tag="%i")}
            instances = {n}
            """)

    def _pids(self):
        return {s["name"]: s["pid"] for s in self.ctl_status()["services"]
                if s["state"] == "running"}

    def test_scale_down_stops_only_the_top_instance(self):
        rv = self.start(self._cfg(3))
        self.wait_control(rv)
        st = {i: self.wait_stamps(1, tag=str(i))[0] for i in range(3)}
        wait_until(lambda: len(self._pids()) == 3, 10, "3 running")
        mark = rv.mark()
        self._cfg(2)
        with self.connect() as c:
            rep = c.request({"cmd": "reload"})
        self.assertIs(rep.get("ok"), True, rep)
        wait_until(lambda: not rvtest.alive(st[2].pid), 10, "web@2 stopped")
        wait_until(lambda: sorted(s["name"] for s in
                                  self.ctl_status()["services"])
                   == ["web@0", "web@1"], 10, "web@2 gone from status")
        # a restarted instance would be running again, with a new pid
        pids = wait_until(lambda: (lambda p: p if len(p) == 2 else None)(
            self._pids()), 10, "web@0 and web@1 running")
        self.assertEqual(pids, {"web@0": st[0].pid, "web@1": st[1].pid},
                         "the surviving instances were restarted")
        self.assertEqual([len(self.stamps(str(i))) for i in (0, 1)], [1, 1])
        self.assertEqual([e.raw for e in rv.find("stop", since=mark)
                          if e.get("service") != "web@2"], [])
        self.assertEqual(rep.get("restarted"), [], rep)
        self.assertEqual(rep.get("stopped"), ["web@2"], rep)
        self.assertEqual(rv.shutdown(), 0)

    def test_scale_up_starts_only_the_new_instance(self):
        rv = self.start(self._cfg(2))
        self.wait_control(rv)
        st = {i: self.wait_stamps(1, tag=str(i))[0] for i in range(2)}
        wait_until(lambda: len(self._pids()) == 2, 10, "2 running")
        mark = rv.mark()
        self._cfg(3)
        with self.connect() as c:
            rep = c.request({"cmd": "reload"})
        self.assertIs(rep.get("ok"), True, rep)
        new, = self.wait_stamps(1, tag="2")
        pids = wait_until(lambda: (lambda p: p if len(p) == 3 else None)(
            self._pids()), 10, "three instances running")
        self.assertEqual(pids, {"web@0": st[0].pid, "web@1": st[1].pid,
                                "web@2": new.pid},
                         "the existing instances were restarted")
        self.assertEqual([len(self.stamps(str(i))) for i in (0, 1)], [1, 1])
        self.assertEqual([e.raw for e in rv.find("stop", since=mark)], [])
        self.assertEqual(rep.get("restarted"), [], rep)
        self.assertEqual(rep.get("started"), ["web@2"], rep)
        self.assertEqual(rv.shutdown(), 0)


if __name__ == "__main__":
    rvtest.main()
