#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ringvisor exec`, the tini-style mode: the child's exit status passed on
(0..255, 128+N for death by signal N), 127/126 when the command cannot be
found/executed, signals forwarded, the caller's descriptors passed on,
restart options, and zombie reaping as PID 1 of a pid namespace."""

import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import RV_BIN, T, fixture  # noqa: E402

SVC = fixture("svc")


def unshare_works():
    try:
        r = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc",
                            "true"], capture_output=True, text=True,
                           timeout=10)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unshare: {e}"
    if r.returncode != 0:
        return f"unshare --pid --fork --mount-proc: {r.stderr.strip()}"
    return None


class Exec(rvtest.Case):

    def exec_rc(self, *cmd, options=()):
        return self.rv("exec", *options, "--", *cmd).returncode

    def test_exit_code_sweep(self):
        bad = {}
        for n in range(256):
            rc = self.exec_rc(SVC, "exit", str(n))
            if rc != n:
                bad[n] = rc
        self.assertEqual(bad, {}, "child exit N -> exec exit (wanted N)")

    def test_exit_code_through_sh(self):
        for n in (0, 1, 2, 126, 127, 255):
            with self.subTest(n=n):
                self.assertEqual(self.exec_rc("sh", "-c", f"exit {n}"), n)

    def test_death_by_signal(self):
        for sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT,
                    signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                    signal.SIGSEGV, signal.SIGABRT, signal.SIGPIPE):
            with self.subTest(sig=sig.name):
                self.assertEqual(self.exec_rc(SVC, "die", sig.name),
                                 128 + sig.value)

    def test_missing_command_is_127(self):
        r = self.rv("exec", "--", "/nonexistent/rv-no-such-command")
        self.assertEqual(r.returncode, 127, r.stderr)
        self.assertTrue(r.stderr.strip(), "no message for a missing command")
        r = self.rv("exec", "--", "rv-no-such-command-in-path")
        self.assertEqual(r.returncode, 127, r.stderr)

    def test_not_executable_is_126(self):
        path = self.write("not-executable", "#!/bin/sh\nexit 0\n", 0o644)
        r = self.rv("exec", "--", path)
        self.assertEqual(r.returncode, 126, r.stderr)
        self.assertTrue(r.stderr.strip(), "no message for EACCES")
        self.assertEqual(self.exec_rc(self.tmp), 126, "a directory")

    def test_signals_are_forwarded(self):
        sig_file = os.path.join(self.tmp, "signals")
        p = self.start_exec(self.svc_argv("sigrecord", 42, sig_file=sig_file))
        rvtest.wait_until(lambda: os.path.exists(sig_file), 10,
                          "sigrecord ready")
        sent = [signal.SIGUSR1, signal.SIGHUP, signal.SIGUSR2,
                signal.SIGWINCH, signal.SIGQUIT, signal.SIGINT]
        for i, sig in enumerate(sent):
            p.send_signal(sig)
            rvtest.wait_until(
                lambda n=i + 2: len(rvtest.slurp(sig_file).split()) >= n,
                5, f"{sig.name} recorded by the child")
            self.assertTrue(p.running(), f"exec ended on {sig.name}")
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(10), 42, "the child's own status")
        got = rvtest.slurp(sig_file).split()
        self.assertEqual(got, ["ready"] + [s.name for s in sent] + ["SIGTERM"])

    def test_term_kills_a_default_child(self):
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with self.subTest(sig=sig.name):
                stamps_before = len(self.stamps())
                p = self.start_exec(self.svc_argv("pause"))
                self.wait_stamps(stamps_before + 1)
                p.send_signal(sig)
                self.assertEqual(p.wait(10), 128 + sig.value)

    def test_restart_always_gives_up(self):
        t0 = time.monotonic()
        r = self.rv("exec", "--restart=always", "--restart-delay=100ms",
                    "--max-restarts=2", "--backoff=fixed",
                    "--backoff-jitter=0", "--stop-timeout=1s", "--",
                    *self.svc_argv("exit", 3))
        st = self.stamps()
        self.assertEqual(len(st), 3, "1 run + 2 restarts, then give up")
        for a, b in zip(st, st[1:]):
            self.assertBetween(b.t - a.t, 0.09, 1.1, "restart delay 100ms")
        self.assertLess(time.monotonic() - t0, T(10))
        # exec passes on the child's status, even when it gives up
        self.assertEqual(r.returncode, 3, r.stderr)

    def test_restart_on_failure_until_success(self):
        cnt = os.path.join(self.tmp, "count")
        r = self.rv("exec", "--restart=on-failure", "--restart-delay=50ms",
                    "--backoff=fixed", "--backoff-jitter=0", "--",
                    *self.svc_argv("seq", cnt, "0:1,0:2,0:0"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.stamps()), 3)

    def test_no_options_never_restarts(self):
        r = self.rv("exec", "--", *self.svc_argv("exit", 1))
        self.assertEqual(r.returncode, 1)
        self.assertEqual(len(self.stamps()), 1)

    def test_caller_descriptors_are_passed_on(self):
        rep = os.path.join(self.tmp, "child-report")
        extra = os.open(os.path.join(self.tmp, "extra"),
                        os.O_WRONLY | os.O_CREAT)
        try:
            r = subprocess.run(
                [RV_BIN, "exec", "--",
                 *self.svc_argv("report", report_file=rep)],
                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                pass_fds=(extra,), env=rvtest.rv_env(), timeout=T(10))
        finally:
            os.close(extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        kv = dict(ln.split(" ", 1) for ln in rvtest.slurp(rep).splitlines())
        # exactly the caller's: none of ringvisor's own (ring, signalfd...)
        self.assertEqual(kv["fds"].split(), ["0", "1", "2", str(extra)],
                         rvtest.slurp(rep))

    def test_pid1_reaps_orphans(self):
        why = unshare_works()
        if why:
            self.skipTest(why)
        # svc makes 8 orphans that end over 160 ms and waits until /proc
        # (the namespace's) shows none of them, not even as a zombie: then
        # it exits 23, which must come back through ringvisor and unshare
        r = subprocess.run(
            ["unshare", "--pid", "--fork", "--mount-proc", RV_BIN, "exec",
             "--", SVC, "reap-check", "8", "23", "5000"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            env=rvtest.rv_env(), timeout=T(20))
        self.assertEqual(r.returncode, 23, "99: zombies left\n" + r.stderr)

    def test_pid1_status_and_signals(self):
        why = unshare_works()
        if why:
            self.skipTest(why)
        r = subprocess.run(
            ["unshare", "--pid", "--fork", "--mount-proc", RV_BIN, "exec",
             "--", SVC, "die", "USR1"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            env=rvtest.rv_env(), timeout=T(20))
        self.assertEqual(r.returncode, 128 + signal.SIGUSR1, r.stderr)
        # a TERM to the whole namespace's init is forwarded to the child
        sig_file = os.path.join(self.tmp, "signals")
        p = rvtest.Proc(self, ["unshare", "--pid", "--fork", "--mount-proc",
                               "--kill-child=SIGTERM", RV_BIN, "exec", "--",
                               *self.svc_argv("sigrecord", 7,
                                              sig_file=sig_file)],
                        label="unshare")
        rvtest.wait_until(lambda: os.path.exists(sig_file), 10,
                          "sigrecord ready")
        # unshare --fork is the parent of ringvisor (PID 1 inside): find it
        init = rvtest.wait_until(
            lambda: [int(d) for d in os.listdir("/proc") if d.isdigit()
                     and (rvtest.proc_stat(int(d)) or (0, 0))[1] == p.pid],
            5, "ringvisor under unshare")[0]
        os.kill(init, signal.SIGTERM)
        self.assertEqual(p.wait(10), 7)
        self.assertEqual(rvtest.slurp(sig_file).split(), ["ready", "SIGTERM"])


if __name__ == "__main__":
    rvtest.main()
