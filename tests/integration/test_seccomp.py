#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""ringvisor under a Docker-like seccomp profile (README "Backends",
URING_NOTES §6): the launcher tests/seccomp/rv_seccomp refuses
io_uring_setup/enter/register with EPERM and clone3 with ENOSYS, as Docker
25+ and containerd 2.0 do, then execs ringvisor.

* `backend = auto` falls back to epoll, says why in its `backend` line, and
  supervises as usual: a killed service is restarted, the control socket
  answers, SIGTERM shuts down with exit 0 (children come from clone(2),
  never clone3, so nothing else changes);
* an explicit io_uring (`--backend=io_uring`, RINGVISOR_BACKEND or the
  config) exits 2 with one line saying how to check;
* a few whole test files of the suite pass under the launcher
  (RV_WRAPPER, see rvtest.py), with the backend left to `auto`; which ones:
  RV_SECCOMP_SUITE (space-separated file names; "none" for none).

Skips without the launcher (libseccomp-dev missing at build time)."""

import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import T, service  # noqa: E402

LAUNCHER = os.environ.get("RV_SECCOMP") or rvtest.fixture("rv_seccomp")
SUITE = os.environ.get("RV_SECCOMP_SUITE",
                       "test_restart.py test_stop.py test_exec.py "
                       "test_control.py").split()

# Runs inside the launcher: what the filter does to the two calls.
PROBE = r"""
import ctypes, errno, os
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args):
    r = libc.syscall(nr, *args)
    return errno.errorcode.get(ctypes.get_errno(), "?") if r < 0 else "ok"
params = ctypes.create_string_buffer(120)
print("io_uring_setup", call(425, 1, params))
print("io_uring_enter", call(426, -1, 0, 0, 0, None, 0))
print("io_uring_register", call(427, -1, 0, None, 0))
print("clone3", call(435, None, 0))
"""


def no_backend_env():
    """Our environment for ringvisor without a forced backend (CI runs the
    suite with RINGVISOR_BACKEND set)."""
    return rvtest.rv_env(drop=("RINGVISOR_BACKEND",))


class Seccomp(rvtest.Case):

    def wrapped(self, *args, env=None):
        return subprocess.run([LAUNCHER, rvtest.RV_BIN, *args],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=T(20),
                              env=env if env is not None else no_backend_env())

    def test_filter(self):
        """The launcher refuses exactly what Docker's profile refuses."""
        r = subprocess.run([LAUNCHER, sys.executable, "-c", PROBE],
                           capture_output=True, text=True, timeout=T(20))
        self.assertEqual(r.returncode, 0, r.stderr)
        got = dict(ln.split() for ln in r.stdout.splitlines())
        self.assertEqual(got, {"io_uring_setup": "EPERM",
                               "io_uring_enter": "EPERM",
                               "io_uring_register": "EPERM",
                               "clone3": "ENOSYS"})
        r = subprocess.run([LAUNCHER, "/nonexistent/x"], capture_output=True,
                           text=True, timeout=T(20))
        self.assertEqual(r.returncode, 127, r.stderr)

    def test_auto_falls_back_to_epoll_and_supervises(self):
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("pause", tag="web")}
            restart = always
            restart_delay = 50ms
            backoff_jitter = 0

            [service:batch]
            command = {self.svc("ms", 50, "exit", 3, tag="batch")}
            restart = on-failure
            restart_delay = 100ms
            max_restarts = 2
            """, backend="auto")
        rv = rvtest.Proc(self, [LAUNCHER, rvtest.RV_BIN, "run", "-c", cfg,
                                "--report", self.report_path],
                         env=no_backend_env())
        be, = rv.wait_for("backend")
        self.assertEqual(be.get("backend"), "epoll", be.raw)
        reason = be.get("reason", "")
        self.assertIn("io_uring", reason, be.raw)
        self.assertIn("Operation not permitted", reason, be.raw)

        # a killed service comes back (clone, not clone3)
        first, = rv.wait_for("start", service="web")
        os.kill(first.int("pid"), signal.SIGKILL)
        second = rv.wait_for("start", service="web", count=2)[1]
        self.assertNotEqual(second.int("pid"), first.int("pid"))
        ex, = rv.find("exit", service="web", pid=first.get("pid"))
        self.assertEqual(ex.get("signal"), "SIGKILL", ex.raw)

        # the failing one: exit 3, two restarts, then failed for good
        rv.wait_for("failed", service="batch")
        self.assertEqual(len(rv.find("exit", service="batch")), 3)

        # the control socket works on epoll too
        st = self.ctl_status()
        self.assertEqual(st["supervisor"]["backend"], "epoll")
        self.assertEqual(service(st, "web")["pid"], second.int("pid"))

        self.assertEqual(rv.shutdown(), 0)	# a requested stop
        rep = self.report(rv)
        self.assertEqual(rep["supervisor"]["backend"], "epoll")
        self.assertEqual(service(rep, "web")["restarts"], 1)
        self.assertEqual(service(rep, "web")["state"], "stopped")
        self.assertEqual(service(rep, "batch")["state"], "failed")
        self.assertFalse(rvtest.alive(second.int("pid")))

    def test_exec_under_the_profile(self):
        """`exec`, a container's init, where the profile matters most."""
        r = self.wrapped("exec", "--", *self.svc_argv("exit", 7))
        self.assertEqual(r.returncode, 7, r.stderr)
        r = self.wrapped("exec", "--restart=on-failure", "--max-restarts=2",
                         "--restart-delay=10ms", "--",
                         *self.svc_argv("exit", 4, tag="x"))
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertEqual(len(self.stamps("x")), 3)

    def test_explicit_io_uring_exits_2(self):
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("pause", tag="web")}
            """)
        how = ("--backend=io_uring", "RINGVISOR_BACKEND", "backend = io_uring")
        runs = [self.wrapped("run", "-c", cfg, "--backend=io_uring"),
                self.wrapped("run", "-c", cfg, env=rvtest.rv_env(
                    {"RINGVISOR_BACKEND": "io_uring"})),
                self.wrapped("run", "-c", self.config(
                    f"[service:web]\ncommand = {self.svc('pause')}\n",
                    name="b.conf", backend="io_uring")),
                self.wrapped("exec", "--backend=io_uring", "--", "true")]
        for r, what in zip(runs, how + ("exec --backend=io_uring",)):
            with self.subTest(what):
                self.assertEqual(r.returncode, 2, r.stderr)
                err = r.stderr
                self.assertIn("io_uring", err)
                self.assertIn("Operation not permitted", err)
                # says how to check
                self.assertIn("kernel.io_uring_disabled", err)
                self.assertIn("seccomp", err)
                self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertEqual(self.stamps(), [], "a service was started")
        self.assertFalse(os.path.exists(self.control_path))

    def test_suite_under_the_profile(self):
        """Whole test files, each ringvisor run under the launcher."""
        files = [f for f in SUITE if f != "none"]
        if not files:
            self.skipTest("RV_SECCOMP_SUITE=none")
        env = dict(os.environ, RV_WRAPPER=LAUNCHER)
        env.pop("RINGVISOR_BACKEND", None)
        for name in files:
            with self.subTest(name):
                t0 = time.monotonic()
                r = subprocess.run(
                    [sys.executable, os.path.join(rvtest.HERE, name)],
                    stdin=subprocess.DEVNULL, capture_output=True,
                    text=True, env=env, timeout=T(150))
                print(f"  {name} under rv_seccomp: rc={r.returncode} "
                      f"({time.monotonic() - t0:.1f}s)", flush=True)
                self.assertIn(r.returncode, (0, rvtest.SKIP),
                              f"{name} under rv_seccomp:\n"
                              f"{r.stdout[-4000:]}\n{r.stderr[-8000:]}")


if __name__ == "__main__":
    if not os.access(LAUNCHER, os.X_OK):
        rvtest.skip_file(f"no seccomp launcher at {LAUNCHER} (build it: "
                         "apt-get install libseccomp-dev, then cmake)")
    rvtest.main()
