#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The control socket under abuse, at the protocol level (raw AF_UNIX
sockets): garbage and invalid JSON, a 10 MiB request, hundreds of idle
clients while a flapping service must keep restarting on time, clients
that hang up mid-request, and a peer of another uid.  Each case ends
with a good request answered: the supervisor keeps serving."""

import grp
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rvtest  # noqa: E402
from rvtest import T, Control, wait_until  # noqa: E402

MAX = 64 * 1024


def is_error(tc, rep, what):
    tc.assertIs(rep.get("ok"), False, f"{what}: {rep}")
    tc.assertIsInstance(rep.get("error"), str, f"{what}: {rep}")
    tc.assertTrue(rep["error"], f"{what}: empty error")


class Abuse(rvtest.Case):

    def steady(self, extra=""):
        """A supervisor with one steady service; returns (proc, its pid)."""
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("pause", tag="web")}
            {extra}
            """)
        rv = self.start(cfg)
        self.wait_control(rv).close()
        web, = self.wait_stamps(1, tag="web")
        return rv, web.pid

    def assert_serving(self, rv, pid, conn=None):
        """A good request answered (on conn, and on a new connection), the
        supervisor and the service untouched."""
        fresh = Control(self.control_path)
        try:
            for c in ([conn] if conn else []) + [fresh]:
                rep = c.request({"cmd": "status", "services": ["web"]})
                self.assertIs(rep.get("ok"), True, rep)
                s = rep["status"]["services"][0]
                self.assertEqual((s["name"], s["state"], s["pid"]),
                                 ("web", "running", pid))
        finally:
            fresh.close()
        self.assertTrue(rv.running())
        self.assertTrue(rvtest.alive(pid))

    def test_garbage_and_invalid_requests(self):
        rv, pid = self.steady()
        c = self.connect()
        bad = [
            b"\x00\x01\x02\xff\xfe garbage \x7f\n",
            b"\xc3\x28 not utf-8\n",
            b"hello\n",
            b"{\n",
            b"{\"cmd\":\"status\"\n",
            b"[]\n",
            b"\"status\"\n",
            b"42\n",
            b"null\n",
            b"{}\n",
            b"{\"cmd\":5}\n",
            b"{\"cmd\":null}\n",
            b"{\"cmd\":\"nope\"}\n",
            b"{\"cmd\":\"STATUS\"}\n",
            b"{\"cmd\":\"status\",\"services\":\"web\"}\n",
            b"{\"cmd\":\"status\",\"services\":[1,2]}\n",
            b"{\"cmd\":\"status\",\"services\":[\"nosuch\"]}\n",
            b"{\"cmd\":\"stop\",\"services\":[\"web\",\"nosuch\"]}\n",
            b"{\"cmd\":\"stop\",\"services\":[\"\"]}\n",
            b"{\"cmd\":\"kill\",\"services\":[\"web\"]}\n",
            b"{\"cmd\":\"kill\",\"services\":[\"web\"],\"signal\":\"NOPE\"}\n",
            b"{\"cmd\":\"kill\",\"services\":[\"web\"],\"signal\":-1}\n",
            b"{\"cmd\":\"kill\",\"services\":[\"web\"],\"signal\":\"0x9\"}\n",
            b"{\"cmd\":\"kill\",\"services\":[],\"signal\":\"TERM\"}\n",
            b"{\"cmd\":\"status\"}{\"cmd\":\"status\"}\n",
            b"{\"cmd\":\"status\",\"cmd\":\"shutdown\"}\n",
            b"{\"cmd\":\"st\\u0000atus\"}\n",
            b"{\"cmd\":\"" + b"a" * 4000 + b"\"}\n",
            b"[" * 5000 + b"]" * 5000 + b"\n",
        ]
        for req in bad:
            rep = c.request(req)
            is_error(self, rep, req[:60])
            # nothing was done: the service still runs, same pid
            self.assertTrue(rvtest.alive(pid), req[:60])
        self.assertEqual(len(self.stamps("web")), 1)
        self.assertEqual(rv.find("stop"), [])
        # several requests in one write: one reply each, in order
        c.sendall(b"{\"cmd\":\"status\"}\nbogus\n{\"cmd\":\"metrics\"}\n")
        r1, r2, r3 = c.reply(), c.reply(), c.reply()
        self.assertTrue(r1["ok"] and "status" in r1, r1)
        is_error(self, r2, "bogus")
        self.assertTrue(r3["ok"] and "metrics" in r3, r3)
        # CRLF line ends are tolerated
        rep = c.request(b"{\"cmd\":\"status\"}\r\n")
        self.assertIs(rep.get("ok"), True, rep)
        self.assert_serving(rv, pid, c)
        self.assertEqual(rv.shutdown(), 0)

    def test_oversized_requests(self):
        rv, pid = self.steady()
        c = self.connect(timeout=20)
        # 10 MiB on one line, then a good request on the same connection
        big = b"{\"cmd\":\"status\",\"pad\":\"" + b"x" * (10 << 20) + b"\"}\n"
        replies = []

        def read_two():
            try:
                replies.append(c.reply(timeout=20))
                replies.append(c.reply(timeout=20))
            except Exception as e:  # noqa: BLE001
                replies.append(e)
        reader = threading.Thread(target=read_two, daemon=True)
        reader.start()
        t0 = time.monotonic()
        c.sendall(big + b"{\"cmd\":\"status\"}\n")
        reader.join(T(20))
        self.assertFalse(reader.is_alive(), "no replies to 10 MiB + 1")
        self.assertEqual(len(replies), 2, replies)
        self.assertNotIsInstance(replies[0], Exception, replies)
        is_error(self, replies[0], "10 MiB request")
        self.assertNotIsInstance(replies[1], Exception, replies)
        self.assertIs(replies[1].get("ok"), True, replies[1])
        self.assertLess(time.monotonic() - t0, T(15))
        self.assert_serving(rv, pid, c)

        # just over the limit, no JSON inside; then a good one
        c2 = self.connect()
        c2.sendall(b"y" * (MAX + 10) + b"\n")
        is_error(self, c2.reply(), "64 KiB + 10")
        self.assertIs(c2.request({"cmd": "status"}).get("ok"), True)
        # a valid request just under the limit is served
        req = b"{\"cmd\":\"status\"" + b" " * (MAX - 100) + b"}\n"
        self.assertLess(len(req), MAX)
        rep = c2.request(req)
        self.assertIs(rep.get("ok"), True, rep)
        # over the limit with no newline at all, then hang up
        c3 = Control(self.control_path)
        c3.sendall(b"z" * (MAX * 3))
        c3.close()
        self.assert_serving(rv, pid, c2)
        self.assertEqual(rv.shutdown(), 0)

    def test_many_idle_clients_do_not_stall_the_loop(self):
        # fixed 200 ms backoff, no jitter: restarts must stay on time
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("pause", tag="web")}
            [service:flap]
            command = {self.svc("ms", 20, "exit", 1, tag="flap")}
            restart = always
            backoff = fixed
            restart_delay = 200ms
            backoff_jitter = 0
            max_restarts = infinity
            """)
        rv = self.start(cfg)
        self.wait_control(rv)
        pid = self.wait_stamps(1, tag="web")[0].pid
        self.wait_stamps(2, tag="flap")

        idle = []
        t_open = time.monotonic()
        for i in range(200):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(T(5))
            s.connect(self.control_path)
            if i % 4 == 0:
                s.sendall(b"{\"cmd\":\"sta")	# half a request, forever
            idle.append(s)
        self.addCleanup(lambda: [s.close() for s in idle])
        n0 = len(self.stamps("flap"))
        # a good client is answered promptly, again and again
        for _ in range(5):
            t0 = time.monotonic()
            with Control(self.control_path) as c:
                rep = c.request({"cmd": "status"})
            self.assertIs(rep.get("ok"), True, rep)
            self.assertLess(time.monotonic() - t0, T(1.0), "slow answer")
        st = self.wait_stamps(n0 + 8, tag="flap", timeout=10)
        # each run: ~20 ms of life, then the 200 ms delay
        gaps = [b.t - a.t for a, b in zip(st[n0:], st[n0 + 1:])]
        for g in gaps:
            self.assertBetween(g, 0.2, 0.22 + T(0.25),
                               f"flap restart interval with 200 idle "
                               f"clients: {[round(x, 3) for x in gaps]}")
        # the gauge of open connections sees them
        with Control(self.control_path) as c:
            m = c.request({"cmd": "metrics"})["metrics"]
        conns = [ln for ln in m.splitlines()
                 if ln.startswith("ringvisor_control_connections ")]
        if conns:
            self.assertGreaterEqual(float(conns[0].split()[1]), 200)

        # idle clients are hung up on after 10 s without a request; one
        # that keeps asking stays
        chatty = self.connect()
        last = [0.0]

        def chat():
            if time.monotonic() - last[0] > 1.0:
                self.assertIs(chatty.request({"cmd": "status"}).get("ok"),
                              True)
                last[0] = time.monotonic()

        def closed(s):
            try:
                s.settimeout(0)
                return s.recv(1) == b""
            except BlockingIOError:
                return False
            except OSError:
                return True
        wait_until(lambda: chat() or all(closed(s) for s in idle), 10 + 6,
                   "idle clients closed (10 s idle timeout)")
        took = time.monotonic() - t_open
        self.assertGreaterEqual(took, 9.0, "idle timeout shorter than 10 s")
        # and the loop kept its rhythm all along
        st = self.stamps("flap")
        gaps = [b.t - a.t for a, b in zip(st[n0:], st[n0 + 1:])]
        self.assertGreater(len(gaps), 25)
        self.assertLess(max(gaps), 0.22 + T(0.4), [round(x, 3)
                                                   for x in gaps])
        self.assert_serving(rv, pid, chatty)
        self.assertEqual(rv.shutdown(), 0)

    def test_hundreds_of_concurrent_requests(self):
        rv, pid = self.steady()
        conns = [Control(self.control_path, 20) for _ in range(300)]
        self.addCleanup(lambda: [c.close() for c in conns])
        t0 = time.monotonic()
        for i, c in enumerate(conns):
            c.send({"cmd": "metrics"} if i % 3 == 0 else
                   {"cmd": "status", "services": ["web"]})
        for i, c in enumerate(conns):
            rep = c.reply(timeout=20)
            self.assertIs(rep.get("ok"), True, (i, rep))
            self.assertIn("metrics" if i % 3 == 0 else "status", rep)
        self.assertLess(time.monotonic() - t0, T(10))
        # the loop's room for connections is reserved a block (64) at a
        # time as they come (control.c): 300 at once never outgrow it
        self.assertNotIn("beyond rv_loop_", rv.stderr_text())
        self.assert_serving(rv, pid)
        self.assertEqual(rv.shutdown(), 0)

    def test_a_client_that_never_reads_its_replies(self):
        rv, pid = self.steady()
        hog = self.connect()
        # a thousand metrics requests, replies never read: the supervisor
        # can only queue them, and must go on serving everyone else
        req = json.dumps({"cmd": "metrics"}).encode() + b"\n"
        hog.sock.setblocking(False)
        sent = 0
        t_end = time.monotonic() + 2
        while sent < 1000 and time.monotonic() < t_end:
            try:
                hog.sock.send(req)
                sent += 1
            except BlockingIOError:
                time.sleep(0.01)
        for _ in range(5):
            t = time.monotonic()
            self.assert_serving(rv, pid)
            self.assertLess(time.monotonic() - t, T(1.0))
        # the service is still supervised: killed, it comes back
        with Control(self.control_path) as c:
            self.assertIs(c.request({"cmd": "kill", "services": ["web"],
                                     "signal": "KILL"}).get("ok"), True)
        self.wait_stamps(2, tag="web")
        self.assertTrue(rv.running())
        self.assertEqual(rv.shutdown(), 0)

    def test_clients_that_hang_up_mid_request(self):
        rv, pid = self.steady()
        # half a request, then gone
        for _ in range(20):
            with Control(self.control_path) as c:
                c.sendall(b"{\"cmd\":\"stat")
        # a full request, gone before the reply (the reply hits a closed
        # socket: no SIGPIPE may end the supervisor)
        for cmd in ("status", "metrics", "events"):
            for _ in range(20):
                with Control(self.control_path) as c:
                    c.send({"cmd": cmd})
        # a reset in the middle of a large request
        for _ in range(5):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.control_path)
            s.sendall(b"{\"cmd\":\"status\",\"pad\":\"" + b"p" * 30000)
            s.close()
        # a follower that hangs up, then events are produced
        with Control(self.control_path) as f:
            self.assertTrue(f.request({"cmd": "events"}).get("following"))
        c = self.connect()
        self.assertEqual(c.request({"cmd": "kill", "services": ["web"],
                                    "signal": "USR2"}).get("ok"), True)
        # services restart; keep going
        rv.wait_for("start", count=2, service="web", timeout=5)
        pid = self.wait_stamps(2, tag="web")[1].pid
        wait_until(lambda: self.ctl_status("web")["services"][0]["state"]
                   == "running", 5, "web running")
        self.assert_serving(rv, pid, c)

        # nothing leaked: only our connection (and the scrape) is left
        def conns():
            m = c.request({"cmd": "metrics"})["metrics"]
            for ln in m.splitlines():
                if ln.startswith("ringvisor_control_connections "):
                    return float(ln.split()[1])
            return None
        if conns() is not None:
            wait_until(lambda: conns() <= 1, 5,
                       f"connections closed (gauge {conns()})")
        self.assertEqual(rv.shutdown(), 0)

    def test_refused_peer(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run a client as another uid")
        if not shutil.which("setpriv"):
            self.skipTest("setpriv (util-linux) not installed")
        rv, pid = self.steady("restart = always")
        st = os.stat(self.control_path)
        self.assertEqual(st.st_mode & 0o777, 0o600, oct(st.st_mode))
        # let anyone reach the socket file: only SO_PEERCRED stands between
        os.chmod(self.tmp, 0o755)
        os.chmod(self.control_path, 0o666)
        nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup",
                  "--clear-groups"]
        mark = rv.mark()
        # the real client, as nobody, a few times (the refusal must reach
        # it whether or not it is still writing its request)
        for _ in range(5):
            r = subprocess.run(nobody + [rvtest.RV_BIN, "stop", "-s",
                                         self.control_path, "web"],
                               capture_output=True, text=True,
                               timeout=T(10), env=rvtest.rv_env())
            self.assertEqual(r.returncode, 1, r)
            self.assertIn("permission denied", r.stderr)
        # a raw client, as nobody: the refusal is a reply, then EOF
        code = ("import socket,sys\n"
                "s=socket.socket(socket.AF_UNIX)\n"
                "s.connect(sys.argv[1])\n"
                "try:\n"
                " s.sendall(b'{\"cmd\":\"shutdown\"}\\n')\n"
                "except OSError:\n"
                " pass\n"
                "b=b''\n"
                "while True:\n"
                " try:\n"
                "  d=s.recv(4096)\n"
                " except OSError:\n"
                "  break\n"
                " if not d:\n"
                "  break\n"
                " b+=d\n"
                "sys.stdout.write(b.decode())\n")
        r = subprocess.run(nobody + [sys.executable, "-c", code,
                                     self.control_path],
                           capture_output=True, text=True, timeout=T(10))
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(json.loads(r.stdout.splitlines()[0]),
                         {"ok": False, "error": "permission denied"}, r)
        refused = rv.wait_for("control_refused", count=6, since=mark)
        for e in refused:
            self.assertEqual(e.get("uid"), "65534", e.raw)
        # nothing was done for them
        time.sleep(T(0.2))
        self.assertTrue(rv.running())
        self.assertEqual(rv.find("stop", since=mark), [])
        self.assertEqual(len(self.stamps("web")), 1)
        self.assert_serving(rv, pid)
        self.assertEqual(rv.shutdown(), 0)

    def test_control_group_member_is_let_in(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run a client as another uid")
        if not shutil.which("setpriv"):
            self.skipTest("setpriv (util-linux) not installed")
        try:
            gid = grp.getgrnam("adm").gr_gid
        except KeyError:
            self.skipTest("no group adm")
        cfg = self.config(f"""
            [service:web]
            command = {self.svc("pause", tag="web")}
            """, control_group="adm")
        rv = self.start(cfg)
        self.wait_control(rv)
        st = os.stat(self.control_path)
        self.assertEqual((st.st_mode & 0o777, st.st_gid), (0o660, gid),
                         oct(st.st_mode))
        os.chmod(self.tmp, 0o755)
        base = ["setpriv", "--reuid=nobody", "--regid=nogroup"]
        r = subprocess.run(base + [f"--groups={gid}", rvtest.RV_BIN,
                                   "status", "-s", self.control_path,
                                   "--json"],
                           capture_output=True, text=True, timeout=T(10),
                           env=rvtest.rv_env())
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(json.loads(r.stdout)["services"][0]["name"], "web")
        # not in the group: the file mode keeps it out (or the check does)
        os.chmod(self.control_path, 0o666)
        for _ in range(3):
            r = subprocess.run(base + ["--clear-groups", rvtest.RV_BIN,
                                       "status", "-s", self.control_path],
                               capture_output=True, text=True,
                               timeout=T(10), env=rvtest.rv_env())
            self.assertEqual(r.returncode, 1, r)
            self.assertIn("permission denied", r.stderr)
        self.assertTrue(rv.find("control_refused", uid="65534"))
        self.assertEqual(rv.shutdown(), 0)


if __name__ == "__main__":
    rvtest.main()
