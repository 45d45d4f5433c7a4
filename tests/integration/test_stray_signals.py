#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Signals that ringvisor does not act on must not kill it (issue 13).

`run`: every signal it has no use for is ignored with one log line
(ALRM, PWR and the real-time signals used to kill it, and its services
with it through PR_SET_PDEATHSIG; TSTP stopped it); SIGRTMIN+3 (`docker
stop` of systemd-style images) and SIGPWR (`lxc-stop`) shut it down
gracefully, as PID 1 too.  `exec`: what test_exec_tini_compat.py does not
cover because tini differs or has nothing like it: an ABRT sent by
someone else is passed on (tini dies of it), the stop signals end
`--restart=always`, and the SIGPIPE that ringvisor's own write to a closed
pipe raises is not the caller's to pass on."""

import os
import signal
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import RV_BIN, WRAPPER, T  # noqa: E402

SIGCHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        "sigchild.py")
UNSHARE = rvtest.UNSHARE_PID
RTMIN3 = signal.SIGRTMIN + 3

# What `run` has no use for (TERM INT QUIT PWR SIGRTMIN+3: shutdown, HUP:
# reload, USR1: reopen logs, USR2: reexec, test_reexec), by the name
# ringvisor logs.
STRAY = [(signal.SIGALRM, "SIGALRM"), (signal.SIGVTALRM, "SIGVTALRM"),
         (signal.SIGPROF, "SIGPROF"), (signal.SIGIO, "SIGIO"),
         (signal.SIGSTKFLT, "SIGSTKFLT"), (signal.SIGXCPU, "SIGXCPU"),
         (signal.SIGXFSZ, "SIGXFSZ"),
         (signal.SIGWINCH, "SIGWINCH"), (signal.SIGURG, "SIGURG"),
         (signal.SIGCONT, "SIGCONT"), (signal.SIGTSTP, "SIGTSTP"),
         (signal.SIGPIPE, "SIGPIPE"), (signal.SIGABRT, "SIGABRT"),
         (signal.SIGRTMIN, "SIGRTMIN"), (signal.SIGRTMIN + 1, "SIGRTMIN+1"),
         (signal.SIGRTMIN + 5, "SIGRTMIN+5"),
         (signal.SIGRTMAX - 1, "SIGRTMIN+29"), (signal.SIGRTMAX, "SIGRTMAX")]


UNSHARE_PROBLEM = rvtest.unshare_problem()


class StraySignals(rvtest.Case):

    def start_run(self, cfg, pid1):
        """`ringvisor run` (as PID 1 of a new pid namespace: pid1) and the
        pid to signal it with, once its service is up."""
        argv = [*WRAPPER, RV_BIN, "run", "-c", cfg, "--report",
                self.report_path]
        if pid1:
            argv = UNSHARE + argv
        p = rvtest.Proc(self, argv, label="run-pid1" if pid1 else "run")
        p.wait_for("start", service="app")
        if not pid1:
            return p, p.pid
        return p, rvtest.wait_until(
            lambda: [int(d) for d in os.listdir("/proc") if d.isdigit()
                     and (rvtest.proc_stat(int(d)) or (0, 0))[1] == p.pid],
            10, "ringvisor under unshare")[0]

    def each_pid1(self, fn):
        for pid1 in (False, True):
            with self.subTest(pid1=pid1):
                if pid1 and UNSHARE_PROBLEM:
                    self.skipTest(UNSHARE_PROBLEM)
                fn(pid1)

    def test_run_ignores_what_it_has_no_use_for(self):
        def stray(pid1):
            cfg = self.config(f"""
                [service:app]
                command = {self.svc("pause", tag=f"app{pid1}")}
                """)
            p, pid = self.start_run(cfg, pid1)
            app = p.service_pids("app")
            for sig, name in STRAY:
                os.kill(pid, sig)
                ev, = p.wait_for("signal", signal=name)
                self.assertEqual(ev.get("action"), "ignored", ev.raw)
                st = rvtest.proc_stat(pid)
                self.assertTrue(st and st[0] != "T",
                                f"ringvisor stopped or gone after {name}")
            # one line each, the service untouched
            for _, name in STRAY:
                self.assertEqual(len(p.find("signal", signal=name)), 1,
                                 name)
            self.assertEqual(p.service_pids("app"), app)
            self.assertEqual(p.find("exit", service="app"), [])
            self.assertEqual(p.shutdown(signal.SIGTERM)
                             if not pid1 else self.term(p, pid), 0)
        self.each_pid1(stray)

    def term(self, p, pid):
        os.kill(pid, signal.SIGTERM)
        return p.wait(15)

    def test_run_rtmin3_and_pwr_shut_down_gracefully(self):
        def shutdown(pid1):
            for sig, name in ((RTMIN3, "SIGRTMIN+3"),
                              (signal.SIGPWR, "SIGPWR")):
                cfg = self.config(f"""
                    [service:app]
                    command = {self.svc("pause", tag=f"app{pid1}")}
                    """)
                p, pid = self.start_run(cfg, pid1)
                os.kill(pid, sig)
                self.assertEqual(p.wait(15), 0, name)
                ev, = p.find("signal", signal=name)
                self.assertEqual(ev.get("action"), "shutdown", ev.raw)
                # graceful: the stop signal, the service stopped
                p.wait_for("stop", service="app", signal="SIGTERM",
                           timeout=1)
                self.assertEqual(
                    rvtest.service(self.report(), "app")["state"],
                    "stopped")
        self.each_pid1(shutdown)

    def test_exec_stop_signals_end_restart_always(self):
        """Under `exec --restart=always`, SIGRTMIN+3 and SIGPWR are
        passed on as TERM is, and the child is not restarted: exec ends
        with its status (death by that signal)."""
        for sig in (RTMIN3, signal.SIGPWR):
            with self.subTest(sig=sig):
                before = len(self.stamps())
                p = self.start_exec(self.svc_argv("pause"),
                                    ["--restart=always",
                                     "--restart-delay=10ms"])
                self.wait_stamps(before + 1)
                p.send_signal(sig)
                self.assertEqual(p.wait(10), 128 + sig)
                self.assertEqual(len(self.stamps()), before + 1,
                                 "restarted after a stop signal")

    def test_exec_passes_on_abrt_from_others(self):
        """tini dies of an ABRT someone sends it (it keeps ABRT for its
        own abort()); ringvisor passes it on: only its own abort() is
        not someone else's."""
        rec = os.path.join(self.tmp, "rec")
        p = self.start_exec([sys.executable, SIGCHILD, rec, "--last",
                             str(int(signal.SIGABRT))])
        rvtest.wait_until(lambda: rvtest.slurp(rec).startswith("ready"),
                          15, "the child ready")
        p.send_signal(signal.SIGABRT)
        self.assertEqual(p.wait(10), 0, "the child's status")
        self.assertEqual(rvtest.slurp(rec).split()[2:], ["6"])

    def test_exec_does_not_pass_on_its_own_sigpipe(self):
        """ringvisor's stderr is a pipe nobody reads any more: each log
        line raises a SIGPIPE for ringvisor itself (ignored, but it is
        blocked, so it is queued like any other).  It is not the
        caller's signal and must not reach the child."""
        rec = os.path.join(self.tmp, "rec")
        r, w = os.pipe()
        os.close(r)
        env = rvtest.rv_env({"RINGVISOR_LOG_LEVEL": "debug"})
        try:
            p = subprocess.Popen([*WRAPPER, RV_BIN, "exec", "--",
                                  sys.executable, SIGCHILD, rec, "--last",
                                  str(int(signal.SIGURG))],
                                 stdin=subprocess.DEVNULL, stderr=w,
                                 env=env)
        finally:
            os.close(w)
        try:
            rvtest.wait_until(lambda: rvtest.slurp(rec).startswith("ready")
                              or p.poll() is not None, 15, "the child ready")
            self.assertIsNone(p.poll(), "exec ended before its child was "
                              "ready (killed by a SIGPIPE passed on?)")
            # each signal is logged (SIGPIPE for us), then forwarded; the
            # child takes the lowest pending first, so a SIGPIPE passed on
            # before URG would be recorded before it
            for sig in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGURG):
                p.send_signal(sig)
                rvtest.wait_until(
                    lambda s=sig: str(int(s)) in rvtest.slurp(rec).split(),
                    10, f"{sig.name} recorded")
            self.assertEqual(p.wait(T(10)), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(rvtest.slurp(rec).split()[2:],
                         [str(int(s)) for s in (signal.SIGUSR1,
                                                signal.SIGUSR2,
                                                signal.SIGURG)])


if __name__ == "__main__":
    rvtest.main()
