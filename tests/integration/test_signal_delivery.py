#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Signals reach exactly who they should, once (issue 13, items 6 and 8).

`ringvisor kill` and the stop path deliver per kill_mode: `process` the
main process, `group` its process group, `cgroup` every process of the
service's cgroup, each exactly once (the fixture sigcount logs every
delivery of a queued real-time signal, so a second copy cannot merge into
the first).  A forced shutdown (shutdown_timeout, or a second SIGTERM)
honours kill_mode too: under `process` it SIGKILLs the main process and
leaves the rest of its group alone.
"""

import collections
import os
import signal
import time

import rvtest
from rvtest import T, wait_until

SIGCOUNT = rvtest.fixture("sigcount")
COUNT = signal.SIGRTMIN + 2
BARRIER = signal.SIGRTMIN + 3


def proc_cgroup(pid):
    for ln in rvtest.slurp(f"/proc/{pid}/cgroup").splitlines():
        if ln.startswith("0::"):
            return ln[3:]
    return None


def cgroup_usable():
    """None when kill_mode = cgroup can work here, else why not."""
    if os.geteuid() != 0:
        return "needs root"
    for ln in rvtest.slurp("/proc/self/mountinfo").splitlines():
        pre, _, post = ln.partition(" - ")
        if post.startswith("cgroup2 ") and pre.split()[3] == "/":
            mnt = pre.split()[4]
            own = os.path.join(mnt, (proc_cgroup("self") or "/").lstrip("/"))
            if os.access(own, os.W_OK):
                return None
            return f"{own} is not writable"
    return "no cgroup2 mount"


class SignalDelivery(rvtest.Case):

    # ------------------------------------------------------- helpers

    def start_sigcount(self, kill_mode, n=3, escape=False):
        """A service of n + 1 sigcount processes; (rv, main, [all pids])."""
        self.log = os.path.join(self.tmp, "deliveries")
        cmd = f"{SIGCOUNT} {self.log} {n}" + (" escape" if escape else "")
        cfg = self.config(f"""
            [service:sc]
            command = {cmd}
            kill_mode = {kill_mode}
            """)
        rv = self.start(cfg)
        main = rv.wait_for("start", service="sc")[0].int("pid")
        pids = wait_until(lambda: (lambda r: r if len(r) == n + 1 else None)(
            self.lines("ready")), 10, f"{n + 1} sigcount processes")
        self.assertIn(main, pids)
        return rv, main, sorted(pids)

    def lines(self, word):
        """Pids of the log lines starting with word, in order."""
        return [int(ln.split()[1]) for ln in
                rvtest.slurp(self.log).splitlines()
                if ln.split()[:1] == [word]]

    def deliveries(self, pids):
        """{pid: times COUNT was delivered}, once every pid has logged the
        BARRIER we send it now (real-time signals are delivered lowest
        first: any copy of COUNT queued before is logged by then)."""
        # the k-th call waits for each pid's k-th barrier: the barriers
        # of earlier rounds are in the log already
        self.rounds = getattr(self, "rounds", 0) + 1
        for pid in pids:
            os.kill(pid, BARRIER)
        wait_until(lambda: all(
            n >= self.rounds for n in
            (collections.Counter(self.lines(f"sig{BARRIER}"))[p]
             for p in pids)),
                   10, "every process to log this round's barrier")
        got = collections.Counter(self.lines(f"sig{COUNT}"))
        return {pid: got[pid] for pid in pids}

    def kill_cmd(self, sig=COUNT):
        out = self.ctl("kill", "sc", str(int(sig)))
        self.assertEqual(out.returncode, 0, out.stderr)

    # ------------------------------------------------------- ringvisor kill

    def test_process_mode_signals_the_main_process_once(self):
        rv, main, pids = self.start_sigcount("process")
        self.kill_cmd()
        self.assertEqual(self.deliveries(pids),
                         {p: int(p == main) for p in pids})
        self.assertEqual(rv.shutdown(), 0)

    def test_group_mode_signals_each_process_of_the_group_once(self):
        rv, main, pids = self.start_sigcount("group")
        self.kill_cmd()
        self.assertEqual(self.deliveries(pids), {p: 1 for p in pids})
        self.assertEqual(rv.shutdown(), 0)

    def test_cgroup_mode_signals_each_process_of_the_cgroup_once(self):
        why = cgroup_usable()
        if why:
            self.skipTest(f"kill_mode = cgroup: {why}")
        # one of them left the process group (setsid): the cgroup still
        # holds it, and it too gets the signal, once
        rv, main, pids = self.start_sigcount("cgroup", n=4, escape=True)
        groups = {os.getpgid(p) for p in pids}
        self.assertEqual(len(groups), 2, "one process escaped the group")
        self.assertEqual(len({proc_cgroup(p) for p in pids}), 1)
        self.kill_cmd()
        self.assertEqual(self.deliveries(pids), {p: 1 for p in pids})
        # and again: still once each (no pid table left behind)
        self.kill_cmd()
        self.assertEqual(self.deliveries(pids), {p: 2 for p in pids})
        self.assertEqual(rv.shutdown(), 0)
        wait_until(lambda: not any(rvtest.alive(p) for p in pids), 5,
                   "the cgroup's processes to end")

    # ------------------------------------------------------- forced shutdown

    def start_stubborn(self, kill_mode, shutdown_timeout):
        """A main process and a grandchild in its group, both ignoring
        SIGTERM; returns (rv, main, grandchild)."""
        cfg = self.config(f"""
            [service:st]
            command = {self.svc('ignore-term', 'spawn', 'pause')}
            kill_mode = {kill_mode}
            stop_timeout = 600s
            """, shutdown_timeout=shutdown_timeout)
        rv = self.start(cfg)
        self.wait_control(rv)
        gc = self.wait_stamps(1, kind="gc")[0]
        main = rv.wait_for("start", service="st")[0].int("pid")
        self.assertEqual(gc.ppid, main)
        self.assertEqual(os.getpgid(gc.pid), main, "in the main's group")
        return rv, main, gc.pid

    def assert_forced(self, rv, main, gc, gc_survives):
        self.assertEqual(rv.wait(30), 0)
        kills = rv.find("kill", service="st")
        self.assertEqual(len(kills), 1, rv.tail())
        self.assertEqual(kills[0]["signal"], "SIGKILL")
        ex = rv.find("exit", service="st")
        self.assertEqual((ex[0].int("pid"), ex[0]["signal"]),
                         (main, "SIGKILL"))
        if gc_survives:
            # gone with the supervisor is the main process only; the
            # grandchild outlives both (the harness reaps it in cleanup)
            self.assertTrue(rvtest.alive(gc), "kill_mode = process spared "
                            "the rest of the group")
            os.kill(gc, signal.SIGKILL)
        else:
            wait_until(lambda: not rvtest.alive(gc), 5,
                       "the grandchild to die with its group")

    def test_shutdown_timeout_honours_kill_mode_process(self):
        rv, main, gc = self.start_stubborn("process", "1s")
        rv.send_signal(signal.SIGTERM)
        rv.wait_for("shutdown_timeout", timeout=10)
        self.assert_forced(rv, main, gc, gc_survives=True)

    def test_second_sigterm_honours_kill_mode_process(self):
        rv, main, gc = self.start_stubborn("process", "600s")
        rv.send_signal(signal.SIGTERM)
        rv.wait_for("stop", service="st")
        rv.send_signal(signal.SIGTERM)
        self.assert_forced(rv, main, gc, gc_survives=True)

    def test_shutdown_timeout_kills_the_group_under_kill_mode_group(self):
        # the contrast: the same service under `group` loses both
        rv, main, gc = self.start_stubborn("group", "1s")
        rv.send_signal(signal.SIGTERM)
        rv.wait_for("shutdown_timeout", timeout=10)
        self.assert_forced(rv, main, gc, gc_survives=False)


if __name__ == "__main__":
    if not os.access(SIGCOUNT, os.X_OK):
        rvtest.skip_file(f"fixture {SIGCOUNT} was not built")
    rvtest.main()
