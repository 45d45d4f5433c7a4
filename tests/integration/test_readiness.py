#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Readiness and health: `type = notify` (the systemd notify protocol, with
the libsystemd fixture sdnotify unchanged), `ready_timeout`, `watchdog`,
`ready_fd`, `ready_check`, `health_check`, `after` waiting for readiness,
and ringvisor's own READY=1/STOPPING=1 when it runs under systemd."""

import json
import os
import re
import shlex
import socket
import sys
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import T, wait_until  # noqa: E402

SDNOTIFY = rvtest.fixture("sdnotify")
HAVE_SDNOTIFY = os.access(SDNOTIFY, os.X_OK)
NO_SDNOTIFY = (f"fixture {SDNOTIFY} was not built (libsystemd-dev missing: "
               "apt-get install libsystemd-dev, then re-run cmake)")
if not HAVE_SDNOTIFY:
    print(f"SKIP (the libsystemd tests): {NO_SDNOTIFY}", flush=True)
needs_sdnotify = unittest.skipUnless(HAVE_SDNOTIFY, NO_SDNOTIFY)

# A notify daemon without libsystemd, for what sdnotify cannot do: record
# its environment, wait for a file, ignore SIGABRT.  Steps, left to right:
#   env FILE      write NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID as JSON
#   wait FILE     wait until FILE exists
#   send MSG      send MSG ("\n" separates assignments) to NOTIFY_SOCKET
#   ignore-abrt   SIGABRT ignored
#   pid FILE      append our pid to FILE
#   pause         wait for signals forever (SIGTERM: exit 0)
NOTIFIER = r'''
import json, os, signal, socket, sys, time
args = sys.argv[1:]
def addr():
    a = os.environ["NOTIFY_SOCKET"]
    return "\0" + a[1:] if a.startswith("@") else a
while args:
    step = args.pop(0)
    if step == "env":
        with open(args.pop(0) + ".tmp", "w") as f:
            json.dump({k: os.environ.get(k) for k in
                       ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}, f)
        os.rename(f.name, f.name[:-4])
    elif step == "wait":
        p = args.pop(0)
        while not os.path.exists(p):
            time.sleep(0.01)
    elif step == "send":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.sendto(args.pop(0).replace("\\n", "\n").encode(), addr())
        s.close()
    elif step == "ignore-abrt":
        signal.signal(signal.SIGABRT, signal.SIG_IGN)
    elif step == "pid":
        with open(args.pop(0), "a") as f:
            f.write(f"{os.getpid()}\n")
    elif step == "pause":
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
        while True:
            signal.pause()
    else:
        sys.exit(f"notifier: bad step {step}")
'''


def by_name(st, name):
    for s in st["services"]:
        if s["name"] == name:
            return s
    raise AssertionError(f"status: no service {name!r}")


class Readiness(rvtest.Case):

    def sdnotify(self, *args):
        return " ".join(shlex.quote(a) for a in (SDNOTIFY, *map(str, args)))

    def notifier(self, *steps):
        path = os.path.join(self.tmp, "notifier.py")
        if not os.path.exists(path):
            self.write("notifier.py", NOTIFIER)
        return " ".join(shlex.quote(a) for a in
                        (sys.executable, path, *map(str, steps)))

    def svc_state(self, name):
        return self.ctl_status(name)["services"][0]

    def wait_state(self, name, state, timeout=10):
        return wait_until(lambda: (lambda s: s if s["state"] == state
                                   else None)(self.svc_state(name)),
                          timeout, f"{name} {state} (is "
                          f"{self.svc_state(name)['state']})")

    # ---------------------------------------------------------- notify

    @needs_sdnotify
    def test_notify_service_becomes_ready_and_after_waits_for_it(self):
        cfg = self.config(f"""
            [service:nt]
            command = {self.sdnotify("--delay-ms", 800, "--status",
                                     "warm and serving")}
            type = notify
            ready_timeout = 10s
            [service:dep]
            command = {self.svc("pause", tag="dep")}
            after = nt
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        start, = rv.wait_for("start", service="nt")
        # before READY=1: starting, not ready; dep waits
        s = self.svc_state("nt")
        if time.monotonic() - start.mono < 0.6:
            self.assertEqual((s["state"], s["ready"], s["pid"]),
                             ("starting", False, start.int("pid")), s)
            self.assertEqual(self.stamps("dep"), [])
            d = self.svc_state("dep")
            self.assertIsNone(d["pid"], d)
            self.assertNotEqual(d["state"], "running", d)
        s = self.wait_state("nt", "running")
        self.assertEqual((s["ready"], s["pid"], s["type"]),
                         (True, start.int("pid"), "notify"), s)
        self.assertEqual(s.get("status_text"), "warm and serving", s)
        ready, = rv.wait_for("ready", service="nt")
        self.assertBetween(ready.t - start.t, 0.8 * 0.9, 0.8 + T(1.0),
                           "start -> ready with --delay-ms 800")
        dstart, = rv.wait_for("start", service="dep")
        self.assertGreaterEqual(dstart.index, ready.index,
                                "dep started before nt was ready")
        self.assertGreaterEqual(dstart.t - start.t, 0.8 * 0.9)
        self.wait_stamps(1, tag="dep")
        # the JSON of --json has the same
        r = self.ctl("status", "--json", "nt")
        self.assertEqual(json.loads(r.stdout)["services"][0]["status_text"],
                         "warm and serving")
        # STOPPING=1 on SIGTERM, exit 0: stopped cleanly
        self.assertEqual(self.ctl("stop", "nt").returncode, 0)
        s = self.wait_state("nt", "stopped")
        self.assertEqual(s["last_exit"], {"code": 0})
        self.assertEqual(rv.shutdown(), 0)

    @needs_sdnotify
    def test_never_ready_is_a_failed_start(self):
        cfg = self.config(f"""
            [service:mute]
            command = {self.sdnotify("--no-ready")}
            type = notify
            ready_timeout = 600ms
            restart = on-failure
            backoff = fixed
            restart_delay = 100ms
            backoff_jitter = 0
            max_restarts = 1
            restart_window = 60s
            stop_timeout = 1s
            [service:dep]
            command = {self.svc("pause", tag="dep")}
            after = mute
            [service:other]
            command = {self.svc("pause", tag="other")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        s1, = rv.wait_for("start", service="mute")
        s = self.svc_state("mute")
        if time.monotonic() - s1.mono < 0.5:
            self.assertEqual((s["state"], s["ready"]), ("starting", False))
        to1, = rv.wait_for("ready_timeout", service="mute", timeout=5)
        self.assertEqual(to1.get("pid"), s1.get("pid"), to1.raw)
        self.assertBetween(to1.t - s1.t, 0.6 * 0.95, 0.6 + T(1.0),
                           "start -> ready_timeout (600 ms)")
        # a failed start: restarted per policy, then failed for good
        s2, = rv.wait_for("start", service="mute", count=2,
                          timeout=5)[1:]
        to2 = rv.wait_for("ready_timeout", service="mute", count=2,
                          timeout=5)[1]
        self.assertBetween(to2.t - s2.t, 0.6 * 0.95, 0.6 + T(1.0))
        rv.wait_for("failed", service="mute", timeout=5)
        s = self.wait_state("mute", "failed")
        self.assertEqual((s["ready"], s["pid"], s["restarts"]),
                         (False, None, 1), s)
        for ev in (s1, s2):
            self.assertFalse(rvtest.alive(ev.int("pid")))
        # dep waited for it, and does not wait forever
        self.assertEqual(self.stamps("dep"), [])
        self.wait_state("dep", "failed")
        self.assertEqual(self.svc_state("other")["state"], "running")
        m = self.ctl("metrics").stdout
        self.assertRegex(m, r'ringvisor_service_exits_total\{service="mute",'
                            r'reason="ready_timeout"\} [2-9]')
        self.assertEqual(rv.shutdown(), 0)

    @needs_sdnotify
    def test_watchdog_lapse_aborts_and_restarts(self):
        # pings every 100 ms, five of them, then silence: the 400 ms
        # watchdog fires ~0.9 s after the start
        cfg = self.config(f"""
            [service:dog]
            command = {self.sdnotify("--watchdog-ms", 100, "--pings", 5)}
            type = notify
            watchdog = 400ms
            restart = on-failure
            backoff = fixed
            restart_delay = 100ms
            backoff_jitter = 0
            stop_timeout = 2s
            limit_core = 0
            working_directory = {self.tmp}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        s1, = rv.wait_for("start", service="dog")
        rv.wait_for("ready", service="dog", timeout=5)
        wd, = rv.wait_for("watchdog", service="dog", timeout=5)
        self.assertEqual(wd.get("pid"), s1.get("pid"), wd.raw)
        self.assertBetween(wd.t - s1.t, 0.5 + 0.4 * 0.9, 0.9 + T(1.0),
                           "start -> watchdog")
        ex, = rv.wait_for("exit", service="dog", timeout=5)
        self.assertEqual((ex.get("pid"), ex.get("signal")),
                         (s1.get("pid"), "SIGABRT"), ex.raw)
        self.assertEqual(rv.find("kill", service="dog"), [],
                         "SIGKILL although SIGABRT ended it")
        s2 = rv.wait_for("start", service="dog", count=2, timeout=5)[1]
        self.assertNotEqual(s2.get("pid"), s1.get("pid"))
        st = self.svc_state("dog")
        self.assertEqual(st["last_exit"]["signal"], "SIGABRT", st)
        self.assertGreaterEqual(st["restarts"], 1)
        self.assertEqual(rv.shutdown(), 0)

    def test_watchdog_sigabrt_ignored_then_sigkill(self):
        cfg = self.config(f"""
            [service:deaf]
            command = {self.notifier("ignore-abrt", "send", "READY=1",
                                     "pid", os.path.join(self.tmp, "pids"),
                                     "pause")}
            type = notify
            watchdog = 300ms
            stop_timeout = 500ms
            restart = on-failure
            backoff = fixed
            restart_delay = 100ms
            backoff_jitter = 0
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        s1, = rv.wait_for("start", service="deaf")
        ready, = rv.wait_for("ready", service="deaf", timeout=5)
        wd, = rv.wait_for("watchdog", service="deaf", timeout=5)
        self.assertBetween(wd.t - ready.t, 0.3 * 0.9, 0.3 + T(1.0),
                           "ready -> watchdog (300 ms, no ping)")
        kill, = rv.wait_for("kill", service="deaf", timeout=5)
        self.assertEqual((kill.get("signal"), kill.get("pid")),
                         ("SIGKILL", s1.get("pid")), kill.raw)
        self.assertBetween(kill.t - wd.t, 0.5 * 0.9, 0.5 + T(1.0),
                           "SIGABRT -> SIGKILL after stop_timeout")
        ex, = rv.wait_for("exit", service="deaf", timeout=5)
        self.assertEqual(ex.get("signal"), "SIGKILL", ex.raw)
        rv.wait_for("start", service="deaf", count=2, timeout=5)
        self.assertEqual(rv.shutdown(), 0)

    @needs_sdnotify
    def test_watchdog_kept_fed_with_watchdog_usec(self):
        # sd_watchdog_enabled() reads WATCHDOG_USEC (and WATCHDOG_PID) as
        # systemd sets them; the fixture pings at half of it
        cfg = self.config(f"""
            [service:fed]
            command = {self.sdnotify("--watchdog-ms", "auto")}
            type = notify
            watchdog = 300ms
            [service:env]
            command = {self.notifier("env", os.path.join(self.tmp, "env"),
                                     "send", "READY=1", "pause")}
            type = notify
            watchdog = 20s
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        s1, = rv.wait_for("start", service="fed")
        rv.wait_for("ready", service="fed", timeout=5)
        env = json.loads(wait_until(
            lambda: rvtest.slurp(os.path.join(self.tmp, "env")), 5,
            "the notifier's environment"))
        self.assertEqual(env["WATCHDOG_USEC"], "20000000", env)
        pid = rv.wait_for("start", service="env")[0].get("pid")
        self.assertIn(env["WATCHDOG_PID"], (None, pid), env)
        self.assertTrue(env["NOTIFY_SOCKET"], env)
        # ten watchdog periods without a lapse
        t_end = time.monotonic() + 3.0
        while time.monotonic() < t_end:
            self.assertEqual(rv.find("watchdog", service="fed"), [])
            time.sleep(0.1)
        st = self.svc_state("fed")
        self.assertEqual((st["state"], st["pid"], st["restarts"]),
                         ("running", s1.int("pid"), 0), st)
        self.assertEqual(rv.shutdown(), 0)

    def test_notify_from_a_foreign_process_is_ignored(self):
        envf = os.path.join(self.tmp, "env")
        go = os.path.join(self.tmp, "go")
        cmd = self.notifier("env", envf, "wait", go,
                            "send", "READY=1\\nSTATUS=mine", "pause")
        cfg = self.config(f"""
            [service:nt]
            command = {cmd}
            type = notify
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        env = json.loads(wait_until(lambda: rvtest.slurp(envf), 5,
                                    "the notifier's environment"))
        path = env["NOTIFY_SOCKET"]
        self.assertTrue(path, env)
        addr = "\0" + path[1:] if path.startswith("@") else path
        # we are root but not the service: our READY=1 does not count
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.sendto(b"READY=1\nSTATUS=forged", addr)
        rv.wait_for("notify_unknown_sender", timeout=5)
        st = self.svc_state("nt")
        self.assertEqual((st["state"], st["ready"]), ("starting", False), st)
        self.assertNotEqual(st.get("status_text"), "forged")
        # the service's own message does
        open(go, "w").close()
        st = self.wait_state("nt", "running")
        self.assertEqual((st["ready"], st.get("status_text")),
                         (True, "mine"), st)
        self.assertEqual(rv.shutdown(), 0)

    # ------------------------------------------------------ ready_fd

    def test_ready_fd(self):
        cfg = self.config(f"""
            [service:fd]
            command = sh -c "sleep 0.6; echo >&3; exec {self.svc('pause',
                                                                  tag='fd')}"
            ready_fd = 3
            ready_timeout = 10s
            [service:dep]
            command = {self.svc("pause", tag="dep")}
            after = fd
            [service:late]
            command = sh -c "exec {self.svc('pause', tag='late')}"
            ready_fd = 3
            ready_timeout = 500ms
            restart = never
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        start, = rv.wait_for("start", service="fd")
        s = self.svc_state("fd")
        if time.monotonic() - start.mono < 0.4:
            self.assertEqual((s["state"], s["ready"]), ("starting", False),
                             s)
            self.assertEqual(self.stamps("dep"), [])
        s = self.wait_state("fd", "running")
        self.assertTrue(s["ready"])
        fd, = self.wait_stamps(1, tag="fd")
        self.assertEqual(s["pid"], fd.pid, "exec keeps the pid")
        ready, = rv.wait_for("ready", service="fd")
        self.assertBetween(ready.t - start.t, 0.6 * 0.9, 0.6 + T(1.0))
        dstart, = rv.wait_for("start", service="dep")
        self.assertGreaterEqual(dstart.index, ready.index)
        # one that never writes: ready_timeout, a failed start
        rv.wait_for("ready_timeout", service="late", timeout=5)
        s = self.wait_state("late", "failed")
        self.assertFalse(s["ready"])
        self.assertEqual(rv.shutdown(), 0)

    # --------------------------------------------------- ready_check

    def test_ready_check_retried_until_it_succeeds(self):
        flag = os.path.join(self.tmp, "flag")
        count = os.path.join(self.tmp, "probes")
        probe = f"sh -c 'echo x >> {count}; test -e {flag}'"
        cfg = self.config(f"""
            [service:rc]
            command = {self.svc("pause", tag="rc")}
            ready_check = {probe}
            ready_timeout = 20s
            [service:dep]
            command = {self.svc("pause", tag="dep")}
            after = rc
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        rc, = self.wait_stamps(1, tag="rc")
        wait_until(lambda: rvtest.slurp(count).count("x") >= 3, 10,
                   "three ready_check runs")
        s = self.svc_state("rc")
        self.assertEqual((s["state"], s["ready"], s["pid"]),
                         ("starting", False, rc.pid), s)
        self.assertEqual(self.stamps("dep"), [], "dep did not wait")
        self.assertEqual(self.ctl_status()["supervisor"]["state"],
                         "starting")
        t0 = time.monotonic()
        open(flag, "w").close()
        s = self.wait_state("rc", "running")
        self.assertLess(time.monotonic() - t0, T(2.0))
        self.assertEqual((s["ready"], s["pid"]), (True, rc.pid))
        dep, = self.wait_stamps(1, tag="dep")
        self.assertGreater(dep.t, t0)
        # ready: the probe is not run any more
        n = rvtest.slurp(count).count("x")
        time.sleep(T(0.8))
        self.assertEqual(rvtest.slurp(count).count("x"), n)
        self.assertEqual(self.ctl_status()["supervisor"]["state"], "alive")
        self.assertEqual(rv.shutdown(), 0)

    # -------------------------------------------------- health_check

    def test_failing_health_check_restarts(self):
        cfg = self.config(f"""
            [service:sick]
            command = {self.svc("pause", tag="sick")}
            health_check = false
            health_interval = 200ms
            health_retries = 3
            restart = on-failure
            backoff = fixed
            restart_delay = 100ms
            backoff_jitter = 0
            [service:fine]
            command = {self.svc("pause", tag="fine")}
            health_check = true
            health_interval = 200ms
            health_retries = 1
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        s1, = rv.wait_for("start", service="sick")
        hf, = rv.wait_for("health_failed", service="sick", timeout=10)
        self.assertEqual(hf.get("pid"), s1.get("pid"), hf.raw)
        fails = rv.find("health_check", service="sick")
        self.assertGreaterEqual(len(fails), 3)
        self.assertLess(fails[2].index, hf.index)
        self.assertBetween(hf.t - s1.t, 3 * 0.2 * 0.9, 3 * 0.2 + T(1.5),
                           "three failures, 200 ms apart")
        sick = self.wait_stamps(2, tag="sick")
        self.assertFalse(rvtest.alive(sick[0].pid))
        s = self.wait_state("sick", "running")
        self.assertEqual((s["pid"], s["restarts"]), (sick[1].pid, 1))
        # the healthy one is left alone
        fine, = self.stamps("fine")
        self.assertEqual(rv.find("health_failed", service="fine"), [])
        self.assertEqual(rv.find("health_check", service="fine"), [])
        self.assertTrue(rvtest.alive(fine.pid))
        m = self.ctl("metrics").stdout
        self.assertRegex(m, r'ringvisor_service_exits_total\{service="sick",'
                            r'reason="health_check"\} [1-9]')
        self.assertEqual(rv.shutdown(), 0)

    def test_health_failures_must_be_consecutive(self):
        n = os.path.join(self.tmp, "n")
        # passes, fails, passes, fails, ...: never two failures in a row
        probe = (f"sh -c 'n=$(cat {n} 2>/dev/null || echo 0); "
                 f"echo $((n+1)) > {n}; test $((n % 2)) -eq 0'")
        cfg = self.config(f"""
            [service:flaky]
            command = {self.svc("pause", tag="flaky")}
            health_check = {probe}
            health_interval = 150ms
            health_retries = 2
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        flaky, = self.wait_stamps(1, tag="flaky")
        wait_until(lambda: int(rvtest.slurp(n).strip() or 0) >= 8, 10,
                   "eight probe runs")
        self.assertTrue(rv.find("health_check", service="flaky"))
        self.assertEqual(rv.find("health_failed"), [])
        self.assertEqual(len(self.stamps("flaky")), 1)
        self.assertTrue(rvtest.alive(flaky.pid))
        self.assertEqual(rv.shutdown(), 0)

    def test_hanging_probe_does_not_block_the_loop(self):
        cfg = self.config(f"""
            [service:stuck]
            command = {self.svc("pause", tag="stuck")}
            health_check = sleep 100
            health_interval = 300ms
            health_retries = 100
            [service:tick]
            command = {self.svc("exit", 1, tag="tick")}
            restart = always
            backoff = fixed
            restart_delay = 100ms
            backoff_jitter = 0
            max_restarts = infinity
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        self.wait_stamps(1, tag="stuck")
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.5:
            t = time.monotonic()
            self.assertEqual(self.svc_state("stuck")["state"], "running")
            self.assertLess(time.monotonic() - t, T(1.0))
            time.sleep(0.1)
        # a probe running past health_interval is a failure
        rv.wait_for("health_check", service="stuck", timeout=5)
        st = [s for s in self.stamps("tick") if s.t > t0]
        self.assertGreaterEqual(len(st), 8, "tick's restarts stalled")
        self.assertEqual(rv.shutdown(), 0)

    # --------------------------------------------------- after

    def test_after_waits_for_readiness_in_a_chain(self):
        # a (ready_check, ready after 0.5 s) <- b (ready_fd, 0.4 s) <- c
        flag = os.path.join(self.tmp, "a-ready")
        cfg = self.config(f"""
            [service:c]
            command = {self.svc("pause", tag="c")}
            after = b
            [service:b]
            command = sh -c "sleep 0.4; echo >&3; exec {self.svc('pause',
                                                                 tag='b')}"
            ready_fd = 3
            after = a
            [service:a]
            command = sh -c "sleep 0.5; touch {flag}; exec {self.svc('pause',
                                                                     tag='a')}"
            ready_check = test -e {flag}
            [service:oneshot]
            command = {self.svc("ms", 300, "exit", 0, tag="oneshot")}
            type = oneshot
            [service:d]
            command = {self.svc("pause", tag="d")}
            after = oneshot
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        for n in ("a", "b", "c", "d"):
            self.wait_stamps(1, tag=n)
        # the lines of a loop turn are written at its end, after the
        # spawns it made: a stamp may be read before "b ready" and
        # "c start", which come from the turn that started c
        st = {n: rv.wait_for("start", service=n)[0] for n in "abcd"}
        rd = {n: rv.wait_for("ready", service=n)[0] for n in "ab"}
        self.assertLess(rd["a"].index, st["b"].index, "b before a ready")
        self.assertLess(rd["b"].index, st["c"].index, "c before b ready")
        self.assertGreaterEqual(st["b"].t - st["a"].t, 0.5 * 0.9)
        self.assertGreaterEqual(st["c"].t - st["b"].t, 0.4 * 0.9)
        done, = rv.wait_for("completed", service="oneshot")
        self.assertLess(done.index, st["d"].index, "d before oneshot done")
        self.wait_state("c", "running")
        self.assertEqual(self.ctl_status()["supervisor"]["state"], "alive")
        self.assertEqual(rv.shutdown(), 0)

    # -------------------------------------- ringvisor under systemd

    def test_ringvisor_reports_ready_and_stopping_to_its_notify_socket(self):
        path = os.path.join(self.tmp, "systemd.notify")
        sd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sd.close)
        sd.bind(path)
        sd.settimeout(T(10))
        envf = os.path.join(self.tmp, "simple.env")
        pause = "exec " + self.svc("pause", tag="plain")
        cfg = self.config(f"""
            [service:slow]
            command = sh -c "sleep 0.5; echo >&3; exec {self.svc('pause',
                                                                 tag='slow')}"
            ready_fd = 3
            [service:plain]
            command = sh -c "echo NOTIFY_SOCKET=$$NOTIFY_SOCKET > {envf}; {pause}"
            """)
        rv = self.start(cfg, env=rvtest.rv_env({"NOTIFY_SOCKET": path}))
        msgs = []

        def recv_until(word):
            while True:
                m = sd.recv(4096).decode()
                msgs.append((time.monotonic(), m))
                if re.search(rf"(^|\n){word}=1($|\n)", m):
                    return time.monotonic()
        t_ready = recv_until("READY")
        ready, = rv.wait_for("ready", service="slow")
        self.assertGreaterEqual(t_ready, ready.mono - 0.05,
                                "READY=1 before the initial services were "
                                "up")
        self.assertEqual(self.ctl_status()["supervisor"]["state"], "alive")
        self.assertEqual(rvtest.slurp(envf).strip(), "NOTIFY_SOCKET=",
                         "a child got ringvisor's own NOTIFY_SOCKET")
        rv.send_signal(15)
        recv_until("STOPPING")
        self.assertEqual(rv.wait(), 0)
        self.assertEqual(sum("READY=1" in m for _, m in msgs), 1, msgs)

    def _fake_systemd(self):
        """A NOTIFY_SOCKET for ringvisor itself, and a one-service config."""
        path = os.path.join(self.tmp, "systemd.notify")
        sd = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sd.close)
        sd.bind(path)
        sd.settimeout(T(10))
        return path, sd, self.config(f"""
            [service:plain]
            command = {self.svc('pause', tag='plain')}
            """)

    def test_ringvisor_pings_systemds_watchdog_at_half_its_interval(self):
        # issue 14: WatchdogSec= in ringvisor's unit must not kill it
        path, sd, cfg = self._fake_systemd()
        # 400 ms: a ping every 200 ms; WATCHDOG_PID unset means ours
        rv = self.start(cfg, env=rvtest.rv_env({"NOTIFY_SOCKET": path,
                                                "WATCHDOG_USEC": "400000"}))
        pings = 0
        while pings < 3:
            if "WATCHDOG=1" in sd.recv(4096).decode().split("\n"):
                pings += 1
        self.assertEqual(rv.shutdown(), 0)

    def test_a_watchdog_for_another_pid_is_not_pinged(self):
        path, sd, cfg = self._fake_systemd()
        rv = self.start(cfg, env=rvtest.rv_env({"NOTIFY_SOCKET": path,
                                                "WATCHDOG_USEC": "1000",
                                                "WATCHDOG_PID": "1"}))
        msgs = []
        while not any("READY=1" in m for m in msgs):
            msgs.append(sd.recv(4096).decode())
        rv.send_signal(15)
        while not any("STOPPING=1" in m for m in msgs):
            msgs.append(sd.recv(4096).decode())
        self.assertEqual(rv.wait(), 0)
        self.assertFalse([m for m in msgs if "WATCHDOG=1" in m], msgs)


if __name__ == "__main__":
    rvtest.main()
