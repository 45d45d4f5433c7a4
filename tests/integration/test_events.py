#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`ringvisor events`: followers of the lifecycle event stream see each
transition as one JSON line (time, service, from/to, pid, exit, restarts,
next delay), several followers at once see the same stream, and a
follower too slow to read is dropped, told so, without stalling the loop
or the other followers."""

import datetime
import json
import os
import re
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import T, wait_until  # noqa: E402

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$")
EVENT_KEYS = {"time", "event", "service", "from", "to", "pid", "exit",
              "restarts", "next_delay_s"}
KILLED = {"signal": "SIGKILL", "core_dumped": False}


def ts(ev):
    return datetime.datetime.fromisoformat(
        ev["time"].replace("Z", "+00:00")).timestamp()


class Follower:
    """Reads an event stream in a thread: .events (parsed), .raw lines,
    .eof; wait(pred) for a condition on the events."""

    def __init__(self, case, conn=None, proc=None):
        self.case, self.conn, self.proc = case, conn, proc
        self.events, self.raw, self.bad = [], [], []
        self.nbytes = 0
        self.eof = False
        self.cond = threading.Condition(threading.RLock())
        threading.Thread(target=self._run, daemon=True).start()

    def _lines(self):
        if self.conn is not None:
            while True:
                try:
                    ln = self.conn.line(timeout=60)
                except OSError:
                    return
                if not ln and self.conn.eof:
                    return
                yield ln.decode("utf-8", "replace")
        else:
            for ln in iter(self.proc.stdout.readline, ""):
                yield ln.rstrip("\n")

    def _run(self):
        for ln in self._lines():
            with self.cond:
                self.raw.append(ln)
                self.nbytes += len(ln) + 1
                try:
                    self.events.append(json.loads(ln))
                except ValueError:
                    self.bad.append(ln)
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def wait(self, pred, timeout=10, what="events"):
        deadline = time.monotonic() + T(timeout)
        with self.cond:
            while not pred(self.events):
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise AssertionError(
                        f"{'EOF' if self.eof else 'timed out'} waiting for "
                        f"{what}; have {self.raw[-10:]}")
                self.cond.wait(min(left, 0.1))
            return list(self.events)

    def mentions(self, word):
        """True when a line so far (JSON or text) names word."""
        with self.cond:
            return any(re.search(rf"\b{re.escape(word)}\b", ln)
                       for ln in self.raw)

    def of(self, service):
        with self.cond:
            return [e for e in self.events if e.get("service") == service]


class BulkFollower(Follower):
    """A Follower whose thread only moves bytes off the socket (one recv
    of up to 1 MiB at a time); lines are split and parsed by whoever looks
    at .events, .raw or .bad.  For streams faster than a thread parsing
    each line as it comes can keep up with on a loaded machine."""

    def __init__(self, case, conn):
        # what the acknowledgement's read left buffered comes first
        self._chunks = [b"".join(ln + b"\n" for ln in conn.lines) + conn.buf]
        conn.lines.clear()
        conn.buf = b""
        self._rest = b""
        super().__init__(case, conn=conn)

    def _run(self):
        with self.cond:
            self.nbytes += len(self._chunks[0])
        sock = self.conn.sock
        sock.settimeout(None)
        while True:
            try:
                chunk = sock.recv(1 << 20)
            except OSError:
                chunk = b""
            with self.cond:
                if not chunk:
                    self.eof = True
                    self.cond.notify_all()
                    return
                self._chunks.append(chunk)
                self.nbytes += len(chunk)
                self.cond.notify_all()

    def _absorb(self):
        """Called with cond held: parses the complete lines received."""
        if not self._chunks:
            return
        data = self._rest + b"".join(self._chunks)
        self._chunks = []
        *lines, self._rest = data.split(b"\n")
        if self.eof and self._rest:
            lines.append(self._rest)
            self._rest = b""
        for b in lines:
            ln = b.decode("utf-8", "replace")
            self._raw.append(ln)
            try:
                self._events.append(json.loads(ln))
            except ValueError:
                self._bad.append(ln)

    def _get(self, name):
        with self.cond:
            self._absorb()
            return getattr(self, name)

    events = property(lambda self: self._get("_events"),
                      lambda self, v: setattr(self, "_events", v))
    raw = property(lambda self: self._get("_raw"),
                   lambda self, v: setattr(self, "_raw", v))
    bad = property(lambda self: self._get("_bad"),
                   lambda self, v: setattr(self, "_bad", v))
    # Follower.wait() and the rest read these under cond (reentrant)


class Events(rvtest.Case):

    def follow_raw(self, kind=Follower):
        c = self.connect(timeout=30)
        ack = c.request({"cmd": "events"})
        self.assertEqual(ack, {"ok": True, "following": True})
        return kind(self, conn=c)

    def follow_cli(self, *args):
        p = subprocess.Popen([rvtest.RV_BIN, "events", "-s",
                              self.control_path, *args],
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=rvtest.rv_env())

        def stop():
            if p.poll() is None:
                p.kill()
            p.wait()
            p.stdout.close()
            p.stderr.close()
        self.addCleanup(stop)
        return p

    def sync(self, c, followers, name="sync"):
        """Kills the `sync` service until every follower has seen it go
        (so each is subscribed); returns when they all have."""
        deadline = time.monotonic() + T(10)
        while True:
            c.request({"cmd": "kill", "services": [name], "signal": "KILL"})
            t = time.monotonic()
            while time.monotonic() - t < 0.3:
                if all(f.mentions(name) for f in followers):
                    return
                time.sleep(0.02)
            if time.monotonic() > deadline:
                raise AssertionError("followers never saw the sync service")

    def check_event(self, e):
        self.assertLessEqual(EVENT_KEYS, set(e), e)
        self.assertEqual(e["event"], "state", e)
        self.assertRegex(e["time"], TS)
        for k in ("from", "to"):
            self.assertIn(e[k], rvtest.SERVICE_STATES, e)
        self.assertNotEqual(e["from"], e["to"], e)
        self.assertTrue(e["pid"] is None or isinstance(e["pid"], int), e)
        self.assertIsInstance(e["restarts"], int, e)
        self.assertTrue(e["next_delay_s"] is None or
                        isinstance(e["next_delay_s"], (int, float)), e)

    def test_kill_and_restart_seen_by_several_followers(self):
        cnt = os.path.join(self.tmp, "count")
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("seq", cnt, "pause,300:7,pause", tag="web")}
            restart = always
            backoff = fixed
            restart_delay = 300ms
            backoff_jitter = 0
            [service:sync]
            command = {self.svc("pause", stamp=False)}
            restart = always
            restart_delay = 0
            """)
        rv = self.start(cfg)
        c = self.wait_control(rv)
        web1, = self.wait_stamps(1, tag="web")
        raw = [self.follow_raw() for _ in range(2)]
        cli_json = self.follow_cli("--json")
        cli_text = self.follow_cli()
        fj = Follower(self, proc=cli_json)
        ft = Follower(self, proc=cli_text)
        followers = raw + [fj]
        self.sync(c, followers + [ft])

        t_kill = time.time()
        r = self.ctl("kill", "web", "SIGKILL")
        self.assertEqual(r.returncode, 0, r)
        # run 2 lives 300 ms and exits 7; run 3 pauses
        st = self.wait_stamps(3, tag="web")
        want = [("running", "backoff"), ("backoff", "running"),
                ("running", "backoff"), ("backoff", "running")]
        seqs = []
        for f in followers:
            evs = f.wait(lambda evs: len([e for e in evs
                                          if e.get("service") == "web"])
                         >= 4, 10, "four web transitions")
            web = [e for e in evs if e.get("service") == "web"]
            for e in web:
                self.check_event(e)
            self.assertEqual([(e["from"], e["to"]) for e in web[:4]], want,
                             web)
            down1, up2, down2, up3 = web[:4]
            self.assertEqual((down1["pid"], down1["exit"],
                              down1["restarts"]), (None, KILLED, 1), down1)
            self.assertBetween(down1["next_delay_s"], 0.2, 0.3 + 1e-3,
                               "next_delay_s of the first restart")
            self.assertGreaterEqual(ts(down1), t_kill - 1)
            self.assertEqual((up2["pid"], up2["restarts"],
                              up2["next_delay_s"]), (st[1].pid, 1, None),
                             up2)
            self.assertBetween(ts(up2) - ts(down1), 0.25, 0.3 + T(1),
                               "backoff -> running after 300 ms")
            self.assertEqual((down2["pid"], down2["exit"],
                              down2["restarts"]), (None, {"code": 7}, 2),
                             down2)
            self.assertEqual((up3["pid"], up3["restarts"]), (st[2].pid, 2),
                             up3)
            self.assertEqual(f.bad, [], "lines that are not JSON")
            seqs.append([(e["from"], e["to"], e["pid"], e["exit"],
                          e["restarts"], e["time"]) for e in web[:4]])
        # every follower saw the very same events
        for s in seqs[1:]:
            self.assertEqual(s, seqs[0])
        # the text form says the same
        wait_until(lambda: sum("web" in ln and "->" in ln
                               for ln in ft.raw) >= 4, 5, "text events")
        text = [ln for ln in ft.raw if re.search(r"\bweb\b", ln)]
        self.assertRegex(text[0], r"running\s+->\s+backoff")
        self.assertIn("SIGKILL", text[0])
        self.assertRegex(text[1], rf"backoff\s+->\s+running.*\b{st[1].pid}\b")

        # a shutdown ends every stream: the CLI followers exit 0
        self.assertEqual(rv.shutdown(), 0)
        for f in followers:
            wait_until(lambda: f.eof, 10, "EOF on every stream")
        for p in (cli_json, cli_text):
            self.assertEqual(p.wait(T(10)), 0, p.stderr.read())

    def test_stop_start_transitions(self):
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("pause", tag="web")}
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        web1, = self.wait_stamps(1, tag="web")
        f = self.follow_raw()
        self.assertEqual(self.ctl("stop", "web").returncode, 0)
        evs = f.wait(lambda evs: any(e.get("to") == "stopped" for e in evs),
                     5, "stopped")
        web = [e for e in evs if e.get("service") == "web"]
        for e in web:
            self.check_event(e)
        self.assertEqual([(e["from"], e["to"]) for e in web],
                         [("running", "stopping"), ("stopping", "stopped")])
        self.assertEqual(web[0]["pid"], web1.pid)
        self.assertEqual((web[1]["pid"], web[1]["exit"]),
                         (None, {"signal": "SIGTERM", "core_dumped": False}))
        self.assertEqual(self.ctl("start", "web").returncode, 0)
        web2 = self.wait_stamps(2, tag="web")[1]
        evs = f.wait(lambda evs: len(evs) >= 3, 5, "running again")
        self.assertEqual((evs[2]["from"], evs[2]["to"], evs[2]["pid"]),
                         ("stopped", "running", web2.pid))
        self.assertEqual(rv.shutdown(), 0)

    def test_readiness_transitions(self):
        flag = os.path.join(self.tmp, "flag")
        cfg = self.config(f"""
            [service:rc]
            command = {self.svc("pause", tag="rc")}
            ready_check = test -e {flag}
            restart = always
            backoff = fixed
            restart_delay = 100ms
            backoff_jitter = 0
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        rc1, = self.wait_stamps(1, tag="rc")
        f = self.follow_raw()
        open(flag, "w").close()
        evs = f.wait(lambda evs: len(evs) >= 1, 5, "ready")
        self.assertEqual((evs[0]["from"], evs[0]["to"], evs[0]["pid"]),
                         ("starting", "running", rc1.pid))
        os.unlink(flag)
        self.assertEqual(self.ctl("kill", "rc", "KILL").returncode, 0)
        rc2 = self.wait_stamps(2, tag="rc")[1]
        # not ready again until the check passes
        evs = f.wait(lambda evs: len(evs) >= 3, 5, "backoff, starting")
        self.assertEqual([(e["from"], e["to"]) for e in evs[1:3]],
                         [("running", "backoff"), ("backoff", "starting")])
        self.assertEqual((evs[2]["pid"], evs[2]["restarts"]), (rc2.pid, 1))
        time.sleep(T(0.3))
        self.assertEqual(len(f.events), 3, f.raw)
        open(flag, "w").close()
        evs = f.wait(lambda evs: len(evs) >= 4, 5, "running")
        self.assertEqual((evs[3]["from"], evs[3]["to"], evs[3]["pid"]),
                         ("starting", "running", rc2.pid))
        for e in evs:
            self.check_event(e)
        self.assertEqual(rv.shutdown(), 0)

    @staticmethod
    def gaps(events):
        """Where a stream of a flapping service's events skips: each
        transition starts where the previous one ended, and the restart
        count moves by at most one."""
        out, last = [], {}
        for e in events:
            p = last.get(e["service"])
            if p and (p["to"] != e["from"] or
                      not 0 <= e["restarts"] - p["restarts"] <= 1):
                out.append((e["service"], p["to"], p["restarts"], "->",
                            e["from"], e["restarts"]))
            last[e["service"]] = e
        return out

    def test_slow_follower_is_dropped_and_told(self):
        # services exiting at once, restarted at once: a storm of
        # transitions (a thousand or more a second)
        body = ""
        for i in range(2):
            body += f"""
                [service:f{i}]
                command = {self.svc("exit", 0, stamp=False)}
                restart = always
                restart_delay = 0
                max_restarts = infinity
                [service:w{i}]
                command = {self.svc("pause", stamp=False)}
                """
        cfg = self.config(body, max_restarts="infinity")
        # the storm's info lines would keep this process busier than the
        # followers (they are parsed into events): warnings only
        rv = self.start(cfg, env=rvtest.rv_env(
            {"RINGVISOR_LOG_LEVEL": "warn"}))
        self.wait_control(rv)
        # slow ones: subscribe, read the acknowledgement, then nothing.
        # Several, joining the stream at different points, so that each
        # one's buffers fill up at a different place in an event line.
        # the reading follower moves bytes only, parsing later: a thread
        # that parses each line as it comes can fall behind the storm on
        # a loaded machine and be dropped, rightly
        good = self.follow_raw(BulkFollower)
        t0 = time.monotonic()
        joined = rv.mark()
        slow = []
        for i in range(6):
            at = good.nbytes + 3001 * i + 37
            wait_until(lambda: good.nbytes >= at or good.eof, 10, "events")
            self.assertFalse(good.eof, "the reading follower was dropped")
            c = self.connect(timeout=30)
            self.assertEqual(c.request({"cmd": "events"}),
                             {"ok": True, "following": True})
            slow.append(c)

        got = [[] for _ in slow]

        def drain(i, c, lines):
            # from its own drop on (a dropped follower has a bounded time
            # to read the notice): followers are dropped in the order
            # they joined, each one's backlog being the larger, so the
            # i-th drop line is its own (or a later one's, after it)
            try:
                wait_until(lambda: len(rv.find("follower_dropped",
                                               since=joined)) > i,
                           30, f"slow follower {i} dropped")
            except AssertionError:
                pass	# not dropped: the check below says so
            # dropped, it can have been sent 256 KiB and what the socket
            # buffers: a few thousand lines, far fewer than this
            while len(lines) < 8000:
                try:
                    ln = c.line(timeout=2)
                except OSError:	# nothing more came, and no EOF
                    return
                if not ln and c.eof:
                    return
                lines.append(ln)
        readers = [threading.Thread(target=drain, args=(i, c, got[i]),
                                    daemon=True)
                   for i, c in enumerate(slow)]
        for t in readers:
            t.start()
        # enough has been produced to fill any reasonable buffer, or the
        # supervisor says it dropped them; each slow one reads what it was
        # sent once it is dropped: whole event lines, the notice, EOF
        wait_until(lambda: len(rv.find("follower_dropped",
                                       since=joined)) >= 6
                   or good.nbytes > (4 << 20), 30,
                   "the slow followers' buffers to fill")
        self.assertFalse(good.eof, "the reading follower was dropped")
        # the loop kept answering during the storm
        for _ in range(3):
            t = time.monotonic()
            st = self.ctl_status()
            self.assertLess(time.monotonic() - t, T(1.5))
            self.assertEqual(st["supervisor"]["state"], "alive")
        # end the storm
        r = self.ctl("stop", "f0", "f1")
        self.assertEqual(r.returncode, 0, r)
        for t in readers:
            t.join(T(20))

        # what came before the notice must be a gapless stream: a
        # follower is dropped, never silently skipped
        problems = []
        for i, (c, lines) in enumerate(zip(slow, got)):
            self.assertGreater(len(lines), 10, "dropped before any event")
            evs = [json.loads(ln) for ln in lines]	# no torn line
            gaps = self.gaps([e for e in evs if e.get("event") == "state"])
            if not (c.eof and evs[-1].get("event") == "dropped"):
                problems.append(
                    f"slow follower {i} was not dropped (eof={c.eof}, "
                    f"{len(lines)} lines, last {lines[-1][:160]!r}); "
                    f"events it never got, without a notice: {gaps[:3]}")
            elif gaps:
                problems.append(f"slow follower {i}: events lost before "
                                f"the notice: {gaps[:3]}")
            for e in evs[:-1]:
                self.assertEqual(e.get("event"), "state", e)
        self.assertEqual(problems, [])
        # the good follower was not dropped, saw the storm end, and its
        # stream is complete
        for f in ("f0", "f1"):
            good.wait(lambda evs, f=f: any(e.get("service") == f and
                                          e.get("to") == "stopped"
                                          for e in evs), 10, f"{f} stopped")
        self.assertFalse(good.eof, "the reading follower was dropped too")
        self.assertFalse(any(e.get("event") == "dropped"
                             for e in good.events))
        self.assertEqual(good.bad, [])
        self.assertEqual(self.gaps(good.events), [], "the reading follower "
                         "lost events")
        self.assertLess(time.monotonic() - t0, T(30))
        self.assertEqual(rv.shutdown(), 0)

    def test_events_after_an_error_on_the_same_connection(self):
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("pause", tag="web")}
            restart = always
            restart_delay = 0
            """)
        rv = self.start(cfg)
        c = self.wait_control(rv)
        # a bad request first, then events on the same connection
        f = self.connect(timeout=10)
        self.assertIs(f.request(b"nonsense\n").get("ok"), False)
        self.assertEqual(f.request({"cmd": "events"}),
                         {"ok": True, "following": True})
        c.request({"cmd": "kill", "services": ["web"], "signal": "KILL"})
        e = json.loads(f.line())
        self.assertEqual((e.get("service"), e.get("to")), ("web", "backoff"),
                         e)
        e = json.loads(f.line())
        self.assertEqual((e.get("service"), e.get("to")), ("web", "running"),
                         e)
        self.assertEqual(rv.shutdown(), 0)
        # the shutdown's own transitions, then EOF
        while True:
            ln = f.line(timeout=10)
            if not ln:
                break
            self.assertEqual(json.loads(ln).get("service"), "web", ln)
        self.assertTrue(f.eof)

    def test_killed_follower_leaves_the_connection_count_at_once(self):
        """Issue 15: a follower killed while nothing happens stayed counted
        in ringvisor_control_connections until the next event."""
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("pause", stamp=False)}
            """)
        rv = self.start(cfg)
        c = self.wait_control(rv)

        def connections():
            text = c.request({"cmd": "metrics"})["metrics"]
            return int(re.search(r"^ringvisor_control_connections (\d+)$",
                                 text, re.M).group(1))

        p = self.follow_cli("--json")
        wait_until(lambda: connections() == 2, 10, "the follower counted")
        p.kill()
        p.wait()
        # no event comes: only its hang-up can tell the supervisor
        wait_until(lambda: connections() == 1, 5,
                   "the killed follower dropped from the count")
        self.assertEqual(rv.find("exit"), [])


if __name__ == "__main__":
    rvtest.main()
