#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Rolling restarts (`restart --rolling`, `restart_mode = rolling`): the
instances of a service are replaced a few at a time, each replacement
ready before the next goes down, so no more than `max_unavailable` are
ever not ready (checked from the order of the event stream); a
replacement that fails readiness stops the roll there and the instances
not reached keep their process, with the roll's status and event saying
so; a reload rolls a changed environment through the instances."""

import json
import os
import shlex
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import T, wait_until  # noqa: E402

# A notify daemon: appends "<instance> <pid> <$VERSION>" to the pids file,
# then sends READY=1 after a short delay, unless the file `broken` exists
# and it is the instance named by its content (never ready: ready_timeout).
NOTIFIER = r'''
import os, signal, socket, sys, time
inst, pids, broken = sys.argv[1], sys.argv[2], sys.argv[3]
with open(pids, "a") as f:
    f.write(f"{inst} {os.getpid()} {os.environ.get('VERSION', '-')}\n")
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
time.sleep(0.05)
try:
    with open(broken) as f:
        bad = f.read().strip() == inst
except OSError:
    bad = False
if not bad:
    a = os.environ["NOTIFY_SOCKET"]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"READY=1", "\0" + a[1:] if a.startswith("@") else a)
    s.close()
while True:
    signal.pause()
'''


class Follower:
    """The event stream, read in a thread; wait(pred) polls it."""

    def __init__(self, conn):
        self.conn, self.events, self.eof = conn, [], False
        self.cond = threading.Condition()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                ln = self.conn.line(timeout=60)
            except OSError:
                ln = b""
            with self.cond:
                if not ln:
                    self.eof = True
                    self.cond.notify_all()
                    return
                self.events.append(json.loads(ln))
                self.cond.notify_all()

    def wait(self, pred, what, timeout=20):
        deadline = time.monotonic() + T(timeout)
        with self.cond:
            while not pred(self.events):
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise AssertionError(f"waiting for {what}: "
                                         f"{self.events[-12:]}")
                self.cond.wait(min(left, 0.1))
            return list(self.events)

    def of(self, kind):
        with self.cond:
            return [e for e in self.events if e["event"] == kind]


class Rolling(rvtest.Case):

    N = 4

    def notifier(self):
        path = os.path.join(self.tmp, "notifier.py")
        if not os.path.exists(path):
            self.write("notifier.py", NOTIFIER)
        return " ".join(shlex.quote(a) for a in (
            sys.executable, path, "%i", os.path.join(self.tmp, "pids"),
            os.path.join(self.tmp, "broken")))

    def web(self, *extra, ready_timeout=None):
        # long enough for a loaded machine to start python; only the
        # broken instance waits all of it
        ready_timeout = ready_timeout or f"{T(1.5):.2f}s"
        return self.config("\n".join([
            "[service:web]", f"command = {self.notifier()}", "type = notify",
            f"instances = {self.N}", f"ready_timeout = {ready_timeout}",
            "restart_delay = 1s", "stop_timeout = 5s", *extra]) + "\n")

    def up(self, cfg):
        p = self.start(cfg)
        self.wait_control(p)
        wait_until(lambda: all(s["state"] == "running" for s in
                               self.ctl_status("web")["services"]),
                   20, "every instance running")
        return p

    def pids(self):
        return {s["name"]: s["pid"] for s in self.ctl_status("web")["services"]}

    def follow(self):
        c = self.connect(timeout=30)
        self.assertEqual(c.request({"cmd": "events"}),
                         {"ok": True, "following": True})
        return Follower(c)

    def assert_capacity(self, events, most):
        """Replays the state events: never more than `most` instances of
        web not running (all were running before the roll)."""
        running = {f"web@{i}": True for i in range(self.N)}
        worst = 0
        for e in events:
            if e["event"] == "state" and e["service"] in running:
                running[e["service"]] = e["to"] == "running"
                worst = max(worst, sum(not r for r in running.values()))
        self.assertLessEqual(worst, most, events)
        self.assertGreater(worst, 0, "the roll took nothing down")
        return worst

    def test_roll_keeps_capacity_and_replaces_every_instance(self):
        self.up(self.web("max_unavailable = 2"))
        before = self.pids()
        f = self.follow()
        r = self.ctl("restart", "--rolling", "web")
        self.assertEqual(r.returncode, 0, r.stderr)
        evs = f.wait(lambda ev: any(e["event"] in ("roll_done",
                                                   "roll_failed")
                                    for e in ev), "the end of the roll")
        self.assertEqual([e["event"] for e in evs if
                          e["event"].startswith("roll_")],
                         ["roll_started"] + ["roll_step"] * self.N +
                         ["roll_done"], evs)
        self.assert_capacity(evs, 2)
        after = self.pids()
        for name, pid in before.items():
            self.assertNotEqual(after[name], pid, name)
        st = self.ctl_status("web")["services"]
        for s in st:
            self.assertEqual(s["state"], "running")
            self.assertEqual(s["roll"], {"state": "done", "at": None,
                                         "reason": None, "replaced": 4,
                                         "instances": 4,
                                         "max_unavailable": 2})

    def test_failed_readiness_stops_the_roll(self):
        p = self.up(self.web())
        before = self.pids()
        self.write("broken", "2\n")
        f = self.follow()
        c = self.connect()
        rep = c.request({"cmd": "restart", "services": ["web"],
                         "rolling": True})
        self.assertEqual(rep["rolling"], ["web"], rep)
        # a second roll while this one runs is refused, and says why
        again = c.request({"cmd": "restart", "services": ["web"],
                           "rolling": True})
        self.assertFalse(again["ok"], again)
        self.assertIn("in progress", again["error"])
        # nor may it hand over to a new binary (its position does not
        # cross, docs/reexec.md): the caller retries once it is over
        self.assertEqual(c.request({"cmd": "reexec"}),
                         {"ok": False, "error": "reexec: a rolling "
                          "restart is in progress"})
        evs = f.wait(lambda ev: any(e["event"] == "roll_failed"
                                    for e in ev), "roll_failed")
        failed = f.of("roll_failed")[0]
        self.assertEqual((failed["service"], failed["at"], failed["reason"],
                          failed["replaced"]),
                         ("web", "web@2", "ready_timeout", 2), failed)
        self.assertEqual([e["at"] for e in f.of("roll_step")],
                         ["web@0", "web@1", "web@2"])
        self.assert_capacity(evs, 1)
        after = self.pids()
        self.assertNotEqual(after["web@0"], before["web@0"])
        self.assertNotEqual(after["web@1"], before["web@1"])
        self.assertEqual(after["web@3"], before["web@3"])
        st = {s["name"]: s for s in self.ctl_status("web")["services"]}
        self.assertEqual(st["web@3"]["state"], "running")
        self.assertEqual(st["web@3"]["roll"]["state"], "stopped")
        self.assertEqual(st["web@3"]["roll"]["at"], "web@2")
        self.assertEqual(st["web@3"]["roll"]["reason"], "ready_timeout")
        p.wait_for("roll_failed", service="web", at="web@2",
                   reason="ready_timeout")

    def test_wait_for_the_roll(self):
        """restart --rolling --wait answers when the roll ends: exit 0 with
        a line per instance and the roll's; exit 1 with where and why it
        stopped, the instances not reached as they are."""
        self.up(self.web())
        r = self.ctl("restart", "--rolling", "web", "--wait")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[-1], "web: rolled (4 of 4 replaced)", lines)
        self.assertEqual(len(lines), self.N + 1, lines)
        pids = self.pids()
        for i, ln in enumerate(lines[:-1]):
            self.assertRegex(ln, rf"^web@{i}: running \(pid "
                             rf"{pids[f'web@{i}']}, ready in [0-9.]+s\)$")
        self.write("broken", "2\n")
        r = self.ctl("restart", "--rolling", "web", "--wait")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[-1], "web: roll stopped at web@2 "
                         "(ready_timeout)", lines)
        self.assertRegex(lines[2], r"^web@2: failed \(ready_timeout")
        self.assertEqual(lines[3], f"web@3: running (pid "
                         f"{pids['web@3']}, not restarted)", lines)

    def test_reload_rolls_a_changed_environment(self):
        self.up(self.web("restart_mode = rolling", "environment = VERSION=1"))
        before = self.pids()
        f = self.follow()
        self.web("restart_mode = rolling", "environment = VERSION=2")
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        evs = f.wait(lambda ev: any(e["event"] in ("roll_done",
                                                   "roll_failed")
                                    for e in ev), "the end of the roll")
        self.assertEqual(f.of("roll_failed"), [])
        self.assertEqual(len(f.of("roll_step")), self.N)
        self.assert_capacity(evs, 1)
        after = self.pids()
        with open(os.path.join(self.tmp, "pids")) as fh:
            seen = {int(ln.split()[1]): ln.split()[2] for ln in fh}
        for name, pid in after.items():
            self.assertNotEqual(pid, before[name], name)
            self.assertEqual(seen[pid], "2", name)
        for pid in before.values():
            self.assertEqual(seen[pid], "1")

    def test_failed_reload_roll_keeps_the_old_config_on_the_rest(self):
        p = self.up(self.web("restart_mode = rolling",
                             "environment = VERSION=1"))
        before = self.pids()
        self.write("broken", "1\n")
        f = self.follow()
        self.web("restart_mode = rolling", "environment = VERSION=2")
        self.assertEqual(self.ctl("reload").returncode, 0)
        failed = f.wait(lambda ev: [e for e in ev
                                    if e["event"] == "roll_failed"],
                        "roll_failed")
        failed = [e for e in failed if e["event"] == "roll_failed"][0]
        self.assertEqual((failed["at"], failed["reason"]),
                         ("web@1", "ready_timeout"), failed)
        # the reload is over: the builds parked on web@2 and web@3 are
        # dropped, so a later reload is not queued behind them
        p.wait_for("reload_done")
        after = self.pids()
        self.assertEqual(after["web@2"], before["web@2"])
        self.assertEqual(after["web@3"], before["web@3"])
        # a second reload retries: web@2 and web@3 still have the old
        # config (web@1 has the new one, failing, and is left to its policy)
        os.unlink(os.path.join(self.tmp, "broken"))
        r = self.connect().request({"cmd": "reload"})
        self.assertNotIn("queued", r)
        self.assertEqual(sorted(r["restarted"]), ["web@2", "web@3"], r)
        f.wait(lambda ev: any(e["event"] == "roll_done" for e in ev),
               "roll_done")
        with open(os.path.join(self.tmp, "pids")) as fh:
            seen = {int(ln.split()[1]): ln.split()[2] for ln in fh}
        wait_until(lambda: self.pids()["web@1"] is not None, 10,
                   "web@1 back")
        for name, pid in self.pids().items():
            if pid in seen:
                self.assertEqual(seen[pid], "2", name)

    def test_stop_shutdown_and_reload_end_a_roll(self):
        p = self.up(self.web(ready_timeout="60s"))
        self.write("broken", "0\n")
        self.ctl("restart", "--rolling", "web")
        p.wait_for("roll_step", at="web@0")
        # a reload that removes the service: the roll lets go of it
        self.config("[service:other]\ncommand = "
                    + self.svc("pause", tag="other") + "\n")
        self.assertEqual(self.ctl("reload").returncode, 0)
        p.wait_for("roll_failed", service="web", reason="reload")
        wait_until(lambda: [s["name"] for s in
                            self.ctl_status()["services"]] == ["other"],
                   20, "web removed")
        # a roll that a stop ends, then shutdown
        self.web(ready_timeout="60s")
        self.ctl("reload")
        wait_until(lambda: all(s["state"] == "running" for s in
                               self.ctl_status("web")["services"][1:]),
                   20, "web@1..3 running")
        self.write("broken", "1\n")
        self.ctl("restart", "--rolling", "web")
        p.wait_for("roll_step", at="web@1")
        self.assertEqual(self.ctl("stop", "web@1").returncode, 0)
        p.wait_for("roll_failed", service="web", reason="stop")
        st = {s["name"]: s for s in self.ctl_status("web")["services"]}
        self.assertEqual(st["web@2"]["roll"]["reason"], "stop")
        self.assertEqual(st["web@3"]["state"], "running")
        self.assertEqual(p.shutdown(), 0)

    def test_held_instance_and_single_simple_service(self):
        solo = ["[service:solo]", "command = " + self.svc("pause", tag="solo")]
        p = self.up(self.web("restart_mode = rolling",
                             "environment = VERSION=1", *solo))
        self.assertEqual(self.ctl("stop", "web@3").returncode, 0)
        wait_until(lambda: self.pids()["web@3"] is None, 10, "web@3 down")
        # a reload roll passes over an instance an admin holds down
        self.web("restart_mode = rolling", "environment = VERSION=2", *solo)
        self.assertEqual(self.ctl("reload").returncode, 0)
        p.wait_for("roll_done", service="web")
        st = {s["name"]: s for s in self.ctl_status("web")["services"]}
        self.assertEqual(st["web@3"]["state"], "stopped")
        self.assertEqual(st["web@0"]["roll"]["replaced"], 4)
        p.wait_for("reload_done")
        # a single simple service: a restart that waits for `running`
        old = self.ctl_status("solo")["services"][0]["pid"]
        self.assertEqual(self.ctl("restart", "--rolling", "solo").returncode,
                         0)
        p.wait_for("roll_done", service="solo")
        s = self.ctl_status("solo")["services"][0]
        self.assertEqual(s["state"], "running")
        self.assertNotEqual(s["pid"], old)
        self.assertNotEqual(self.ctl("stop", "--rolling", "solo").returncode,
                            0)

    def test_max_unavailable_is_checked(self):
        cfg = self.write("bad.conf", "[service:web]\ncommand = /bin/true\n"
                         "instances = 2\nmax_unavailable = 3\n")
        r = self.rv("check", "-c", cfg)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("bad.conf:4", r.stdout + r.stderr)
        self.assertIn("max_unavailable (3) is more than instances (2)",
                      r.stdout + r.stderr)


if __name__ == "__main__":
    rvtest.main()
