#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Readiness interleaved with reload, and the supervisor's state following
its members (issue 12, cases 3 and 6): a no-op reload leaves a service
that is still getting ready alone (ready_fd pipe, ready_check runs,
ready_timeout timer); a non-critical service that fails its readiness for
good does not hold the top level back from `alive`; a subtree waiting on
`after` does (its members are `waiting`, with what they wait for)."""

import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import T, wait_until  # noqa: E402

# what a service can end in, or be in, once its readiness is decided
SETTLED = ("running", "completed", "failed", "backoff", "stopped")


class ReadyAcrossReload(rvtest.Case):
    """Case 3: a no-op reload while a service waits for readiness."""

    def until_flag(self, flag, then):
        """A shell command line: wait for the file flag, then `then`."""
        return (f'sh -c "while [ ! -e {flag} ]; do sleep 0.05; done; '
                f'{then}"')

    def noop_reload(self, rv):
        mark = rv.mark()
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r)
        self.assertRegex(r.stdout, r"^reload: 0 added, 0 removed, 0 "
                         r"restarted, \d+ unchanged\n$",
                         "the reload changed something")
        rv.wait_for("reload", since=mark)
        return mark

    def test_ready_fd_after_reload(self):
        flag = os.path.join(self.tmp, "flag")
        cfg = self.config(f"""
            [service:fd]
            command = {self.until_flag(flag, "echo >&3; exec " +
                                       self.svc("pause", tag="fd"))}
            ready_fd = 3
            ready_timeout = 60s
            [service:dep]
            command = {self.svc("pause", tag="dep")}
            after = fd
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        start, = rv.wait_for("start", service="fd")
        self.assertEqual(self.status_of("fd")["state"], "starting")
        self.noop_reload(rv)
        open(flag, "w").close()
        s = self.wait_state("fd", SETTLED)
        self.assertEqual((s["state"], s["pid"]),
                         ("running", start.int("pid")),
                         f"ready_fd service after a no-op reload: {s}")
        self.assertTrue(s["ready"])
        rv.wait_for("ready", service="fd")
        self.wait_stamps(1, tag="fd")
        self.wait_stamps(1, tag="dep")
        self.assertEqual(rv.shutdown(), 0)

    def test_ready_check_after_reload(self):
        flag = os.path.join(self.tmp, "flag")
        count = os.path.join(self.tmp, "probes")
        probe = f"sh -c 'echo x >> {count}; test -e {flag}'"
        cfg = self.config(f"""
            [service:rc]
            command = {self.svc("pause", tag="rc")}
            ready_check = {probe}
            ready_timeout = 60s
            [service:dep]
            command = {self.svc("pause", tag="dep")}
            after = rc
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        rc, = self.wait_stamps(1, tag="rc")
        wait_until(lambda: rvtest.slurp(count).count("x") >= 1, 10,
                   "a first ready_check run")
        self.noop_reload(rv)
        n = rvtest.slurp(count).count("x")
        # retried every 250 ms until ready: at least two more runs
        wait_until(lambda: rvtest.slurp(count).count("x") >= n + 2, 5,
                   f"ready_check run again after the reload (ran {n} "
                   "times before it)")
        open(flag, "w").close()
        s = self.wait_state("rc", SETTLED)
        self.assertEqual((s["state"], s["pid"]), ("running", rc.pid), s)
        self.wait_stamps(1, tag="dep")
        wait_until(lambda: self.sup_state() == "alive", 5, "alive")
        self.assertEqual(rv.shutdown(), 0)

    def test_ready_timeout_survives_reload(self):
        cfg = self.config(f"""
            [service:mute]
            command = sh -c "exec {self.svc('pause', tag='mute')}"
            ready_fd = 3
            ready_timeout = 3s
            restart = never
            [service:other]
            command = {self.svc("pause", tag="other")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        start, = rv.wait_for("start", service="mute")
        self.noop_reload(rv)
        self.assertEqual(rv.find("ready_timeout", service="mute"), [],
                         "setup: the reload came after ready_timeout (the "
                         "machine is too slow for this test)")
        to, = rv.wait_for("ready_timeout", service="mute", timeout=10)
        self.assertEqual(to.get("pid"), start.get("pid"), to.raw)
        self.assertBetween(to.t - start.t, 3 * 0.95, 3 + T(2.0),
                           "start -> ready_timeout (3 s) across a reload")
        s = self.wait_state("mute", SETTLED)
        self.assertEqual(s["state"], "failed", s)
        self.assertFalse(rvtest.alive(start.int("pid")))
        self.assertEqual(rv.shutdown(), 0)


class SupervisorFollowsMembers(rvtest.Case):
    """Case 6: `alive` once every member that must start is up."""

    def check(self, *names):
        return self.ctl("status", "--check", *names)

    def test_noncritical_readiness_failure_does_not_block_alive(self):
        cfg = self.config(f"""
            [service:ok]
            command = {self.svc("pause", tag="ok")}
            [service:late]
            command = sh -c "exec {self.svc('pause', tag='late')}"
            ready_fd = 3
            ready_timeout = 1s
            restart = never
            critical = false
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        rv.wait_for("ready_timeout", service="late")
        self.wait_state("late", "failed")
        try:
            wait_until(lambda: self.sup_state() != "starting", 5,
                       "the top level to leave `starting`")
        except AssertionError:
            pass	# asserted just below, with the state it is in
        self.assertEqual(self.sup_state(), "alive",
                         "late failed for good (non-critical): the top "
                         "level must be alive")
        r = self.check()
        self.assertEqual(r.returncode, 0, r)
        r = self.check("late")
        self.assertNotEqual(r.returncode, 0, r)
        self.assertIn("late", r.stderr)
        self.assertEqual(self.check("ok").returncode, 0)
        self.assertEqual(rv.shutdown(), 0)

    def test_subtree_after_oneshot_holds_alive_back(self):
        flag = os.path.join(self.tmp, "flag")
        cfg = self.config(f"""
            [service:migrate]
            type = oneshot
            command = sh -c "while [ ! -e {flag} ]; do sleep 0.05; done"
            [supervisor:pool]
            after = migrate
            [service:worker]
            supervisor = pool
            command = {self.svc("pause", tag="%i")}
            instances = 2
            [service:web]
            command = {self.svc("pause", tag="web")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        rv.wait_for("start", service="migrate")
        self.wait_stamps(1, tag="web")
        self.wait_state("web", "running")
        # migrate runs, the pool has not started: not alive
        self.assertEqual(self.sup_state(), "starting",
                         "alive while migrate runs and the pool waits")
        r = self.check()
        self.assertNotEqual(r.returncode, 0, r)
        r = self.ctl("status", "--json")
        self.assertEqual(r.returncode, 0, r)
        doc = json.loads(r.stdout)
        for name in ("worker@0", "worker@1"):
            s = next(x for x in doc["services"] if x["name"] == name)
            self.assertEqual(s["state"], "waiting", s)
            self.assertEqual(s.get("waiting_for"), ["migrate"], s)
            self.assertIsNone(s["pid"], s)
        self.assertEqual(self.stamps("0") + self.stamps("1"), [])
        # migrate completes: the pool starts, then the top level is alive
        open(flag, "w").close()
        rv.wait_for("completed", service="migrate")
        for i in (0, 1):
            self.wait_stamps(1, tag=str(i))
            self.wait_state(f"worker@{i}", "running")
        wait_until(lambda: self.sup_state() == "alive", 5, "alive")
        r = self.check()
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(rv.shutdown(), 0)


if __name__ == "__main__":
    rvtest.main()
