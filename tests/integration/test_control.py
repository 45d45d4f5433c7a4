#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The control plane through the real client: `status` (the contract's JSON
over a service's life, the table, --check), `start`/`stop`/`restart`,
`kill`, `shutdown` and `metrics` (Prometheus text) against a running
`ringvisor run`.  Protocol-level abuse is test_control_abuse.py."""

import json
import os
import pty
import re
import select
import socket
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import T, service, wait_until  # noqa: E402

SUP_STATES = {"starting", "alive", "shutting_down", "completed", "failed"}
SVC_KEYS = rvtest.SERVICE_KEYS | {"supervisor", "type", "critical", "reason"}
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
ESC = "\x1b"


def by_name(st, name):
    for s in st["services"]:
        if s["name"] == name:
            return s
    raise AssertionError(f"status: no service {name!r}: "
                         f"{[s['name'] for s in st['services']]}")


def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ------------------------------------------------------- Prometheus text

_SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)'
    r'(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})?'
    r' ([-+]?(?:[0-9.]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))(?: -?[0-9]+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')


def parse_prometheus(tc, text):
    """Parses the text exposition format strictly enough for a scraper:
    returns ({family: type}, [(name, {label: value}, float)])."""
    types, helps, samples = {}, set(), []
    tc.assertTrue(text.endswith("\n"), "exposition must end with a newline")
    for ln in text.splitlines():
        if not ln.strip():
            continue
        if ln.startswith("#"):
            parts = ln.split(None, 3)
            if len(parts) >= 3 and parts[1] == "TYPE":
                tc.assertIn(parts[3], ("counter", "gauge", "histogram",
                                       "summary", "untyped"), ln)
                tc.assertNotIn(parts[2], types, f"TYPE twice: {ln}")
                types[parts[2]] = parts[3]
            elif len(parts) >= 3 and parts[1] == "HELP":
                helps.add(parts[2])
            continue
        m = _SAMPLE.match(ln)
        tc.assertTrue(m, f"not a Prometheus sample line: {ln!r}")
        labels = dict(_LABEL.findall(m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    for name, _, _ in samples:
        fam = re.sub(r"_(bucket|sum|count)$", "", name)
        tc.assertTrue(name in types or fam in types,
                      f"sample {name} has no # TYPE line")
    for fam in types:
        tc.assertIn(fam, helps, f"family {fam} has no # HELP line")
    return types, samples


def values(samples, name, **labels):
    return [v for n, lb, v in samples
            if n == name and all(lb.get(k) == w for k, w in labels.items())]


def check_histogram(tc, types, samples, fam):
    """A histogram family: le buckets ascending, counts cumulative,
    +Inf == _count, a _sum; returns (count, sum)."""
    tc.assertEqual(types.get(fam), "histogram", f"{fam} TYPE")
    buckets = [(lb["le"], v) for n, lb, v in samples if n == fam + "_bucket"]
    tc.assertGreater(len(buckets), 2, f"{fam}: buckets")
    les = [float(le) for le, _ in buckets]
    tc.assertEqual(buckets[-1][0], "+Inf", f"{fam}: last bucket")
    tc.assertEqual(les, sorted(les), f"{fam}: le not ascending")
    tc.assertEqual(len(set(les)), len(les), f"{fam}: le twice")
    counts = [v for _, v in buckets]
    for a, b in zip(counts, counts[1:]):
        tc.assertLessEqual(a, b, f"{fam}: buckets not cumulative {counts}")
    count, = values(samples, fam + "_count")
    total, = values(samples, fam + "_sum")
    tc.assertEqual(counts[-1], count, f"{fam}: +Inf bucket != _count")
    tc.assertGreaterEqual(total, 0)
    return count, total


class Control(rvtest.Case):

    # ---------------------------------------------------------- status

    def check_status_shape(self, st, rv):
        sup = st["supervisor"]
        self.assertEqual(sup["state"], "alive")
        self.assertEqual(sup["pid"], rv.pid)
        self.assertTrue(num(sup["uptime_s"]) and sup["uptime_s"] >= 0, sup)
        self.assertIn(sup["backend"], ("io_uring", "epoll"))
        want = os.environ.get("RINGVISOR_BACKEND")
        if want in ("io_uring", "epoll"):
            self.assertEqual(sup["backend"], want)
        self.assertEqual(sup["strategy"], "one_for_one")
        self.assertIsInstance(sup["restarts_in_window"], int)
        self.assertIsInstance(st["services"], list)
        for s in st["services"]:
            self.assertLessEqual(SVC_KEYS, set(s), f"keys: {sorted(s)}")
            self.assertIn(s["state"], rvtest.SERVICE_STATES, s)
            self.assertIsInstance(s["restarts"], int, s)
            self.assertIsInstance(s["ready"], bool, s)
            self.assertIsInstance(s["critical"], bool, s)
            self.assertIn(s["type"], ("simple", "notify", "oneshot"), s)
            self.assertEqual(s["supervisor"], "main", s)
            self.assertTrue(s["pid"] is None or isinstance(s["pid"], int), s)
            for k in ("uptime_s", "next_restart_in_s"):
                self.assertTrue(s[k] is None or num(s[k]), (k, s))
            self.assertTrue(s["reason"] is None or
                            isinstance(s["reason"], str), s)
            le = s["last_exit"]
            self.assertTrue(le is None or le == {"code": le.get("code")} or
                            set(le) == {"signal", "core_dumped"}, le)

    def test_status_json_over_a_service_life(self):
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("pause", tag="web")}
            restart = always
            backoff = fixed
            restart_delay = 1500ms
            backoff_jitter = 0
            [service:once]
            command = {self.svc("exit", 0, tag="once")}
            type = oneshot
            [service:bad]
            command = {self.svc("exit", 3, tag="bad")}
            restart = never
            [service:crit]
            command = {self.svc("pause", tag="crit")}
            critical = true
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        web1, = self.wait_stamps(1, tag="web")
        wait_until(lambda: by_name(self.ctl_status(), "bad")["state"]
                   == "failed", 5, "bad failed")
        wait_until(lambda: by_name(self.ctl_status(), "once")["state"]
                   == "completed", 5, "once completed")

        # the CLI prints the same document as the wire
        r = self.ctl("status", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        st = json.loads(r.stdout)
        self.check_status_shape(st, rv)
        self.assertEqual({s["name"] for s in st["services"]},
                         {"web", "once", "bad", "crit"})
        web = by_name(st, "web")
        self.assertEqual((web["state"], web["pid"], web["restarts"],
                          web["ready"], web["last_exit"],
                          web["next_restart_in_s"], web["type"],
                          web["critical"]),
                         ("running", web1.pid, 0, True, None, None, "simple",
                          False))
        self.assertTrue(num(web["uptime_s"]), web)
        once = by_name(st, "once")
        self.assertEqual((once["state"], once["pid"], once["type"],
                          once["last_exit"], once["restarts"]),
                         ("completed", None, "oneshot", {"code": 0}, 0))
        bad = by_name(st, "bad")
        self.assertEqual((bad["state"], bad["pid"], bad["last_exit"],
                          bad["ready"], bad["uptime_s"]),
                         ("failed", None, {"code": 3}, False, None))
        self.assertIsInstance(bad["reason"], str, "failed: no reason")
        self.assertTrue(bad["reason"], "failed: empty reason")
        self.assertIsNone(web["reason"], web)
        crit = by_name(st, "crit")
        self.assertTrue(crit["critical"])
        self.assertEqual(crit["state"], "running")

        # uptimes grow (the supervisor's and the service's)
        time.sleep(0.05)
        st2 = self.ctl_status()
        self.assertGreater(st2["supervisor"]["uptime_s"],
                           st["supervisor"]["uptime_s"])
        self.assertGreater(by_name(st2, "web")["uptime_s"], web["uptime_s"])

        # killed: backoff, with the exit and the time to the restart
        r = self.ctl("kill", "web", "KILL")
        self.assertEqual(r.returncode, 0, r.stderr)
        s = wait_until(lambda: (lambda w: w if w["state"] == "backoff"
                                else None)(self.ctl_status("web")
                                           ["services"][0]),
                       5, "web in backoff")
        # the restart it waits for counts already, as the log line that
        # scheduled it says (issue 15)
        self.assertEqual((s["pid"], s["ready"], s["uptime_s"],
                          s["restarts"]),
                         (None, False, None, 1), s)
        self.assertEqual(s["last_exit"],
                         {"signal": "SIGKILL", "core_dumped": False})
        self.assertTrue(num(s["next_restart_in_s"]), s)
        self.assertBetween(s["next_restart_in_s"], 0, 1.5, "next restart")
        self.assertFalse(rvtest.alive(web1.pid))
        rv.wait_for("start", count=2, service="web", timeout=5)
        web2 = self.wait_stamps(2, tag="web")[1]
        s = wait_until(lambda: (lambda w: w if w["state"] == "running"
                                else None)(by_name(self.ctl_status(),
                                                   "web")),
                       5, "web running again")
        self.assertEqual((s["pid"], s["restarts"], s["ready"],
                          s["next_restart_in_s"]),
                         (web2.pid, 1, True, None), s)
        self.assertEqual(s["last_exit"],
                         {"signal": "SIGKILL", "core_dumped": False})
        self.assertGreaterEqual(
            self.ctl_status()["supervisor"]["restarts_in_window"], 1)

        # status NAME: only that one; an unknown name is an error
        st = self.ctl_status("crit")
        self.assertEqual([s["name"] for s in st["services"]], ["crit"])
        r = self.ctl("status", "nosuch")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("nosuch", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertEqual(rv.shutdown(), 0)

    def test_status_names_an_instance_or_all_of_them(self):
        cfg = self.config(f"""
            [service:pool]
            command = {self.svc("pause", tag="pool%i")}
            instances = 2
            [service:other]
            command = {self.svc("pause", tag="other")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        self.wait_stamps(1, tag="pool1")
        st = self.ctl_status("pool")
        self.assertEqual(sorted(s["name"] for s in st["services"]),
                         ["pool@0", "pool@1"])
        st = self.ctl_status("pool@1")
        self.assertEqual([s["name"] for s in st["services"]], ["pool@1"])
        self.assertEqual(rv.shutdown(), 0)

    def test_status_table_on_a_pipe_has_no_escape_codes(self):
        cfg = self.config(f"""
            [service:a-long-service-name]
            command = {self.svc("pause", tag="a")}
            [service:b]
            command = {self.svc("exit", 1, tag="b")}
            restart = never
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        wait_until(lambda: by_name(self.ctl_status(), "b")["state"]
                   == "failed", 5, "b failed")
        env = rvtest.rv_env(drop=("NO_COLOR",))
        env["TERM"] = "xterm-256color"
        r = self.ctl("status", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(ESC, r.stdout, "colour on a pipe")
        lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
        rows = {ln.split()[0]: ln for ln in lines}
        self.assertIn("a-long-service-name", rows, r.stdout)
        self.assertIn("b", rows, r.stdout)
        self.assertIn("running", rows["a-long-service-name"])
        self.assertIn("failed", rows["b"])
        # aligned: the state column starts at the same offset in each row
        col = {n: rows[n].index(st) for n, st in
               (("a-long-service-name", "running"), ("b", "failed"))}
        self.assertEqual(len(set(col.values())), 1, r.stdout)

        # on a terminal with NO_COLOR set: no escape codes either
        out = self.run_on_pty(["status", "-s", self.control_path],
                              {"NO_COLOR": "1", "TERM": "xterm-256color"})
        self.assertIn("a-long-service-name", out)
        self.assertNotIn(ESC, out, "colour with NO_COLOR set")
        self.assertEqual(rv.shutdown(), 0)

    def run_on_pty(self, args, extra_env):
        env = rvtest.rv_env(extra_env)
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execve(rvtest.RV_BIN, [rvtest.RV_BIN, *args], env)
            finally:
                os._exit(127)
        out = b""
        deadline = time.monotonic() + T(10)
        try:
            while time.monotonic() < deadline:
                r, _, _ = select.select([fd], [], [], 0.1)
                if r:
                    try:
                        chunk = os.read(fd, 65536)
                    except OSError:
                        break
                    if not chunk:
                        break
                    out += chunk
        finally:
            os.close(fd)
            _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, out)
        return out.decode("utf-8", "replace")

    def test_status_check(self):
        cfg = self.config(f"""
            [service:crit]
            command = {self.svc("pause", tag="crit")}
            critical = true
            [service:init]
            command = {self.svc("exit", 0, tag="init")}
            type = oneshot
            critical = true
            [service:loose]
            command = {self.svc("exit", 1, tag="loose")}
            restart = never
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        wait_until(lambda: by_name(self.ctl_status(), "init")["state"]
                   == "completed", 5, "init completed")
        wait_until(lambda: by_name(self.ctl_status(), "loose")["state"]
                   == "failed", 5, "loose failed")
        # critical ones up (or a oneshot completed); a non-critical failed
        r = self.ctl("status", "--check")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        # a critical service held down: not up
        self.assertEqual(self.ctl("stop", "crit").returncode, 0)
        wait_until(lambda: by_name(self.ctl_status(), "crit")["state"]
                   == "stopped", 5, "crit stopped")
        r = self.ctl("status", "--check")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("crit", r.stderr)
        self.assertEqual(self.ctl("start", "crit").returncode, 0)
        wait_until(lambda: self.ctl("status", "--check").returncode == 0,
                   5, "--check 0 after start")
        # no supervisor behind the socket
        self.assertEqual(rv.shutdown(), 0)
        r = self.ctl("status", "--check")
        self.assertEqual(r.returncode, 1, r)
        self.assertTrue(r.stderr.strip(), "no message when nothing answers")
        r = self.ctl("status", sock=os.path.join(self.tmp, "nothing.sock"))
        self.assertEqual(r.returncode, 1, r)

    # ------------------------------------------------- stop/start/...

    def test_stop_holds_down_until_start(self):
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("pause", tag="web")}
            restart = always
            restart_delay = 50ms
            [service:other]
            command = {self.svc("pause", tag="other")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        web1, = self.wait_stamps(1, tag="web")
        other, = self.wait_stamps(1, tag="other")

        r = self.ctl("stop", "web")
        self.assertEqual(r.returncode, 0, r.stderr)
        stop, = rv.wait_for("stop", service="web")
        self.assertEqual((stop.get("signal"), stop.get("pid")),
                         ("SIGTERM", str(web1.pid)), stop.raw)
        wait_until(lambda: not rvtest.alive(web1.pid), 5, "web's process gone")
        s = wait_until(lambda: (lambda w: w if w["state"] == "stopped"
                                else None)(self.ctl_status("web")
                                           ["services"][0]),
                       5, "web stopped")
        self.assertEqual((s["pid"], s["ready"]), (None, False), s)
        # held down: restart = always does not bring it back
        time.sleep(T(0.5))
        self.assertEqual(len(self.stamps("web")), 1, "a stopped service "
                         "was restarted")
        self.assertEqual(self.ctl_status("web")["services"][0]["state"],
                         "stopped")
        self.assertTrue(rvtest.alive(other.pid), "other was touched")
        self.assertEqual(rv.find("restart_scheduled", service="web"), [])
        # stop again: harmless
        self.assertEqual(self.ctl("stop", "web").returncode, 0)

        r = self.ctl("start", "web")
        self.assertEqual(r.returncode, 0, r.stderr)
        web2 = self.wait_stamps(2, tag="web")[1]
        s = wait_until(lambda: (lambda w: w if w["state"] == "running"
                                else None)(self.ctl_status("web")
                                           ["services"][0]),
                       5, "web running")
        self.assertEqual(s["pid"], web2.pid)
        # start of a running service does not start a second copy
        self.assertEqual(self.ctl("start", "web").returncode, 0)
        time.sleep(T(0.3))
        self.assertEqual(len(self.stamps("web")), 2)
        self.assertEqual(self.ctl_status("web")["services"][0]["pid"],
                         web2.pid)

        # several names at once; all or nothing on an unknown one
        r = self.ctl("stop", "web", "nosuch")
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("nosuch", r.stderr)
        time.sleep(T(0.2))
        self.assertTrue(rvtest.alive(web2.pid), "stop with an unknown name "
                        "stopped the others")
        r = self.ctl("stop", "web", "other")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: not rvtest.alive(web2.pid) and
                   not rvtest.alive(other.pid), 5, "both stopped")
        wait_until(lambda: {s["state"] for s in
                            self.ctl_status()["services"]} == {"stopped"},
                   5, "both stopped in status")
        # the supervisor stays alive with everything held down
        self.assertTrue(rv.running())
        self.assertEqual(self.ctl_status()["supervisor"]["state"], "alive")
        self.assertEqual(rv.shutdown(), 0)
        rep = self.report(rv)
        self.assertEqual(service(rep, "web")["state"], "stopped")

    def test_stop_shows_stopping_until_stop_timeout(self):
        cfg = self.config(f"""
            [service:deaf]
            command = {self.svc("ignore", "TERM", "pause", tag="deaf")}
            stop_timeout = 1500ms
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        deaf, = self.wait_stamps(1, tag="deaf")
        t0 = time.monotonic()
        self.assertEqual(self.ctl("stop", "deaf").returncode, 0)
        s = self.ctl_status("deaf")["services"][0]
        if time.monotonic() - t0 < T(1.2):
            self.assertEqual((s["state"], s["pid"]), ("stopping", deaf.pid),
                             s)
        rv.wait_for("kill", service="deaf", timeout=5)
        s = wait_until(lambda: (lambda w: w if w["state"] == "stopped"
                                else None)(self.ctl_status("deaf")
                                           ["services"][0]),
                       5, "deaf stopped")
        self.assertEqual(s["last_exit"],
                         {"signal": "SIGKILL", "core_dumped": False})
        self.assertGreaterEqual(time.monotonic() - t0, 1.4)
        self.assertEqual(rv.shutdown(), 0)

    def test_restart(self):
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("pause", tag="web")}
            restart = never
            [service:other]
            command = {self.svc("pause", tag="other")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        web1, = self.wait_stamps(1, tag="web")
        other, = self.wait_stamps(1, tag="other")
        r = self.ctl("restart", "web")
        self.assertEqual(r.returncode, 0, r.stderr)
        web2 = self.wait_stamps(2, tag="web")[1]
        self.assertFalse(rvtest.alive(web1.pid), "old process still there "
                         "when the new one started")
        stop, = rv.find("stop", service="web")
        self.assertEqual(stop.get("pid"), str(web1.pid))
        s = wait_until(lambda: (lambda w: w if w["state"] == "running"
                                else None)(self.ctl_status("web")
                                           ["services"][0]),
                       5, "web running")
        self.assertEqual(s["pid"], web2.pid)
        self.assertTrue(rvtest.alive(other.pid))
        self.assertEqual(len(self.stamps("other")), 1)

        # restart of a stopped service starts it
        self.assertEqual(self.ctl("stop", "web").returncode, 0)
        wait_until(lambda: self.ctl_status("web")["services"][0]["state"]
                   == "stopped", 5, "web stopped")
        self.assertEqual(self.ctl("restart", "web").returncode, 0)
        web3 = self.wait_stamps(3, tag="web")[2]
        wait_until(lambda: self.ctl_status("web")["services"][0]["pid"]
                   == web3.pid, 5, "web running again")
        self.assertEqual(rv.shutdown(), 0)

    def test_start_of_a_failed_service_starts_it_fresh(self):
        cnt = os.path.join(self.tmp, "count")
        # runs 1 and 2 fail: 1 restart allowed, so failed after run 2;
        # started by hand, run 3 fails again: a fresh start has its own
        # budget of restarts, so run 4 comes (and pauses)
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("seq", cnt, "0:1,0:1,0:1,pause", tag="web")}
            restart = on-failure
            backoff = fixed
            restart_delay = 50ms
            backoff_jitter = 0
            max_restarts = 1
            restart_window = 60s
            [service:keep]
            command = {self.svc("pause", tag="keep")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        rv.wait_for("failed", service="web", timeout=5)
        s = self.ctl_status("web")["services"][0]
        self.assertEqual((s["state"], s["last_exit"]),
                         ("failed", {"code": 1}))
        self.assertEqual(len(self.stamps("web")), 2)
        r = self.ctl("start", "web")
        self.assertEqual(r.returncode, 0, r.stderr)
        st = self.wait_stamps(4, tag="web")
        s = wait_until(lambda: (lambda w: w if w["state"] == "running"
                                else None)(self.ctl_status("web")
                                           ["services"][0]),
                       5, "web running")
        self.assertEqual(s["pid"], st[3].pid)
        self.assertEqual(len(rv.find("failed", service="web")), 1)
        self.assertEqual(rv.shutdown(), 0)

    # ------------------------------------------------------------ kill

    def test_kill(self):
        sigf = os.path.join(self.tmp, "sigs")
        cfg = self.config(f"""
            [service:rec]
            command = {self.svc("sigrecord", tag="rec", sig_file=sigf)}
            [service:victim]
            command = {self.svc("pause", tag="victim")}
            restart = always
            backoff = fixed
            restart_delay = 100ms
            backoff_jitter = 0
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        rec, = self.wait_stamps(1, tag="rec")
        wait_until(lambda: "ready" in rvtest.slurp(sigf), 5, "sigrecord")

        def got():
            return rvtest.slurp(sigf).split()[1:]
        for i, (arg, name) in enumerate((("USR1", "SIGUSR1"),
                                         ("SIGUSR2", "SIGUSR2"),
                                         ("1", "SIGHUP"),
                                         ("winch", "SIGWINCH"))):
            r = self.ctl("kill", "rec", arg)
            self.assertEqual(r.returncode, 0, (arg, r))
            wait_until(lambda: len(got()) > i, 5, f"{name} delivered")
            self.assertEqual(got()[i], name, arg)
        self.assertTrue(rvtest.alive(rec.pid))

        # bad signals and bad usage: errors, nothing sent
        for args, codes in ((("rec", "NOPE"), (1, 2)),
                            (("rec", "99999"), (1, 2)),
                            (("nosuch", "TERM"), (1,)),
                            (("rec",), (2,)),
                            ((), (2,))):
            r = self.ctl("kill", *args)
            self.assertIn(r.returncode, codes, (args, r))
            self.assertTrue(r.stderr.strip(), (args, "no message"))
            self.assertNotIn("Traceback", r.stderr)
        time.sleep(T(0.2))
        self.assertEqual(len(got()), 4, got())

        # SIGKILL: a death like any other, restarted per policy
        victim, = self.wait_stamps(1, tag="victim")
        r = self.ctl("kill", "victim", "9")
        self.assertEqual(r.returncode, 0, r.stderr)
        ex, = rv.wait_for("exit", service="victim")
        self.assertEqual((ex.get("pid"), ex.get("signal")),
                         (str(victim.pid), "SIGKILL"), ex.raw)
        self.wait_stamps(2, tag="victim")

        # a service that is not running: an error
        self.assertEqual(self.ctl("stop", "rec").returncode, 0)
        wait_until(lambda: self.ctl_status("rec")["services"][0]["state"]
                   == "stopped", 5, "rec stopped")
        r = self.ctl("kill", "rec", "USR1")
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(rv.shutdown(), 0)

    def test_kill_reaches_the_process_group(self):
        cfg = self.config(f"""
            [service:tree]
            command = {self.svc("spawn", "pause", tag="tree")}
            kill_mode = group
            restart = never
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        main, = self.wait_stamps(1, tag="tree")
        gc, = self.wait_stamps(1, tag="tree", kind="gc")
        # TERM to the group reaches the grandchild too
        self.assertEqual(self.ctl("kill", "tree", "TERM").returncode, 0)
        wait_until(lambda: not rvtest.alive(gc.pid), 5, "grandchild gone")
        wait_until(lambda: not rvtest.alive(main.pid), 5, "main gone")
        self.assertEqual(rv.shutdown(), 0)

    # -------------------------------------------------------- shutdown

    def test_shutdown(self):
        cfg = self.config(f"""
            [service:a]
            command = {self.svc("pause", tag="a")}
            [service:b]
            command = {self.svc("pause", tag="b")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        a, = self.wait_stamps(1, tag="a")
        b, = self.wait_stamps(1, tag="b")
        r = self.ctl("shutdown")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(rv.wait(10), 0)
        stops = [e["service"] for e in rv.find("stop")]
        self.assertEqual(stops, ["b", "a"], "reverse start order")
        self.assertFalse(rvtest.alive(a.pid) or rvtest.alive(b.pid))
        rep = self.report(rv)
        self.assertEqual(rep["supervisor"]["state"], "completed")
        for n in ("a", "b"):
            self.assertEqual(service(rep, n)["state"], "stopped")
        self.assertFalse(os.path.exists(self.control_path),
                         "socket file left behind")
        # nothing answers any more: exit 1, one line
        r = self.ctl("status")
        self.assertEqual(r.returncode, 1, r)

    def test_shutdown_with_nothing_running(self):
        # nothing to stop: the supervisor ends at once, and must still
        # answer first (the client says whether it worked)
        cfg = self.config(f"""
            [service:held]
            command = {self.svc("pause", tag="held")}
            [service:waiting]
            command = {self.svc("exit", 1, tag="waiting")}
            restart = always
            backoff = fixed
            restart_delay = 30s
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        self.wait_stamps(1, tag="held")
        self.assertEqual(self.ctl("stop", "held").returncode, 0)
        wait_until(lambda: {s["state"] for s in self.ctl_status()["services"]}
                   == {"stopped", "backoff"}, 5, "nothing running")
        r = self.ctl("shutdown")
        self.assertEqual((r.returncode, r.stderr), (0, ""), r)
        self.assertEqual(rv.wait(10), 0)
        # over the wire too
        rv = self.start(cfg)
        c = self.wait_control(rv)
        self.wait_stamps(2, tag="held")
        c.request({"cmd": "stop", "services": ["held"]})
        wait_until(lambda: {s["state"] for s in self.ctl_status()["services"]}
                   == {"stopped", "backoff"}, 5, "nothing running")
        self.assertEqual(c.request({"cmd": "shutdown"}), {"ok": True})
        self.assertEqual(rv.wait(10), 0)

    def test_usage_errors(self):
        cfg = self.config(f"""
            [service:a]
            command = {self.svc("pause", tag="a")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        for args in (("start",), ("stop",), ("restart",),
                     ("status", "--bogus"), ("metrics", "extra", "--nope")):
            r = self.ctl(*args)
            self.assertEqual(r.returncode, 2, (args, r))
            self.assertTrue(r.stderr.strip(), args)
        # -c FILE finds the socket through the config
        r = self.rv("status", "-c", cfg, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(rv.shutdown(), 0)

    def test_second_supervisor_on_the_same_socket_is_refused(self):
        cfg = self.config(f"""
            [service:a]
            command = {self.svc("pause", tag="a")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        a, = self.wait_stamps(1, tag="a")
        cfg2 = self.config(f"""
            [service:b]
            command = {self.svc("pause", tag="b")}
            """, name="second.conf")
        rv2 = self.start(cfg2, report=False)
        rc = rv2.wait(10)
        self.assertNotEqual(rc, 0, "a second supervisor took the socket")
        self.assertIn(self.control_path, rv2.stderr_text())
        self.assertEqual(self.stamps("b"), [], "the second one started "
                         "its services")
        # the first one still owns and serves it
        st = self.ctl_status()
        self.assertEqual((st["supervisor"]["pid"],
                          [s["name"] for s in st["services"]]),
                         (rv.pid, ["a"]))
        self.assertEqual(rv.shutdown(), 0)

    def test_stale_socket_file_is_replaced(self):
        cfg = self.config(f"""
            [service:a]
            command = {self.svc("pause", tag="a")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        self.wait_stamps(1, tag="a")
        rv.kill()	# SIGKILL: the socket file stays behind
        self.assertTrue(os.path.exists(self.control_path))

        # io_uring: the kernel drops the ring's file references (the
        # listening socket of an armed accept) a few ms after the exit
        def refused():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.control_path)
                return False
            except ConnectionRefusedError:
                return True
            finally:
                s.close()
        wait_until(refused, 2, "the dead supervisor's socket to refuse")
        rv2 = self.start(cfg)
        self.wait_control(rv2)
        self.assertEqual(self.ctl_status()["supervisor"]["pid"], rv2.pid)
        self.assertEqual(rv2.shutdown(), 0)
        # a file that is not a socket is never removed
        self.write("control.sock", "precious\n")
        rv3 = self.start(cfg, report=False)
        self.assertNotEqual(rv3.wait(10), 0)
        self.assertEqual(rvtest.slurp(self.control_path), "precious\n")

    # --------------------------------------------------------- metrics

    def test_metrics(self):
        cnt = os.path.join(self.tmp, "count")
        cfg = self.config(f"""
            [service:flap]
            command = {self.svc("seq", cnt, "0:1,0:1,0:1,pause", tag="flap")}
            restart = on-failure
            backoff = fixed
            restart_delay = 50ms
            backoff_jitter = 0
            [service:steady]
            command = {self.svc("pause", tag="steady")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        self.wait_stamps(4, tag="flap")
        wait_until(lambda: self.ctl_status("flap")["services"][0]["state"]
                   == "running", 5, "flap running")
        r = self.ctl("metrics")
        self.assertEqual(r.returncode, 0, r.stderr)
        types, samples = parse_prometheus(self, r.stdout)
        for fam, typ in types.items():
            self.assertTrue(fam.startswith("ringvisor_"), fam)
            if typ == "counter":
                self.assertTrue(fam.endswith("_total"), fam)

        self.assertEqual(types.get("ringvisor_service_restarts_total"),
                         "counter")
        self.assertEqual(values(samples, "ringvisor_service_restarts_total",
                                service="flap"), [3.0])
        self.assertEqual(values(samples, "ringvisor_service_restarts_total",
                                service="steady"), [0.0])
        self.assertEqual(types.get("ringvisor_loop_iterations_total"),
                         "counter")
        it1, = values(samples, "ringvisor_loop_iterations_total")
        self.assertGreater(it1, 0)

        n, total = check_histogram(self, types, samples,
                                   "ringvisor_restart_latency_seconds")
        self.assertGreaterEqual(n, 3, "three restarts, three latencies")
        self.assertLess(total / n, 1.0, "mean restart latency >= 1 s")
        n, total = check_histogram(self, types, samples,
                                   "ringvisor_timer_lateness_seconds")
        self.assertGreaterEqual(n, 3, "three backoff timers fired")
        self.assertGreaterEqual(total, 0)

        # state and uptime per service, if exposed, agree with status
        st = values(samples, "ringvisor_service_state", service="flap",
                    state="running")
        if st:
            self.assertEqual(st, [1.0])

        # counters move forward between scrapes
        self.assertEqual(self.ctl("kill", "steady", "KILL").returncode, 0)
        self.wait_stamps(2, tag="steady")
        wait_until(lambda: self.ctl_status("steady")["services"][0]["state"]
                   == "running", 5, "steady running")
        with self.connect() as c:
            rep = c.request({"cmd": "metrics"})
        self.assertTrue(rep.get("ok"), rep)
        types2, samples2 = parse_prometheus(self, rep["metrics"])
        it2, = values(samples2, "ringvisor_loop_iterations_total")
        self.assertGreater(it2, it1)
        self.assertEqual(values(samples2, "ringvisor_service_restarts_total",
                                service="steady"), [1.0])
        n2, _ = check_histogram(self, types2, samples2,
                                "ringvisor_restart_latency_seconds")
        self.assertGreaterEqual(n2, 4)
        self.assertEqual(rv.shutdown(), 0)


if __name__ == "__main__":
    rvtest.main()
