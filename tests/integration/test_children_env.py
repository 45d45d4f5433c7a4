#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What a service's process starts with: an empty signal mask, no ignored
signals, its own process group, only fds 0, 1, 2 -- even when ringvisor
itself was started with a dirty mask, ignored signals and an extra fd --
and what happens when it cannot be started at all (spawn_failed, counted
as a failed start, restarted with backoff)."""

import os
import signal
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import delays_ms, service  # noqa: E402

BLOCK = {signal.SIGALRM, signal.SIGURG}
IGNORE = (signal.SIGPIPE, signal.SIGTTOU, signal.SIGTTIN)


def dirty_parent():
    """preexec_fn: what a careless parent leaves to ringvisor."""
    signal.pthread_sigmask(signal.SIG_BLOCK, BLOCK)
    for s in IGNORE:
        signal.signal(s, signal.SIG_IGN)


def read_report(path):
    out = {}
    for ln in rvtest.slurp(path).splitlines():
        k, _, v = ln.partition(" ")
        if k == "fd":
            out.setdefault("fd", []).append(v)
        else:
            out[k] = v
    return out


class ChildrenEnv(rvtest.Case):

    def test_clean_child_environment(self):
        extra = os.open(os.path.join(self.tmp, "leak-me"),
                        os.O_WRONLY | os.O_CREAT)
        self.addCleanup(os.close, extra)

        # the fixture can see what we want ringvisor to clean up
        direct = os.path.join(self.tmp, "direct-report")
        subprocess.run(self.svc_argv("report", report_file=direct),
                       check=True, pass_fds=(extra,),
                       preexec_fn=dirty_parent, restore_signals=False)
        d = read_report(direct)
        self.assertNotEqual(int(d["SigBlk"], 16), 0)
        self.assertNotEqual(int(d["SigIgn"], 16), 0)
        self.assertIn(str(extra), d["fds"].split())

        rep = os.path.join(self.tmp, "child-report")
        cfg = self.config(f"""
            [service:env]
            command = {self.svc("report", "pause", report_file=rep,
                                tag="env")}
            """)
        rv = self.start(cfg, pass_fds=(extra,), preexec_fn=dirty_parent,
                        restore_signals=False)
        ev, = rv.wait_for("start", service="env")
        rvtest.wait_until(lambda: os.path.exists(rep), 10, "child report")
        r = read_report(rep)
        self.assertEqual(int(r["pid"]), ev.int("pid"))
        self.assertEqual(int(r["SigBlk"], 16), 0, "blocked signals")
        self.assertEqual(int(r["SigIgn"], 16), 0, "ignored signals")
        self.assertEqual(int(r["SigCgt"], 16), 0, "caught signals")
        self.assertEqual(r["pgid"], r["pid"], "not its own process group")
        self.assertEqual(r["fds"].split(), ["0", "1", "2"],
                         "leaked fds: " + "; ".join(r.get("fd", [])))
        self.assertEqual(rv.shutdown(), 0)

    def test_exec_failure_is_a_failed_start(self):
        missing = os.path.join(self.tmp, "no-such-program")
        cfg = self.config(f"""
            [service:ghost]
            command = {missing} --flag
            restart = on-failure
            backoff = exponential
            restart_delay = 100ms
            backoff_multiplier = 2
            backoff_jitter = 0
            max_restarts = 2
            restart_window = 60s

            [service:steady]
            command = {self.svc("pause", tag="steady")}
            """)
        rv = self.start(cfg)
        steady, = self.wait_stamps(1, tag="steady")
        rv.wait_for("failed", service="ghost")
        fails = rv.find("spawn_failed", service="ghost")
        self.assertEqual(len(fails), 3, "1 start + 2 restarts")
        for f in fails:
            self.assertTrue(f.get("step"), f"no step=: {f.raw}")
            self.assertIn(f.get("errno"), ("ENOENT", "2"), f.raw)
            self.assertTrue(f.get("error"), f.raw)
            self.assertEqual(f.get("level"), "error", f.raw)
        self.assertEqual(delays_ms(rv, "ghost"), [100, 200])
        # the supervisor itself is unharmed
        self.assertTrue(rv.running())
        self.assertTrue(rvtest.alive(steady.pid))
        self.assertEqual(rv.shutdown(), 0)
        rep = self.report(rv)
        g = service(rep, "ghost")
        self.assertEqual((g["state"], g["restarts"]), ("failed", 2))
        self.assertEqual(service(rep, "steady")["state"], "stopped")

    def test_orphans_of_services_are_reaped(self):
        # the service exits at once; its child lives on for 300 ms, then
        # must neither stay a zombie nor be left to our harness (which is a
        # subreaper too, and never reaps while a test runs)
        # kill_mode = process: with the default (group) ringvisor kills
        # what is left of the group when its leader exits, as systemd does
        cfg = self.config(f"""
            [service:parent]
            command = {self.svc("orphan", "0.3", "exit", 0, tag="parent")}
            restart = never
            kill_mode = process

            [service:steady]
            command = {self.svc("pause", tag="steady")}
            """)
        rv = self.start(cfg)
        gc, = self.wait_stamps(1, tag="parent", kind="gc")
        rv.wait_for("exit", service="parent")
        st = rvtest.proc_stat(gc.pid)
        if st is not None and st[0] not in "ZXx":
            self.assertEqual(st[1], rv.pid, "orphan not reparented to "
                             "ringvisor (PR_SET_CHILD_SUBREAPER)")
        rvtest.wait_until(lambda: rvtest.proc_stat(gc.pid) is None, 5,
                          f"orphan {gc.pid} reaped (state "
                          f"{(rvtest.proc_stat(gc.pid) or ['gone'])[0]})")
        self.assertTrue(rv.running())
        self.assertEqual(rv.shutdown(), 0)
        self.assertEqual(service(self.report(rv), "parent")["state"],
                         "completed")

    def test_children_inherit_stdout_and_stderr(self):
        # stdout = inherit (the default): the child writes where we read
        cfg = self.config(f"""
            [service:talk]
            command = /bin/sh -c "echo out-$$$$; echo err-$$$$ >&2"
            restart = never
            """)
        rv = self.start(cfg)
        self.assertEqual(rv.wait(10), 0)
        pid = rv.find("start", service="talk")[0]["pid"]
        self.assertIn(f"err-{pid}", rv.stderr_text())
        self.assertIn(f"out-{pid}", rvtest.slurp(rv.out_path))


if __name__ == "__main__":
    rvtest.main()
