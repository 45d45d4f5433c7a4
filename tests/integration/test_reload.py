#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ringvisor reload` and SIGHUP: the config is re-read and the difference
applied (a changed section restarts, a new one starts, a removed one
stops, an unchanged one keeps its process); a config with errors is
refused with all of them and nothing running is touched."""

import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import T, wait_until  # noqa: E402

ERR = re.compile(r"^(.+):(\d+): error: \S.*$")


def names(st):
    return sorted(s["name"] for s in st["services"])


def by_name(st, name):
    for s in st["services"]:
        if s["name"] == name:
            return s
    raise AssertionError(f"status: no service {name!r}: {names(st)}")


class Reload(rvtest.Case):

    def sections(self, **svcs):
        """Service sections: name=(steps tuple) or name=(steps, extra)."""
        body = ""
        for name, spec in svcs.items():
            if len(spec) == 2 and isinstance(spec[0], tuple):
                steps, extra = spec
            else:
                steps, extra = spec, ""
            body += (f"[service:{name}]\n"
                     f"command = {self.svc(*steps, tag=name)}\n{extra}\n")
        return body

    def running_pids(self):
        st = self.ctl_status()
        return {s["name"]: s["pid"] for s in st["services"]
                if s["state"] == "running"}

    def test_changed_added_removed(self):
        cfg = self.config(self.sections(keep=("pause",), chg=("pause",),
                                        gone=("pause",)))
        rv = self.start(cfg)
        self.wait_control(rv)
        keep, = self.wait_stamps(1, tag="keep")
        chg, = self.wait_stamps(1, tag="chg")
        gone, = self.wait_stamps(1, tag="gone")

        self.config(self.sections(keep=("pause",),
                                  chg=("ms", 1, "pause"),
                                  new=("pause",)))
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r)
        out = r.stdout.split()
        for n in ("chg", "new", "gone"):
            self.assertIn(n, out, r.stdout)
        self.assertNotIn("keep", out, r.stdout)
        # the applied diff as counts, then what it touched (issue 15)
        self.assertEqual(r.stdout.splitlines(), [
            "reload: 1 added, 1 removed, 1 restarted, 1 unchanged",
            "added new", "removed gone", "restarted chg"])

        chg2 = self.wait_stamps(2, tag="chg")[1]
        self.assertEqual(chg2.args, ["ms", "1", "pause"], "old command")
        new, = self.wait_stamps(1, tag="new")
        wait_until(lambda: not rvtest.alive(gone.pid), 5, "gone stopped")
        self.assertFalse(rvtest.alive(chg.pid), "changed: old process left")
        self.assertTrue(rvtest.alive(keep.pid), "unchanged: process ended")
        self.assertEqual(len(self.stamps("keep")), 1, "unchanged restarted")
        wait_until(lambda: names(self.ctl_status()) == ["chg", "keep", "new"]
                   and self.running_pids() == {"keep": keep.pid,
                                               "chg": chg2.pid,
                                               "new": new.pid},
                   5, "status after reload")
        self.assertEqual(len(self.stamps("gone")), 1, "removed restarted")
        r = self.ctl("status", "gone")
        self.assertEqual(r.returncode, 1, r)

        # the same again: nothing to do (raw protocol: the reply's shape)
        with self.connect() as c:
            rep = c.request({"cmd": "reload"})
        self.assertEqual({k: rep.get(k) for k in
                          ("ok", "restarted", "started", "stopped")},
                         {"ok": True, "restarted": [], "started": [],
                          "stopped": []}, rep)
        self.assertIsInstance(rep.get("warnings"), list, rep)
        time.sleep(T(0.2))
        self.assertEqual(self.running_pids(), {"keep": keep.pid,
                                               "chg": chg2.pid,
                                               "new": new.pid})
        self.assertEqual(rv.shutdown(), 0)
        rep = self.report(rv)
        self.assertEqual(sorted(s["name"] for s in rep["services"]),
                         ["chg", "keep", "new"])

    def test_reload_reply_over_the_wire(self):
        cfg = self.config(self.sections(a=("pause",), b=("pause",)))
        rv = self.start(cfg)
        c = self.wait_control(rv)
        a, = self.wait_stamps(1, tag="a")
        # b too: stopped before its first stamp, it would never count 2
        self.wait_stamps(1, tag="b")
        self.config(self.sections(a=("pause",), b=(("pause",),
                                                   "stop_timeout = 3s"),
                                  c=("pause",)))
        rep = c.request({"cmd": "reload"})
        self.assertIs(rep.get("ok"), True, rep)
        self.assertEqual((rep["restarted"], rep["started"], rep["stopped"]),
                         (["b"], ["c"], []), rep)
        self.wait_stamps(2, tag="b")
        self.wait_stamps(1, tag="c")
        self.assertEqual(len(self.stamps("a")), 1)
        self.assertTrue(rvtest.alive(a.pid))
        self.assertEqual(rv.shutdown(), 0)

    def test_comments_and_spacing_are_not_a_change(self):
        cfg = self.config(self.sections(a=(("pause",), "restart = always"),
                                        b=("pause",)))
        rv = self.start(cfg)
        self.wait_control(rv)
        a, = self.wait_stamps(1, tag="a")
        b, = self.wait_stamps(1, tag="b")
        text = rvtest.slurp(cfg)
        text = text.replace("restart = always", "restart=always   ; why not")
        # keys in another order: the same section (README: "in any order")
        lines = text.splitlines()
        i = next(k for k, ln in enumerate(lines)
                 if ln.startswith("restart="))
        lines.insert(i - 1, lines.pop(i))
        text = "\n".join(lines) + "\n"
        text = text.replace("[service:b]", "# a comment\n\n[service:b]\n")
        self.write("ringvisor.conf", text)
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout, "reload: 0 added, 0 removed, 0 "
                         "restarted, 2 unchanged\n", "something was changed")
        self.assertEqual(r.stderr, "")
        time.sleep(T(0.2))
        self.assertEqual(self.running_pids(), {"a": a.pid, "b": b.pid})
        self.assertEqual(rv.find("stop"), [])
        self.assertEqual(rv.shutdown(), 0)

    def test_broken_config_is_refused_and_nothing_changes(self):
        body = self.sections(keep=("pause",), chg=("pause",))
        cfg = self.config(body)
        rv = self.start(cfg)
        self.wait_control(rv)
        keep, = self.wait_stamps(1, tag="keep")
        chg, = self.wait_stamps(1, tag="chg")
        mark = rv.mark()

        # chg changed, keep removed, new added: all valid; then a section
        # with three errors
        good = self.sections(chg=("ms", 1, "pause"), new=("pause",))
        bad = ("[service:broken]\n"
               "command =\n"
               "restart = sometimes\n"
               "max_restarts = -1\n")
        path = self.config(good + bad)
        lines = rvtest.slurp(path).splitlines()
        # whole lines: a temporary directory named rvtest-1... once made
        # every "command = ..." line look like "max_restarts = -1"
        want = {i + 1 for i, ln in enumerate(lines)
                if ln in ("command =", "restart = sometimes",
                          "max_restarts = -1")}
        self.assertEqual(len(want), 3, lines)

        r = self.ctl("reload")
        self.assertEqual(r.returncode, 1, r)
        errs = [ln for ln in r.stderr.splitlines() if ERR.match(ln)]
        self.assertEqual({int(ERR.match(e).group(2)) for e in errs}, want,
                         r.stderr)
        for e in errs:
            self.assertTrue(path.endswith(
                os.path.basename(ERR.match(e).group(1))), e)
        # the wire: the same errors, counted in the message
        with self.connect() as c:
            rep = c.request({"cmd": "reload"})
        self.assertIs(rep.get("ok"), False, rep)
        self.assertIsInstance(rep.get("errors"), list, rep)
        self.assertEqual(len(rep["errors"]), 3, rep)
        for e in rep["errors"]:
            self.assertRegex(e, ERR)
        self.assertIn("3 errors", rep["error"])
        self.assertIn("nothing was changed", rep["error"])

        # nothing touched, even after a while
        time.sleep(T(0.3))
        self.assertEqual(self.running_pids(), {"keep": keep.pid,
                                               "chg": chg.pid})
        self.assertEqual(len(self.stamps()), 2, self.stamps())
        self.assertEqual(rv.find("stop", since=mark), [])
        self.assertTrue(rv.running())

        # SIGHUP with the broken config: refused the same way
        hup = rv.mark()
        rv.send_signal(signal.SIGHUP)
        rv.wait_for("reload_refused", count=3, since=mark)
        # every error of it in the log, not only their count (issue 15)
        logged = {int(ERR.match(e["error"]).group(2))
                  for e in rv.find("reload_error", since=hup)}
        self.assertEqual(logged, want, rv.tail())
        time.sleep(T(0.2))
        self.assertTrue(rv.running())
        self.assertEqual(self.running_pids(), {"keep": keep.pid,
                                               "chg": chg.pid})

        # fixed: applied
        self.config(good)
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r)
        self.wait_stamps(2, tag="chg")
        self.wait_stamps(1, tag="new")
        wait_until(lambda: not rvtest.alive(keep.pid), 5, "keep removed")
        wait_until(lambda: names(self.ctl_status()) == ["chg", "new"], 5,
                   "status after the fixed reload")
        self.assertEqual(rv.shutdown(), 0)

    def test_sighup_reloads(self):
        cfg = self.config(self.sections(keep=("pause",), chg=("pause",),
                                        gone=("pause",)))
        rv = self.start(cfg)
        self.wait_control(rv)
        keep, = self.wait_stamps(1, tag="keep")
        chg, = self.wait_stamps(1, tag="chg")
        gone, = self.wait_stamps(1, tag="gone")
        self.config(self.sections(keep=("pause",), chg=("ms", 2, "pause"),
                                  new=("pause",)))
        rv.send_signal(signal.SIGHUP)
        self.wait_stamps(2, tag="chg")
        self.wait_stamps(1, tag="new")
        wait_until(lambda: not rvtest.alive(gone.pid), 5, "gone stopped")
        wait_until(lambda: names(self.ctl_status()) == ["chg", "keep", "new"],
                   5, "status after SIGHUP")
        self.assertTrue(rvtest.alive(keep.pid))
        self.assertEqual(len(self.stamps("keep")), 1)
        self.assertFalse(rvtest.alive(chg.pid))
        # SIGHUP is a reload, not a shutdown or a forward
        self.assertTrue(rv.running())
        self.assertEqual(self.ctl_status()["supervisor"]["state"], "alive")
        self.assertEqual(rv.shutdown(), 0)

    def test_removed_service_in_backoff_does_not_come_back(self):
        cfg = self.config(self.sections(
            keep=("pause",),
            flap=(("exit", 1), "restart = always\nbackoff = fixed\n"
                               "restart_delay = 700ms\nbackoff_jitter = 0")))
        rv = self.start(cfg)
        self.wait_control(rv)
        keep, = self.wait_stamps(1, tag="keep")
        self.wait_stamps(1, tag="flap")
        wait_until(lambda: by_name(self.ctl_status(), "flap")["state"]
                   == "backoff", 5, "flap in backoff")
        n = len(self.stamps("flap"))
        self.config(self.sections(keep=("pause",)))
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("flap", r.stdout)
        t0 = time.monotonic()
        wait_until(lambda: names(self.ctl_status()) == ["keep"], 5,
                   "flap gone from status")
        # past the backoff delay: no restart of a removed service
        time.sleep(max(0, t0 + T(1.2) - time.monotonic()))
        self.assertEqual(len(self.stamps("flap")), n,
                         "a removed service was restarted by its timer")
        self.assertTrue(rvtest.alive(keep.pid))
        self.assertEqual(rv.shutdown(), 0)

    def test_unchanged_stopped_service_stays_stopped(self):
        cfg = self.config(self.sections(held=("pause",), other=("pause",)))
        rv = self.start(cfg)
        self.wait_control(rv)
        held, = self.wait_stamps(1, tag="held")
        other, = self.wait_stamps(1, tag="other")
        self.assertEqual(self.ctl("stop", "held").returncode, 0)
        wait_until(lambda: by_name(self.ctl_status(), "held")["state"]
                   == "stopped", 5, "held stopped")
        self.config(self.sections(held=("pause",), other=("ms", 1, "pause")))
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r)
        self.wait_stamps(2, tag="other")
        time.sleep(T(0.3))
        self.assertEqual(len(self.stamps("held")), 1,
                         "reload started a service held down by `stop`")
        self.assertEqual(by_name(self.ctl_status(), "held")["state"],
                         "stopped")
        self.assertEqual(rv.shutdown(), 0)

    def test_reload_prints_its_warnings(self):
        """A key that takes effect only at the next start: the reload is
        applied and `ringvisor reload` says so on stderr (issue 15)."""
        body = self.sections(a=("pause",))
        cfg = self.config(body)
        rv = self.start(cfg)
        self.wait_control(rv)
        self.wait_stamps(1, tag="a")
        self.config(body, backend="epoll")
        r = self.ctl("reload")
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout, "reload: 0 added, 0 removed, 0 "
                         "restarted, 1 unchanged\n")
        self.assertRegex(r.stderr, r"^ringvisor: warning: backend\b.* take "
                         r"effect when ringvisor restarts\n$")
        self.assertEqual(rv.shutdown(), 0)


if __name__ == "__main__":
    rvtest.main()
