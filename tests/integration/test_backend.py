#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The loop backend: `--backend=` (run and exec), the `backend` config key
and $RINGVISOR_BACKEND choose it; `event=backend` logs the choice (with
at info; `event=backend_detail` its child_exits= and reason= at debug)
and the report shows it.  Each backend also runs
a short restart sequence here, whatever CI set in the environment."""

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import service  # noqa: E402

URING_OK, URING_WHY = rvtest.io_uring_available()


class Backend(rvtest.Case):

    def _run(self, backend_flag=None, config_key=None, env=None, drop=()):
        cnt = os.path.join(self.tmp, f"count{len(self.procs)}")
        sup = {"backend": config_key} if config_key else {}
        cfg = self.config(f"""
            [service:svc]
            command = {self.svc("seq", cnt, "0:1,die:USR1,0:0", tag="svc")}
            restart = on-failure
            backoff = fixed
            restart_delay = 20ms
            backoff_jitter = 0
            """, **sup)
        extra = [f"--backend={backend_flag}"] if backend_flag else []
        env = dict(env or {}, RINGVISOR_LOG_LEVEL="debug")
        rv = self.start(cfg, *extra, env=rvtest.rv_env(env, drop))
        self.assertEqual(rv.wait(15), 0)
        be = rv.find("backend")
        self.assertEqual(len(be), 1, "one event=backend line at start-up")
        self.assertEqual(be[0]["level"], "info", be[0].raw)
        self.assertNotIn("reason", be[0], "details belong at debug")
        detail = rv.find("backend_detail")
        self.assertEqual(len(detail), 1, "one event=backend_detail line")
        self.assertEqual(detail[0]["level"], "debug", detail[0].raw)
        self.assertIn("child_exits", detail[0], detail[0].raw)
        self.assertIn("reason", detail[0], detail[0].raw)
        self.assertLess(be[0].index, rv.find("start")[0].index)
        rep = self.report(rv)
        self.assertEqual(rep["supervisor"]["backend"], be[0]["backend"])
        s = service(rep, "svc")
        self.assertEqual((s["state"], s["restarts"]), ("completed", 2))
        self.assertEqual(len(rv.find("exit", service="svc")), 3)
        return be[0]["backend"]

    def need_uring(self):
        if not URING_OK:
            self.skipTest(f"io_uring unavailable: {URING_WHY}")

    def test_flag_epoll(self):
        self.assertEqual(self._run("epoll"), "epoll")

    def test_flag_io_uring(self):
        self.need_uring()
        self.assertEqual(self._run("io_uring"), "io_uring")

    def test_flag_beats_environment(self):
        self.assertEqual(self._run("epoll", env={"RINGVISOR_BACKEND":
                                                 "io_uring"}), "epoll")

    def test_environment(self):
        self.assertEqual(self._run(env={"RINGVISOR_BACKEND": "epoll"}),
                         "epoll")
        if URING_OK:
            self.assertEqual(self._run(env={"RINGVISOR_BACKEND": "io_uring"}),
                             "io_uring")

    def test_config_key(self):
        self.assertEqual(self._run(config_key="epoll",
                                   drop=("RINGVISOR_BACKEND",)), "epoll")

    def test_auto(self):
        want = "io_uring" if URING_OK else "epoll"
        self.assertEqual(self._run(drop=("RINGVISOR_BACKEND",)), want)
        self.assertEqual(self._run("auto", drop=("RINGVISOR_BACKEND",)), want)

    def test_exec(self):
        backends = ["epoll"] + (["io_uring"] if URING_OK else [])
        for b in backends:
            with self.subTest(backend=b):
                # exec is quiet like tini (warnings only) unless asked
                r = self.rv("exec", f"--backend={b}", "--",
                            *self.svc_argv("exit", 5),
                            env={**rvtest.rv_env(),
                                 "RINGVISOR_LOG_LEVEL": "info"})
                self.assertEqual(r.returncode, 5, r.stderr)
                ev = [rvtest.Event(ln, 0, 0) for ln in r.stderr.splitlines()]
                ev = [e for e in ev if e.get("event") == "backend"]
                self.assertEqual(len(ev), 1, r.stderr)
                self.assertEqual(ev[0].get("backend"), b)

    def test_bad_backend(self):
        cfg = self.config("")
        r = self.rv("run", "-c", cfg, "--backend=kqueue", timeout=10)
        self.assertEqual(r.returncode, 2, r.stderr)
        r = self.rv("check", "-c", self.config("", backend="kqueue"))
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)


if __name__ == "__main__":
    rvtest.main()
