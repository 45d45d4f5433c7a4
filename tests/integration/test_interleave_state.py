#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""State that must survive or be told truly (issue 12, cases 4, 8, 9): a
reload keeps a nested supervisor's `completed` and a remembered failure;
a second SIGTERM during shutdown is logged as `reason=second_signal`;
`runtime_s` and `startup_s` are the service's own, not its spawn batch's;
`start` of a failed service gives it fresh counters (`restarts` 0)."""

import os
import signal
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402


class NodeStateAcrossReload(rvtest.Case):
    """Case 4: a reload does not reset a supervisor node's state."""

    def noop_reload(self, rv):
        mark = rv.mark()
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r)
        self.assertRegex(r.stdout, r"^reload: 0 added, 0 removed, 0 "
                         r"restarted, \d+ unchanged\n$",
                         "the reload changed something")
        rv.wait_for("reload", since=mark)

    def test_completed_subtree_stays_completed(self):
        # gate keeps the run going until the test ends it (SIGTERM, a
        # clean exit: completed)
        cfg = self.config(f"""
            [supervisor:sub]
            [service:job]
            supervisor = sub
            type = oneshot
            command = {self.svc("exit", 0, tag="job")}
            [service:gate]
            command = {self.svc("pause", tag="gate")}
            restart = on-failure
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        gate, = self.wait_stamps(1, tag="gate")
        rv.wait_for("completed", supervisor="sub")
        self.assertEqual(self.status_of("sub")["state"], "completed")
        self.noop_reload(rv)
        self.assertEqual(self.status_of("sub")["state"], "completed",
                         "the reload reset a completed subtree")
        self.assertEqual(self.status_of("job")["state"], "completed")
        os.kill(gate.pid, signal.SIGTERM)
        try:
            rc = rv.wait(10)
        except AssertionError:
            rc = None	# killed by wait(); fail below, not in a handler
        self.assertEqual(rc, 0, "everything completed: the run must end "
                         "with exit 0")
        rep = self.report(rv)
        self.assertEqual(rvtest.subsupervisor(rep, "sub")["state"],
                         "completed")
        self.assertEqual(len(self.stamps("job")), 1, "job ran again")

    def test_failure_before_reload_is_remembered(self):
        cfg = self.config(f"""
            [service:bad]
            command = {self.svc("exit", 1, tag="bad")}
            restart = never
            critical = false
            [service:gate]
            command = {self.svc("pause", tag="gate")}
            restart = on-failure
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        gate, = self.wait_stamps(1, tag="gate")
        rv.wait_for("failed", service="bad")
        self.noop_reload(rv)
        self.assertEqual(self.status_of("bad")["state"], "failed")
        os.kill(gate.pid, signal.SIGTERM)
        try:
            rc = rv.wait(10)
        except AssertionError:
            rc = None
        self.assertEqual(rc, 1, "all ended and bad failed (before the "
                         "reload): exit 1")
        rep = self.report(rv)
        self.assertEqual(rvtest.service(rep, "bad")["state"], "failed")
        self.assertEqual(rvtest.service(rep, "gate")["state"], "completed")


class ShutdownTruth(rvtest.Case):
    """Case 8: kill reasons and runtimes say what happened."""

    def test_second_sigterm_kills_with_reason_second_signal(self):
        cfg = self.config(f"""
            [service:deaf]
            command = {self.svc("ignore", "TERM", "pause", tag="deaf")}
            stop_timeout = 60s
            """, shutdown_timeout="60s")
        rv = self.start(cfg)
        self.wait_control(rv)
        deaf, = self.wait_stamps(1, tag="deaf")
        rv.send_signal(signal.SIGTERM)
        rv.wait_for("stop", service="deaf")
        mark = rv.mark()
        rv.send_signal(signal.SIGTERM)
        self.assertEqual(rv.wait(10), 0, "a requested shutdown exits 0")
        kill, = rv.find("kill", service="deaf", since=mark)
        self.assertEqual(kill.get("pid"), str(deaf.pid), kill.raw)
        self.assertEqual(kill.get("reason"), "second_signal", kill.raw)
        self.assertEqual(rv.find("shutdown_timeout"), [])
        self.assertFalse(rvtest.alive(deaf.pid))
        self.assertEqual(rvtest.service(self.report(rv), "deaf")["state"],
                         "stopped")

    def test_runtime_and_startup_are_per_process(self):
        # one turn spawns the batch, then short (runs ~0.1 s) and rdy
        # (ready at once); their times must start at their own spawn
        n = 150
        body = "".join(f"""
            [service:p{i}]
            command = {self.svc("pause", stamp=False)}
            """ for i in range(n))
        cfg = self.config(body + f"""
            [service:short]
            command = {self.svc("ms", 100, "exit", 0, tag="short")}
            restart = never
            [service:rdy]
            command = sh -c "echo >&3; exec {self.svc('pause', tag='rdy')}"
            ready_fd = 3
            ready_timeout = 60s
            """)
        rv = self.start(cfg)
        first, = rv.wait_for("start", service="p0", timeout=20)
        start, = rv.wait_for("start", service="short", timeout=20)
        ex, = rv.wait_for("exit", service="short", timeout=20)
        rstart, = rv.wait_for("start", service="rdy", timeout=20)
        ready, = rv.wait_for("ready", service="rdy", timeout=20)
        # every start of the batch happens before short's (the setup)
        before = [e for e in rv.find("start") if e.index < start.index]
        self.assertEqual(len(before), n,
                         "setup: the batch did not start before short")
        batch = start.t - first.t
        run = ex.num("runtime_s")
        # measured by the supervisor: from its spawn to its reaped exit,
        # so no longer than between the two lines (plus rounding)
        own = ex.t - start.t
        self.assertLessEqual(run, own + 0.05,
                             f"runtime_s={run} of short, {own:.3f} s from "
                             f"its start line to its exit line (the batch "
                             f"before it took {batch:.3f} s)")
        self.assertLess(run, 1.0, f"runtime_s={run} for a ~0.1 s run")
        up = ready.num("startup_s")
        self.assertLessEqual(up, ready.t - rstart.t + 0.05,
                             f"startup_s={up} of rdy, "
                             f"{ready.t - rstart.t:.3f} s from its start "
                             "line to its ready line")
        self.assertEqual(rv.shutdown(timeout=30), 0)


class FreshCounters(rvtest.Case):
    """Case 9: `start` of a failed service resets `restarts`."""

    def test_start_of_failed_service_resets_restarts(self):
        seq = os.path.join(self.tmp, "seq")
        cfg = self.config(f"""
            [service:flaky]
            command = {self.svc("seq", seq, "0:1*3,pause", tag="flaky")}
            restart = on-failure
            backoff = fixed
            restart_delay = 10ms
            backoff_jitter = 0
            max_restarts = 2
            restart_window = 60s
            [service:keep]
            command = {self.svc("pause", tag="keep")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        rv.wait_for("failed", service="flaky", timeout=10)
        s = self.wait_state("flaky", "failed")
        self.assertEqual(s["restarts"], 2, s)
        mark = rv.mark()
        r = self.ctl("start", "flaky")
        self.assertEqual(r.returncode, 0, r)
        st, = rv.wait_for("start", service="flaky", since=mark)
        s = self.wait_state("flaky", "running")
        self.assertEqual(s["pid"], st.int("pid"), s)
        self.assertEqual(s["restarts"], 0,
                         f"`start` of a failed service: fresh counters {s}")
        self.assertEqual(st.get("restarts"), "0", st.raw)
        self.assertEqual(rv.shutdown(), 0)


if __name__ == "__main__":
    rvtest.main()
