#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Commands that wait (issue 15): `start|stop|restart NAME... --wait
[--timeout D]` return once every service reached its target state (or
failed, or the timeout passed), one line per service, exit 0 only if all
reached it; `shutdown --wait` returns once the supervisor is gone, with
its exit status; without --wait the commands say what they asked."""

import os
import re
import shlex
import sys
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import wait_until  # noqa: E402

SDNOTIFY = rvtest.fixture("sdnotify")
HAVE_SDNOTIFY = os.access(SDNOTIFY, os.X_OK)
needs_sdnotify = unittest.skipUnless(
    HAVE_SDNOTIFY, f"fixture {SDNOTIFY} was not built (libsystemd-dev)")


class Wait(rvtest.Case):

    def sdnotify(self, *args):
        return " ".join(shlex.quote(a) for a in (SDNOTIFY, *map(str, args)))

    def test_stop_wait_stubborn(self):
        """A service that ignores SIGTERM: stop --wait returns after the
        stop_timeout's SIGKILL, and says so; status agrees at once."""
        cfg = self.config(f"""
            [service:stubborn]
            command = {self.svc("ignore-term", "pause", tag="stubborn")}
            stop_timeout = 1s
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        # its stamp: SIGTERM is ignored by then
        self.wait_stamps(1, tag="stubborn")
        r = self.ctl("stop", "stubborn", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^stubborn: stopped \(SIGKILL, in ")
        # the SIGKILL of the stop_timeout came before the answer
        self.assertTrue(rv.find("kill", service="stubborn",
                                reason="stop_timeout"), rv.tail())
        self.assertEqual(self.status_of("stubborn")["state"], "stopped")
        # already down: answered at once, still 0
        r = self.ctl("stop", "stubborn", "--wait")
        self.assertEqual((r.returncode, r.stdout.split(" (")[0]),
                         (0, "stubborn: stopped"), r.stderr)

    @needs_sdnotify
    def test_start_wait_notify_ready(self):
        """start --wait of a notify service answers when READY=1 came."""
        cfg = self.config(f"""
            [service:db]
            type = notify
            command = {self.sdnotify("--delay-ms", 300)}
            ready_timeout = 20s
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        self.wait_state("db", "running")
        r = self.ctl("stop", "db")
        self.assertEqual((r.returncode, r.stdout), (0, "db: stopping\n"))
        self.wait_state("db", "stopped")
        r = self.ctl("start", "db", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.match(r"db: running \(pid (\d+), ready in ([0-9.]+)s\)$",
                     r.stdout.strip())
        self.assertTrue(m, r.stdout)
        st = self.status_of("db")
        self.assertEqual((st["state"], st["ready"], st["pid"]),
                         ("running", True, int(m.group(1))))
        self.assertGreaterEqual(float(m.group(2)), 0.3)

    @needs_sdnotify
    def test_restart_wait_failed_readiness(self):
        """A readiness that never comes: restart --wait says failed
        (ready_timeout) and exits 1; the other service is fine."""
        cfg = self.config(f"""
            [service:mute]
            type = notify
            command = {self.sdnotify("--no-ready")}
            ready_timeout = 400ms
            restart_delay = 30s
            [service:web]
            command = {self.svc("pause")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        self.wait_state("web", "running")
        self.wait_state("mute", ("starting", "backoff"))
        r = self.ctl("restart", "mute", "web", "--wait")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        lines = dict(ln.split(": ", 1) for ln in r.stdout.splitlines())
        self.assertRegex(lines["mute"], r"^failed \(ready_timeout")
        self.assertRegex(lines["web"], r"^running \(pid \d+\)$")

    def test_timeout(self):
        """--timeout: the answer comes at the deadline, naming what is
        not there yet; exit 1."""
        cfg = self.config(f"""
            [service:stubborn]
            command = {self.svc("ignore-term", "pause", tag="stubborn")}
            stop_timeout = 60s
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        # its stamp: SIGTERM is ignored by then
        self.wait_stamps(1, tag="stubborn")
        r = self.ctl("stop", "stubborn", "--wait", "--timeout", "300ms")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stdout, r"^stubborn: timeout \(still stopping "
                         r"after [0-9.]+s\)$")
        self.assertEqual(self.status_of("stubborn")["state"], "stopping")
        r = self.ctl("stop", "stubborn", "--timeout", "1s")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--timeout goes with --wait", r.stderr)
        self.assertEqual(self.ctl("kill", "stubborn", "KILL").returncode, 0)

    def test_waiter_dropped_when_client_leaves(self):
        """A client that hangs up while its request waits is forgotten:
        the connection is gone at once, not when the wait would end."""
        cfg = self.config(f"""
            [service:stubborn]
            command = {self.svc("ignore-term", "pause", tag="stubborn")}
            stop_timeout = 60s
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        # its stamp: SIGTERM is ignored by then
        self.wait_stamps(1, tag="stubborn")

        def connections():
            m = re.search(r"^ringvisor_control_connections (\d+)$",
                          self.ctl("metrics").stdout, re.M)
            return int(m.group(1))
        base = connections()	# the metrics client counts itself
        c = self.connect()
        c.send({"cmd": "stop", "services": ["stubborn"], "wait": True})
        wait_until(lambda: connections() == base + 1, 10,
                   "the waiter connected")
        # held: no reply while the service is stopping (60 s)
        self.assertEqual(self.status_of("stubborn")["state"], "stopping")
        self.assertRaises(OSError, c.line, 0.2)
        c.close()
        wait_until(lambda: connections() == base, 10, "the waiter dropped")
        self.assertTrue(rv.running())
        self.assertEqual(self.status_of("stubborn")["state"], "stopping")
        self.assertEqual(self.ctl("kill", "stubborn", "KILL").returncode, 0)

    def test_shutdown_wait(self):
        """shutdown --wait returns once the supervisor is done (its report
        written) with its exit status."""
        cfg = self.config(f"""
            [service:stubborn]
            command = {self.svc("ignore-term", "pause", tag="stubborn")}
            stop_timeout = 500ms
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        # its stamp: SIGTERM is ignored by then
        self.wait_stamps(1, tag="stubborn")
        r = self.ctl("shutdown", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "supervisor: completed (exit 0)\n")
        self.assertTrue(os.path.exists(self.report_path))
        self.assertEqual(rv.wait(), 0)

    def test_supervisor_subtree(self):
        """A supervisor's name: every service of its subtree, one line
        each; stopped newest first, as a shutdown does."""
        cfg = self.config(f"""
            [supervisor:pool]
            [service:web]
            supervisor = pool
            instances = 2
            command = {self.svc("pause", tag="%i")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        self.wait_stamps(1, tag="0")
        self.wait_stamps(1, tag="1")
        mark = rv.mark()
        r = self.ctl("stop", "pool", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(ln.split(" (")[0] for ln in
                                r.stdout.splitlines()),
                         ["web@0: stopped", "web@1: stopped"], r.stdout)
        # the reply can come back before the log's reader has the lines
        self.assertEqual([e["service"] for e in
                          rv.wait_for("stop", count=2, since=mark)],
                         ["web@1", "web@0"])
        r = self.ctl("start", "pool", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^web@0: running \(pid \d+\)\n"
                         r"web@1: running \(pid \d+\)\n$")

    def test_usage(self):
        for args in (("reload", "--wait"), ("status", "--wait"),
                     ("stop", "x", "--wait", "--timeout", "-1s"),
                     ("stop", "x", "--wait", "--timeout")):
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))


if __name__ == "__main__":
    rvtest.main()
